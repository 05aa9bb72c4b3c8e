import ArgumentParser
import EventCRM
import Foundation

struct Ingest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Append NDJSON events; all or nothing unless --skip-invalid.",
        discussion: "Events whose id is already in the log are skipped and counted, so ingesting twice is harmless."
    )

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Append the valid lines even when some are invalid.") var skipInvalid = false
    @Option(help: "With --skip-invalid: write each invalid line here as `line TAB reason TAB line`.")
    var rejects: String?
    @Flag(help: "Append only: leave the projections' snapshots behind the head (queries then catch up from them).")
    var noProjections = false
    @Argument(help: "The NDJSON file, or - for standard input.") var input: String

    func validate() throws {
        if rejects != nil && !skipInvalid { throw ValidationError("--rejects needs --skip-invalid") }
    }

    func run() async throws {
        let engine = try global.open(writing: true)
        var options = IngestOptions()
        options.skipInvalid = skipInvalid
        options.rejectsPath = rejects
        // Live projections, as far as a command can keep them: their snapshots follow the appends, so that a
        // query after an ingest starts from a snapshot at the head.
        let upkeep = try await ProjectionUpkeep.beforeAppending(to: engine, unless: noProjections)
        let progress = ProgressBar(label: "ingesting")
        let report: IngestReport
        do {
            report = try await engine.ingest(input == "-" ? .standardInput : .file(input), options: options) { step in
                progress.update(label: step.phase.rawValue, done: step.done, total: step.total)
            }
        } catch {
            progress.finish()
            await engine.close()
            throw error
        }
        progress.finish()
        if !report.committed {
            await engine.close()
            for problem in report.problems { warn("invalid: \(problem)") }
            if report.rejected > report.problems.count {
                warn("… and \(report.rejected - report.problems.count) more invalid lines")
            }
            warn("\(report.rejected) of \(report.lines) lines are invalid: nothing appended (see --skip-invalid)")
            throw ExitCode(2)
        }
        let megabytes = Double(report.inputBytes) / 1e6
        print(
            String(
                format: "appended %d, duplicates skipped %d, rejected %d; %.1f MB in %.2f s (validating %.2f s): "
                    + "%.0f events/s, %.1f MB/s",
                report.appended,
                report.duplicates,
                report.rejected,
                megabytes,
                report.seconds,
                report.validationSeconds,
                Double(report.lines) / max(report.seconds, 1e-9),
                megabytes / max(report.seconds, 1e-9)
            )
        )
        for line in try upkeep?.bringToHead() ?? [] { print(line) }
        await engine.close()
    }
}
