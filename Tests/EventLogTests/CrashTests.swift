import Foundation
import Testing
import _EventLogTestSupport

@testable import EventLog

#if canImport(Glibc)
import Glibc
#endif

/// A child process that appends and prints what was acknowledged; the test kills it with SIGKILL.
final class ChildWriter {
    let process = Process()
    private let output = Pipe()
    private var buffered = Data()

    init(
        directory: String,
        durability: EventLog.Durability,
        seed: UInt64,
        segmentBytes: Int,
        fileSizeLimit: Int64? = nil
    ) throws {
        process.executableURL = URL(fileURLWithPath: builtExecutable("EventLogCrashWriter"))
        var arguments = [directory, durability.rawValue, String(seed), String(segmentBytes)]
        if let fileSizeLimit { arguments.append(String(fileSizeLimit)) }
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    func kill() {
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Every line the child printed (after it exited or was killed).
    func lines() -> [Substring] {
        buffered.append(output.fileHandleForReading.readDataToEndOfFile())
        return String(decoding: buffered, as: UTF8.self).split(separator: "\n")
    }

    /// Waits until the child has printed at least `count` acknowledgements, or `timeout` passed.
    func waitForAcks(_ count: Int, timeout: Duration = .seconds(20)) {
        let deadline = ContinuousClock.now + timeout
        var seen = 0
        while seen < count && ContinuousClock.now < deadline && process.isRunning {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            buffered.append(chunk)
            seen = String(decoding: buffered, as: UTF8.self).components(separatedBy: "\nack ").count - 1
        }
    }
}

/// An acknowledged append, as the child reported it.
struct Acknowledged: Hashable {
    var first: Int64
    var count: Int64
    var appendID: UInt64
}

func acknowledgements(_ lines: [Substring]) -> [Acknowledged] {
    lines.compactMap { line in
        let fields = line.split(separator: " ")
        guard fields.count == 4, fields[0] == "ack", let first = Int64(fields[1]), let count = Int64(fields[2]),
            let id = UInt64(fields[3])
        else { return nil }
        return Acknowledged(first: first, count: count, appendID: id)
    }
}

/// Checks the whole log: every record intact, every append whole, every acknowledged append present where it
/// was acknowledged. Returns the number of records.
func checkAgainstAcknowledged(_ log: EventLog, _ acknowledged: [Acknowledged]) throws -> Int64 {
    let records = try readAll(log)
    #expect(records.count == Int(log.nextOffset))
    var identities = [CheckedRecords.Identity?]()
    identities.reserveCapacity(records.count)
    for record in records { identities.append(CheckedRecords.check(record)) }
    #expect(identities.allSatisfy { $0 != nil }, "a record is damaged")
    // Appends are whole: records of one append are consecutive, indexes 0..<count.
    var position = 0
    while position < identities.count, let first = identities[position] {
        #expect(first.index == 0, "an append starts in the middle at offset \(position)")
        for index in 0..<Int(first.count) {
            let identity = position + index < identities.count ? identities[position + index] : nil
            #expect(
                identity?.appendID == first.appendID && identity?.index == UInt32(index),
                "partial append at \(position)"
            )
        }
        position += Int(first.count)
    }
    for ack in acknowledged {
        let identity = ack.first < Int64(identities.count) ? identities[Int(ack.first)] : nil
        #expect(identity?.appendID == ack.appendID, "acknowledged append at \(ack.first) is missing")
    }
    return Int64(records.count)
}

@Suite("Crash consistency with a real process", .serialized)
struct CrashTests {
    @Test(
        "Killing a durable writer at random moments loses nothing acknowledged and leaves nothing partial",
        arguments: [EventLog.Durability.groupCommit, .syncEveryAppend]
    )
    func killedWriter(durability: EventLog.Durability) async throws {
        let directory = TemporaryDirectory("crash")
        let rounds = ProcessInfo.processInfo.environment["CRASH_ROUNDS"].flatMap(Int.init) ?? 40
        var random = SplitMix64(seed: UInt64(rounds) &* 77 &+ (durability == .groupCommit ? 1 : 2))
        var allAcknowledged = [Acknowledged]()
        var previousCount: Int64 = 0
        for round in 0..<rounds {
            let child = try ChildWriter(
                directory: directory.path,
                durability: durability,
                seed: UInt64(round + 1),
                segmentBytes: 256 << 10
            )
            // Wait for some acknowledgements, then a random extra moment, so kills land anywhere: mid-write, mid-
            // fsync, mid-roll.
            child.waitForAcks(Int(random.next() % 40) + 1)
            try await Task.sleep(for: .milliseconds(Int(random.next() % 40)))
            child.kill()
            let lines = child.lines()
            #expect(lines.first?.hasPrefix("open") == true, "child did not open the log: \(lines.prefix(3))")
            allAcknowledged += acknowledgements(lines)

            let log = try EventLog.open(at: directory.path, configuration: smallSegments(256 << 10))
            let count = try checkAgainstAcknowledged(log, allAcknowledged)
            #expect(count >= previousCount)
            // Appends continue after recovery.
            let appended = try await log.append(CheckedRecords.batch(appendID: UInt64(0xFFFF_0000 + round), count: 3))
            allAcknowledged.append(
                Acknowledged(first: appended.lowerBound, count: 3, appendID: UInt64(0xFFFF_0000 + round))
            )
            previousCount = log.nextOffset
            await log.close()
        }
        let log = try EventLog.open(at: directory.path, configuration: smallSegments(256 << 10))
        let report = try log.verify()
        #expect(report.isValid, "\(report)")
        #expect(allAcknowledged.count > rounds)
        await log.close()
    }

