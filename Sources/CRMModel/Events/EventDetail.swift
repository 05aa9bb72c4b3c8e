/// How much of an event decoding turns into values (docs/event-codec.md, "Decoding for analytics"): the fields
/// every reader gets, and the optional parts below. A part left out is stepped over, checked as a complete decode
/// checks it (bounds, UTF-8, ranges) but not made into values, and read as absent.
public struct EventDetail: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8

    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The fields that only describe an event: the producer id, a touchpoint's source, medium, kind and url, an
    /// order's region, a shipment's carrier and tracking, a cancellation's reason.
    public static let descriptions = EventDetail(rawValue: 1 << 0)
    /// An order's items (`order.placed`): absent, they read as `nil`, as in an order of schema version 1.
    public static let orderItems = EventDetail(rawValue: 1 << 1)

    /// Every field.
    public static let complete: EventDetail = [.descriptions, .orderItems]
    /// The fields that analytics count: every one but the descriptions.
    public static let counted: EventDetail = [.orderItems]

    /// Whether the fields that only describe an event are read.
    @inlinable public var readsDescriptions: Bool { contains(.descriptions) }
    /// Whether an order's items are read.
    @inlinable public var readsOrderItems: Bool { contains(.orderItems) }
}
