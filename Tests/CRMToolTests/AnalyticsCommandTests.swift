import Foundation
import Testing
import _EventLogTestSupport

@Suite("crm campaigns, sales, products, support and cohorts, end to end")
struct AnalyticsCommandTests {
    @Test("Each report on the hand-computed fixture, with --by, a period, --as-of and a bad option")
    func reports() throws {
        let directory = TemporaryDirectory("cli-analytics")
        let log = directory.path("db")
        #expect(try crm(["ingest", "-"], log: log, input: fixtureEventLines("analytics/basic.json")).status == 0)
        func csv(_ arguments: [String]) throws -> String {
            let result = try crm(arguments + ["--format", "csv"], log: log)
            #expect(result.status == 0, "\(arguments): \(result.standardError)")
            return result.standardOutput
        }
        // c-1 clicked spring on Jan 1 and ordered 100 on Jan 10: last touch credits spring (100 / 3 delivered).
        #expect(
            try csv(["campaigns"]).contains(
                "\nspring,Spring sale,4,3,2,1,0.6667,0.3333,0.5000,1,0.2500,1.0000,100.00,33.33\n"
            )
        )
        #expect(
            try csv(["sales", "--by", "channel"]).contains("\nweb,USD,3,210.00,30.00,40.00,40.00,140.00,70.00,0.5000\n")
        )
        #expect(
            try csv(["sales", "--by", "month", "--from", "2024-02-01T00:00:00Z"]).hasPrefix(
                "month,currency,orders,gross,cancelled,returned,refunded,net,aov,return_rate\n2024-02,USD,2,80.00,30.00,"
            )
        )
        #expect(
            try csv(["products", "--categories"])
                == "category,currency,units,revenue,orders\nbags,USD,3,120.00,2\nshoes,USD,3,110.00,2\n"
        )
        #expect(try csv(["support", "--by", "channel"]).contains("\nchat,3,2,1,2.0,10.0,5.00,0,0,0,0,1\n"))
        // As of Jan 3, t-2 was still open and rated nothing yet.
        #expect(try csv(["support", "--as-of", "2024-01-03T12:00:00Z"]).contains("\nall,3,1,2,10.0,10.0,5.00,"))
        #expect(try csv(["cohorts"]).contains("\n2024-01,2,1.000,0.500\n"))
        let bad = try crm(["sales", "--by", "weekday"], log: log)
        #expect(bad.status == 64 && bad.standardError.contains("--by must be one of total, channel"))
    }
}
