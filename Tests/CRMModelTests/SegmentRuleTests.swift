import CRMModel
import Testing

@Suite("Segment definitions (docs/segments.md)")
struct SegmentRuleTests {
    static func parse(_ text: String) throws(ValidationError) -> SegmentRule {
        guard case .object(let members) = try? JSONParser.parse(text) else {
            preconditionFailure("test definitions are JSON objects")
        }
        return try SegmentRule(parsing: JSONObject(members), defaultCurrency: .usd)
    }

    @Test("Every rule of the grammar parses to what it says")
    func validRules() throws {
        let day: Int64 = 86_400_000_000
        #expect(
            try Self.parse(#"{"count":"order.placed","window":"90d","op":">=","value":2}"#)
                == .count(.orderPlaced, window: SegmentWindow("90d")!, comparison: .greaterOrEqual, value: 2)
        )
        #expect(SegmentWindow("90d")?.microseconds == 90 * day && SegmentWindow("12h")?.microseconds == day / 2)
        #expect(
            try Self.parse(#"{"sum":"net_revenue","currency":"BRL","window":"365d","op":">","value":500}"#)
                == .sum(
                    .netRevenue,
                    window: SegmentWindow("365d")!,
                    comparison: .greater,
                    value: Money(minorUnits: 50_000, currency: Currency("BRL")!)
                )
        )
        let nested = try Self.parse(
            #"{"all":[{"consent":"email"},{"not":{"rfm":["Lost","At risk"]}},{"any":[{"country":["BR","US"]},"#
                + #"{"in_segment":"vip"},{"touched_campaign":"cmp-5","window":"30d"},{"subscribed":"category:shoes"}]}]}"#
        )
        #expect(nested.referencedSegments == ["vip"])
        guard case .all(let parts) = nested, parts.count == 3, case .not(.rfm(let groups)) = parts[1] else {
            Issue.record("unexpected shape \(nested)")
            return
        }
        #expect(groups == ["Lost", "At risk"])
    }

    @Test(
        "Bad definitions name the path and the reason",
        arguments: [
            (#"{}"#, "definition", "needs one of"),
            (#"{"consent":"email","country":["BR"]}"#, "definition", "has more than one rule"),
            (
                #"{"count":"order.placed","window":"90d","op":">=","value":2,"extra":1}"#, "definition.extra",
                "is not a member"
            ),
            (
                #"{"count":"order.shipped.twice","window":"90d","op":">=","value":2}"#, "definition.count",
                "is not an event type"
            ),
            (
                #"{"count":"order.placed","window":"90w","op":">=","value":2}"#, "definition.window",
                "must be a number of days"
            ),
            (#"{"count":"order.placed","window":"9999d","op":">=","value":2}"#, "definition.window", "at most 3650d"),
            (#"{"count":"order.placed","window":"90d","op":"=>","value":2}"#, "definition.op", "must be one of"),
            (#"{"all":[{"consent":"email"},{"rfm":["Heroes"]}]}"#, "definition.all[1].rfm", "is not an RFM group"),
            (#"{"any":[]}"#, "definition.any", "must not be empty"),
            (#"{"not":{"all":[{"city":[1]}]}}"#, "definition.not.all[0].city[0]", "must be a non-empty string"),
            (#"{"subscribed":"shoes"}"#, "definition.subscribed", "category:NAME or sku:SKU"),
            (#"{"sum":"net_revenue","window":"30d","op":">","value":-5}"#, "definition.value", "must not be negative"),
            (
                #"{"any":["# + Array(repeating: #"{"consent":"email"}"#, count: 1_000).joined(separator: ",") + "]}",
                "definition", "has 1001 rules; at most 1000",
            ),
        ]
    )
    func badRules(text: String, field: String, reason: String) {
        do {
            _ = try Self.parse(text)
            Issue.record("\(text) parsed")
        } catch {
            #expect(error.field == field, "\(error)")
            #expect(error.reason.contains(reason), "\(error)")
        }
    }

    @Test("An ingested segment.defined with a bad definition is refused with the path")
    func codecChecksDefinitions() {
        let line =
            #"{"type":"segment.defined","at":"2024-01-01T00:00:00Z","segment":"vip","definition":{"all":[{"consent":7}]}}"#
        #expect(
            throws: ValidationError(line: 3, field: "definition.all[0].consent", reason: "must be a string, not number")
        ) {
            try EventJSONCodec().decode(line, lineNumber: 3)
        }
    }
}
