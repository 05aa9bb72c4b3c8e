/// One event of the catalog (docs/events.md): the envelope, the type's own fields, and custom properties.
public struct Event: Sendable, Hashable {
    // The time is declared first so that the initializer Swift writes for the type, `init(at:id:…)`, differs from
    // the public one below, which calls it (see there).
    /// When the fact happened.
    public var at: EventTime
    /// The producer's id for idempotent ingest (1–128 bytes), if it gave one.
    public var id: String?
    /// The customer, for customer events (1–256 bytes).
    public var customer: String?
    /// The type and its fields.
    public var payload: EventPayload
    /// Top-level members the type does not define, in their order, unchanged.
    public var custom: JSONObject

    public var type: EventType { payload.type }
}

extension Event {
    // Declared in an extension and calling the initializer Swift writes, which builds the value whole: one that
    // assigns the fields one by one, inlined into a function that returns the event (the codec's decoding), left
    // a copy of the whole event and the destruction of the original there, a retain and a release of each of its
    // strings (docs/benchmark-history.md, twenty-third session).
    public init(
        id: String? = nil,
        at: EventTime,
        customer: String?,
        payload: EventPayload,
        custom: JSONObject = .init()
    ) {
        self.init(at: at, id: id, customer: customer, payload: payload, custom: custom)
    }
}

/// What `message.*` events say happened to a message.
public enum MessageKind: String, Sendable, Hashable, CaseIterable {
    case sent, opened, clicked, bounced, unsubscribed
}

/// Where an order line's price and quantity are kept exact.
public struct OrderItem: Sendable, Hashable {
    public var sku: String
    public var quantity: Int
    public var price: Money
    public var category: String?
    /// Members of the item the catalog does not define, unchanged.
    public var extra: JSONObject

    public init(sku: String, quantity: Int, price: Money, category: String? = nil, extra: JSONObject = .init()) {
        self.sku = sku
        self.quantity = quantity
        self.price = price
        self.category = category
        self.extra = extra
    }
}

/// The type of an event and its own fields. (P) marks personal data, sealed per customer in the log.
public enum EventPayload: Sendable, Hashable {
    /// email (P), name (P), phone (P), country, city (P), acquisition channel, traits (values P).
    case customerRegistered(
        email: String?,
        name: String?,
        phone: String?,
        country: String?,
        city: String?,
        channel: String?,
        traits: JSONObject
    )
    /// Field → new value (`null` removes); known fields as for registration, others are custom traits (P).
    case customerUpdated(changes: JSONObject)
    case customerMerged(from: String)
    case consentChanged(channel: String, granted: Bool)
    case customerForgotten
    case touchpoint(channel: String, campaign: String?, source: String?, medium: String?, kind: String?, url: String?)
    case message(MessageKind, campaign: String, channel: String)
    /// subject (P), text (P).
    case interaction(channel: String, direction: String, subject: String?, text: String?)
    /// subject (P).
    case ticketOpened(ticket: String, subject: String?, channel: String?, priority: String?)
    case ticketReplied(ticket: String, by: String?)
    case ticketResolved(ticket: String, satisfaction: Int?)
    case orderPlaced(
        order: String,
        total: Money,
        items: [OrderItem]?,
        channel: String?,
        country: String?,
        region: String?,
        city: String?
    )
    case orderPaid(order: String, amount: Money?)
    case orderShipped(order: String, carrier: String?, tracking: String?)
    case orderDelivered(order: String)
    case orderCancelled(order: String, reason: String?)
    case orderReturned(order: String, amount: Money)
    case orderRefunded(order: String, amount: Money)
    case productLaunched(sku: String, name: String?, category: String?)
    /// A `sku` or a `category` (at least one).
    case productSubscribed(sku: String?, category: String?)
    case productUnsubscribed(sku: String?, category: String?)
    case campaignCreated(campaign: String, name: String, channel: String, segment: String?)
    case campaignLaunched(campaign: String)
    case campaignEnded(campaign: String)
    /// An engine event: a segment's definition (docs/segments.md), replacing an earlier one of the same name.
    case segmentDefined(segment: String, definition: JSONObject, description: String?)
    /// An engine event: the segment no longer exists.
    case segmentRemoved(segment: String)

    public var type: EventType {
        switch self {
        case .customerRegistered: .customerRegistered
        case .customerUpdated: .customerUpdated
        case .customerMerged: .customerMerged
        case .consentChanged: .consentChanged
        case .customerForgotten: .customerForgotten
        case .touchpoint: .touchpoint
        case .message(let kind, _, _):
            switch kind {
            case .sent: .messageSent
            case .opened: .messageOpened
            case .clicked: .messageClicked
            case .bounced: .messageBounced
            case .unsubscribed: .messageUnsubscribed
            }
        case .interaction: .interaction
        case .ticketOpened: .ticketOpened
        case .ticketReplied: .ticketReplied
        case .ticketResolved: .ticketResolved
        case .orderPlaced: .orderPlaced
        case .orderPaid: .orderPaid
        case .orderShipped: .orderShipped
        case .orderDelivered: .orderDelivered
        case .orderCancelled: .orderCancelled
        case .orderReturned: .orderReturned
        case .orderRefunded: .orderRefunded
        case .productLaunched: .productLaunched
        case .productSubscribed: .productSubscribed
        case .productUnsubscribed: .productUnsubscribed
        case .campaignCreated: .campaignCreated
        case .campaignLaunched: .campaignLaunched
        case .campaignEnded: .campaignEnded
        case .segmentDefined: .segmentDefined
        case .segmentRemoved: .segmentRemoved
        }
    }
}
