import Benchmark
import BenchmarkSupport
import CLZ4Baseline
import CRMModel
import EventLog
import Foundation
import GRDB
import _EventLogTestSupport

// Benchmarks of the storage core against the machine's own limits (liblz4 on the same bytes, the disk's
// fdatasync rate) and against a peer (SQLite through GRDB as an event table), all in one run.
//
// Each benchmark measures its own work with a clock and reports it as custom metrics (records/s, MB/s,
// latencies), so the figures do not depend on how the harness counts iterations. Run: `make benchmark`.

// MARK: - Shared data

/// Realistic CRM JSON payloads of about 150 bytes, generated here, packed into ~64 KiB record batches.
enum Fixture {
    static let recordsPerBatch = 400
    static let events: [SamplePayloads.Event] = {
        var generator = SamplePayloads(seed: 2026)
        return (0..<200_000).map { _ in generator.next() }
    }()
    static let batches: [RecordBatch] = stride(from: 0, to: events.count, by: recordsPerBatch).map {
        (start: Int) -> RecordBatch in
        var batch = RecordBatch(reservingBytes: 80 << 10)
        for event in events[start..<min(start + recordsPerBatch, events.count)] { batch.append(sample: event) }
        return batch
    }
    /// The sample payloads as CRM events (they are valid events of docs/events.md).
    static let crmEvents: [Event] = {
        let codec = EventJSONCodec()
        return events.map { event in try! event.json.withUnsafeBytes { try codec.decode(line: $0) } }
    }()

    /// A log of `records` sample records at `name`, written once and kept between runs.
    static func prebuiltLog(_ name: String, records: Int) async throws -> String {
        let path = benchmarkRoot + "/" + name
        let marker = path + ".complete"
        if FileManager.default.fileExists(atPath: marker) { return path }
        try? FileManager.default.removeItem(atPath: path)
        var configuration = EventLog.Configuration()
        configuration.durability = .none
        let log = try EventLog.open(at: path, configuration: configuration)
        var written = 0
        while written < records {
            try await log.append(batches[(written / recordsPerBatch) % batches.count])
            written += recordsPerBatch
        }
        await log.close()
        _ = FileManager.default.createFile(atPath: marker, contents: nil)
        return path
    }
}

extension BenchmarkMetric {
    static let percentOfPayload = BenchmarkMetric.custom("on-disk % of JSON", useScalingFactor: false)
    static let residentGrowth = BenchmarkMetric.custom("RSS growth (MiB)", useScalingFactor: false)
}

// MARK: - Benchmarks

