public import CRMModel

/// A customer registration with every personal field set, for erasure and sealing tests.
public enum SampleEvents {
    public static let registered = Event(
        id: "e1",
        at: EventTime(microseconds: 1_709_287_200_000_000),
        customer: "c-42",
        payload: .customerRegistered(
            email: "ana@example.com",
            name: "Ana Silva",
            phone: "+5511999",
            country: "BR",
            city: "Recife",
            channel: "social",
            traits: JSONObject([("shoe", .number("38"))])
        ),
        custom: JSONObject([("vip", .bool(true))])
    )
}

/// Random events of every type, for round-trip tests.
public enum RandomEvents {
    public static func event(_ random: inout SplitMix64) -> Event {
        func pick<T>(_ values: [T]) -> T { values[Int(random.next() % UInt64(values.count))] }
        func maybe(_ text: String) -> String? { random.next() % 2 == 0 ? text : nil }
        func money(
            _ currency: Currency = pick([.usd, Currency("JPY")!, Currency("KWD")!]),
            positive: Bool = false
        ) -> Money {
            Money(minorUnits: Int64(random.next() % 1_000_000) + (positive ? 1 : 0), currency: currency)
        }
        let type = pick(EventType.allCases)
        let payload: EventPayload
        switch type {
        case .customerRegistered:
            payload = .customerRegistered(
                email: maybe("a\"b@example.com"),
                name: maybe("Zoë \\ Ng"),
                phone: maybe("+55 11 9"),
                country: maybe("BR"),
                city: maybe("São Paulo"),
                channel: maybe("social"),
                traits: JSONObject(
                    random.next() % 2 == 0 ? [("tier", .string("gold")), ("score", .number("4.5"))] : []
                )
            )
        case .customerUpdated:
            payload = .customerUpdated(changes: JSONObject([("email", .null), ("shoe", .number("42"))]))
        case .customerMerged: payload = .customerMerged(from: "anon-\(random.next() % 100)")
        case .consentChanged:
            payload = .consentChanged(channel: pick(["email", "sms"]), granted: random.next() % 2 == 0)
        case .customerForgotten: payload = .customerForgotten
        case .touchpoint:
            payload = .touchpoint(
                channel: pick(["email", "paid_search", "direct"]),
                campaign: maybe("spring"),
                source: maybe("google"),
                medium: maybe("cpc"),
                kind: maybe("click"),
                url: maybe("https://shop.example/p?q=1&r=2")
            )
        case .messageSent, .messageOpened, .messageClicked, .messageBounced, .messageUnsubscribed:
            payload = .message(
                MessageKind(rawValue: String(type.rawValue.dropFirst(8)))!,
                campaign: "c\(random.next() % 9)",
                channel: "email"
            )
        case .interaction:
            payload = .interaction(
                channel: "chat",
                direction: pick(["inbound", "outbound"]),
                subject: maybe("Where is\nmy order?"),
                text: maybe("…")
            )
        case .ticketOpened:
            payload = .ticketOpened(
                ticket: "t1",
                subject: maybe("Refund"),
                channel: maybe("email"),
                priority: maybe(pick(["low", "urgent"]))
            )
        case .ticketReplied: payload = .ticketReplied(ticket: "t1", by: maybe(pick(["agent", "customer"])))
        case .ticketResolved:
            payload = .ticketResolved(
                ticket: "t1",
                satisfaction: random.next() % 2 == 0 ? Int(random.next() % 5) + 1 : nil
            )
        case .orderPlaced:
            let total = money()
            let items =
                random.next() % 2 == 0
                ? [
                    OrderItem(
                        sku: "B-7",
                        quantity: 2,
                        price: Money(minorUnits: 1, currency: total.currency),
                        category: maybe("shoes"),
                        extra: JSONObject(random.next() % 2 == 0 ? [("gift", .bool(true))] : [])
                    )
                ] : nil
            payload = .orderPlaced(
                order: "o\(random.next() % 99)",
                total: total,
                items: items,
                channel: maybe("web"),
                country: maybe("PT"),
                region: maybe("Lisboa"),
                city: maybe("Lisboa")
            )
        case .orderPaid: payload = .orderPaid(order: "o1", amount: random.next() % 2 == 0 ? money() : nil)
        case .orderShipped: payload = .orderShipped(order: "o1", carrier: maybe("DHL"), tracking: maybe("JD0001"))
        case .orderDelivered: payload = .orderDelivered(order: "o1")
        case .orderCancelled: payload = .orderCancelled(order: "o1", reason: maybe("changed mind"))
        case .orderReturned: payload = .orderReturned(order: "o1", amount: money(positive: true))
        case .orderRefunded: payload = .orderRefunded(order: "o1", amount: money(positive: true))
        case .productLaunched: payload = .productLaunched(sku: "S1", name: maybe("Runner"), category: maybe("shoes"))
        case .productSubscribed: payload = .productSubscribed(sku: "S1", category: maybe("shoes"))
        case .productUnsubscribed: payload = .productUnsubscribed(sku: maybe("S1"), category: "shoes")
        case .campaignCreated:
            payload = .campaignCreated(campaign: "c1", name: "Spring", channel: "email", segment: maybe("vip"))
        case .campaignLaunched: payload = .campaignLaunched(campaign: "c1")
        case .campaignEnded: payload = .campaignEnded(campaign: "c1")
        case .segmentDefined:
            payload = .segmentDefined(
                segment: "repeat-buyers",
                definition: JSONObject([
                    ("count", .string("order.placed")), ("window", .string("90d")), ("op", .string(">=")),
                    ("value", .number("2")),
                ]),
                description: maybe("two orders in 90 days")
            )
        case .segmentRemoved: payload = .segmentRemoved(segment: "repeat-buyers")
        }
        let custom: [(key: String, value: JSONValue)] =
            random.next() % 3 == 0
            ? [("utm", .object([("a", .array([.number("1"), .null]))])), ("n", .number("1E3"))] : []
        return Event(
            id: maybe("e\(random.next())"),
            at: EventTime(microseconds: Int64(random.next() % 2_000_000_000_000_000)),
            customer: type.isCustomerEvent ? "c-\(random.next() % 1000)" : nil,
            payload: payload,
            custom: JSONObject(custom)
        )
    }
}
