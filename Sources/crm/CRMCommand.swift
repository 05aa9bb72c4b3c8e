import ArgumentParser
import CRMModel
import EventCRM
import EventLog
import Foundation

/// `crm`: the command-line face of the engine (docs/cli.md).
@main
struct CRMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crm",
        abstract: "An event-sourced CRM engine: ingest, read, erase and verify customer events.",
        discussion: """
            The engine's directory is --log, else the CRM_LOG environment variable, else ./crm-data.
            Exit codes: 0 success; 1 failure (I/O, damaged files, bad arguments); 2 input rejected (invalid lines,
            nothing appended); 3 verification found a problem; 64 usage error.
            """,
        subcommands: [
            Generate.self, Ingest.self, Export.self, History.self, Stats.self, Verify.self, Forget.self,
            Rebuild.self, Profile.self, RFMCommand.self, Segment.self, Attribution.self, Campaigns.self, Sales.self,
            Products.self, Support.self, Cohorts.self,
        ]
    )

    static func main() async {
        growAllocatorHeapsInLargeSteps()
        do {
            var command = try parseAsRoot()
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
            // Without tearing down what the command read (KeptUntilExit); exit flushes standard output.
            Foundation.exit(0)
        } catch {
            exit(withError: error)
        }
    }
}

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "The engine's directory (default: $CRM_LOG, else ./crm-data).")
    var log: String?

    @Option(name: .long, help: "The currency of amounts given without one (ISO 4217).")
    var currency: String = "USD"

    var directory: String {
        log ?? ProcessInfo.processInfo.environment["CRM_LOG"].flatMap { $0.isEmpty ? nil : $0 } ?? "crm-data"
    }

    func options(readOnly: Bool = false) throws -> CRMEngine.Options {
        var options = CRMEngine.Options()
        guard let currency = Currency(currency.uppercased()) else {
            throw ValidationError("--currency \(currency) is not an ISO 4217 code")
        }
        options.defaultCurrency = currency
        options.readOnly = readOnly
        return options
    }

    /// Opens the engine for writing, or for reading: then read-only when another process holds the writer's lock.
    func open(writing: Bool) throws -> CRMEngine {
        if !writing && !FileManager.default.fileExists(atPath: directory + "/LOCK") {
            throw ToolError.usage("no engine in \(directory) (give --log or set CRM_LOG; `crm ingest` creates one)")
        }
        do {
            let engine = try CRMEngine.open(at: directory, options: try options())
            for notice in engine.notices { warn("notice: \(notice)") }
            return engine
        } catch let error as CRMError where !writing && error.storage?.code == .logLocked {
            return try CRMEngine.open(at: directory, options: try options(readOnly: true))
        }
    }
}

/// `--format` for commands whose output is data.
struct FormatOption: ParsableArguments {
    @Option(name: .long, help: "table, json, ndjson or csv.")
    var format: String = "table"

    var value: OutputFormat {
        get throws {
            guard let format = OutputFormat(rawValue: format) else {
                throw ValidationError("--format must be one of table, json, ndjson, csv")
            }
            return format
        }
    }
}

/// A message on standard error.
func warn(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Parses an RFC 3339 time given on the command line.
func parseTime(_ text: String?, option: String) throws -> EventTime? {
    guard let text else { return nil }
    do {
        return try EventTime(rfc3339: text)
    } catch {
        throw ValidationError(
            "\(option) \(text): \(error.reason) (use RFC 3339 with a zone, e.g. 2024-05-01T00:00:00Z)"
        )
    }
}
