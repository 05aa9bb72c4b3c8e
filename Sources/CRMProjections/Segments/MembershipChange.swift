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
    public var at: EventTime
    /// The definition that decided it: an index into ``SegmentCatalog/generations``.
    public var generation: Int
    public var entered: Bool
    public var trigger: Trigger
    /// The type tag of the triggering event (for ``Trigger/event``).
    var eventType: UInt8
    /// The rule node that decided the outcome, by its number in the definition's preorder (`SegmentRule.nodes`).
    var node: Int
    /// What that node evaluated to.
    var nodeHolds: Bool
    /// The id whose membership changed when it is not the profile's own (an id merged into it).
    public var subject: String?
    /// The other id of a merge: the survivor for ``Trigger/mergedInto``, the merged id for a `customer.merged`
    /// event.
    var other: String?

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

    func serialize(into writer: inout BinaryWriter) {
        writer.int(at.microseconds)
        writer.varint(UInt64(generation))
        writer.bool(entered)
        writer.varint(UInt64(trigger.rawValue))
        writer.varint(UInt64(eventType))
        writer.varint(UInt64(node))
        writer.bool(nodeHolds)
        writer.optionalString(subject)
        writer.optionalString(other)
    }

    init(deserializing reader: inout BinaryReader) throws(EventDecodingError) {
        at = EventTime(microseconds: try reader.int())
        generation = Int(try reader.varint())
        entered = try reader.bool()
        guard let trigger = Trigger(rawValue: UInt8(truncatingIfNeeded: try reader.varint())) else {
            throw EventDecodingError(reason: "unknown membership trigger")
        }
        self.trigger = trigger
        eventType = UInt8(truncatingIfNeeded: try reader.varint())
        node = Int(try reader.varint())
        nodeHolds = try reader.bool()
        subject = try reader.optionalString()
        other = try reader.optionalString()
    }

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
        self.at = at
        self.generation = generation
        self.entered = entered
        self.trigger = trigger
        self.eventType = eventType
        self.node = node
        self.nodeHolds = nodeHolds
        self.subject = subject
        self.other = other
    }
}
