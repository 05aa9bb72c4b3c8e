import CRMModel
import EventCRM
import Foundation
import Testing
import _EventLogTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Runs the built `crm` with `--log` set to `log` (when given).
func crm(_ arguments: [String], log: String? = nil, input: [UInt8]? = nil) throws -> ProcessOutcome {
    let global = log.map { ["--log", $0] } ?? []
    // Subcommand first (two words for `segment …`), then its options.
    let depth = arguments.first == "segment" ? 2 : 1
    return try runBuilt("crm", Array(arguments.prefix(depth)) + global + arguments.dropFirst(depth), input: input)
}

/// The non-blank lines of a file.
func lines(of path: String) throws -> [String] {
    try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
}

@Suite("crm, end to end")
struct CRMToolTests {
    @Test("generate is deterministic and uses every event type")
    func generateIsDeterministic() throws {
        let directory = TemporaryDirectory("cli")
        for name in ["a", "b"] {
            let outcome = try crm(["generate", "--customers", "400", "--seed", "7", directory.path(name)])
            #expect(outcome.status == 0, "\(outcome.standardError)")
        }
        #expect(try crm(["generate", "--customers", "400", "--seed", "8", directory.path("c")]).status == 0)
        let first = try Data(contentsOf: URL(fileURLWithPath: directory.path("a")))
        #expect(first == (try Data(contentsOf: URL(fileURLWithPath: directory.path("b")))))
        #expect(first != (try Data(contentsOf: URL(fileURLWithPath: directory.path("c")))))
        let codec = EventJSONCodec()
        let events = try lines(of: directory.path("a")).enumerated().map { try codec.decode($1, lineNumber: $0 + 1) }
        #expect(Set(events.map(\.type)) == Set(EventType.allCases), "every type appears")
        #expect(Set(events.compactMap(\.id)).count == events.count, "ids are unique")
        let late = zip(events, events.dropFirst()).filter { $0.at > $1.at }.count
        #expect(late > 0 && late < events.count / 20, "a few late events: \(late)")
    }

    @Test("ingest, stats, history, export round trip, and a second ingest that changes nothing")
    func ingestAndReadBack() throws {
        let directory = TemporaryDirectory("cli")
        let input = directory.path("events.ndjson")
        let log = directory.path("db")
        #expect(try crm(["generate", "--customers", "300", "--seed", "3", input]).status == 0)
        let inputLines = try lines(of: input)
        let ingest = try crm(["ingest", input], log: log)
        #expect(ingest.status == 0, "\(ingest.standardError)")
        #expect(ingest.standardOutput.contains("appended \(inputLines.count), duplicates skipped 0, rejected 0"))
        let head = try crm(["verify", "--format", "json"], log: log)
        #expect(head.status == 0)

        let again = try crm(["ingest", input], log: log)
        #expect(again.standardOutput.contains("appended 0, duplicates skipped \(inputLines.count), rejected 0"))
        #expect(try crm(["verify", "--format", "json"], log: log).standardOutput == head.standardOutput)

        let stats = try crm(["stats", "--format", "csv"], log: log)
        #expect(stats.standardOutput.contains("\nevents,\(inputLines.count)\n"), "\(stats.standardOutput.prefix(200))")

        // Export gives back what was ingested, in order; forgotten customers' personal fields come back null.
        let export = try crm(["export", directory.path("out.ndjson")], log: log)
        #expect(export.status == 0, "\(export.standardError)")
        let codec = EventJSONCodec()
        let original = try inputLines.map { try codec.decode($0) }
        let exported = try lines(of: directory.path("out.ndjson")).map { try codec.decode($0) }
        #expect(exported.count == original.count)
        let forgotten = Set(original.filter { $0.type == .customerForgotten }.compactMap(\.customer))
        for (before, after) in zip(original, exported) {
            if let customer = before.customer, forgotten.contains(customer) {
                #expect(before.id == after.id && before.type == after.type && before.at == after.at)
            } else {
                #expect(before == after)
            }
        }

        // History of one customer, as NDJSON: exactly its events, by time.
        let customer = original.first { $0.type == .orderPlaced && !forgotten.contains($0.customer!) }!.customer!
        let history = try crm(["history", "--format", "ndjson", customer], log: log)
        let events = try history.standardOutput.split(separator: "\n").map { try codec.decode(String($0)) }
        let merged = Set(
            original.compactMap { event -> String? in
                guard event.customer == customer, case .customerMerged(let from) = event.payload else { return nil }
                return from
            }
        )
        let expected = original.filter { $0.customer == customer || merged.contains($0.customer ?? "") }
        #expect(Set(events) == Set(expected))
        #expect(events.map(\.at) == events.map(\.at).sorted())
    }

