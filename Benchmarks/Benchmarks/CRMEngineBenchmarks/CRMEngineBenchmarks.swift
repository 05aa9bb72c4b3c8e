import Benchmark
import BenchmarkSupport
import CRMGenerator
import CRMModel
import CRMProjections
import EventCRM
import Foundation
import GRDB

// Benchmarks of the engine (issue 3): ingest of generated NDJSON into a durable log, a customer's history in a
// log of 10M events, bytes on disk per event, and the peer side by side: the same NDJSON into SQLite (GRDB)
// with an index on customer, then the same customers' histories. Run: `make benchmark`.

enum GeneratedData {
    /// Generated NDJSON for `customers` customers (seed 42), written once and kept between runs.
    static func ndjson(customers: Int) throws -> (path: String, bytes: Int, lines: Int) {
        let path = benchmarkRoot + "/generated-\(customers).ndjson"
        let marker = path + ".lines"
        if let text = try? String(contentsOfFile: marker, encoding: .utf8), let lines = Int(text) {
            let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
            return (path, size, lines)
        }
        let (bytes, lines) = try write(SyntheticData(.init(customers: customers, seed: 42)), to: path)
        try String(lines).write(toFile: marker, atomically: true, encoding: .utf8)
        return (path, bytes, lines)
    }

    /// Writes `events` to `path` as NDJSON, 4 MiB at a time; returns the bytes and lines written.
    static func write(_ events: some Sequence<Event>, to path: String) throws -> (bytes: Int, lines: Int) {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        let codec = EventJSONCodec()
        var buffer = [UInt8]()
        buffer.reserveCapacity(4 << 20)
        var lines = 0
        var bytes = 0
        for event in events {
            buffer += codec.encodeLine(event).utf8
            buffer.append(0x0A)
            lines += 1
            if buffer.count >= 4 << 20 {
                handle.write(Data(buffer))
                bytes += buffer.count
                buffer.removeAll(keepingCapacity: true)
            }
        }
        handle.write(Data(buffer))
        bytes += buffer.count
        try handle.close()
        return (bytes, lines)
    }

    /// An engine holding the segments of the demo (scripts/segments.json, defined at the start of the year, six
    /// besides the generator's five) and then the generated events of `customers` customers, built once and kept
    /// between runs.
    static func engine(customers: Int) async throws -> String {
        try await builtOnce(at: benchmarkRoot + "/engine-\(customers)-with-segments") {
            try ndjson(customers: customers).path
        }
    }

    /// The engine at `path`, built the first time and kept between runs (a marker file beside it says it is
    /// complete): the demo's segment definitions (scripts/segments.json) and then `more`, each a JSON list,
    /// defined at the start of 2024, then the NDJSON at the path `input` gives ingested.
    static func builtOnce(
        at path: String,
        defining more: [String] = [],
        ingesting input: () throws -> String
    ) async throws -> String {
        let marker = path + ".complete"
        if FileManager.default.fileExists(atPath: marker) { return path }
        try? FileManager.default.removeItem(atPath: path)
        let inputPath = try input()
        var options = CRMEngine.Options()
        options.durability = .none
        let engine = try CRMEngine.open(at: path, options: options)
        let demo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("scripts/segments.json")
        let runner = ProjectionRunner<CustomerProfiles>(engine: engine)
        for (index, json) in ([try String(contentsOf: demo, encoding: .utf8)] + more).enumerated() {
            try await runner.defineSegments(
                try SegmentDefinition.list(
                    fromJSON: json,
                    source: index == 0 ? "segments.json" : "definitions \(index)"
                ),
                at: try EventTime(rfc3339: "2024-01-01T00:00:00Z")
            )
        }
        _ = try await engine.ingest(.file(inputPath))
        await engine.close()
        _ = FileManager.default.createFile(atPath: marker, contents: nil)
        return path
    }

