/// Every event type of the catalog (docs/events.md), with the stable tag under which the log stores it.
public enum EventType: String, CaseIterable, Sendable, Hashable {
    case customerRegistered = "customer.registered"
    case customerUpdated = "customer.updated"
    case customerMerged = "customer.merged"
    case consentChanged = "consent.changed"
    case customerForgotten = "customer.forgotten"
    case touchpoint = "touchpoint"
    case messageSent = "message.sent"
    case messageOpened = "message.opened"
    case messageClicked = "message.clicked"
    case messageBounced = "message.bounced"
    case messageUnsubscribed = "message.unsubscribed"
    case interaction = "interaction"
    case ticketOpened = "ticket.opened"
    case ticketReplied = "ticket.replied"
    case ticketResolved = "ticket.resolved"
    case orderPlaced = "order.placed"
    case orderPaid = "order.paid"
    case orderShipped = "order.shipped"
    case orderDelivered = "order.delivered"
    case orderCancelled = "order.cancelled"
    case orderReturned = "order.returned"
    case orderRefunded = "order.refunded"
    case productLaunched = "product.launched"
    case productSubscribed = "product.subscribed"
    case productUnsubscribed = "product.unsubscribed"
    case campaignCreated = "campaign.created"
    case campaignLaunched = "campaign.launched"
    case campaignEnded = "campaign.ended"
    case segmentDefined = "segment.defined"
    case segmentRemoved = "segment.removed"

    /// The log's type tag. Stable for ever: a new type takes a new number, a number is never reused.
    public var tag: UInt16 {
        switch self {
        case .customerRegistered: 1
        case .customerUpdated: 2
        case .customerMerged: 3
        case .consentChanged: 4
        case .customerForgotten: 5
        case .touchpoint: 10
        case .messageSent: 11
        case .messageOpened: 12
        case .messageClicked: 13
        case .messageBounced: 14
        case .messageUnsubscribed: 15
        case .interaction: 16
        case .ticketOpened: 20
        case .ticketReplied: 21
        case .ticketResolved: 22
        case .orderPlaced: 30
        case .orderPaid: 31
        case .orderShipped: 32
        case .orderDelivered: 33
        case .orderCancelled: 34
        case .orderReturned: 35
        case .orderRefunded: 36
        case .productLaunched: 40
        case .productSubscribed: 41
        case .productUnsubscribed: 42
        case .campaignCreated: 50
        case .campaignLaunched: 51
        case .campaignEnded: 52
        case .segmentDefined: 60
        case .segmentRemoved: 61
        }
    }

    /// Types by tag, for decoding without hashing (tags are small).
    private static let byTag: [EventType?] = {
        var table = [EventType?](repeating: nil, count: Int(allCases.map(\.tag).max()!) + 1)
        for type in allCases { table[Int(type.tag)] = type }
        return table
    }()

    /// The type stored under `tag`, or nil for a tag this version does not know.
    public init?(tag: UInt16) {
        guard Int(tag) < Self.byTag.count, let type = Self.byTag[Int(tag)] else { return nil }
        self = type
    }

    /// What a `message.*` type says happened; nil for other types.
    public var messageKind: MessageKind? {
        switch self {
        case .messageSent: .sent
        case .messageOpened: .opened
        case .messageClicked: .clicked
        case .messageBounced: .bounced
        case .messageUnsubscribed: .unsubscribed
        default: nil
        }
    }

    /// The names of the type's personal fields (marked (P) in docs/events.md), sealed per customer.
    public var personalFields: [String] {
        switch self {
        case .customerRegistered: ["email", "name", "phone", "city", "traits"]
        case .customerUpdated: ["changes"]
        case .interaction: ["subject", "text"]
        case .ticketOpened: ["subject"]
        default: []
        }
    }

    /// Whether events of this type must name a customer.
    public var isCustomerEvent: Bool {
        switch self {
        case .productLaunched, .campaignCreated, .campaignLaunched, .campaignEnded, .segmentDefined, .segmentRemoved:
            false
        default: true
        }
    }
}
