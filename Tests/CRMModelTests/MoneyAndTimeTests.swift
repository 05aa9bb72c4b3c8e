import CRMModel
import Testing
import _EventLogTestSupport

@Suite("Money and time")
struct MoneyAndTimeTests {
    @Test(
        "JSON numbers become exact minor units",
        arguments: [
            ("59.90", "USD", 5990), ("59.9", "usd", 5990), ("0", "EUR", 0), ("12.5", "BRL", 1250),
            ("1e2", "USD", 10000), ("1.50E1", "USD", 1500), ("1000", "JPY", 1000), ("1.2345", "KWD", 1235),
            ("-3.10", "USD", -310), ("12.500000", "USD", 1250),
        ] as [(String, String, Int64)]
    )
    func parseMoney(text: String, currency: String, minorUnits: Int64) throws {
        if text == "1.2345" {
            // Four digits for a three-digit currency: refused, never rounded.
            #expect(throws: Money.ParseError.tooPrecise(digits: 3)) {
                try Money(parsing: text, currency: Currency(currency)!)
            }
            return
        }
        #expect(try Money(parsing: text, currency: Currency(currency)!).minorUnits == minorUnits)
    }

    @Test("Money is written back with the currency's digits and parses to the same amount")
    func moneyRoundTrip() throws {
        var random = SplitMix64(seed: 4)
        for code in ["USD", "JPY", "KWD", "CLF"] {
            let currency = Currency(code)!
            for _ in 0..<200 {
                let money = Money(minorUnits: Int64(bitPattern: random.next()) >> 12, currency: currency)
                #expect(try Money(parsing: money.jsonNumber, currency: currency) == money)
            }
        }
        #expect(Money(minorUnits: 5990, currency: .usd).jsonNumber == "59.90")
        #expect(Money(minorUnits: -5, currency: .usd).jsonNumber == "-0.05")
        #expect(throws: Money.ParseError.outOfRange) { try Money(parsing: "1e30", currency: .usd) }
        #expect(Currency("US") == nil && Currency("U$D") == nil)
    }

    @Test(
        "RFC 3339 times with a zone parse to microseconds",
        arguments: [
            ("2024-05-01T12:00:00Z", 1_714_564_800_000_000),
            ("2024-05-01T09:00:00.250-03:00", 1_714_564_800_250_000),
            ("2024-05-01t12:00:00.000001z", 1_714_564_800_000_001),
            ("1969-12-31T23:59:59.5Z", -500_000),
            ("2024-02-29T00:00:00+14:00", 1_709_114_400_000_000),
        ] as [(String, Int64)]
    )
    func parseTime(text: String, micros: Int64) throws {
        #expect(try EventTime(rfc3339: text).microseconds == micros)
    }

    @Test(
        "Times without a zone, impossible dates and over-precise fractions are refused",
        arguments: [
            "2024-05-01T12:00:00", "2024-05-01 12:00:00Z", "2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z",
            "2024-05-01T24:00:00Z", "2024-05-01T12:00:60Z", "2024-05-01T12:00:00.0000001Z", "2024-05-01T12:00:00+0300",
            "2024-05-01", "yesterday", "2024-05-01T12:00:00Z ",
        ]
    )
    func badTimes(text: String) {
        #expect(throws: EventTime.ParseError.self) { try EventTime(rfc3339: text) }
    }

    @Test("Times are written in UTC and parse back to the same instant")
    func timeRoundTrip() throws {
        var random = SplitMix64(seed: 6)
        for _ in 0..<2000 {
            let time = EventTime(microseconds: Int64(bitPattern: random.next()) % 4_000_000_000_000_000)
            #expect(try EventTime(rfc3339: time.rfc3339) == time, "\(time.microseconds)")
        }
        #expect(EventTime(microseconds: 1_714_564_800_250_000).rfc3339 == "2024-05-01T12:00:00.25Z")
        #expect(EventTime(microseconds: -500_000).rfc3339 == "1969-12-31T23:59:59.5Z")
    }
}
