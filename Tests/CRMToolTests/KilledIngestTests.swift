import CRMModel
import EventCRM
import Foundation
import Testing
import _EventLogTestSupport

#if canImport(Glibc)
import Glibc
#endif

@Suite("crm ingest killed by SIGKILL", .serialized)
struct KilledIngestTests {
    /// The size of the first segment file, or 0.
    static func segmentSize(_ log: String) -> Int64 {
        let attributes = try? FileManager.default.attributesOfItem(atPath: log + "/00000000000000000000.log")
        return (attributes?[.size] as? NSNumber)?.int64Value ?? 0
    }

    @Test(
        "After a kill during a large ingest the log holds whole batches in input order; running it again completes it"
    )
    func killedDuringIngest() async throws {
        let directory = TemporaryDirectory("killed")
        let input = directory.path("events.ndjson")
        #expect(try crm(["generate", "--customers", "4000", "--seed", "11", input]).status == 0)
        let codec = EventJSONCodec()
        let ids = try lines(of: input).map { try codec.decode($0).id! }
        let rounds = ProcessInfo.processInfo.environment["CRASH_ROUNDS"].flatMap(Int.init).map { max(4, $0 / 10) } ?? 4
        var random = SplitMix64(seed: 5)
        var partialRounds = 0
        // How long after appending starts a kill may come. The append phase lasts a few milliseconds, more or less
        // with the machine's load: a kill after it ended halves this, a kill before the first batch was whole
        // doubles it, and rounds go on (up to twice as many) until one kill has landed while appending.
        var maximumDelay: UInt64 = 4000
        var round = 0
        while round < rounds || (partialRounds == 0 && round < 2 * rounds) {
            defer { round += 1 }
            // A fresh engine each round, so that every kill can land while appending.
            let log = directory.path("db-\(round)")
            let process = Process()
            process.executableURL = URL(fileURLWithPath: builtExecutable("crm"))
            process.arguments = ["ingest", "--log", log, input]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Kill once appending has started (the segment grows past its 64-byte header), a moment later.
            let deadline = ContinuousClock.now + .seconds(60)
            while process.isRunning && Self.segmentSize(log) <= 64 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .microseconds(500))
            }
            try await Task.sleep(for: .microseconds(Int(random.next() % maximumDelay)))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()

            let engine = try CRMEngine.open(at: log)
            let stored = try engine.events(from: 0, personalData: .withhold).map { $0.event.id! }
            #expect(stored == Array(ids.prefix(stored.count)), "the log is a prefix of the input, in order")
            if stored.count > 0 && stored.count < ids.count { partialRounds += 1 }
            if stored.count == ids.count { maximumDelay = max(100, maximumDelay / 2) }
            if stored.count == 0 { maximumDelay *= 2 }
            #expect(try engine.verify().isValid)
            await engine.close()

            let finish = try crm(["ingest", input], log: log)
            #expect(finish.status == 0, "\(finish.standardError)")
            #expect(finish.standardOutput.contains("duplicates skipped \(stored.count),"), "\(finish.standardOutput)")
            let complete = try CRMEngine.open(at: log)
            let all = try complete.events(from: 0, personalData: .withhold).map { $0.event.id! }
            #expect(all == ids, "complete, in order, no duplicates")
            await complete.close()
        }
        print("killed ingest: \(partialRounds) of \(round) kills landed while appending")
        #expect(partialRounds > 0, "at least one kill landed while appending")
    }
}
