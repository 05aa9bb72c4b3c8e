public import CRMModel

/// The segment definitions the log has declared (`segment.defined`, `segment.removed`; docs/segments.md), in the
/// order they came, and what the projection derives from the live ones: the order to evaluate them in, the event
/// types that can change each, and the windows that make membership change as time passes.
public struct SegmentCatalog: Sendable {
    /// One `segment.defined` that was accepted. A membership change names the generation it was decided by.
    public struct Generation: Sendable {
        public var name: String
        public var rule: SegmentRule
        /// The definition as stored in the log.
        public var definition: JSONObject
        public var description: String?
        public var definedAt: EventTime
        /// When a later definition replaced it or the segment was removed.
        public var endedAt: EventTime?
    }

    /// A definition the projection refused when it met it (the CLI and `CRMEngine.defineSegments` refuse these
    /// before they are appended; a log written by other means can still hold them).
    public struct Refusal: Sendable, Equatable {
        public var segment: String
        public var at: EventTime
        public var reason: String
    }

    /// A rule over a time window: the customer's facts leave it `window` after they happened.
    struct WindowedFacts: Hashable, Sendable {
        enum Source: Hashable, Sendable {
            case events(UInt8)
            /// Words of ``Vocabulary``: a currency code, a channel, a campaign.
            case amounts(Vocabulary.Word)
            case channel(Vocabulary.Word)
            case campaign(Vocabulary.Word)
            /// Touchpoints, counted from their touch facts (they have no event facts).
            case touchpoints

            /// The list of a customer's timed facts it reads.
            var list: FactList {
                switch self {
                case .events: .events
                case .amounts: .amounts
                case .channel, .campaign, .touchpoints: .touches
                }
            }
        }

        enum FactList: Int {
            case events, amounts, touches
        }

        var source: Source
        var window: SegmentWindow
        /// Which of the window's facts can change a rule over it as they leave: where a reading newest first stops.
        var settling: Settling

        /// Where a rule over a window can change as its facts leave it, read newest first.
        enum Settling: Hashable, Sendable {
            /// A count compared with a value settles at its `depth`-th newest counted fact inside the window
            /// (``SegmentRule/Comparison/settlingCount(against:)``; a `touched_*` rule at 1): while that fact is
            /// inside, no rule over the window changes, so the reading stops there. `.max`: it never settles, and
            /// every fact is a candidate.
            case count(depth: Int64)
            /// A `sum` rule's test: its amounts may be negative, so the reading goes to the window's start, keeping
            /// the total of the newer amounts; an amount is a candidate where its leaving changes the test's outcome.
            case sum(SumTest)
        }

        /// Whether a `sum` rule reads the window (a new amount then changes every total over it).
        var isSum: Bool {
            if case .sum = settling { return true }
            return false
        }

        /// What a `sum` rule compares: a metric's total, in minor units, with a value.
        struct SumTest: Hashable, Sendable {
            var metric: SegmentRule.SumMetric
            var comparison: SegmentRule.Comparison
            var value: Int64

            func holds(_ total: Int64) -> Bool { comparison.holds(total, value) }
        }

        /// Where the windows over each list are in `windows`, which are grouped by list (``windowed``).
        static func lists(
            of windows: [WindowedFacts]
        ) -> (events: Range<Int>, amounts: Range<Int>, touches: Range<Int>) {
            let amountsStart = windows.firstIndex { $0.source.list != .events } ?? windows.count
            let touchesStart = windows[amountsStart...].firstIndex { $0.source.list != .amounts } ?? windows.count
            return (0..<amountsStart, amountsStart..<touchesStart, touchesStart..<windows.count)
        }
    }