    @Test(
        "ingest and forget bring every projection's snapshot to the head, as a rebuild saves it, unless --no-projections"
    )
    func snapshotsFollowAppends() throws {
        let directory = TemporaryDirectory("cli")
        let input = directory.path("events.ndjson")
        let log = directory.path("db")
        #expect(try crm(["generate", "--customers", "300", "--seed", "4", input]).status == 0)
        let all = try lines(of: input)
        let cut = all.count / 2
        let later = all[cut...].prefix(200)
        try (all[..<cut].joined(separator: "\n") + "\n").write(
            toFile: directory.path("a"),
            atomically: false,
            encoding: .utf8
        )
        try (later.joined(separator: "\n") + "\n").write(
            toFile: directory.path("b"),
            atomically: false,
            encoding: .utf8
        )
        let snapshots = { () throws -> [String] in
            try FileManager.default.contentsOfDirectory(atPath: log + "/snapshots").filter { $0.hasSuffix(".snap") }
        }
        let savedAt = { (head: Int) throws -> Bool in
            let names = try snapshots()
            let padded = String(repeating: "0", count: 20 - String(head).count) + String(head)
            return ["customer-profiles", "customer-journeys", "shop-analytics"].allSatisfy { projection in
                names.contains { $0.hasPrefix(projection) && $0.hasSuffix(padded + ".snap") }
            }
        }
        // Each snapshot saved after appending holds the very bytes a rebuild saves at the same offset.
        let contents = { () throws -> [String: Data] in
            Dictionary(
                uniqueKeysWithValues: try snapshots().map { name in
                    (name, try Data(contentsOf: URL(fileURLWithPath: log + "/snapshots/" + name)))
                }
            )
        }
        let asRebuilt = { () throws -> Bool in
            let saved = try contents()
            return try crm(["rebuild"], log: log).status == 0 && (try contents()) == saved
        }

        let first = try crm(["ingest", directory.path("a")], log: log)
        #expect(first.status == 0, "\(first.standardError)")
        #expect(first.standardOutput.contains("projections: rebuilt from the whole log, \(cut) events"))
        let names = try snapshots()
        #expect(try savedAt(cut), "\(names)")

        let second = try crm(["ingest", directory.path("b")], log: log)
        #expect(second.status == 0, "\(second.standardError)")
        #expect(second.standardOutput.contains("projections: caught up \(later.count) events from offset \(cut)"))
        #expect(try savedAt(cut + later.count))
        #expect(try asRebuilt(), "after an ingest")

        let again = try crm(["ingest", directory.path("b")], log: log)
        #expect(again.standardOutput.contains("projections: already at the head"))

        // The erasure deletes every snapshot; the states read before it are saved again, without the customer.
        let customer = try #require(later.compactMap { try? EventJSONCodec().decode($0).customer }.first)
        let forget = try crm(["forget", customer], log: log)
        #expect(forget.status == 0, "\(forget.standardError)")
        #expect(forget.standardOutput.contains("projections: caught up 1 events"), "\(forget.standardOutput)")
        #expect(try savedAt(cut + later.count + 1))
        #expect(try asRebuilt(), "after a forget")

        let other = directory.path("db2")
        let appendOnly = try crm(["ingest", "--no-projections", directory.path("a")], log: other)
        #expect(appendOnly.status == 0 && !appendOnly.standardOutput.contains("projections:"))
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: other + "/snapshots")) ?? []).isEmpty)
        let noSnapshots = try crm(["forget", customer], log: other)
        #expect(noSnapshots.standardOutput.contains("projections: no recent snapshot"), "\(noSnapshots.standardOutput)")
    }

    @Test("An invalid last line appends nothing and is named; --skip-invalid keeps every line somewhere")
    func invalidLines() throws {
        let directory = TemporaryDirectory("cli")
        let input = directory.path("events.ndjson")
        let log = directory.path("db")
        #expect(try crm(["generate", "--customers", "50", "--seed", "5", input]).status == 0)
        var text = try String(contentsOfFile: input, encoding: .utf8)
        let valid = text.split(separator: "\n").count
        text += #"{"type":"order.placed","at":"2024-05-01T00:00:00Z","customer":"c-1","order":"o-x","total":-5}"# + "\n"
        text += "not json\n"
        try text.write(toFile: input, atomically: false, encoding: .utf8)

        let rejected = try crm(["ingest", input], log: log)
        #expect(rejected.status == 2)
        #expect(rejected.standardError.contains("line \(valid + 1): field \"total\""), "\(rejected.standardError)")
        #expect(rejected.standardError.contains("line \(valid + 2):"))
        #expect(try crm(["stats", "--format", "csv"], log: log).standardOutput.contains("\nevents,0\n"))

        let rejects = directory.path("rejects.tsv")
        let skipped = try crm(["ingest", "--skip-invalid", "--rejects", rejects, input], log: log)
        #expect(skipped.status == 0, "\(skipped.standardError)")
        #expect(skipped.standardOutput.contains("appended \(valid), duplicates skipped 0, rejected 2"))
        let rejectLines = try lines(of: rejects)
        #expect(rejectLines.count == 2)
        let inputLines = text.split(separator: "\n").map(String.init)
        for line in rejectLines {
            let fields = line.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
            #expect(fields.count == 3)
            #expect(inputLines[Int(fields[0])! - 1] == String(fields[2]), "the line is kept unchanged")
        }
    }

    @Test("Standard input works; forget erases a customer from every file; verify still passes")
    func forgetFromTheCommandLine() throws {
        let directory = TemporaryDirectory("cli")
        let log = directory.path("db")
        let registration = EventJSONCodec().encodeLine(SampleEvents.registered)
        let order =
            #"{"id":"o1","type":"order.placed","at":"2024-03-02T08:05:00Z","customer":"c-42","order":"o-1","total":59.90,"currency":"BRL"}"#
        let ingest = try crm(["ingest", "-"], log: log, input: Array((registration + "\n" + order + "\n").utf8))
        #expect(ingest.status == 0, "\(ingest.standardError)")
        let before = try crm(["history", "--format", "ndjson", "c-42"], log: log)
        #expect(before.standardOutput.contains("ana@example.com"))

        let forget = try crm(["forget", "c-42"], log: log)
        #expect(forget.status == 0, "\(forget.standardError)")
        let after = try crm(["history", "--format", "ndjson", "c-42"], log: log)
        #expect(!after.standardOutput.contains("ana@example.com"))
        #expect(after.standardOutput.contains(#""email":null"#))
        for secret in ["ana@example.com", "Ana Silva", "+5511999", "Recife"] {
            #expect(try filesContaining(secret, under: log).isEmpty, "\(secret) is in no file")
        }
        #expect(try crm(["verify"], log: log).status == 0)
        let stats = try crm(["stats", "--format", "csv"], log: log).standardOutput
        #expect(stats.contains("\nevents.order.placed,1\n") && stats.contains("\norders.total.BRL,59.90\n"))
        #expect(stats.contains("\ncustomers.forgotten,1\n"))
    }

    @Test("verify names the first damaged batch and checks a kept head")
    func verifyFindsDamage() throws {
        let directory = TemporaryDirectory("cli")
        let input = directory.path("events.ndjson")
        let log = directory.path("db")
        #expect(try crm(["generate", "--customers", "100", "--seed", "9", input]).status == 0)
        #expect(try crm(["ingest", input], log: log).status == 0)
        let report = try crm(["verify", "--format", "csv"], log: log)
        let head = report.standardOutput.split(separator: "\n").first { $0.hasPrefix("head,") }!.dropFirst(5)
        #expect(try crm(["verify", "--expect", String(head)], log: log).status == 0)
        let wrong = String(head.prefix { $0 != ":" }) + ":" + String(repeating: "0", count: 64)
        let mismatch = try crm(["verify", "--expect", wrong], log: log)
        #expect(mismatch.status == 3 && mismatch.standardError.contains("altered"))

        let segment = log + "/00000000000000000000.log"
        let file = try FileHandle(forUpdating: URL(fileURLWithPath: segment))
        try file.seek(toOffset: 5000)
        let byte = try file.read(upToCount: 1)!
        try file.seek(toOffset: 5000)
        try file.write(contentsOf: Data([byte[0] ^ 0x40]))
        try file.close()
        let damaged = try crm(["verify"], log: log)
        #expect(damaged.status == 3)
        #expect(damaged.standardError.contains("00000000000000000000.log"), "\(damaged.standardError)")
    }

    @Test("Bad arguments and a missing engine are errors on stderr with a non-zero exit")
    func usageErrors() throws {
        let directory = TemporaryDirectory("cli")
        let missing = try crm(["stats"], log: directory.path("nothing"))
        #expect(missing.status == 1 && missing.standardError.contains("no engine"))
        let badFormat = try crm(["stats", "--format", "xml"], log: directory.path("nothing"))
        #expect(badFormat.status != 0 && badFormat.standardError.contains("--format"))
        let badTime = try crm(["history", "--from", "yesterday", "c-1"], log: directory.path("nothing"))
        #expect(badTime.status == 64 && badTime.standardError.contains("RFC 3339"))
    }
}

