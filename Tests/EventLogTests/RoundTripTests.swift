import Foundation
import Testing
import _EventLogTestSupport

@testable import EventLog

@Suite("Appending and reading")
struct RoundTripTests {
    /// A record as appended, to compare with what comes back.
    struct Expected: Equatable {
        var key: [UInt8]
        var typeTag: UInt16
        var schemaVersion: UInt16
        var eventTime: Int64
        var producerID: [UInt8]?
        var value: [UInt8]
    }

    static func randomRecord(_ random: inout SplitMix64) -> Expected {
        func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) } }
        let shape = random.next() % 10
        let key: [UInt8] =
            switch shape {
            case 0: []
            case 1: bytes(EventLog.Limits.maxKeyBytes)
            default: Array("c-\(random.next() % 1000)".utf8)
            }
        let value: [UInt8] =
            switch shape {
            case 2: []
            case 3: bytes(Int(random.next() % 20_000))  // incompressible
            case 4: [UInt8](repeating: 7, count: 100_000)  // very compressible
            default: Array("{\"type\":\"order.placed\",\"total\":\(random.next() % 10_000)}".utf8)
            }
        let producer: [UInt8]? =
            switch shape {
            case 5: bytes(EventLog.Limits.maxProducerIDBytes)
            case 6: Array("e\(random.next())".utf8)
            default: nil
            }
        return Expected(
            key: key,
            typeTag: UInt16(truncatingIfNeeded: random.next()),
            schemaVersion: UInt16(truncatingIfNeeded: random.next()),
            eventTime: Int64(bitPattern: random.next()) >> 8,
            producerID: producer,
            value: value
        )
    }

    static func append(_ records: ArraySlice<Expected>, to log: EventLog) async throws -> Range<Int64> {
        var batch = RecordBatch()
        for record in records {
            try batch.append(
                key: record.key,
                typeTag: record.typeTag,
                schemaVersion: record.schemaVersion,
                eventTime: record.eventTime,
                producerID: record.producerID,
                value: record.value
            )
        }
        return try await log.append(batch)
    }

    static func actual(_ record: LogRecord) -> Expected {
        Expected(
            key: Array(record.key),
            typeTag: record.typeTag,
            schemaVersion: record.schemaVersion,
            eventTime: record.eventTime,
            producerID: record.producerID.map(Array.init),
            value: Array(record.value)
        )
    }

    @Test(
        "Random records, across segments, come back exactly, from any offset, after reopening",
        arguments: EventLog.Durability.allCases
    )
    func randomRecords(durability: EventLog.Durability) async throws {
        let directory = TemporaryDirectory()
        var random = SplitMix64(seed: 11)
        let records = (0..<600).map { _ in Self.randomRecord(&random) }
        var configuration = smallSegments(256 << 10, durability: durability)
        configuration.targetFrameBytes = 8 << 10
        let log = try EventLog.open(at: directory.path, configuration: configuration)
        var start = 0
        while start < records.count {
            let count = min(Int(random.next() % 30) + 1, records.count - start)
            let offsets = try await Self.append(records[start..<start + count], to: log)
            #expect(offsets == Int64(start)..<Int64(start + count))
            start += count
        }
        #expect(log.nextOffset == 600)
        #expect(log.segmentCount > 3)
        let readBack = try readAll(log).map(Self.actual)
        #expect(readBack == records)
        let head = log.headHash
        await log.close()

        let reopened = try EventLog.open(at: directory.path, configuration: configuration)
        #expect(reopened.notices.isEmpty)
        #expect(reopened.nextOffset == 600)
        #expect(reopened.headHash == head)
        for offset in [0, 1, 77, 299, 300, 599, 600] {
            let tail = try readAll(reopened, from: Int64(offset))
            #expect(tail.map(\.offset) == Array(Int64(offset)..<600))
            #expect(tail.map(Self.actual) == Array(records[offset...]))
        }
        let report = try reopened.verify()
        #expect(report.isValid, "\(report)")
        #expect(report.records == 600 && report.headHash == head)
        #expect(throws: EventLogError.self) { try reopened.reader(from: 601) }
        await reopened.close()
    }

    @Test("Concurrent appends are coalesced into frames near the target size")
    func coalescing() async throws {
        let directory = TemporaryDirectory()
        var configuration = EventLog.Configuration()
        configuration.durability = .groupCommit
        let log = try EventLog.open(at: directory.path, configuration: configuration)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<64 {
                group.addTask {
                    for number in 0..<20 {
                        try await log.append(
                            CheckedRecords.batch(appendID: UInt64(task * 1000 + number), count: 1, maxPayload: 150)
                        )
                    }
                }
            }
            try await group.waitForAll()
        }
        let statistics = try log.statistics()
        #expect(statistics.records == 1280)
        // 1280 single-record appends from 64 tasks must share frames (one per group commit).
        #expect(statistics.frames < 1280 / 4, "frames: \(statistics.frames)")
        #expect(try readAll(log).allSatisfy { CheckedRecords.check($0) != nil })
        await log.close()
    }

    @Test("Reading from an event time starts at the first record that reaches it, in log order")
    func readFromEventTime() async throws {
        let directory = TemporaryDirectory()
        let log = try EventLog.open(at: directory.path, configuration: smallSegments(16 << 10))
        var times = [Int64]()
        var random = SplitMix64(seed: 3)
        for chunk in 0..<60 {
            var batch = RecordBatch()
            for index in 0..<10 {
                // Mostly increasing, with late events.
                let time = Int64(chunk * 10 + index) * 1000 - (random.next() % 8 == 0 ? 40_000 : 0)
                times.append(time)
                let value = (0..<300).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                try batch.append(key: "k", typeTag: 1, schemaVersion: 1, eventTime: time, value: value)
            }
            try await log.append(batch)
        }
        #expect(log.segmentCount > 5)
        for target in stride(from: Int64(-5000), through: 620_000, by: 12_345) {
            let expected = times.firstIndex { $0 >= target }.map(Int64.init)
            #expect(try log.firstOffset(atOrAfterEventTime: target) == expected, "target \(target)")
        }
        let reader = try #require(try log.reader(fromEventTime: 300_000))
        let firstBatch = try #require(try reader.nextBatch())
        var records = firstBatch.makeIterator()
        let first = try #require(records.next() as LogRecord?)
        #expect(first.eventTime >= 300_000)
        #expect(try log.reader(fromEventTime: 10_000_000) == nil)
        await log.close()
    }

    @Test("Records are read without copying: fields are slices of one batch buffer")
    func zeroCopyFields() async throws {
        let directory = TemporaryDirectory()
        let log = try EventLog.open(at: directory.path)
        try await log.append(CheckedRecords.batch(appendID: 5, count: 30))
        let batch = try #require(try log.reader(from: 0).nextBatch())
        var bases = Set<UnsafeRawPointer>()
        for record in batch {
            record.value.withUnsafeBytes { raw in
                let storageBase = batch.storage.withUnsafeBytes { $0.baseAddress! }
                #expect(raw.baseAddress! >= storageBase && raw.baseAddress! < storageBase + batch.storage.count)
                bases.insert(storageBase)
            }
        }
        #expect(bases.count == 1)
        await log.close()
    }

    @Test("An empty batch is refused, and a closed log refuses appends")
    func refusals() async throws {
        let directory = TemporaryDirectory()
        let log = try EventLog.open(at: directory.path)
        await #expect(throws: EventLogError.self) { try await log.append(RecordBatch()) }
        await log.close()
        let error = await #expect(throws: EventLogError.self) {
            try await log.append(CheckedRecords.batch(appendID: 1, count: 1))
        }
        #expect(error?.code == .notWritable)
        #expect(log.nextOffset == 0)
    }

    @Test("The directory and its files are readable by the owner only")
    func permissions() async throws {
        let directory = TemporaryDirectory()
        let path = directory.path("log")
        let log = try EventLog.open(at: path)
        try await log.append(CheckedRecords.batch(appendID: 1, count: 3))
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o700)
        for name in try FileManager.default.contentsOfDirectory(atPath: path) {
            let mode = try FileManager.default.attributesOfItem(atPath: path + "/" + name)[.posixPermissions] as? Int
            #expect(mode.map { $0 & 0o077 } == 0, "\(name)")
        }
        await log.close()
    }
}

