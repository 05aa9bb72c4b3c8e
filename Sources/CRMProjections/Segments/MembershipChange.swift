public import CRMModel

/// A customer entering or leaving a segment, when, and why (docs/segments.md, section 3).
public struct MembershipChange: Sendable, Equatable {
    /// What made the projection look at the customer.
    public enum Trigger: UInt8, Sendable {
        /// One of the customer's events (its type in ``MembershipChange/eventType``).
        case event
        /// Time passed: a fact left a rule's window.
        case window
        /// The segment (or one it refers to) was defined or redefined.
        case defined
        /// The segment was removed.
        case removed
        /// The id was merged into another (``MembershipChange/other``).
        case mergedInto
        /// The monthly RFM rescoring moved the customer to another group.
        case rescored
    }

    /// Event time of the change (the projection's clock when it was decided).
    public var at: EventTime { EventTime(microseconds: microseconds) }
    /// The definition that decided it: an index into ``SegmentCatalog/generations``.
    public var generation: Int { Int(generationNumber) }
    public var entered: Bool { flags & Self.enteredFlag != 0 }
    public var trigger: Trigger { Trigger(rawValue: flags >> Self.triggerShift)! }
    /// The rule node that decided the outcome, by its number in the definition's preorder (`SegmentRule.nodes`).
    var node: Int { Int(nodeNumber) }
    /// What that node evaluated to.
    var nodeHolds: Bool { flags & Self.nodeHoldsFlag != 0 }
    /// The id whose membership changed when it is not the profile's own (an id merged into it).
    public var subject: String? {
        get { mergeIDs?.subject }
        set { mergeIDs = newValue == nil && other == nil ? nil : MergeIDs(subject: newValue, other: other) }
    }
    /// The other id of a merge: the survivor for ``Trigger/mergedInto``, the merged id for a `customer.merged`
    /// event.
    var other: String? { mergeIDs?.other }

    // 24 bytes, where plain fields took 72: the ids of merges, which few changes have, live behind one optional
    // reference. A customer's history keeps its changes packed (`MembershipHistory`).
    private var microseconds: Int64
    private var mergeIDs: MergeIDs?
    private var generationNumber: UInt32
    private var nodeNumber: UInt16
    /// The type tag of the triggering event (for ``Trigger/event``).
    private(set) var eventType: UInt8
    /// `entered`, `nodeHolds`, and the trigger in the bits from `triggerShift` up.
    private var flags: UInt8

    private static let enteredFlag: UInt8 = 1
    private static let nodeHoldsFlag: UInt8 = 2
    private static let triggerShift: UInt8 = 2

    public static func == (a: Self, b: Self) -> Bool {
        (a.microseconds, a.generationNumber, a.nodeNumber, a.eventType, a.flags)
            == (b.microseconds, b.generationNumber, b.nodeNumber, b.eventType, b.flags)
            && (a.subject, a.other) == (b.subject, b.other)
    }

    private final class MergeIDs: Sendable {
        let subject: String?
        let other: String?

        init(subject: String?, other: String?) {
            self.subject = subject
            self.other = other
        }
    }

    /// The reason in words: `order.placed: count(order.placed, 90d) >= 2 became true`.
    public func reason(in catalog: SegmentCatalog) -> String {
        let rule = catalog.generations[generation].rule.nodes[node]
        let outcome = "\(rule) became \(nodeHolds)"
        switch trigger {
        case .event:
            let type = EventType(tag: UInt16(eventType))?.rawValue ?? "event"
            return type == "customer.merged"
                ? "customer.merged from \(other ?? "?"): \(outcome)" : "\(type): \(outcome)"
        case .window: return "window passed: \(outcome)"
        case .defined: return "definition changed: \(outcome)"
        case .removed: return "segment removed"
        case .mergedInto: return "merged into \(other ?? "?")"
        case .rescored: return "RFM rescored: \(outcome)"
        }
    }

    /// Set in a packed change's flags when the ids of a merge follow.
    private static let packedIDsFlag: UInt8 = 0x80

    /// The packed form ``MembershipHistory`` keeps: the time from `previous` (the change before it), then the other
    /// fields.
    func pack(into packed: inout some PackedBytes, after previous: Int64) {
        packed.zigzag(microseconds &- previous)
        packed.varint(UInt64(generationNumber))
        packed.varint(UInt64(nodeNumber))
        packed.append(eventType)
        guard let mergeIDs else { return packed.append(flags) }
        packed.append(flags | Self.packedIDsFlag)
        packed.optionalString(mergeIDs.subject)
        packed.optionalString(mergeIDs.other)
    }

    /// Whether the packed form fits a ``PackedRecord`` (it does unless it names the ids of a merge).
    var packsIntoRecord: Bool { mergeIDs == nil }

    init(unpacking reader: inout BinaryReader, after previous: Int64) throws(EventDecodingError) {
        microseconds = previous &+ (try reader.zigzag())
        generationNumber = UInt32(truncatingIfNeeded: try reader.varint())
        nodeNumber = UInt16(truncatingIfNeeded: try reader.varint())
        eventType = try reader.byte()
        let packedFlags = try reader.byte()
        flags = packedFlags & ~Self.packedIDsFlag
        mergeIDs =
            packedFlags & Self.packedIDsFlag == 0
            ? nil : MergeIDs(subject: try reader.optionalString(), other: try reader.optionalString())
    }

    /// Steps over one packed change and returns its time, without making the change (its merge ids are checked in
    /// place, not read into strings), checking what unpacking takes on trust: a known trigger and no unknown flag,
    /// a generation and a node that fit their fields, ids of valid UTF-8. How a snapshot's changes (written as they
    /// are packed) are checked, and how the time the next change is packed after is found.
    static func check(reading reader: inout BinaryReader, after previous: Int64) throws(EventDecodingError) -> Int64 {
        let time = previous &+ (try reader.zigzag())
        let generation = try reader.varint()
        let node = try reader.varint()
        guard generation <= UInt32.max, node <= UInt16.max else {
            throw EventDecodingError(reason: "membership change of generation \(generation), node \(node): too large")
        }
        _ = try reader.byte()
        let packedFlags = try reader.byte()
        let trigger = (packedFlags & ~packedIDsFlag) >> triggerShift
        guard Trigger(rawValue: trigger) != nil else {
            throw EventDecodingError(reason: "unknown membership trigger \(trigger)")
        }
        if packedFlags & packedIDsFlag != 0 {
            try reader.checkOptionalString()
            try reader.checkOptionalString()
        }
        return time
    }

    /// `generation` and `node` fit in 32 and 16 bits: a catalog holds far fewer definitions, and a rule far fewer
    /// nodes (definitions are limited in size when they are appended).
    init(
        at: EventTime,
        generation: Int,
        entered: Bool,
        trigger: Trigger,
        eventType: UInt8 = 0,
        node: Int = 0,
        nodeHolds: Bool = false,
        subject: String? = nil,
        other: String? = nil
    ) {
        microseconds = at.microseconds
        generationNumber = UInt32(generation)
        nodeNumber = UInt16(node)
        self.eventType = eventType
        flags =
            (entered ? Self.enteredFlag : 0) | (nodeHolds ? Self.nodeHoldsFlag : 0)
            | trigger.rawValue << Self.triggerShift
        mergeIDs = subject == nil && other == nil ? nil : MergeIDs(subject: subject, other: other)
    }
}
