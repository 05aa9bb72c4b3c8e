import CRMModel
import Testing
import _EventLogTestSupport

@Suite("Event JSON codec")
struct EventJSONCodecTests {
    let codec = EventJSONCodec()

    @Test("The spec's example lines decode, with exact money and custom properties kept")
    func specExamples() throws {
        let registered = try codec.decode(
            #"{"id":"e1","type":"customer.registered","at":"2024-03-01T10:00:00Z","customer":"c-42","email":"ana@example.com","name":"Ana Silva","country":"BR","channel":"social","vip":true}"#
        )
        #expect(registered.type == .customerRegistered && registered.id == "e1" && registered.customer == "c-42")
        #expect(registered.custom == JSONObject([("vip", .bool(true))]))
        let order = try codec.decode(
            #"{"id":"e3","type":"order.placed","at":"2024-03-02T08:05:00Z","customer":"c-42","order":"o-1","total":59.90,"currency":"BRL","channel":"web","items":[{"sku":"B-7","qty":1,"price":59.90}]}"#
        )
        guard case .orderPlaced(let id, let total, let items, let channel, _, _, _) = order.payload else {
            Issue.record("not an order: \(order.payload)")
            return
        }
        #expect(id == "o-1" && channel == "web")
        #expect(total == Money(minorUnits: 5990, currency: Currency("BRL")!))
        #expect(
            items == [OrderItem(sku: "B-7", quantity: 1, price: Money(minorUnits: 5990, currency: Currency("BRL")!))]
        )
        #expect(try codec.decode(codec.encodeLine(order)) == order)
        let usd = try codec.decode(
            #"{"type":"order.refunded","at":"2024-03-02T08:05:00+01:00","customer":"c","order":"o","amount":5}"#
        )
        guard case .orderRefunded(_, let amount) = usd.payload else {
            Issue.record("not a refund")
            return
        }
        #expect(amount == Money(minorUnits: 500, currency: .usd), "the default currency applies")
    }

    @Test(
        "Bad lines are refused naming the line, the field and the reason",
        arguments: [
            (#"[1,2]"#, nil, "must be a JSON object, not array"),
            (#"{"type":"order.placed""#, nil, "not JSON (column 23: expected ',' or '}' in an object)"),
            (#"{"at":"2024-03-01T10:00:00Z","customer":"c"}"#, "type", "is required"),
            (
                #"{"type":"order.shipped!","at":"2024-03-01T10:00:00Z"}"#, "type",
                #"unknown event type "order.shipped!""#
            ),
            (
                #"{"type":"touchpoint","at":"2024-03-01T10:00:00","customer":"c","channel":"email"}"#, "at",
                "is not an RFC 3339 time with a zone: the time zone is missing (Z or ±hh:mm)"
            ),
            (#"{"type":"touchpoint","at":"2024-03-01T10:00:00Z","channel":"email"}"#, "customer", "is required"),
            (
                #"{"type":"touchpoint","at":"2024-03-01T10:00:00Z","customer":"c","channel":7}"#, "channel",
                "must be a string, not number"
            ),
            (
                #"{"type":"order.placed","at":"2024-03-01T10:00:00Z","customer":"c","order":"o","total":-1}"#, "total",
                "must not be negative"
            ),
            (
                #"{"type":"order.returned","at":"2024-03-01T10:00:00Z","customer":"c","order":"o","amount":0}"#,
                "amount",
                "must be greater than 0"
            ),
            (
                #"{"type":"order.placed","at":"2024-03-01T10:00:00Z","customer":"c","order":"o","total":1.234}"#,
                "total",
                "has more than 2 decimal digits for USD"
            ),
            (
                #"{"type":"order.placed","at":"2024-03-01T10:00:00Z","customer":"c","order":"o","total":1,"items":[{"sku":"a","qty":0,"price":1}]}"#,
                "items[0].qty", "must be an integer from 1 to 1000000"
            ),
            (
                #"{"type":"ticket.resolved","at":"2024-03-01T10:00:00Z","customer":"c","ticket":"t","satisfaction":6}"#,
                "satisfaction", "must be an integer from 1 to 5"
            ),
            (
                #"{"type":"consent.changed","at":"2024-03-01T10:00:00Z","customer":"c","channel":"sms","granted":"yes"}"#,
                "granted", "must be true or false, not string"
            ),
            (
                #"{"type":"product.subscribed","at":"2024-03-01T10:00:00Z","customer":"c"}"#, "sku",
                "a sku or a category is required"
            ),
            (
                #"{"type":"touchpoint","at":"2024-03-01T10:00:00Z","customer":"c","channel":"email","id":""}"#, "id",
                "must be 1 to 128 bytes long"
            ),
            (
                #"{"type":"customer.registered","at":"2024-03-01T10:00:00Z","customer":"c","country":"Brazil"}"#,
                "country", "must be an ISO 3166-1 alpha-2 code (two capital letters)"
            ),
        ] as [(String, String?, String)]
    )
    func badLines(line: String, field: String?, reason: String) {
        let error = #expect(throws: ValidationError.self) { try codec.decode(line, lineNumber: 12) }
        #expect(error == ValidationError(line: 12, field: field, reason: reason))
    }

    @Test("Random events of every type survive encode and decode unchanged")
    func randomRoundTrip() throws {
        var random = SplitMix64(seed: 21)
        var seen = Set<EventType>()
        for _ in 0..<3000 {
            let event = RandomEvents.event(&random)
            seen.insert(event.type)
            let line = codec.encodeLine(event)
            #expect(try codec.decode(line) == event, "\(line)")
        }
        #expect(seen == Set(EventType.allCases))
    }
}

/// Random events of every type, for round-trip tests.
enum RandomEvents {
    static func event(_ random: inout SplitMix64) -> Event {
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

@Suite("Sample payloads")
struct SamplePayloadTests {
    @Test("The sample payloads of the demo and the benchmarks are valid events")
    func samplesAreValid() throws {
        var samples = SamplePayloads(seed: 1)
        let codec = EventJSONCodec()
        for _ in 0..<2000 {
            let sample = samples.next()
            let event = try codec.decode(String(decoding: sample.json, as: UTF8.self))
            #expect(event.customer == sample.key && event.at.microseconds / 1_000_000 == sample.eventTime / 1_000_000)
        }
    }
}
