import CRMModel

/// One customer's part of the segments projection: the timed facts that windowed rules read, the segments it is
/// in, the history of its memberships, its RFM group and when a window next changes it (docs/segments.md).
public struct SegmentStanding: Sendable {
    /// An event of the customer: when, and its type's tag (for `count` rules). Every event of the customer has one
    /// but a touchpoint: its touch fact, the only ones with a channel, counts it (``TouchFact/isTouchpoint``).
    struct EventFact: Sendable, Equatable {
        var at: Int64
        var type: UInt8
    }

    /// An amount that `sum` rules add up.
    struct AmountFact: Sendable, Equatable {
        enum Kind: UInt8, Sendable {
            case placed, cancelled, refunded
        }
        var at: Int64
        var minorUnits: Int64
        /// The currency code, a word of ``Vocabulary``.
        var currency: Vocabulary.Word
        var kind: Kind

        /// What the fact adds to a metric.
        func contribution(to metric: SegmentRule.SumMetric) -> Int64 {
            switch (metric, kind) {
            case (.grossRevenue, .placed), (.netRevenue, .placed), (.refunds, .refunded): minorUnits
            case (.netRevenue, .cancelled), (.netRevenue, .refunded): -minorUnits
            default: 0
            }
        }
    }

    /// A touchpoint (channel, maybe a campaign) or a campaign's message opened or clicked (no channel).
    struct TouchFact: Sendable, Equatable {
        var at: Int64
        /// Words of ``Vocabulary``; `Vocabulary.none` for a message's channel and when there is no campaign.
        var channel: Vocabulary.Word
        var campaign: Vocabulary.Word

        /// Whether the fact is a touchpoint's: a touchpoint's channel is required and never empty (a message's
        /// touch has none).
        var isTouchpoint: Bool { channel != Vocabulary.none }
    }

    /// The tag of `touchpoint`, whose events are counted from the touch facts.
    static let touchpointTag = UInt8(EventType.touchpoint.tag)

    /// Facts in event-time order (a late event is inserted at its place), packed in one buffer.
    private(set) var facts = TimedFacts()
    /// The group at the latest RFM rescoring: its number in `SegmentRule.rfmGroups` plus one; 0 for none. Right
    /// after the facts, in the padding before `live`: in the profile's second cache line, with what rules read.
    var rfmGroup: UInt8 = 0
    var events: TimedFacts.List<EventFact> { facts.events }
    var amounts: TimedFacts.List<AmountFact> { facts.amounts }
    var touches: TimedFacts.List<TouchFact> { facts.touches }
    /// The live segments the customer is in, by slot (``segments(in:)`` names them).
    var live = LiveSegments()
    /// Every change of membership of this customer and of the ids merged into it, in the order they were made
    /// (packed before the facts, in their buffer).
    public var changes: MembershipHistory { facts.changes }
    /// The next instant at which a windowed rule can change for this customer (`Int64.max`: none).
    var due = Int64.max
    /// The instant of this customer's earliest entry in the due queue (`Int64.max`: none). Not part of the
    /// canonical state: a restored state queues every customer at its `due`, which behaves the same.
    var queued = Int64.max

    public init() {}

    /// The RFM group at the latest rescoring.
    public var rfmGroupName: String? { rfmGroup == 0 ? nil : SegmentRule.rfmGroups[Int(rfmGroup) - 1] }

    /// The live segments the customer is in, sorted by name; `catalog`: the state's.
    public func segments(in catalog: SegmentCatalog) -> [String] {
        var names = [String]()
        live.forEachSlot { names.append(catalog.liveNames[$0]) }
        return names
    }

    /// Whether the customer is in the live segment `name`; `catalog`: the state's.
    public func isMember(of name: String, in catalog: SegmentCatalog) -> Bool {
        catalog.slots[name].map(live.contains) ?? false
    }

    /// Records a change of membership, after the others.
    mutating func record(_ change: MembershipChange) { facts.append(change) }

    /// The facts one event added (``record(_:order:)``): an event fact, and an amount or a touch fact for some
    /// types. What moves the customer's due instant, and what names words the state notes in its ``FactWords``.
    struct RecordedFacts {
        var event: EventFact
        var amount: AmountFact?
        var touch: TouchFact?

        /// The words its facts name (the same one twice for an amount).
        var words: (Vocabulary.Word, Vocabulary.Word)? {
            if let amount { return (amount.currency, amount.currency) }
            if let touch { return (touch.channel, touch.campaign) }
            return nil
        }
    }