    public private(set) var generations: [Generation] = []
    public private(set) var refusals: [Refusal] = []
    /// Live segment name → its generation.
    public private(set) var live: [String: Int] = [:]
    /// The live segments' names, sorted: a name's place is its slot, by which customers hold their memberships
    /// (``LiveSegments``).
    public private(set) var liveNames: [String] = []
    /// Live segment name → its slot.
    private(set) var slots: [String: Int] = [:]
    /// Live generations, each after those it refers to (ties by name).
    private(set) var evaluationOrder: [Int] = []
    /// Per live generation (same order as `evaluationOrder`): its segment's slot.
    private(set) var evaluationSlots: [Int] = []
    /// Per live generation (same order as `evaluationOrder`): its rule, compiled for evaluation.
    private(set) var compiled: [CompiledRule] = []
    /// Per live generation (same order as `evaluationOrder`): the event type tags that can change it.
    private(set) var triggers: [TypeTagSet] = []
    /// Per live generation (same order): whether time passing can change it (a windowed rule, or `in_segment` of
    /// such a segment). Only these are decided again when a window passes.
    private(set) var timed: [Bool] = []
    /// Every event type that can change some live segment.
    private(set) var anyTrigger = TypeTagSet()
    /// Per live generation (same order): the touch events that can change it (used when its triggers hold the
    /// event's type).
    private(set) var touchFilters: [TouchFilter] = []
    /// The touch events that can change some live segment.
    private(set) var anyTouchFilter = TouchFilter()
    /// The windowed facts of the live rules (the due instants come from these).
    private(set) var windowed: [WindowedFacts] = []
    /// Per live generation (same order): the windows of `windowed` its rule reads itself, a bit each by their
    /// place; empty when there are more than 64 windows (then a window passing decides every timed rule again).
    private(set) var windowBits: [UInt64] = []
    /// Per live generation (same order): whether its rule reads other segments (`in_segment`).
    private(set) var readsSegments: [Bool] = []
    /// Per live generation (same order): whether a new RFM group can change it (a rule over RFM groups, or
    /// `in_segment` of such a segment). Only these are decided again when a customer is rescored.
    private(set) var rescorable: [Bool] = []
    /// Whether a live rule reads RFM groups.
    var readsRFM: Bool { rescorable.contains(true) }

    public init() {}

    /// Accepts a definition unless it refers to an undefined segment or makes a cycle of `in_segment` (then
    /// records the refusal and returns false).
    mutating func define(
        _ name: String,
        definition: JSONObject,
        description: String?,
        at time: EventTime
    ) -> Bool {
        let rule: SegmentRule
        do {
            // Stored definitions carry their currencies (EventJSONCodec writes them out), so the fallback is unused.
            rule = try SegmentRule(parsing: definition, defaultCurrency: .usd)
        } catch {
            refusals.append(Refusal(segment: name, at: time, reason: "\(error)"))
            return false
        }
        var rules = live.mapValues { generations[$0].rule }
        rules[name] = rule
        if let problem = Self.problem(in: rules, defining: name) {
            refusals.append(Refusal(segment: name, at: time, reason: problem))
            return false
        }
        if let previous = live[name] { generations[previous].endedAt = time }
        generations.append(
            Generation(name: name, rule: rule, definition: definition, description: description, definedAt: time)
        )
        live[name] = generations.count - 1
        derive()
        return true
    }

    /// Where the slots of `earlier` (this catalog before a definition or a removal) went: per slot of `earlier`,
    /// the slot of the same segment here, nil for one no longer live. Nil when no slot moved.
    func slotMoves(since earlier: SegmentCatalog) -> [Int?]? {
        guard earlier.liveNames != liveNames else { return nil }
        return earlier.liveNames.map { slots[$0] }
    }

    /// Ends a segment; rules that refer to it see it empty from then on.
    mutating func remove(_ name: String, at time: EventTime) {
        guard let generation = live.removeValue(forKey: name) else { return }
        generations[generation].endedAt = time
        derive()
    }

    /// Why adding `name` to these live rules is refused (an undefined reference or a cycle), or nil.
    public static func problem(in rules: [String: SegmentRule], defining name: String) -> String? {
        guard let rule = rules[name] else { return nil }
        for reference in rule.referencedSegments.sorted() where rules[reference] == nil {
            return "in_segment refers to \(reference), which is not defined"
        }
        // A cycle through `name`: can `name` be reached from its own references?
        var seen = Set<String>()
        var pending = Array(rule.referencedSegments)
        while let next = pending.popLast() {
            if next == name { return "in_segment makes a cycle through \(name)" }
            guard seen.insert(next).inserted else { continue }
            pending += rules[next]?.referencedSegments ?? []
        }
        return nil
    }

