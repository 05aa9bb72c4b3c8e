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

    @Test("The catalog's text fields are kept in canonical form (NFC), custom properties and traits as they came")
    func canonicalText() throws {
        // é decomposed (e and a combining accent), the Kelvin sign for K.
        let decomposed = "Jose\u{301}"
        let line =
            #"{"id":"e-\#(decomposed)","type":"order.placed","at":"2024-03-02T08:05:00Z","customer":"\u212A-\#(decomposed)","order":"o-\#(decomposed)","total":1,"city":"S\u00E3o \#(decomposed)","items":[{"sku":"\#(decomposed)","qty":1,"price":1}],"note":"\#(decomposed)"}"#
        let order = try codec.decode(line)
        func bytes(_ text: String?) -> [UInt8] { Array((text ?? "").utf8) }
        let composed = "Jos\u{E9}"
        #expect(bytes(order.id) == bytes("e-" + composed))
        #expect(bytes(order.customer) == bytes("K-" + composed))
        guard case .orderPlaced(let id, _, let items, _, _, _, let city) = order.payload else {
            Issue.record("not an order: \(order.payload)")
            return
        }
        #expect(bytes(id) == bytes("o-" + composed) && bytes(city) == bytes("S\u{E3}o " + composed))
        #expect(bytes(items?.first?.sku) == bytes(composed))
        guard case .string(let note)? = order.custom.members.first?.value else {
            Issue.record("no custom property: \(order.custom)")
            return
        }
        #expect(bytes(note) == bytes(decomposed), "a custom property comes back byte for byte")
        // A change of a registration field is canonical; a custom trait is not.
        let update = try codec.decode(
            #"{"type":"customer.updated","at":"2024-03-02T08:05:00Z","customer":"c","changes":{"city":"\#(decomposed)","nickname":"\#(decomposed)"}}"#
        )
        guard case .customerUpdated(let changes) = update.payload else {
            Issue.record("not an update: \(update.payload)")
            return
        }
        let values = changes.members.map { member -> [UInt8] in
            guard case .string(let text) = member.value else { return [] }
            return bytes(text)
        }
        #expect(values == [bytes(composed), bytes(decomposed)])
        // The length limit applies to the canonical form: 22 Kelvin signs are 66 bytes, over a channel's 64, and 22
        // as Ks.
        let kelvin = try codec.decode(
            #"{"type":"touchpoint","at":"2024-03-02T08:05:00Z","customer":"c","channel":"\#(String(repeating: "\u{212A}", count: 22))"}"#
        )
        guard case .touchpoint(let channel, _, _, _, _, _) = kelvin.payload else {
            Issue.record("not a touchpoint")
            return
        }
        #expect(bytes(channel) == bytes(String(repeating: "K", count: 22)))
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
                #"{"type":"segment.defined","at":"2024-03-01T10:00:00Z","segment":"VIP","definition":{}}"#, "segment",
                "must use only a-z, 0-9 and -"
            ),
            (#"{"type":"segment.defined","at":"2024-03-01T10:00:00Z","segment":"vip"}"#, "definition", "is required"),
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
