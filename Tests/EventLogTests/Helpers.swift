import EventLog
import Foundation
import _EventLogTestSupport

/// Reads every record of the log from `offset` and returns them with their identities checked.
func readAll(_ log: EventLog, from offset: Int64 = 0) throws -> [LogRecord] {
    let reader = try log.reader(from: offset)
    var records = [LogRecord]()
    while let batch = try reader.nextBatch() { records.append(contentsOf: batch) }
    return records
}

/// A configuration with small segments, so that tests cover rolling and sealed segments.
func smallSegments(_ bytes: Int = 64 << 10, durability: EventLog.Durability = .none) -> EventLog.Configuration {
    var configuration = EventLog.Configuration()
    configuration.segmentBytes = bytes
    configuration.durability = durability
    return configuration
}

/// Appends `appends` checked batches of 1 to `maxCount` records; returns the identities in offset order.
@discardableResult
func appendChecked(
    _ log: EventLog,
    appends: Int,
    maxCount: Int = 20,
    maxPayload: Int = 400,
    seed: UInt64 = 1
) async throws -> [CheckedRecords.Identity] {
    var random = SplitMix64(seed: seed)
    var identities = [CheckedRecords.Identity]()
    for number in 0..<appends {
        let count = Int(random.next() % UInt64(maxCount)) + 1
        let appendID = seed << 32 | UInt64(number)
        try await log.append(CheckedRecords.batch(appendID: appendID, count: count, maxPayload: maxPayload))
        for index in 0..<count {
            identities.append(.init(appendID: appendID, index: UInt32(index), count: UInt32(count)))
        }
    }
    return identities
}

enum Files {
    static func size(_ path: String) -> Int64 {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64) ?? -1
    }

    static func read(_ path: String) -> [UInt8] {
        Array(FileManager.default.contents(atPath: path) ?? Data())
    }

    static func write(_ path: String, _ bytes: [UInt8]) {
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    }

    static func truncate(_ path: String, to length: Int64) {
        let handle = FileHandle(forUpdatingAtPath: path)!
        try! handle.truncate(atOffset: UInt64(length))
        try! handle.close()
    }

    static func flipBit(_ path: String, at position: Int, bit: Int) {
        var bytes = read(path)
        bytes[position] ^= UInt8(1 << bit)
        write(path, bytes)
    }

    /// Copies every file of `source` into a new temporary directory.
    static func copy(_ source: String) -> TemporaryDirectory {
        let copy = TemporaryDirectory("eventlog-copy")
        for name in try! FileManager.default.contentsOfDirectory(atPath: source) where name != "LOCK" {
            try! FileManager.default.copyItem(atPath: source + "/" + name, toPath: copy.path(name))
        }
        return copy
    }

    static func segmentNames(_ path: String) -> [String] {
        (try! FileManager.default.contentsOfDirectory(atPath: path)).filter { $0.hasSuffix(".log") }.sorted()
    }
}