    /// Recomputes the evaluation order, the triggers and the windows of the live definitions.
    private mutating func derive() {
        liveNames = live.keys.sorted()
        slots = [:]
        for (slot, name) in liveNames.enumerated() { slots[name] = slot }
        var order = [Int]()
        var placed = Set<String>()
        var pending = live.keys.sorted()
        while !pending.isEmpty {
            let ready = pending.filter { generations[live[$0]!].rule.referencedSegments.isSubset(of: placed) }
            // Cycles are refused on definition; a removed reference is simply empty.
            let next = ready.isEmpty ? pending : ready
            for name in next {
                order.append(live[name]!)
                placed.insert(name)
            }
            pending.removeAll { placed.contains($0) }
        }
        evaluationOrder = order
        evaluationSlots = order.map { slots[generations[$0].name]! }
        compiled = order.map { CompiledRule(generations[$0].rule, slots: slots) }
        // A segment's triggers and touch filter take in those of the segments it reads (a removed one is empty:
        // nothing changes it).
        var byName = [String: (types: TypeTagSet, touches: TouchFilter)]()
        var windows = Set<WindowedFacts>()
        for generation in order {
            var types = TypeTagSet()
            var touches = TouchFilter()
            for node in generations[generation].rule.nodes {
                types.formUnion(Self.triggers(of: node))
                touches.formUnion(Self.touchFilter(of: node))
                if case .inSegment(let other) = node, let theirs = byName[other] {
                    types.formUnion(theirs.types)
                    touches.formUnion(theirs.touches)
                }
                if let facts = Self.windowedFacts(of: node) { windows.insert(facts) }
            }
            byName[generations[generation].name] = (types, touches)
        }
        triggers = order.map { byName[generations[$0].name]!.types }
        touchFilters = order.map { byName[generations[$0].name]!.touches }
        anyTouchFilter = touchFilters.reduce(into: TouchFilter()) { $0.formUnion($1) }
        timed = reading(in: order) { Self.windowedFacts(of: $0) != nil }
        rescorable = reading(in: order) {
            if case .rfm = $0 { true } else { false }
        }
        anyTrigger = triggers.reduce(into: TypeTagSet()) { $0.formUnion($1) }
        // Grouped by the list they read, which `nextDue` reads once for each group; within a group, only the
        // earliest exit over them matters, so their order does not.
        windowed = windows.sorted { $0.source.list.rawValue < $1.source.list.rawValue }
        readsSegments = order.map { !generations[$0].rule.referencedSegments.isEmpty }
        windowBits =
            windowed.count > 64
            ? []
            : order.map { generation in
                generations[generation].rule.nodes.reduce(into: UInt64(0)) { bits, node in
                    if let facts = Self.windowedFacts(of: node), let place = windowed.firstIndex(of: facts) {
                        bits |= 1 << UInt64(place)
                    }
                }
            }
    }

    private static func tag(_ type: EventType) -> UInt8 { UInt8(type.tag) }

    /// Per generation of `order` (each after those it refers to): whether its rule has a node that `reads`
    /// holds for, or reads (`in_segment`) a segment whose rule has.
    private func reading(in order: [Int], _ reads: (SegmentRule) -> Bool) -> [Bool] {
        var byName = [String: Bool]()
        return order.map { generation in
            let found = generations[generation].rule.nodes.contains { node in
                if case .inSegment(let other) = node, byName[other] == true { return true }
                return reads(node)
            }
            byName[generations[generation].name] = found
            return found
        }
    }

    /// The event types whose facts a rule reads (merges always re-evaluate, see `CustomerProfiles`; `in_segment`
    /// adds those of the segment it names, see `derive`).
    static func triggers(of rule: SegmentRule) -> TypeTagSet {
        switch rule {
        case .all(let rules), .any(let rules): rules.reduce(into: []) { $0.formUnion(triggers(of: $1)) }
        case .not(let inner): triggers(of: inner)
        case .rfm, .inSegment: []
        case .count(let type, _, _, _): [tag(type)]
        case .sum: [tag(.orderPlaced), tag(.orderCancelled), tag(.orderRefunded)]
        case .consent: [tag(.consentChanged)]
        case .country: [tag(.customerRegistered), tag(.customerUpdated)]
        // The city is personal: forgetting the customer clears it.
        case .city: [tag(.customerRegistered), tag(.customerUpdated), tag(.customerForgotten)]
        case .touchedChannel: [tag(.touchpoint)]
        case .touchedCampaign: [tag(.touchpoint), tag(.messageOpened), tag(.messageClicked)]
        case .subscribed: [tag(.productSubscribed), tag(.productUnsubscribed)]
        }
    }

    /// The touch events that a rule's own node can change (``TouchFilter``).
    private static func touchFilter(of rule: SegmentRule) -> TouchFilter {
        var filter = TouchFilter()
        switch rule {
        case .count(let type, _, _, _): filter.counted.insert(tag(type))
        case .touchedChannel(let channel, _): filter.channels.append(Vocabulary.number(of: channel))
        case .touchedCampaign(let campaign, _): filter.campaigns.append(Vocabulary.number(of: campaign))
        default: break
        }
        return filter
    }

