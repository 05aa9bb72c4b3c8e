public import CRMModel

/// The facts the campaign, sales, support and cohort reports are computed from (docs/analytics.md): orders,
/// tickets, campaign message counts, each customer's campaign engagement, and product launches. Reports are
/// computed at query time, so that a period or a grouping can change without a rebuild.
public enum ShopAnalytics: Projection {
    public static let name = "shop-analytics"
    public static let version: UInt32 = 1
    /// No personal field is read (a ticket's subject is not kept).
    public static let personalFieldsRead: Set<EventType> = []
    public static let eventDetail = EventDetail.counted

    /// One order, changed by its cancellation, returns and refunds.
    public struct Order: Identified, Equatable {
        public struct Item: Sendable, Equatable {
            public var sku: String
            public var category: String?
            public var quantity: Int64
            /// Unit price, in the order's currency.
            public var price: Int64
        }

        /// The order's id.
        public var id: String
        /// The customer who placed it (an id merged since resolves through the state's identities).
        public var customer: String
        /// Nil until its `order.placed` is applied (returns can come late, before it).
        public var placedAt: Int64?
        public var total = Money(minorUnits: 0, currency: .usd)
        public var items: [Item] = []
        public var channel: String?
        public var country: String?
        public var city: String?
        public var cancelled = false
        public var returned: Int64 = 0
        public var refunded: Int64 = 0
        /// Whether it counts as a sale: placed and not cancelled.
        public var isSale: Bool { placedAt != nil && !cancelled }
    }

    public struct Ticket: Sendable, Equatable {
        public var customer: String
        public var openedAt: Int64?
        public var channel: String?
        public var priority: String?
        public var resolvedAt: Int64?
        public var satisfaction: Int?
    }

    public struct Campaign: Sendable, Equatable {
        public var name: String?
        public var channel: String?
        public var sent: Int64 = 0
        public var bounced: Int64 = 0
        public var unsubscribed: Int64 = 0
    }

    public struct Launch: Sendable, Equatable {
        public var sku: String
        public var name: String?
        public var category: String?
        public var at: EventTime
    }

    /// Engagement flags of a customer with a campaign.
    static let opened: UInt8 = 1
    static let clicked: UInt8 = 2

    /// A customer's engagement: campaign → ``opened`` / ``clicked`` flags.
    struct Engagement: Identified {
        /// The customer's id.
        var id: String
        var campaigns: SortedMap<UInt8> = [:]
    }

    public struct State: ProjectionState {
        public internal(set) var identities = IdentityMap()
        /// By order id.
        public internal(set) var orders = IdentifiedTable<Order>()
        public internal(set) var tickets: [String: Ticket] = [:]
        public internal(set) var campaigns: [String: Campaign] = [:]
        /// Per customer: campaign → opened / clicked flags (a customer engages with a few campaigns; a dictionary
        /// each took about 200 bytes).
        var engagement = IdentifiedTable<Engagement>()
        /// In log order.
        public internal(set) var launches: [Launch] = []

        public init() {}

        public mutating func absorb(_ shard: consuming State) {
            identities.absorb(shard.identities)
            orders.absorb(taking: &shard.orders)
            tickets.merge(shard.tickets) { mine, _ in mine }
            engagement.absorb(taking: &shard.engagement)
            // Events without a customer (campaign.created, product.launched) reach every shard: keep one copy.
            // Message counts come from customer events, so they are added up.
            for (id, campaign) in shard.campaigns {
                campaigns[id, default: Campaign()].sent += campaign.sent
                campaigns[id]!.bounced += campaign.bounced
                campaigns[id]!.unsubscribed += campaign.unsubscribed
                campaigns[id]!.name = campaigns[id]!.name ?? campaign.name
                campaigns[id]!.channel = campaigns[id]!.channel ?? campaign.channel
            }
        }
    }

    public static func makeState() -> State { State() }

    // Inlined into the loops that call it, as the customer projection's is: called, each event held in place was
    // first copied to the stack (a retain and a release of each of its strings).
    @inline(__always)
    public static func apply(_ projected: ProjectedEvent, to state: inout State) {
        let event = projected.event
        switch event.payload {
        case .campaignCreated(let campaign, let name, let channel, _):
            state.campaigns[campaign, default: Campaign()].name = name
            state.campaigns[campaign]!.channel = channel
            return
        case .productLaunched(let sku, let name, let category):
            state.launches.append(Launch(sku: sku, name: name, category: category, at: event.at))
            return
        default:
            break
        }
        guard let customer = event.customer else { return }
        let at = event.at.microseconds
        switch event.payload {
        case .customerMerged(let from):
            guard let (merged, survivor) = state.identities.merge(from, into: customer),
                let absorbed = state.engagement.remove(merged)
            else { return }
            state.engagement.update(survivor, default: Engagement(id: survivor)) {
                $0.campaigns.merge(absorbed.campaigns) { $0 | $1 }
            }
        case .message(let kind, let campaign, _):
            switch kind {
            case .sent: state.campaigns[campaign, default: Campaign()].sent += 1
            case .bounced: state.campaigns[campaign, default: Campaign()].bounced += 1
            case .unsubscribed: state.campaigns[campaign, default: Campaign()].unsubscribed += 1
            case .opened, .clicked:
                state.engagement.update(
                    customer: customer,
                    hash: projected.customerHash,
                    identities: state.identities,
                    default: { Engagement(id: $0) },
                    passing: (),
                    applying: { engagement, _ in
                        engagement.campaigns[campaign, default: 0] |= kind == .opened ? opened : clicked
                    }
                )
            }
        case .orderPlaced(let order, let total, let items, let channel, let country, _, let city):
            state.orders.update(order, default: Order(id: order, customer: customer)) { record in
                guard record.placedAt == nil else { return }
                record.placedAt = at
                record.total = total
                record.items = (items ?? []).map {
                    .init(sku: $0.sku, category: $0.category, quantity: Int64($0.quantity), price: $0.price.minorUnits)
                }
                record.channel = channel
                record.country = country
                record.city = city
            }
        case .orderCancelled(let order, _):
            state.orders.update(order, default: Order(id: order, customer: customer)) { $0.cancelled = true }
        case .orderReturned(let order, let amount):
            state.orders.update(order, default: Order(id: order, customer: customer)) {
                $0.returned += amount.minorUnits
            }
        case .orderRefunded(let order, let amount):
            state.orders.update(order, default: Order(id: order, customer: customer)) {
                $0.refunded += amount.minorUnits
            }
        case .ticketOpened(let ticket, _, let channel, let priority):
            guard state.tickets[ticket]?.openedAt == nil else { return }
            state.tickets[ticket, default: Ticket(customer: customer)].openedAt = at
            state.tickets[ticket]!.channel = channel
            state.tickets[ticket]!.priority = priority
        case .ticketResolved(let ticket, let satisfaction):
            guard state.tickets[ticket]?.resolvedAt == nil else { return }
            state.tickets[ticket, default: Ticket(customer: customer)].resolvedAt = at
            state.tickets[ticket]!.satisfaction = satisfaction
        default:
            break
        }
    }
}

