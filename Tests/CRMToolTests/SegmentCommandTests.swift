import Foundation
import Testing
import _EventLogTestSupport

@Suite("crm segment, end to end")
struct SegmentCommandTests {
    @Test("define, list, members, history, sizes and remove, with --as-of; a bad definition appends nothing")
    func segmentCommands() throws {
        let directory = TemporaryDirectory("cli-segments")
        let log = directory.path("db")
        let definitions = directory.path("segments.json")
        try #"""
        [{"segment": "repeat", "definition": {"count": "order.placed", "window": "30d", "op": ">=", "value": 2},
          "description": "two orders in 30 days"},
         {"segment": "quiet", "definition": {"not": {"in_segment": "repeat"}}}]
        """#.write(toFile: definitions, atomically: true, encoding: .utf8)
        let define = try crm(["segment", "define", "--at", "2024-03-01T00:00:00Z", definitions], log: log)
        #expect(
            define.status == 0 && define.standardOutput.contains("defined repeat, quiet"),
            "\(define.standardError)"
        )
        let lines = [
            #"{"id":"1","type":"customer.registered","at":"2024-03-01T10:00:00Z","customer":"c-1"}"#,
            #"{"id":"2","type":"order.placed","at":"2024-03-02T10:00:00Z","customer":"c-1","order":"o-1","total":10}"#,
            #"{"id":"3","type":"customer.registered","at":"2024-03-03T10:00:00Z","customer":"c-2"}"#,
            #"{"id":"4","type":"order.placed","at":"2024-03-10T10:00:00Z","customer":"c-1","order":"o-2","total":10}"#,
        ]
        #expect(
            try crm(["ingest", "-"], log: log, input: Array((lines.joined(separator: "\n") + "\n").utf8)).status == 0
        )

        let list = try crm(["segment", "list", "--format", "csv"], log: log)
        #expect(list.standardOutput.contains("\nquiet,1,2024-03-01T00:00:00Z,"), "\(list.standardOutput)")
        #expect(list.standardOutput.contains("\nrepeat,1,2024-03-01T00:00:00Z,"), "\(list.standardOutput)")
        #expect(
            try crm(["segment", "members", "--format", "csv", "repeat"], log: log).standardOutput == "customer\nc-1\n"
        )
        // Before the second order c-1 was not a member; after its first order left the window (Apr 1) neither.
        let early = try crm(
            ["segment", "members", "--format", "csv", "--as-of", "2024-03-05T00:00:00Z", "repeat"],
            log: log
        )
        #expect(early.standardOutput == "customer\n", "\(early.standardOutput)")
        let late = try crm(
            ["segment", "members", "--format", "csv", "--as-of", "2024-04-02T00:00:00Z", "quiet"],
            log: log
        )
        #expect(late.standardOutput == "customer\nc-1\nc-2\n", "\(late.standardOutput)")
        let history = try crm(["segment", "history", "--format", "csv", "c-1"], log: log)
        #expect(
            history.standardOutput.contains(
                #"2024-03-10T10:00:00Z,c-1,repeat,entered,"order.placed: count(order.placed, 30d) >= 2 became true""#
                    + "\n"
            ),
            "\(history.standardOutput)"
        )
        let sizes = try crm(
            ["segment", "sizes", "--format", "csv", "--as-of", "2024-04-02T00:00:00Z", "repeat"],
            log: log
        )
        #expect(
            sizes.standardOutput == "at,members\n2024-03-10T23:59:59.999999Z,1\n2024-04-01T23:59:59.999999Z,0\n",
            "\(sizes.standardOutput)"
        )

        let bad = directory.path("bad.ndjson")
        try #"{"segment": "fans", "definition": {"in_segment": "nope"}}"#.write(
            toFile: bad,
            atomically: true,
            encoding: .utf8
        )
        let before = try crm(["export"], log: log).standardOutput
        let refused = try crm(["segment", "define", bad], log: log)
        #expect(refused.status == 2 && refused.standardError.contains("nope"), "\(refused.standardError)")
        #expect(try crm(["export"], log: log).standardOutput == before, "nothing appended")

        #expect(try crm(["segment", "remove", "--at", "2024-03-20T00:00:00Z", "repeat"], log: log).status == 0)
        let after = try crm(["segment", "list", "--format", "csv"], log: log).standardOutput
        #expect(!after.contains("\nrepeat,") && after.contains("\nquiet,2,"), "\(after)")
        let removed = try crm(["segment", "history", "--format", "csv", "c-1"], log: log).standardOutput
        #expect(removed.contains(",c-1,repeat,exited,segment removed\n"), "\(removed)")
    }
}