    /// `count` customer ids spread over the generated customers, the same in every run.
    static func sampleCustomers(_ count: Int, of customers: Int) -> [String] {
        var random = SplitMix64(seed: 99)
        return (0..<count).map { _ in "c-\(random.next() % UInt64(customers))" }
    }
}

extension BenchmarkMetric {
    static let percentOfNDJSON = BenchmarkMetric.custom("log % of NDJSON", useScalingFactor: false)
    static let bytesPerEvent = BenchmarkMetric.custom("log bytes/event", useScalingFactor: false)
    static let eventsPerHistory = BenchmarkMetric.custom("events per history", useScalingFactor: false)
}

/// Slow benchmarks: a few iterations of up to two minutes, timed in milliseconds.
func slowConfiguration(_ metrics: [BenchmarkMetric], iterations: Int = 3) -> Benchmark.Configuration {
    configuration(metrics, seconds: 120, iterations: iterations, warmupIterations: 0, timeUnits: .milliseconds)
}

/// The metrics of the history benchmarks.
let historyMetrics: [BenchmarkMetric] = [.latencyP50, .latencyP99, .latencyMax, .eventsPerHistory]

/// Reports the history latencies of 1000 sample customers of an engine built from `customers` customers.
func measureHistories(_ benchmark: Benchmark, customers: Int, minimumEvents: Int64 = 0) async throws {
    let path = try await GeneratedData.engine(customers: customers)
    let engine = try CRMEngine.open(at: path)
    precondition(engine.nextOffset >= minimumEvents, "the log needs at least \(minimumEvents) events")
    let measured = try latencies(GeneratedData.sampleCustomers(1000, of: customers)) {
        try engine.history(of: $0).count
    }
    await engine.close()
    report(measured, to: benchmark)
}

func report(_ measured: (p50: Int, p99: Int, max: Int, meanResult: Int), to benchmark: Benchmark) {
    benchmark.measurement(.latencyP50, measured.p50)
    benchmark.measurement(.latencyP99, measured.p99)
    benchmark.measurement(.latencyMax, measured.max)
    benchmark.measurement(.eventsPerHistory, measured.meanResult)
}

/// The customers of the ingest benchmark: about 425K events, 78 MB of NDJSON.
let ingestCustomers = 30_000
/// The customers of the history benchmark: about 10M events.
let historyCustomers = 710_000

