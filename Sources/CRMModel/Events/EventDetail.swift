/// How much of an event decoding turns into values (docs/event-codec.md, "Decoding for analytics").
public enum EventDetail: Sendable, Hashable {
    /// Every field.
    case complete
    /// The fields that analytics count, without those that only describe the event: the producer id, a
    /// touchpoint's source, medium, kind and url, an order's region, a shipment's carrier and tracking, a
    /// cancellation's reason. Those are stepped over, checked as a complete decode checks them (bounds and
    /// UTF-8) but not made into strings, and read as absent.
    case counted

    /// Whether the fields that only describe an event are read.
    @inlinable public var readsDescriptions: Bool { self == .complete }
}
