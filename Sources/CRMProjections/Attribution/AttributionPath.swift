public import CRMModel

/// One path of a customer's journey (docs/attribution.md, section 2): the touches that count, in time order, and
/// the conversion that ended it, if any.
public struct AttributionPath: Sendable, Equatable {
    /// One touch on a path.
    public struct Touch: Sendable, Equatable {
        /// What the path is made of: the touch's channel (`--by channel`) or campaign (`--by campaign`).
        public var key: String
        /// Whether the touch's channel is `direct` (for the last-non-direct model, whatever the key).
        public var isDirect: Bool
        /// Event time, in microseconds.
        public var at: Int64

        public init(key: String, isDirect: Bool, at: Int64) {
            self.key = key
            self.isDirect = isDirect
            self.at = at
        }
    }

    /// An order that converted, valued net of its returns and refunds.
    public struct Conversion: Sendable, Equatable {
        public var at: Int64
        public var value: Money

        public init(at: Int64, value: Money) {
            self.at = at
            self.value = value
        }
    }

    public var touches: [Touch]
    /// Nil for a path that did not convert.
    public var conversion: Conversion?

    public init(touches: [Touch], conversion: Conversion? = nil) {
        self.touches = touches
        self.conversion = conversion
    }

    /// The path as attribution tools write it: `email > social > email`.
    public var text: String { touches.map(\.key).joined(separator: " > ") }
}

/// How paths are cut from journeys (docs/attribution.md, sections 1 and 2).
public struct PathOptions: Sendable, Equatable {
    /// What a path is made of.
    public enum Key: String, Sendable, CaseIterable {
        case channel, campaign
    }

    /// The event types that are touches.
    public var touchTypes: Set<EventType> = [.touchpoint, .messageClicked]
    /// A touch counts for a conversion at most this long before it.
    public var window = SegmentWindow("30d")!
    public var key = Key.channel
    /// The period: converting paths by their conversion's time, the others by their last touch's.
    public var period = TimePeriod()

    public init() {}

    /// The event types that can be touches.
    public static let possibleTouchTypes: [EventType] = [.touchpoint, .messageSent, .messageOpened, .messageClicked]
}

/// The events of one customer's journey that paths are cut from.
public struct JourneyEvents {
    /// A touch of any possible touch type, in event-time order (ties: log order).
    public struct Touch: Sendable, Equatable {
        public var at: Int64
        public var type: EventType
        public var channel: String
        /// Empty when the touch has no campaign.
        public var campaign: String

        public init(at: Int64, type: EventType, channel: String, campaign: String) {
            self.at = at
            self.type = type
            self.channel = channel
            self.campaign = campaign
        }
    }

    /// The key of a touch without a campaign when paths are made of campaigns.
    public static let noCampaign = "(none)"

    /// Cuts the paths of one journey: `touches` and `conversions` each in event-time order (ties: log order).
    /// Appends the paths in the period, in the order their ends happened, and the conversions in the period that
    /// had no touch in their window.
    public static func paths(
        touches: [Touch],
        conversions: [AttributionPath.Conversion],
        options: PathOptions,
        into paths: inout [AttributionPath],
        untouched: inout [AttributionPath.Conversion]
    ) {
        let held = touches.map(JourneyTouch.init)
        var cutter = PathCutter(options)
        var list = PathList(words: cutter.words)
        cutter.cut(touches: held, conversions: conversions, into: &list)
        paths += list.paths
        untouched += list.untouched
    }
}

/// A touch as a journey holds it: channel and campaign as numbers of the process's vocabulary (24 bytes, no
/// string to allocate, retain or compare). `Vocabulary.none` is "no campaign".
struct JourneyTouch: Sendable, Equatable {
    var at: Int64
    var type: EventType
    var channel: Vocabulary.Word
    var campaign: Vocabulary.Word

    init(at: Int64, type: EventType, channel: Vocabulary.Word, campaign: Vocabulary.Word) {
        self.at = at
        self.type = type
        self.channel = channel
        self.campaign = campaign
    }