// MARK: - Canonical encoding

extension ShopAnalytics.State {
    public func serialize(into writer: inout BinaryWriter) {
        identities.serialize(into: &writer)
        writer.map(orders) { writer, order in
            writer.string(order.customer)
            writer.optionalTime(order.placedAt.map(EventTime.init(microseconds:)))
            writer.money(order.total)
            writer.varint(UInt64(order.items.count))
            for item in order.items {
                writer.string(item.sku)
                writer.optionalString(item.category)
                writer.int(item.quantity)
                writer.int(item.price)
            }
            writer.optionalString(order.channel)
            writer.optionalString(order.country)
            writer.optionalString(order.city)
            writer.bool(order.cancelled)
            writer.int(order.returned)
            writer.int(order.refunded)
        }
        writer.map(tickets) { writer, ticket in
            writer.string(ticket.customer)
            writer.optionalTime(ticket.openedAt.map(EventTime.init(microseconds:)))
            writer.optionalString(ticket.channel)
            writer.optionalString(ticket.priority)
            writer.optionalTime(ticket.resolvedAt.map(EventTime.init(microseconds:)))
            writer.int(Int64(ticket.satisfaction ?? -1))
        }
        writer.map(campaigns) { writer, campaign in
            writer.optionalString(campaign.name)
            writer.optionalString(campaign.channel)
            writer.int(campaign.sent)
            writer.int(campaign.bounced)
            writer.int(campaign.unsubscribed)
        }
        writer.map(engagement) { writer, customer in writer.map(customer.campaigns) { $0.varint(UInt64($1)) } }
        writer.varint(UInt64(launches.count))
        for launch in launches {
            writer.string(launch.sku)
            writer.optionalString(launch.name)
            writer.optionalString(launch.category)
            writer.int(launch.at.microseconds)
        }
    }

    public init(deserializing reader: inout BinaryReader) throws(EventDecodingError) {
        identities = try IdentityMap(deserializing: &reader)
        orders = try reader.table { id, reader throws(EventDecodingError) in
            var order = ShopAnalytics.Order(id: id, customer: try reader.string())
            order.placedAt = try reader.optionalTime()?.microseconds
            order.total = try reader.money()
            for _ in 0..<(try reader.count("items")) {
                order.items.append(
                    .init(
                        sku: try reader.string(),
                        category: try reader.optionalString(),
                        quantity: try reader.int(),
                        price: try reader.int()
                    )
                )
            }
            order.channel = try reader.optionalString()
            order.country = try reader.optionalString()
            order.city = try reader.optionalString()
            order.cancelled = try reader.bool()
            order.returned = try reader.int()
            order.refunded = try reader.int()
            return order
        }
        tickets = try reader.map { reader throws(EventDecodingError) in
            var ticket = ShopAnalytics.Ticket(customer: try reader.string())
            ticket.openedAt = try reader.optionalTime()?.microseconds
            ticket.channel = try reader.optionalString()
            ticket.priority = try reader.optionalString()
            ticket.resolvedAt = try reader.optionalTime()?.microseconds
            let satisfaction = try reader.int()
            ticket.satisfaction = satisfaction < 0 ? nil : Int(satisfaction)
            return ticket
        }
        campaigns = try reader.map { reader throws(EventDecodingError) in
            ShopAnalytics.Campaign(
                name: try reader.optionalString(),
                channel: try reader.optionalString(),
                sent: try reader.int(),
                bounced: try reader.int(),
                unsubscribed: try reader.int()
            )
        }
        engagement = try reader.table { id, reader throws(EventDecodingError) in
            ShopAnalytics.Engagement(
                id: id,
                campaigns: try reader.sortedMap { reader throws(EventDecodingError) in
                    UInt8(truncatingIfNeeded: try reader.varint())
                }
            )
        }
        for _ in 0..<(try reader.count("launches")) {
            launches.append(
                .init(
                    sku: try reader.string(),
                    name: try reader.optionalString(),
                    category: try reader.optionalString(),
                    at: EventTime(microseconds: try reader.int())
                )
            )
        }
    }
}