    /// Records the facts of one of the customer's events and returns them; `words`: the event's (``EventWords``).
    @discardableResult
    mutating func record(_ event: Event, words: EventWords, order: CustomerProfile.Order?) -> RecordedFacts {
        let at = event.at.microseconds
        var recorded = RecordedFacts(event: EventFact(at: at, type: words.typeTag))
        // A touchpoint is counted from its touch fact: 41 % of the generated log's events, and most of a long
        // history's, their event facts took memory and made every reading of the list longer.
        if recorded.event.type != Self.touchpointTag { facts.insert(recorded.event) }
        func amount(_ kind: AmountFact.Kind, _ money: Money, currency: Vocabulary.Word) -> AmountFact {
            AmountFact(at: at, minorUnits: money.minorUnits, currency: currency, kind: kind)
        }
        switch event.payload {
        case .orderPlaced(_, let total, _, _, _, _, _):
            recorded.amount = amount(.placed, total, currency: words.currency)
        case .orderCancelled:
            // The currency is the order's, not in the event.
            recorded.amount = order.map {
                amount(.cancelled, $0.total, currency: Vocabulary.number(of: $0.total.currency.code))
            }
        case .orderRefunded(_, let refunded):
            recorded.amount = amount(.refunded, refunded, currency: words.currency)
        case .touchpoint:
            recorded.touch = TouchFact(at: at, channel: words.channel, campaign: words.campaign)
        case .message(let kind, _, _) where kind == .opened || kind == .clicked:
            // A message's touch fact names its campaign only (its channel is the medium, not a marketing channel).
            recorded.touch = TouchFact(at: at, channel: Vocabulary.none, campaign: words.campaign)
        default:
            break
        }
        if let fact = recorded.amount { facts.insert(fact) }
        if let fact = recorded.touch { facts.insert(fact) }
        return recorded
    }

    /// Which word of a touch fact to count.
    enum TouchField {
        case channel, campaign

        func word(of touch: TouchFact) -> Vocabulary.Word {
            switch self {
            case .channel: touch.channel
            case .campaign: touch.campaign
            }
        }
    }

    /// Touches per channel or engagements per campaign, counted from the touch facts: a touchpoint is a touch of its
    /// channel (and of its campaign, if any), a message opened or clicked a touch of its campaign alone. `words`:
    /// ``Vocabulary/words()``.
    func touchCounts(_ field: TouchField, words: [String]) -> SortedMap<Int64> {
        // Counted in scratch memory (on the stack for the usual few touches), with room for as many facts as the
        // list could hold: counting them would read the whole list once more.
        withUnsafeTemporaryAllocation(of: (word: Vocabulary.Word, count: Int64).self, capacity: touches.mostFacts) {
            scratch in
            var distinct = 0
            touches.read { touch in
                let word = field.word(of: touch)
                guard word != Vocabulary.none else { return true }
                if let index = scratch[..<distinct].firstIndex(where: { $0.word == word }) {
                    scratch[index].count += 1
                } else {
                    scratch.initializeElement(at: distinct, to: (word, 1))
                    distinct += 1
                }
                return true
            }
            var counts = UnsafeMutableBufferPointer(rebasing: scratch[..<distinct])
            counts.sort { words[Int($0.word)] < words[Int($1.word)] }
            // Plain pairs: nothing to deinitialize.
            return SortedMap(sortedEntries: counts.map { (words[Int($0.word)], $0.count) })
        }
    }

    /// Adds the facts and history of an id merged into this customer. Memberships are decided again afterwards.
    mutating func absorb(_ merged: SegmentStanding, mergedID: String) {
        let events = Self.merged(Array(events), Array(merged.events)) { ($0.at, $0.type) < ($1.at, $1.type) }
        // Ties are ordered by the words, not by their numbers, which differ between runs.
        let words = merged.amounts.isEmpty && merged.touches.isEmpty ? [] : Vocabulary.shared.words()
        let amounts = Self.merged(Array(amounts), Array(merged.amounts)) {
            ($0.at, $0.kind.rawValue, $0.minorUnits, words[Int($0.currency)]) < (
                $1.at, $1.kind.rawValue, $1.minorUnits, words[Int($1.currency)]
            )
        }
        let touches = Self.merged(Array(touches), Array(merged.touches)) {
            ($0.at, words[Int($0.channel)], words[Int($0.campaign)]) < (
                $1.at, words[Int($1.channel)], words[Int($1.campaign)]
            )
        }
        let theirs = merged.changes.lazy.map { change in
            var change = change
            change.subject = change.subject ?? mergedID
            return change
        }
        facts = TimedFacts(
            changes: MembershipHistory(Array(changes) + theirs),
            events: events,
            amounts: amounts,
            touches: touches
        )
        rfmGroup = max(rfmGroup, merged.rfmGroup)
    }

