import ArgumentParser
import CRMGenerator
import CRMModel
import Foundation

struct Generate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write deterministic synthetic shop events as NDJSON (docs/synthetic-data.md)."
    )

    @Option(help: "The number of customers.") var customers: Int = 1000
    @Option(help: "The seed: the same seed gives the same file.") var seed: UInt64 = 42
    @Option(help: "The number of days simulated, from 2024-01-01.") var days: Int = 365
    @Argument(help: "The output file, or - for standard output.") var output: String

    func run() async throws {
        guard customers >= 0, days >= 1 else { throw ValidationError("--customers must be ≥ 0 and --days ≥ 1") }
        var configuration = SyntheticData.Configuration(customers: customers, seed: seed)
        configuration.days = days
        let sink = try ByteSink(path: output)
        let codec = EventJSONCodec()
        let progress = ProgressBar(label: "generating", unit: "days")
        let started = ContinuousClock.now
        var count = 0
        var bytes = 0
        var lastDay = -1
        for event in SyntheticData(configuration) {
            let line = codec.encodeLine(event)
            bytes += line.utf8.count + 1
            sink.line(line)
            count += 1
            let day = Int((event.at.microseconds - configuration.start.microseconds) / 86_400_000_000)
            if day != lastDay {
                lastDay = day
                progress.update(done: Int64(max(0, day)) * 1_000_000, total: Int64(days) * 1_000_000)
            }
        }
        sink.close()
        progress.finish()
        let seconds = (ContinuousClock.now - started) / .seconds(1)
        warn(
            String(
                format: "generated %d events for %d customers, %.1f MB, in %.1f s",
                count,
                customers,
                Double(bytes) / 1e6,
                seconds
            )
        )
    }
}
