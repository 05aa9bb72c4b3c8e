import Foundation
import Locking
import Testing
import _EventLogTestSupport

@testable import EventLog

/// Many appenders and tailing readers at once. Run also under ThreadSanitizer: `make tsan`.
@Suite("Concurrency")
struct ConcurrencyTests {
    @Test(
        "Concurrent appenders get disjoint, dense offsets; tails see every record once, in order",
        arguments: EventLog.Durability.allCases
    )
    func appendersAndTails(durability: EventLog.Durability) async throws {
        let directory = TemporaryDirectory("concurrency")
        var configuration = smallSegments(128 << 10, durability: durability)
        configuration.targetFrameBytes = 16 << 10
        let log = try EventLog.open(at: directory.path, configuration: configuration)
        let appenders = 24
        let appendsEach = 40
        let acknowledged = Locked<[Range<Int64>: UInt64]>([:])
        let total = appenders * (0..<appendsEach).reduce(0) { $0 + $1 % 7 + 1 }

        try await withThrowingTaskGroup(of: [Int64].self) { group in
            // Tailing readers, started before the first append; each stops once it has seen everything.
            for _ in 0..<3 {
                group.addTask {
                    var offsets = [Int64]()
                    for try await batch in log.tail(from: 0) {
                        for record in batch {
                            #expect(CheckedRecords.check(record) != nil)
                            offsets.append(record.offset)
                        }
                        if offsets.count >= total { break }
                    }
                    return offsets
                }
            }
            for appender in 0..<appenders {
                group.addTask {
                    for number in 0..<appendsEach {
                        let id = UInt64(appender << 16 | number)
                        let range = try await log.append(
                            CheckedRecords.batch(appendID: id, count: number % 7 + 1, maxPayload: 200)
                        )
                        acknowledged.withLock { $0[range] = id }
                    }
                    return []
                }
            }
            for try await offsets in group where !offsets.isEmpty {
                #expect(offsets == Array(0..<log.nextOffset), "a tail saw an offset twice, out of order or not at all")
            }
        }

        // The acknowledged ranges tile 0..<head, and each holds its own append.
        let ranges = acknowledged.withLock { $0 }
        var next: Int64 = 0
        for range in ranges.keys.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            #expect(range.lowerBound == next)
            next = range.upperBound
        }
        #expect(next == log.nextOffset)
        let records = try readAll(log)
        for (range, id) in ranges {
            #expect(
                records[Int(range.lowerBound)..<Int(range.upperBound)].allSatisfy {
                    CheckedRecords.check($0)?.appendID == id
                }
            )
        }
        #expect(log.segmentCount > 1)
        #expect(try log.verify().isValid)
        await log.close()
    }

    @Test("A read-only log follows a writer's appends by polling, and never blocks it")
    func readOnlyTail() async throws {
        let directory = TemporaryDirectory("follower")
        let writer = try EventLog.open(at: directory.path, configuration: smallSegments(64 << 10))
        try await writer.append(CheckedRecords.batch(appendID: 1, count: 5))
        let follower = try EventLog.open(at: directory.path, mode: .readOnly)
        let total: Int64 = 5 + 100 * 3
        async let seen: [Int64] = {
            var offsets = [Int64]()
            for try await batch in follower.tail(from: 0) {
                offsets += batch.map(\.offset)
                if offsets.count == Int(total) { break }
            }
            return offsets
        }()
        for number in 0..<100 {
            try await writer.append(CheckedRecords.batch(appendID: UInt64(10 + number), count: 3))
        }
        #expect(try await seen == Array(0..<total))
        #expect(follower.nextOffset == total)
        await #expect(throws: EventLogError.self) {
            try await follower.append(CheckedRecords.batch(appendID: 1, count: 1))
        }
        await follower.close()
        await writer.close()
    }

    @Test("Closing the log ends waiting tails")
    func closeEndsTails() async throws {
        let directory = TemporaryDirectory("close")
        let log = try EventLog.open(at: directory.path)
        try await log.append(CheckedRecords.batch(appendID: 1, count: 2))
        async let count: Int = {
            var count = 0
            for try await batch in log.tail(from: 0) { count += batch.count }
            return count
        }()
        try await Task.sleep(for: .milliseconds(50))
        await log.close()
        #expect(try await count == 2)
    }
}