    @Test("A write that fails (file size limit, as on a full disk) throws, keeps the log consistent, and reopens")
    func failedWrite() async throws {
        let directory = TemporaryDirectory("full")
        // Segments larger than the limit, so the writer hits the limit inside the active segment.
        let child = try ChildWriter(
            directory: directory.path,
            durability: .groupCommit,
            seed: 99,
            segmentBytes: 8 << 20,
            fileSizeLimit: 300_000
        )
        child.process.waitUntilExit()
        let lines = child.lines()
        let acknowledged = acknowledgements(lines)
        #expect(lines.contains { $0.hasPrefix("error ioFailure") }, "\(lines.suffix(5))")
        #expect(!acknowledged.isEmpty)
        let log = try EventLog.open(at: directory.path)
        #expect(log.notices.isEmpty, "the writer cut its failed write itself: \(log.notices)")
        _ = try checkAgainstAcknowledged(log, acknowledged)
        #expect(log.nextOffset == acknowledged.map { $0.first + $0.count }.max())
        try await log.append(CheckedRecords.batch(appendID: 1, count: 5))
        #expect(try log.verify().isValid)
        await log.close()
    }

    @Test("A reader in another process than the writer follows its appends while it writes")
    func crossProcessFollower() async throws {
        let directory = TemporaryDirectory("follow")
        let child = try ChildWriter(directory: directory.path, durability: .none, seed: 3, segmentBytes: 256 << 10)
        child.waitForAcks(1)
        let follower = try EventLog.open(at: directory.path, mode: .readOnly)
        var seen: Int64 = 0
        for try await batch in follower.tail(from: 0) {
            for record in batch {
                #expect(CheckedRecords.check(record) != nil, "damaged record at \(record.offset)")
                #expect(record.offset == seen)
                seen += 1
            }
            if seen >= 20_000 { break }
        }
        child.kill()
        #expect(seen >= 20_000)
        #expect(follower.segmentCount > 1, "the follower crossed segment rolls")
        await follower.close()
    }

    @Test("A second writer is refused, in another process and in this one; readers are not")
    func singleWriter() async throws {
        let directory = TemporaryDirectory("lock")
        let log = try EventLog.open(at: directory.path)
        try await log.append(CheckedRecords.batch(appendID: 1, count: 5))
        let error = #expect(throws: EventLogError.self) { try EventLog.open(at: directory.path) }
        #expect(error?.code == .logLocked)
        #expect(error?.description.contains("LOCK") == true)

        // Another process: the child cannot open the log and says so.
        let child = try ChildWriter(directory: directory.path, durability: .none, seed: 1, segmentBytes: 1 << 20)
        child.process.waitUntilExit()
        #expect(child.lines().contains { $0.contains("logLocked") })
        #expect(child.process.terminationStatus != 0)

        let reader = try EventLog.open(at: directory.path, mode: .readOnly)
        #expect(reader.nextOffset == 5)
        #expect(try readAll(reader).count == 5)
        await reader.close()
        await log.close()
        // Once the writer closed, the lock is free again.
        let again = try EventLog.open(at: directory.path)
        await again.close()
    }
}
