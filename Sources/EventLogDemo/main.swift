import EventLog
import Foundation
import _EventLogTestSupport

// The main job until the `crm` tool exists: write a log of realistic CRM events, reopen it, verify it, read it
// back and print what it holds. Usage: eventlog-demo [DIR] [RECORDS]

let arguments = CommandLine.arguments
let path = arguments.count > 1 ? arguments[1] : "demo-log"
let recordCount = arguments.count > 2 ? Int(arguments[2]) ?? 1_000_000 : 1_000_000
try? FileManager.default.removeItem(atPath: path)

func seconds(since start: ContinuousClock.Instant) -> Double {
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

print("EventLog demo: \(recordCount) CRM events into \(path)/")
var configuration = EventLog.Configuration()
configuration.segmentBytes = 16 << 20

do {
    let log = try EventLog.open(at: path, configuration: configuration)
    var payloads = SamplePayloads(seed: 42)
    var batches = [RecordBatch]()
    var rawBytes = 0
    let generateStart = ContinuousClock.now
    while batches.count * 400 < recordCount {
        var batch = RecordBatch(reservingBytes: 80 << 10)  // about 64 KiB of records per append
        for _ in 0..<min(400, recordCount - batches.count * 400) {
            let event = payloads.next()
            rawBytes += event.json.count
            batch.append(sample: event)
        }
        batches.append(batch)
    }
    print(String(format: "  generated  %d events in %.2f s", recordCount, seconds(since: generateStart)))
    let writeStart = ContinuousClock.now
    for batch in batches { try await log.append(batch) }
    let writeSeconds = seconds(since: writeStart)
    print(
        String(
            format: "  appended   %d records in %.2f s (%.0f records/s, one append of 400 at a time, group commit)",
            recordCount,
            writeSeconds,
            Double(recordCount) / writeSeconds
        )
    )
    batches = []
    let head = log.headHash
    await log.close()

    let openStart = ContinuousClock.now
    let reopened = try EventLog.open(at: path, configuration: configuration)
    print(
        String(
            format: "  reopened   in %.1f ms; next offset %d; notices: %d",
            seconds(since: openStart) * 1000,
            reopened.nextOffset,
            reopened.notices.count
        )
    )
    precondition(reopened.headHash == head, "head hash changed across reopen")

    let readStart = ContinuousClock.now
    var readCount = 0
    var keyBytes = 0
    let reader = try reopened.reader(from: 0)
    while let batch = try reader.nextBatch() {
        for record in batch {
            readCount += 1
            keyBytes += record.key.count
        }
    }
    let readSeconds = seconds(since: readStart)
    print(
        String(
            format: "  replayed   %d records in %.2f s (%.0f records/s)",
            readCount,
            readSeconds,
            Double(readCount) / readSeconds
        )
    )

    let verifyStart = ContinuousClock.now
    let report = try reopened.verify()
    print(String(format: "  verified   in %.2f s: %@", seconds(since: verifyStart), report.description))
    let statistics = try reopened.statistics()
    print("  statistics \(statistics.segments) segments, \(statistics.frames) batches, \(statistics.records) records")
    print(
        String(
            format: "             raw JSON %.1f MiB, on disk %.1f MiB (%.1f %% of the JSON)",
            Double(rawBytes) / 1_048_576,
            Double(statistics.bytesOnDisk) / 1_048_576,
            100 * Double(statistics.bytesOnDisk) / Double(rawBytes)
        )
    )
    print("  head hash  \(reopened.headHash)")
    await reopened.close()
    if !report.isValid { exit(1) }
} catch {
    FileHandle.standardError.write(Data("eventlog-demo: \(error)\n".utf8))
    exit(1)
}
