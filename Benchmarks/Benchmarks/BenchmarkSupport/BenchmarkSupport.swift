public import Benchmark
import Foundation
public import GRDB

// What both benchmark executables share: where their files go, how they time, and their custom metrics.
// Each benchmark measures its own work with a clock and reports it as custom metrics, so the figures do not
// depend on how the harness counts iterations.

/// The directory under which benchmarks keep their files (and data sets built once, between runs).
public let benchmarkRoot: String = {
    let path = (ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/eventcrm-benchmarks"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}()

/// `name` under ``benchmarkRoot``, emptied.
public func freshDirectory(_ name: String) -> String {
    let path = benchmarkRoot + "/" + name
    try? FileManager.default.removeItem(atPath: path)
    return path
}

/// The resident memory of the process, in bytes.
public func residentBytes() -> Int {
    let statm = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? "0 0"
    return (Int(statm.split(separator: " ")[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
}

public func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

extension BenchmarkMetric {
    public static let recordsPerSecond = custom("records/s", polarity: .prefersLarger, useScalingFactor: false)
    public static let eventsPerSecond = custom("events/s", polarity: .prefersLarger, useScalingFactor: false)
    public static let megabytesPerSecond = custom("MB/s", polarity: .prefersLarger, useScalingFactor: false)
    public static let operationsPerSecond = custom("ops/s", polarity: .prefersLarger, useScalingFactor: false)
    public static let latencyP50 = custom("p50 latency (us)", useScalingFactor: false)
    public static let latencyP99 = custom("p99 latency (us)", useScalingFactor: false)
    public static let latencyMax = custom("max latency (us)", useScalingFactor: false)
    public static let milliseconds = custom("time (us)", useScalingFactor: false)
}

/// A configuration whose wall clock is reported with `metrics`.
public func configuration(
    _ metrics: [BenchmarkMetric],
    seconds: Int = 5,
    iterations: Int = 20,
    warmupIterations: Int = 1,
    timeUnits: BenchmarkTimeUnits = .microseconds
) -> Benchmark.Configuration {
    .init(
        metrics: [.wallClock] + metrics,
        timeUnits: timeUnits,
        warmupIterations: warmupIterations,
        maxDuration: .seconds(seconds),
        maxIterations: iterations
    )
}

/// Latency percentiles, in microseconds, of `body` run once per input; and the mean of what it returns.
public func latencies<Input>(
    _ inputs: [Input],
    _ body: (Input) throws -> Int
) rethrows -> (
    p50: Int, p99: Int, max: Int, meanResult: Int
) {
    var measured = [Double]()
    var total = 0
    let clock = ContinuousClock()
    for input in inputs {
        var result = 0
        let elapsed = try clock.measure { result = try body(input) }
        total += result
        measured.append(seconds(elapsed) * 1e6)
    }
    measured.sort()
    return (
        Int(measured[measured.count / 2]), Int(measured[measured.count * 99 / 100]), Int(measured.last!),
        total / max(1, inputs.count)
    )
}

/// A SQLite database through GRDB as the peers use it: WAL (GRDB's pool), `synchronous=NORMAL`, `schema` applied.
public func openSQLite(_ path: String, schema: String) throws -> DatabasePool {
    var configuration = GRDB.Configuration()
    configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
    let pool = try DatabasePool(path: path, configuration: configuration)
    try pool.write { db in try db.execute(sql: schema) }
    return pool
}