    /// Both lists in time order; equal facts are interchangeable, so the order among them does not matter.
    private static func merged<Fact>(_ a: [Fact], _ b: [Fact], by less: (Fact, Fact) -> Bool) -> [Fact] {
        b.isEmpty ? a : (a + b).sorted(by: less)
    }
}

protocol TimedFact {
    var at: Int64 { get set }
}

extension SegmentStanding.EventFact: TimedFact {}
extension SegmentStanding.AmountFact: TimedFact {}
extension SegmentStanding.TouchFact: TimedFact {}

// MARK: - Canonical encoding

extension SegmentStanding {
    /// Everything but the memberships (``serializeMemberships(into:)``). Each fact's time is written as the time
    /// from the fact before it in its list (the first: from 0), its words as their places in `words`, the state's
    /// table.
    func serialize(into writer: inout BinaryWriter, words: FactWords.Table) {
        // The facts as packed, but for their words (``TimedFacts``).
        events.writeCanonical(into: &writer, words: words)
        amounts.writeCanonical(into: &writer, words: words)
        touches.writeCanonical(into: &writer, words: words)
        writer.varint(UInt64(rfmGroup))
        writer.int(due)
    }

    /// The live segments and the changes: written apart from the facts, since a snapshot keeps every customer's
    /// memberships in a section of their own, which queries about segments read alone (docs/projections.md,
    /// section 4).
    struct Memberships: Sendable {
        var segments: [String]
        var changes: MembershipHistory

        /// Reads what ``SegmentStanding/serializeMemberships(into:)`` wrote.
        init(deserializing reader: inout BinaryReader) throws(EventDecodingError) {
            segments = try reader.strings()
            changes = try MembershipHistory(reading: &reader)
        }
    }

    /// `catalog`: the state's, which names the slots of the live segments.
    func serializeMemberships(into writer: inout BinaryWriter, catalog: SegmentCatalog) {
        var copy = self
        copy.writeMemberships(into: &writer, liveNames: EncodedWords(catalog.liveNames))
    }

    /// ``serializeMemberships(into:catalog:)``, mutating only so that a caller holding a pointer to a profile passes
    /// the standing by address (``CustomerProfile/serializeMemberships(_:into:liveNames:)``): it changes nothing.
    /// `liveNames`: the catalog's ``SegmentCatalog/liveNames``, which name the slots.
    mutating func writeMemberships(into writer: inout BinaryWriter, liveNames: EncodedWords) {
        writer.varint(UInt64(live.count))
        live.forEachSlot { liveNames.write($0, into: &writer) }
        changes.write(into: &writer)
    }

    /// Reads what ``writeMemberships(into:liveNames:)`` wrote, for a state to fold into: the live segments by slot
    /// (named by `liveNames`, the state's catalog's) and the changes, which go into the buffer of the customer's
    /// facts (``deserialized(from:words:changes:)``). ``Memberships`` reads the same bytes with the segments' names.
    static func readMemberships(
        from reader: inout BinaryReader,
        liveNames: EncodedWords
    ) throws(EventDecodingError) -> (live: LiveSegments, changes: MembershipHistory) {
        var live = LiveSegments()
        var unknown = ""
        for _ in 0..<(try reader.count("live segments")) {
            guard let slot = try liveNames.number(reading: &reader, unknown: &unknown) else {
                throw EventDecodingError(reason: "a customer is in segment \(unknown), which is not live")
            }
            live.insert(slot)
        }
        return (live, try MembershipHistory(reading: &reader))
    }

    /// `changes`: the customer's, from the memberships section, packed into the same buffer as the facts read here.
    /// `words`: the state's table, which the facts name their words by.
    /// A function, not an initializer, so that `words` is borrowed: an initializer takes its arguments owned, and
    /// retaining the one table both cores of a restore read was as dear as reading a customer's facts.
    static func deserialized(
        from reader: inout BinaryReader,
        words: FactWords.ReadTable,
        changes: MembershipHistory
    ) throws(EventDecodingError) -> SegmentStanding {
        var standing = SegmentStanding()
        standing.facts = try TimedFacts.read(changes: changes, from: &reader, words: words)
        standing.rfmGroup = UInt8(truncatingIfNeeded: try reader.varint())
        standing.due = try reader.int()
        standing.queued = standing.due
        return standing
    }
}