    private static func windowedFacts(of rule: SegmentRule) -> WindowedFacts? {
        switch rule {
        case .count(let type, let window, let comparison, let value):
            WindowedFacts(
                source: type == .touchpoint ? .touchpoints : .events(tag(type)),
                window: window,
                settling: .count(depth: comparison.settlingCount(against: value))
            )
        case .sum(let metric, let window, let comparison, let value):
            WindowedFacts(
                source: .amounts(Vocabulary.number(of: value.currency.code)),
                window: window,
                settling: .sum(WindowedFacts.SumTest(metric: metric, comparison: comparison, value: value.minorUnits))
            )
        case .touchedChannel(let channel, let window?):
            WindowedFacts(source: .channel(Vocabulary.number(of: channel)), window: window, settling: .count(depth: 1))
        case .touchedCampaign(let campaign, let window?):
            WindowedFacts(
                source: .campaign(Vocabulary.number(of: campaign)),
                window: window,
                settling: .count(depth: 1)
            )
        default: nil
        }
    }
}

// MARK: - Canonical encoding

extension SegmentCatalog {
    func serialize(into writer: inout BinaryWriter) {
        writer.varint(UInt64(generations.count))
        for generation in generations {
            writer.string(generation.name)
            writer.object(generation.definition)
            writer.optionalString(generation.description)
            writer.int(generation.definedAt.microseconds)
            writer.optionalTime(generation.endedAt)
        }
        writer.varint(UInt64(refusals.count))
        for refusal in refusals {
            writer.string(refusal.segment)
            writer.int(refusal.at.microseconds)
            writer.string(refusal.reason)
        }
        writer.map(live) { $0.varint(UInt64($1)) }
    }

    init(deserializing reader: inout BinaryReader) throws(EventDecodingError) {
        let count = try reader.count("segment definitions")
        for _ in 0..<count {
            let name = try reader.string()
            let definition = try reader.object()
            let rule: SegmentRule
            do {
                rule = try SegmentRule(parsing: definition, defaultCurrency: .usd)
            } catch {
                throw EventDecodingError(reason: "segment \(name): \(error)")
            }
            generations.append(
                Generation(
                    name: name,
                    rule: rule,
                    definition: definition,
                    description: try reader.optionalString(),
                    definedAt: EventTime(microseconds: try reader.int()),
                    endedAt: try reader.optionalTime()
                )
            )
        }
        let refused = try reader.count("segment refusals")
        for _ in 0..<refused {
            refusals.append(
                Refusal(
                    segment: try reader.string(),
                    at: EventTime(microseconds: try reader.int()),
                    reason: try reader.string()
                )
            )
        }
        live = try reader.map { reader throws(EventDecodingError) in Int(try reader.varint()) }
        guard live.values.allSatisfy({ $0 < generations.count }) else {
            throw EventDecodingError(reason: "a live segment names no definition")
        }
        derive()
    }
}

/// The touch events (touchpoints, messages opened or clicked) that can change a rule, by the channel and campaign
/// words (``Vocabulary``) of the touch fact they record: a rule over the touches of one channel or campaign is not
/// changed by a touch of another, and only a count of an event type is changed by every event of that type. Event
/// types alone (``SegmentCatalog``'s triggers) had every touchpoint, two events in five of the benchmark log, decide
/// the demo's rule over email touches again, and read the customer's consent for it (3.1M of 7.7M re-evaluations of
/// a catch-up); every message opened or clicked decided every rule over a campaign again.
struct TouchFilter: Sendable {
    /// The event types whose every event can change it (it counts them).
    var counted = TypeTagSet()
    var channels: [Vocabulary.Word] = []
    var campaigns: [Vocabulary.Word] = []

    /// Whether a touch event of type `type` whose fact names `channel` and `campaign` can change the rule (a
    /// message's fact names no channel: ``Vocabulary/none``, which no rule names).
    func admits(type: UInt8, channel: Vocabulary.Word, campaign: Vocabulary.Word) -> Bool {
        counted.contains(type) || channels.contains(channel) || campaigns.contains(campaign)
    }

    mutating func formUnion(_ other: TouchFilter) {
        counted.formUnion(other.counted)
        channels += other.channels
        campaigns += other.campaigns
    }
}
