import Foundation
import Testing
import _EventLogTestSupport

@Suite("crm attribution, end to end")
struct AttributionCommandTests {
    @Test("A model, --compare, --paths, --as-of and bad options, on the hand-computed fixture")
    func attribution() throws {
        let directory = TemporaryDirectory("cli-attribution")
        let log = directory.path("db")
        #expect(try crm(["ingest", "-"], log: log, input: fixtureEventLines("attribution/basic.json")).status == 0)

        let markov = try crm(["attribution", "--model", "markov", "--format", "csv"], log: log)
        #expect(markov.status == 0, "\(markov.standardError)")
        let rows = markov.standardOutput.split(separator: "\n").map(String.init)
        #expect(rows.first == "channel,conversions,revenue_USD,touches,paths,conversion_rate,removal_effect")
        #expect(rows.contains("direct,1.2000,80.00,2,2,1.0000,0.6667"), "\(markov.standardOutput)")
        #expect(rows.contains("email,0.3000,20.00,2,2,0.5000,0.1667"), "\(markov.standardOutput)")

        let compare = try crm(["attribution", "--compare", "--format", "csv"], log: log)
        #expect(
            compare.standardOutput.hasPrefix(
                "channel,first,last,last-non-direct,linear,position,time-decay,markov,shapley\n"
                    + "direct,1.0000,2.0000,1.0000,1.3333,1.4000,1.4391,1.2000,1.3333\n"
            ),
            "\(compare.standardOutput)"
        )

        let paths = try crm(["attribution", "--paths", "--format", "csv"], log: log)
        #expect(paths.standardOutput.contains("\nsocial > paid_search > direct,1,50.00,0\n"), "\(paths.standardOutput)")

        // On Mar 2 c-2 has converted, and so has c-6, whose order is not cancelled yet.
        let early = try crm(["attribution", "--as-of", "2024-03-02T23:00:00Z", "--format", "csv"], log: log)
        #expect(early.standardOutput.contains("\ndirect,1.0000,50.00,"), "\(early.standardOutput)")
        #expect(early.standardOutput.contains("\npaid_search,1.0000,40.00,"), "\(early.standardOutput)")

        let bad = try crm(["attribution", "--model", "magic"], log: log)
        #expect(bad.status == 64 && bad.standardError.contains("--model must be one of first, last"))
        let secondOrder = try crm(["attribution", "--model", "markov", "--markov-order", "2"], log: log)
        #expect(
            secondOrder.status == 0 && secondOrder.standardOutput.contains("direct"),
            "\(secondOrder.standardError)"
        )
        let thirdOrder = try crm(["attribution", "--model", "markov", "--markov-order", "3"], log: log)
        #expect(thirdOrder.status == 64 && thirdOrder.standardError.contains("--markov-order must be 1 or 2, not 3"))
        let badTouch = try crm(["attribution", "--touches", "order.placed"], log: log)
        #expect(badTouch.status == 64 && badTouch.standardError.contains("order.placed is not a touch type"))
    }
}