@Suite("Record views")
struct RecordViewTests {
    @Test("forEachRecord shows the same fields as the records, from the first offset asked")
    func viewsMatchRecords() async throws {
        let directory = TemporaryDirectory()
        let log = try EventLog.open(at: directory.path)
        var batch = RecordBatch()
        for index in 0..<50 {
            try batch.append(
                key: "c-\(index)",
                typeTag: UInt16(index),
                schemaVersion: 3,
                eventTime: Int64(index) * 7,
                producerID: index % 2 == 0 ? "p\(index)" : nil,
                value: Array("v\(index)".utf8)
            )
        }
        try await log.append(batch)
        let read = try #require(try log.reader(from: 20).nextBatch())
        var views = [RoundTripTests.Expected]()
        var offsets = [Int64]()
        read.forEachRecord { view in
            offsets.append(view.offset)
            views.append(
                .init(
                    key: Array(view.key),
                    typeTag: view.typeTag,
                    schemaVersion: view.schemaVersion,
                    eventTime: view.eventTime,
                    producerID: view.producerID.isEmpty ? nil : Array(view.producerID),
                    value: Array(view.value)
                )
            )
        }
        #expect(offsets == Array(20..<50))
        #expect(views == read.map(RoundTripTests.actual))
        #expect(views.first?.key == Array("c-20".utf8) && views.first?.producerID == Array("p20".utf8))
        await log.close()
    }
}

@Suite("Checked frames")
struct CheckedFrameTests {
    @Test("Frames read without decompressing, then decompressed, give the batches a reader gives, from any offset")
    func framesGiveTheSameBatches() async throws {
        let directory = TemporaryDirectory()
        let log = try EventLog.open(at: directory.path, configuration: smallSegments())
        let identities = try await appendChecked(log, appends: 120)
        #expect(log.segmentCount > 2, "frames of several segment files")
        for start in [Int64(0), 1, Int64(identities.count / 2) + 3] {
            let reader = try log.reader(from: start)
            var frames = [CheckedFrame]()
            while let frame = try reader.nextCheckedFrame() { frames.append(frame) }
            #expect(reader.nextOffset == log.nextOffset)
            // Decompressed after the reader has moved on, in another order than read.
            var fromFrames = [[RoundTripTests.Expected]](repeating: [], count: frames.count)
            for index in frames.indices.reversed() {
                fromFrames[index] = try frames[index].batch().map(RoundTripTests.actual)
            }
            let expected = try readAll(log, from: start).map(RoundTripTests.actual)
            #expect(fromFrames.flatMap { $0 } == expected)
            #expect(expected.count == identities.count - Int(start))
            #expect(frames.last?.nextOffset == log.nextOffset)
        }
        await log.close()
    }
}