let benchmarks: @Sendable () -> Void = {
    // The machine's limits.

    Benchmark("lz4-compress-same-bytes", configuration: configuration([.megabytesPerSecond])) { benchmark in
        let batches = Fixture.batches
        var output = [UInt8](repeating: 0, count: Int(LZ4_compressBound(Int32(100 << 10))))
        var bytes = 0
        let elapsed = ContinuousClock().measure {
            for batch in batches {
                batch.withEncodedBytes { input in
                    output.withUnsafeMutableBytes { out in
                        let compressed = LZ4_compress_default(
                            input.baseAddress!.assumingMemoryBound(to: CChar.self),
                            out.baseAddress!.assumingMemoryBound(to: CChar.self),
                            Int32(input.count),
                            Int32(out.count)
                        )
                        blackHole(compressed)
                    }
                    bytes += input.count
                }
            }
        }
        benchmark.measurement(.megabytesPerSecond, Int(Double(bytes) / seconds(elapsed) / 1e6))
    }

    Benchmark("lz4-decompress-same-bytes", configuration: configuration([.megabytesPerSecond])) { benchmark in
        let compressed: [([UInt8], Int)] = Fixture.batches.map { batch in
            batch.withEncodedBytes { input in
                var output = [UInt8](repeating: 0, count: Int(LZ4_compressBound(Int32(input.count))))
                let size = output.withUnsafeMutableBytes { out in
                    LZ4_compress_default(
                        input.baseAddress!.assumingMemoryBound(to: CChar.self),
                        out.baseAddress!.assumingMemoryBound(to: CChar.self),
                        Int32(input.count),
                        Int32(out.count)
                    )
                }
                return (Array(output[..<Int(size)]), input.count)
            }
        }
        var output = [UInt8](repeating: 0, count: 200 << 10)
        var bytes = 0
        let elapsed = ContinuousClock().measure {
            for (block, original) in compressed {
                block.withUnsafeBytes { input in
                    output.withUnsafeMutableBytes { out in
                        blackHole(
                            LZ4_decompress_safe(
                                input.baseAddress!.assumingMemoryBound(to: CChar.self),
                                out.baseAddress!.assumingMemoryBound(to: CChar.self),
                                Int32(input.count),
                                Int32(out.count)
                            )
                        )
                    }
                }
                bytes += original
            }
        }
        benchmark.measurement(.megabytesPerSecond, Int(Double(bytes) / seconds(elapsed) / 1e6))
    }

    Benchmark("disk-fdatasync-rate", configuration: configuration([.operationsPerSecond, .latencyP99], iterations: 10))
    {
        benchmark in
        let path = benchmarkRoot + "/fdatasync-probe"
        let descriptor = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        defer {
            close(descriptor)
            unlink(path)
        }
        let record = [UInt8](repeating: 0x41, count: 150)
        var latencies = [Double]()
        var position: off_t = 0
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            for _ in 0..<100 {
                let start = clock.now
                _ = record.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, position) }
                fdatasync(descriptor)
                position += 150
                latencies.append(seconds(clock.now - start) * 1e6)
            }
        }
        latencies.sort()
        benchmark.measurement(.operationsPerSecond, Int(100 / seconds(elapsed)))
        benchmark.measurement(.latencyP99, Int(latencies[98]))
    }

    // The log.

    Benchmark(
        "eventlog-append-batch-no-fsync",
        configuration: configuration([.recordsPerSecond, .megabytesPerSecond, .cpuTotal])
    ) { benchmark in
        var settings = EventLog.Configuration()
        settings.durability = .none
        let log = try EventLog.open(at: freshDirectory("append-batch"), configuration: settings)
        var records = 0
        var bytes = 0
        let elapsed = try await ContinuousClock().measure {
            for batch in Fixture.batches {
                try await log.append(batch)
                records += batch.count
                bytes += batch.encodedByteCount
            }
        }
        await log.close()
        benchmark.measurement(.recordsPerSecond, Int(Double(records) / seconds(elapsed)))
        benchmark.measurement(.megabytesPerSecond, Int(Double(bytes) / seconds(elapsed) / 1e6))
    }

    // The same with two appends in flight, as a batch ingester keeps them: the writer thread compresses one frame
    // while the caller hands over the next, instead of waiting for a thread hop between frames.
    Benchmark(
        "eventlog-append-batch-no-fsync-2-in-flight",
        configuration: configuration([.recordsPerSecond, .megabytesPerSecond, .cpuTotal])
    ) { benchmark in
        var settings = EventLog.Configuration()
        settings.durability = .none
        let log = try EventLog.open(at: freshDirectory("append-pipelined"), configuration: settings)
        let batches = Fixture.batches
        let elapsed = try await ContinuousClock().measure {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for lane in 0..<2 {
                    group.addTask {
                        for batch in stride(from: lane, to: batches.count, by: 2).map({ batches[$0] }) {
                            try await log.append(batch)
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        await log.close()
        let records = batches.reduce(0) { $0 + $1.count }
        let bytes = batches.reduce(0) { $0 + $1.encodedByteCount }
        benchmark.measurement(.recordsPerSecond, Int(Double(records) / seconds(elapsed)))
        benchmark.measurement(.megabytesPerSecond, Int(Double(bytes) / seconds(elapsed) / 1e6))
    }

    Benchmark(
        "eventlog-group-commit-64-appenders",
        configuration: configuration([.recordsPerSecond, .latencyP50, .latencyP99], iterations: 10)
    ) { benchmark in
        let log = try EventLog.open(at: freshDirectory("group-commit"))
        let events = Fixture.events
        let clock = ContinuousClock()
        let appendsPerTask = 50
        let start = clock.now
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for task in 0..<64 {
                group.addTask {
                    var latencies = [Double]()
                    for number in 0..<appendsPerTask {
                        let event = events[(task * appendsPerTask + number) % events.count]
                        var batch = RecordBatch()
                        batch.append(sample: event)
                        let began = clock.now
                        try await log.append(batch)
                        latencies.append(seconds(clock.now - began) * 1e6)
                    }
                    return latencies
                }
            }
            return try await group.reduce(into: [Double]()) { $0 += $1 }.sorted()
        }
        let elapsed = clock.now - start
        await log.close()
        benchmark.measurement(.recordsPerSecond, Int(Double(latencies.count) / seconds(elapsed)))
        benchmark.measurement(.latencyP50, Int(latencies[latencies.count / 2]))
        benchmark.measurement(.latencyP99, Int(latencies[latencies.count * 99 / 100]))
    }

    Benchmark(
        "eventlog-one-appender-durable",
        configuration: configuration([.recordsPerSecond, .latencyP99], iterations: 10)
    ) { benchmark in
        let log = try EventLog.open(at: freshDirectory("one-appender"))
        let clock = ContinuousClock()
        var latencies = [Double]()
        let elapsed = try await clock.measure {
            for event in Fixture.events.prefix(100) {
                var batch = RecordBatch()
                batch.append(sample: event)
                let began = clock.now
                try await log.append(batch)
                latencies.append(seconds(clock.now - began) * 1e6)
            }
        }
        await log.close()
        latencies.sort()
        benchmark.measurement(.recordsPerSecond, Int(100 / seconds(elapsed)))
        benchmark.measurement(.latencyP99, Int(latencies[98]))
    }

    Benchmark(
        "eventlog-sequential-replay",
        configuration: configuration([.recordsPerSecond, .megabytesPerSecond, .percentOfPayload], iterations: 10)
    ) { benchmark in
        let path = try await Fixture.prebuiltLog("replay-2M", records: 2_000_000)
        let log = try EventLog.open(at: path, mode: .readOnly)
        var records = 0
        var bytes = 0
        var checksum = 0
        let elapsed = try ContinuousClock().measure {
            let reader = try log.reader(from: 0)
            while let batch = try reader.nextBatch() {
                batch.forEachRecord { record in
                    // Visit every field.
                    checksum &+=
                        record.key.count &+ record.value.count &+ Int(record.typeTag) &+ Int(record.schemaVersion)
                    checksum &+= Int(truncatingIfNeeded: record.eventTime) &+ record.producerID.count
                    records += 1
                    bytes += record.value.count
                }
            }
        }
        blackHole(checksum)
        let statistics = try log.statistics()
        await log.close()
        benchmark.measurement(.recordsPerSecond, Int(Double(records) / seconds(elapsed)))
        benchmark.measurement(.megabytesPerSecond, Int(Double(statistics.uncompressedBytes) / seconds(elapsed) / 1e6))
        // Payload bytes of the records in this log, and all its files on disk (segments and indexes).
        benchmark.measurement(.percentOfPayload, Int(100 * Double(statistics.bytesOnDisk) / Double(bytes)))
    }

    for (name, records) in [("1M", 1_000_000), ("10M", 10_000_000)] {
        Benchmark("eventlog-open-\(name)-records", configuration: configuration([.milliseconds], iterations: 20)) {
            benchmark in
            let path = try await Fixture.prebuiltLog("open-\(name)", records: records)
            let clock = ContinuousClock()
            let began = clock.now
            let log = try EventLog.open(at: path)
            let elapsed = clock.now - began
            precondition(log.nextOffset >= Int64(records))
            await log.close()
            benchmark.measurement(.milliseconds, Int(seconds(elapsed) * 1e6))
        }
    }

    Benchmark(
        "eventlog-writer-memory-10M-records",
        configuration: configuration(
            [.recordsPerSecond, .residentGrowth, .peakMemoryResident],
            seconds: 120,
            iterations: 1
        )
    ) { benchmark in
        var settings = EventLog.Configuration()
        settings.durability = .none
        let batches = Fixture.batches
        let baseline = residentBytes()
        let log = try EventLog.open(at: freshDirectory("memory-10M"), configuration: settings)
        var written = 0
        var peak = baseline
        let elapsed = try await ContinuousClock().measure {
            while written < 10_000_000 {
                try await log.append(batches[(written / Fixture.recordsPerBatch) % batches.count])
                written += Fixture.recordsPerBatch
                if written % 400_000 == 0 { peak = max(peak, residentBytes()) }
            }
        }
        await log.close()
        try? FileManager.default.removeItem(atPath: benchmarkRoot + "/memory-10M")
        benchmark.measurement(.recordsPerSecond, Int(Double(written) / seconds(elapsed)))
        benchmark.measurement(.residentGrowth, (peak - baseline) >> 20)
    }

    // The CRM event model: the binary codec (issue 3 target: 3M events/s each way on one core) and the JSON codec.

    Benchmark("crmmodel-binary-encode", configuration: configuration([.recordsPerSecond], iterations: 10)) {
        benchmark in
        let events = Fixture.crmEvents
        var bytes = 0
        let elapsed = ContinuousClock().measure {
            for event in events { bytes &+= EventBinaryCodec.encode(event).value.count }
        }
        blackHole(bytes)
        benchmark.measurement(.recordsPerSecond, Int(Double(events.count) / seconds(elapsed)))
    }

    Benchmark("crmmodel-binary-decode", configuration: configuration([.recordsPerSecond], iterations: 10)) {
        benchmark in
        let encoded = Fixture.crmEvents.map(EventBinaryCodec.encode)
        var decoded = 0
        let elapsed = try ContinuousClock().measure {
            for record in encoded { decoded &+= try EventBinaryCodec.decode(record).custom.members.count + 1 }
        }
        blackHole(decoded)
        benchmark.measurement(.recordsPerSecond, Int(Double(encoded.count) / seconds(elapsed)))
    }

    Benchmark(
        "crmmodel-json-decode",
        configuration: configuration([.recordsPerSecond, .megabytesPerSecond], iterations: 10)
    ) { benchmark in
        let codec = EventJSONCodec()
        let lines = Fixture.events.map(\.json)
        var bytes = 0
        let elapsed = try ContinuousClock().measure {
            for line in lines {
                _ = try line.withUnsafeBytes { raw in try codec.decode(line: raw) }
                bytes += line.count
            }
        }
        benchmark.measurement(.recordsPerSecond, Int(Double(lines.count) / seconds(elapsed)))
        benchmark.measurement(.megabytesPerSecond, Int(Double(bytes) / seconds(elapsed) / 1e6))
    }

    // The peer: SQLite through GRDB as an event table, WAL, synchronous=NORMAL, 1000-row transactions.

    Benchmark("sqlite-append-1000-row-transactions", configuration: configuration([.recordsPerSecond], iterations: 5)) {
        benchmark in
        let database = try SQLitePeer.open(freshDirectory("sqlite-append.db"))
        let events = Fixture.events
        let elapsed = try ContinuousClock().measure { try SQLitePeer.insert(events, into: database) }
        benchmark.measurement(.recordsPerSecond, Int(Double(events.count) / seconds(elapsed)))
    }

    Benchmark("sqlite-ordered-scan", configuration: configuration([.recordsPerSecond], iterations: 10)) { benchmark in
        let path = benchmarkRoot + "/sqlite-scan-2M.db"
        if !FileManager.default.fileExists(atPath: path + ".complete") {
            let database = try SQLitePeer.open(freshDirectory("sqlite-scan-2M.db"))
            for round in 0..<10 {
                try SQLitePeer.insert(Fixture.events, into: database, firstOffset: round * Fixture.events.count)
            }
            try database.close()
            _ = FileManager.default.createFile(atPath: path + ".complete", contents: nil)
        }
        let database = try SQLitePeer.open(path)
        var records = 0
        let elapsed = try ContinuousClock().measure { records = try SQLitePeer.scan(database) }
        benchmark.measurement(.recordsPerSecond, Int(Double(records) / seconds(elapsed)))
    }
}

/// SQLite as an event table: the peer the log is compared with.
enum SQLitePeer {
    static func open(_ path: String) throws -> DatabasePool {
        try openSQLite(
            path,
            schema: """
                CREATE TABLE IF NOT EXISTS events (
                    offset INTEGER PRIMARY KEY, key TEXT NOT NULL, type INTEGER NOT NULL,
                    version INTEGER NOT NULL, time INTEGER NOT NULL, value BLOB NOT NULL)
                """
        )
    }

    static func insert(_ events: [SamplePayloads.Event], into pool: DatabasePool, firstOffset: Int = 0) throws {
        var offset = firstOffset
        for chunk in stride(from: 0, to: events.count, by: 1000) {
            try pool.write { db in
                let statement = try db.makeStatement(sql: "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)")
                for event in events[chunk..<min(chunk + 1000, events.count)] {
                    statement.setUncheckedArguments([
                        offset, event.key, Int(event.typeTag), 1, event.eventTime, Data(event.json),
                    ])
                    try statement.execute()
                    offset += 1
                }
            }
        }
    }

    static func scan(_ pool: DatabasePool) throws -> Int {
        try pool.read { db in
            var count = 0
            var checksum = 0
            let rows = try Row.fetchCursor(
                db,
                sql: "SELECT offset, key, type, version, time, value FROM events ORDER BY offset"
            )
            while let row = try rows.next() {
                let key: String = row[1]
                let type: Int = row[2]
                let version: Int = row[3]
                let time: Int64 = row[4]
                let valueCount = try row.withUnsafeData(atIndex: 5) { $0?.count ?? 0 }
                checksum &+= key.utf8.count &+ type &+ version &+ Int(truncatingIfNeeded: time) &+ valueCount
                count += 1
            }
            blackHole(checksum)
            return count
        }
    }
}
