import EventLog
import Foundation
import _EventLogTestSupport

// A writer for crash tests, run as a child process and killed with SIGKILL at a random moment.
//
//   EventLogCrashWriter DIR DURABILITY SEED [SEGMENT_BYTES] [FILE_SIZE_LIMIT]
//
// Several tasks append checked records (see CheckedRecords) concurrently; after each append returns, the writer
// prints "ack FIRST COUNT APPEND_ID" on standard output and flushes it, so that the parent knows exactly which
// records were acknowledged. With FILE_SIZE_LIMIT it sets RLIMIT_FSIZE so that writes fail as on a full disk,
// prints "error CODE" for each failed append, and exits after a few failures.

#if canImport(Glibc)
import Glibc
#endif

let arguments = CommandLine.arguments
guard arguments.count >= 4, let durability = EventLog.Durability(rawValue: arguments[2]),
    let seed = UInt64(arguments[3])
else {
    FileHandle.standardError.write(
        Data("usage: EventLogCrashWriter DIR DURABILITY SEED [SEGMENT_BYTES] [FSIZE]\n".utf8)
    )
    exit(2)
}
var configuration = EventLog.Configuration()
configuration.durability = durability
if arguments.count >= 5, let segmentBytes = Int(arguments[4]) { configuration.segmentBytes = segmentBytes }
if arguments.count >= 6, let limit = UInt64(arguments[5]) {
    signal(SIGXFSZ, SIG_IGN)
    var fileSize = rlimit(rlim_cur: rlim_t(limit), rlim_max: rlim_t(limit))
    setrlimit(Int32(RLIMIT_FSIZE.rawValue), &fileSize)
}

/// Writes one line with a single write(2), so lines from concurrent tasks never interleave and reach the parent
/// before the process can be killed.
func say(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}

do {
    let log = try EventLog.open(at: arguments[1], configuration: configuration)
    say("open \(log.nextOffset)")
    let failures = Counter()
    await withTaskGroup(of: Void.self) { group in
        for worker in 0..<8 {
            group.addTask {
                var random = SplitMix64(seed: seed &* 1_000_003 &+ UInt64(worker))
                var sequence: UInt64 = 0
                while failures.value < 3 {
                    sequence += 1
                    let appendID = (seed << 32) | (UInt64(worker) << 24) | sequence
                    let count = Int(random.next() % 40) + 1
                    let batch = CheckedRecords.batch(appendID: appendID, count: count)
                    do {
                        let offsets = try await log.append(batch)
                        say("ack \(offsets.lowerBound) \(offsets.count) \(appendID)")
                    } catch let error as EventLogError {
                        say("error \(error.code)")
                        failures.increment()
                    } catch {
                        say("error \(error)")
                        failures.increment()
                    }
                }
            }
        }
    }
    await log.close()
} catch {
    say("error \(error)")
    exit(1)
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func increment() { lock.withLock { count += 1 } }
}
