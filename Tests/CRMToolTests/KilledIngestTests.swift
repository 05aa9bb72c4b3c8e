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
        let log = directory.path("db")
        #expect(try crm(["generate", "--customers", "2000", "--seed", "11", input]).status == 0)
        let codec = EventJSONCodec()
        let ids = try lines(of: input).map { try codec.decode($0).id! }
        let rounds = ProcessInfo.processInfo.environment["CRASH_ROUNDS"].flatMap(Int.init).map { max(4, $0 / 10) } ?? 4
        var random = SplitMix64(seed: 5)
        var partialRounds = 0
        for _ in 0..<rounds {
            let startSize = Self.segmentSize(log)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: builtExecutable("crm"))
            process.arguments = ["ingest", "--log", log, input]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Kill once appending has started (the segment grows), a random moment later.
            let deadline = ContinuousClock.now + .seconds(60)
            while process.isRunning && Self.segmentSize(log) <= max(startSize, 64) && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(1))
            }
            try await Task.sleep(for: .milliseconds(Int(random.next() % 25)))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()

            let engine = try CRMEngine.open(at: log)
            let stored = try engine.events(from: 0, personalData: .withhold).map { $0.event.id! }
            #expect(stored == Array(ids.prefix(stored.count)), "the log is a prefix of the input, in order")
            if stored.count > 0 && stored.count < ids.count { partialRounds += 1 }
            #expect(try engine.verify().isValid)
            await engine.close()
        }
        #expect(partialRounds > 0, "at least one kill landed while appending")
        let finish = try crm(["ingest", input], log: log)
        #expect(finish.status == 0, "\(finish.standardError)")
        let engine = try CRMEngine.open(at: log)
        #expect(
            try engine.events(from: 0, personalData: .withhold).map { $0.event.id! } == ids,
            "complete, no duplicates"
        )
        await engine.close()
    }
}