let benchmarks: @Sendable () -> Void = {
    Benchmark(
        "crm-ingest-generated-ndjson-durable",
        configuration: slowConfiguration([.eventsPerSecond, .megabytesPerSecond, .percentOfNDJSON, .bytesPerEvent])
    ) { benchmark in
        let input = try GeneratedData.ndjson(customers: ingestCustomers)
        let path = freshDirectory("ingest")
        let engine = try CRMEngine.open(at: path)  // group commit: durable when the ingest returns
        var report: IngestReport?
        let elapsed = try await ContinuousClock().measure { report = try await engine.ingest(.file(input.path)) }
        let statistics = try engine.statistics()
        await engine.close()
        precondition(report!.appended == input.lines)
        benchmark.measurement(.eventsPerSecond, Int(Double(input.lines) / seconds(elapsed)))
        benchmark.measurement(.megabytesPerSecond, Int(Double(input.bytes) / seconds(elapsed) / 1e6))
        benchmark.measurement(.percentOfNDJSON, Int(Double(statistics.segmentBytes) * 100 / Double(input.bytes)))
        benchmark.measurement(.bytesPerEvent, Int(statistics.segmentBytes) / input.lines)
    }

    Benchmark(
        "crm-history-one-customer-10M-event-log",
        configuration: slowConfiguration(historyMetrics, iterations: 5)
    ) { benchmark in
        try await measureHistories(benchmark, customers: historyCustomers, minimumEvents: 10_000_000)
    }

    Benchmark(
        "crm-history-one-customer-ingest-benchmark-log",
        configuration: slowConfiguration(historyMetrics, iterations: 5)
    ) { benchmark in
        try await measureHistories(benchmark, customers: ingestCustomers)
    }

    projectionBenchmarks()
    plainDecodingBoundBenchmark()
    longHistoryBenchmarks()
    attributionBenchmarks()

    // The peer: the same NDJSON, validated by the same codec, into SQLite through GRDB (WAL,
    // synchronous=NORMAL, 1000-row transactions) with a unique index on the event id (idempotent ingest) and an
    // index on (customer, time) for history.

    Benchmark(
        "sqlite-ingest-generated-ndjson-customer-index",
        configuration: slowConfiguration([.eventsPerSecond, .megabytesPerSecond])
    ) { benchmark in
        let input = try GeneratedData.ndjson(customers: ingestCustomers)
        let database = try SQLiteEventTable.open(freshDirectory("sqlite-ingest.db"))
        let elapsed = try ContinuousClock().measure { try SQLiteEventTable.ingest(input.path, into: database) }
        try database.close()
        benchmark.measurement(.eventsPerSecond, Int(Double(input.lines) / seconds(elapsed)))
        benchmark.measurement(.megabytesPerSecond, Int(Double(input.bytes) / seconds(elapsed) / 1e6))
    }

    Benchmark(
        "sqlite-history-one-customer-ingest-benchmark-log",
        configuration: slowConfiguration(historyMetrics, iterations: 5)
    ) { benchmark in
        let input = try GeneratedData.ndjson(customers: ingestCustomers)
        let path = benchmarkRoot + "/sqlite-history.db"
        if !FileManager.default.fileExists(atPath: path + ".complete") {
            let database = try SQLiteEventTable.open(freshDirectory("sqlite-history.db"))
            try SQLiteEventTable.ingest(input.path, into: database)
            try database.close()
            _ = FileManager.default.createFile(atPath: path + ".complete", contents: nil)
        }
        let database = try SQLiteEventTable.open(path)
        let codec = EventJSONCodec()
        // Like the engine, the peer returns decoded events.
        let measured = try latencies(GeneratedData.sampleCustomers(1000, of: ingestCustomers)) { customer in
            try database.read { db in
                let rows = try Row.fetchCursor(
                    db,
                    sql: "SELECT json FROM events WHERE customer = ? ORDER BY time, rowid",
                    arguments: [customer]
                )
                var count = 0
                while let row = try rows.next() {
                    let text: String = row[0]
                    _ = try codec.decode(text)
                    count += 1
                }
                return count
            }
        }
        try database.close()
        report(measured, to: benchmark)
    }
}

/// SQLite as a CRM event table with the indexes a history query and an idempotent ingest need.
enum SQLiteEventTable {
    static func open(_ path: String) throws -> DatabasePool {
        try openSQLite(
            path,
            schema: """
                CREATE TABLE IF NOT EXISTS events (
                    id TEXT, customer TEXT, type TEXT NOT NULL, time INTEGER NOT NULL, json TEXT NOT NULL);
                CREATE UNIQUE INDEX IF NOT EXISTS events_id ON events(id);
                CREATE INDEX IF NOT EXISTS events_customer ON events(customer, time);
                """
        )
    }

    /// Validates each line with the engine's codec and inserts it (a duplicate id is ignored), 1000 per commit.
    static func ingest(_ path: String, into pool: DatabasePool) throws {
        let codec = EventJSONCodec()
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n")
        for chunk in stride(from: 0, to: lines.count, by: 1000) {
            try pool.write { db in
                let statement = try db.makeStatement(
                    sql: "INSERT OR IGNORE INTO events (id, customer, type, time, json) VALUES (?, ?, ?, ?, ?)"
                )
                for line in lines[chunk..<min(chunk + 1000, lines.count)] {
                    let event = try codec.decode(String(line))
                    statement.setUncheckedArguments([
                        event.id, event.customer, event.type.rawValue, event.at.microseconds, String(line),
                    ])
                    try statement.execute()
                }
            }
        }
    }
}
