import Foundation
import Testing
import _EventLogTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The crash protocol of snapshots (docs/projections.md, section 4) with a real process: `crm rebuild` killed while it
/// writes its snapshots, which it writes around the page cache.
@Suite("crm rebuild killed by SIGKILL while saving snapshots", .serialized)
struct KilledRebuildTests {
    /// The names in `log`'s snapshot directory.
    static func snapshotFiles(_ log: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: log + "/snapshots")) ?? []
    }

    @Test("No snapshot is ever half-written: the next query reads whole ones or replays, and answers as before")
    func killedWhileSaving() async throws {
        let directory = TemporaryDirectory("killed-rebuild")
        let input = directory.path("events.ndjson")
        #expect(try crm(["generate", "--customers", "8000", "--seed", "12", input]).status == 0)
        let reference = directory.path("reference")
        #expect(try crm(["ingest", "--no-projections", input], log: reference).status == 0)
        let expected = try crm(["rfm"], log: reference)
        #expect(expected.status == 0)
        // Kills go on until some have landed during a save (a snapshot's temporary file is left behind), or
        // until a bound: a save takes milliseconds, and a kill can come after the last one.
        let wanted = ProcessInfo.processInfo.environment["CRASH_ROUNDS"].flatMap(Int.init).map { max(2, $0 / 20) } ?? 2
        var random = SplitMix64(seed: 9)
        var landedDuringSave = 0
        var round = 0
        while landedDuringSave < wanted && round < 10 * wanted {
            let log = directory.path("db-\(round)")
            round += 1
            try FileManager.default.copyItem(atPath: reference, toPath: log)
            try? FileManager.default.removeItem(atPath: log + "/snapshots")
            let process = Process()
            process.executableURL = URL(fileURLWithPath: builtExecutable("crm"))
            process.arguments = ["rebuild", "--log", log]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Killed once a snapshot's temporary file exists (a save is under way), at once or a moment later.
            let deadline = ContinuousClock.now + .seconds(60)
            while process.isRunning && !Self.snapshotFiles(log).contains(where: { $0.hasSuffix(".tmp") })
                && ContinuousClock.now < deadline
            {
                try await Task.sleep(for: .microseconds(100))
            }
            try await Task.sleep(for: .microseconds(Int(random.next() % 1000)))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            if Self.snapshotFiles(log).contains(where: { $0.hasSuffix(".tmp") }) { landedDuringSave += 1 }

            // Whatever the kill left, a query reports no damaged snapshot and answers as a run never killed.
            let answer = try crm(["rfm"], log: log)
            #expect(answer.status == 0, "\(answer.standardError)")
            #expect(!answer.standardError.contains("damaged"), "\(answer.standardError)")
            #expect(answer.standardOutput == expected.standardOutput)
            // The snapshots left are whole: a later rebuild replaces them and the answer stays the same.
            #expect(try crm(["rebuild"], log: log).status == 0)
            #expect(try crm(["rfm"], log: log).standardOutput == expected.standardOutput)
        }
        print("killed rebuild: \(landedDuringSave) of \(round) kills landed during a save")
        #expect(landedDuringSave >= wanted, "kills landed during a save")
    }
}