@Suite("crm projections, end to end")
struct CRMProjectionCommandTests {
    @Test("rebuild reports every event; profile shows a customer's orders and follows a merged id to its survivor")
    func rebuildAndProfile() throws {
        let directory = TemporaryDirectory("cli")
        let log = directory.path("db")
        let lines = [
            #"{"id":"1","type":"customer.registered","at":"2024-03-01T10:00:00Z","customer":"c-1","email":"a@example.com","country":"BR","channel":"social"}"#,
            #"{"id":"2","type":"order.placed","at":"2024-03-02T10:00:00Z","customer":"c-1","order":"o-1","total":59.90,"currency":"BRL"}"#,
            #"{"id":"3","type":"touchpoint","at":"2024-02-28T10:00:00Z","customer":"v-9","channel":"paid_search"}"#,
            #"{"id":"4","type":"customer.merged","at":"2024-03-01T10:01:00Z","customer":"c-1","from":"v-9"}"#,
        ]
        #expect(
            try crm(["ingest", "-"], log: log, input: Array((lines.joined(separator: "\n") + "\n").utf8)).status == 0
        )
        let rebuild = try crm(["rebuild"], log: log)
        #expect(
            rebuild.status == 0 && rebuild.standardOutput.contains("rebuilt in one pass: 4 events")
                && rebuild.standardOutput.contains("customer-profiles: 1 customers; snapshot saved")
                && rebuild.standardOutput.contains("customer-journeys: 1 journeys; snapshot saved"),
            "\(rebuild.standardOutput)"
        )
        let profile = try crm(["profile", "--format", "csv", "v-9"], log: log)
        #expect(profile.status == 0, "\(profile.standardError)")
        for expected in [
            "id,c-1", "merged ids,v-9", "email,a@example.com", "gross BRL,59.90", "channels,paid_search 1",
        ] {
            #expect(profile.standardOutput.contains(expected + "\n"), "\(expected) in \(profile.standardOutput)")
        }
        // As of offset 3 (before the merge) v-9 is its own customer; as of a time before the order, no orders.
        let beforeMerge = try crm(["profile", "--format", "csv", "--as-of-offset", "3", "v-9"], log: log)
        #expect(beforeMerge.standardOutput.contains("id,v-9\n"), "\(beforeMerge.standardOutput)")
        let early = try crm(["profile", "--format", "csv", "--as-of", "2024-03-01T12:00:00Z", "c-1"], log: log)
        #expect(early.standardOutput.contains("orders,0\n"), "\(early.standardOutput)")
        #expect(early.standardOutput.contains("email,a@example.com\n"))
        // One scored customer: every quintile edge is its own value, so it scores 1, 1, 1: Lost.
        let rfm = try crm(["rfm", "--format", "csv"], log: log)
        #expect(rfm.status == 0 && rfm.standardOutput.contains("Lost,1,100.0\n"), "\(rfm.standardOutput)")
        let none = try crm(["rfm", "--format", "csv", "--as-of-offset", "1"], log: log)
        #expect(none.standardOutput.contains("Lost,0,0.0\n"), "no order before offset 1: \(none.standardOutput)")
    }
}
