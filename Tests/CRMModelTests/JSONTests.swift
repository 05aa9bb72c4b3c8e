import CRMModel
import Testing
import _EventLogTestSupport

@Suite("JSON")
struct JSONTests {
    @Test(
        "Bad JSON is refused with the column and the reason",
        arguments: [
            ("", 1, "unexpected end of input"),
            ("{", 2, "expected a member name in quotes"),
            ("{\"a\":1,}", 8, "expected a member name in quotes"),
            ("{\"a\":1 \"b\":2}", 8, "expected ',' or '}' in an object"),
            ("{\"a\":1,\"a\":2}", 8, "duplicate member \"a\""),
            ("[1,2", 5, "expected ',' or ']' in an array"),
            ("01", 2, "unexpected text after the JSON value"),
            ("1.", 3, "a fraction needs digits"),
            ("-", 2, "a number needs a digit"),
            ("1e+", 4, "an exponent needs digits"),
            ("\"abc", 5, "unterminated string"),
            ("\"a\\x\"", 3, "invalid escape '\\x'"),
            ("\"\\ud800\"", 8, "unpaired surrogate"),
            ("tru", 1, "invalid literal"),
            ("{\"a\":1} x", 9, "unexpected text after the JSON value"),
        ]
    )
    func badJSON(text: String, column: Int, reason: String) {
        let failure = #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(text) }
        #expect(failure == JSONParser.Failure(column: column, reason: reason))
    }

    @Test("Numbers keep their text, members their order, strings their characters")
    func exactness() throws {
        let value = try JSONParser.parse(
            #"{"total":59.90,"z":1e-7,"a":[true,false,null],"s":"é\n\"\u00e9\ud83d\ude00"}"#
        )
        #expect(value["total"] == .number("59.90"))
        #expect(value["z"] == .number("1e-7"))
        guard case .object(let members) = value else {
            Issue.record("not an object")
            return
        }
        #expect(members.map(\.key) == ["total", "z", "a", "s"])
        #expect(value["s"] == .string("é\n\"é😀"))
        #expect(JSONWriter.string(value) == #"{"total":59.90,"z":1e-7,"a":[true,false,null],"s":"é\n\"é😀"}"#)
    }

    @Test("Writing then parsing random values gives them back")
    func roundTrip() throws {
        var random = SplitMix64(seed: 8)
        for _ in 0..<500 {
            let value = Self.randomValue(&random, depth: 0)
            #expect(try JSONParser.parse(JSONWriter.string(value)) == value)
        }
    }

    @Test("Nesting deeper than the limit is refused, not a stack overflow")
    func depthLimit() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(deep) }
    }

    static func randomValue(_ random: inout SplitMix64, depth: Int) -> JSONValue {
        let kind = depth > 3 ? random.next() % 4 : random.next() % 6
        switch kind {
        case 0: return .null
        case 1: return .bool(random.next() % 2 == 0)
        case 2:
            let numbers = ["0", "-1", "12.50", "1e10", "-0.001", "123456789012345678901234567890", "3.14E-2"]
            return .number(numbers[Int(random.next() % UInt64(numbers.count))])
        case 3:
            let pieces = ["a", "é", "\"", "\\", "\n", "\u{1}", "😀", " ", "/"]
            return .string(
                (0..<Int(random.next() % 6)).map { _ in pieces[Int(random.next() % UInt64(pieces.count))] }.joined()
            )
        case 4: return .array((0..<Int(random.next() % 4)).map { _ in randomValue(&random, depth: depth + 1) })
        default:
            var members = [(key: String, value: JSONValue)]()
            for index in 0..<Int(random.next() % 4) {
                members.append(
                    ("k\(index)\(random.next() % 3 == 0 ? "é\"" : "")", randomValue(&random, depth: depth + 1))
                )
            }
            return .object(members)
        }
    }
}