    init(at: Int64, type: EventType, channel: String, campaign: String) {
        self.at = at
        self.type = type
        self.channel = Vocabulary.number(of: channel)
        self.campaign = Vocabulary.number(of: campaign)
    }

    init(_ touch: JourneyEvents.Touch) {
        self.init(at: touch.at, type: touch.type, channel: touch.channel, campaign: touch.campaign)
    }
}

/// A touch on a path being cut: its key (channel or campaign) as a vocabulary number.
struct CutTouch {
    var key: Vocabulary.Word
    var isDirect: Bool
    var at: Int64
}

/// Cuts the paths of one journey after another with the same options, reusing its buffers.
struct PathCutter {
    let options: PathOptions
    private let window: Int64
    /// Touch types by their tags' bits (they are below 64): no hashing per touch.
    private let accepted: UInt64
    private let direct: Vocabulary.Word
    private let noCampaign: Vocabulary.Word
    /// The vocabulary's words when the cutter was made, after the numbers it uses itself: every word of a state
    /// that exists by then. Sinks name keys with it.
    let words: [String]
    private var pending = [CutTouch]()
    /// A buffer for the caller's conversions.
    var conversions = [AttributionPath.Conversion]()

    init(_ options: PathOptions) {
        self.options = options
        window = options.window.microseconds
        accepted = options.touchTypes.reduce(UInt64(0)) { $0 | 1 << UInt64($1.tag & 63) }
        direct = Vocabulary.number(of: "direct")
        noCampaign = Vocabulary.number(of: JourneyEvents.noCampaign)
        words = Vocabulary.shared.words()
    }

    private mutating func take(_ touch: JourneyTouch) {
        guard accepted & (1 << UInt64(touch.type.tag & 63)) != 0 else { return }
        let key =
            switch options.key {
            case .channel: touch.channel
            case .campaign: touch.campaign == Vocabulary.none ? noCampaign : touch.campaign
            }
        pending.append(CutTouch(key: key, isDirect: touch.channel == direct, at: touch.at))
    }

    /// Cuts one journey: `touches` and `conversions` each in event-time order (ties: log order).
    mutating func cut<Sink: PathSink>(
        touches: [JourneyTouch],
        conversions: [AttributionPath.Conversion],
        into sink: inout Sink
    ) {
        pending.removeAll(keepingCapacity: true)
        var next = 0
        for conversion in conversions {
            while next < touches.count, touches[next].at <= conversion.at {
                take(touches[next])
                next += 1
            }
            // Pending touches are in time order: the expired ones are a prefix.
            let expired = pending.prefix { $0.at <= conversion.at - window }
            if let last = expired.last, options.period.contains(last.at) { sink.add(expired, conversion: nil) }
            if options.period.contains(conversion.at) {
                if expired.count == pending.count {
                    sink.addUntouched(conversion)
                } else {
                    sink.add(pending[expired.count...], conversion: conversion)
                }
            }
            pending.removeAll(keepingCapacity: true)
        }
        while next < touches.count {
            take(touches[next])
            next += 1
        }
        if let last = pending.last, options.period.contains(last.at) { sink.add(pending[...], conversion: nil) }
    }
}

/// Where cut paths go: a list of paths, or their indexed form (`IndexedPaths`).
protocol PathSink {
    mutating func add(_ touches: ArraySlice<CutTouch>, conversion: AttributionPath.Conversion?)
    mutating func addUntouched(_ conversion: AttributionPath.Conversion)
}

/// Paths as values.
struct PathList: PathSink {
    /// The cutter's words, naming the keys.
    let words: [String]
    var paths: [AttributionPath] = []
    var untouched: [AttributionPath.Conversion] = []

    init(words: [String]) { self.words = words }

    mutating func add(_ touches: ArraySlice<CutTouch>, conversion: AttributionPath.Conversion?) {
        let touches = touches.map { AttributionPath.Touch(key: words[Int($0.key)], isDirect: $0.isDirect, at: $0.at) }
        paths.append(AttributionPath(touches: touches, conversion: conversion))
    }

    mutating func addUntouched(_ conversion: AttributionPath.Conversion) { untouched.append(conversion) }
}
