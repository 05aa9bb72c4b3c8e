import ArgumentParser
import CRMModel
import CRMProjections
import EventCRM
import Foundation

/// `crm segment …`: define segments and ask about their members (docs/segments.md, section 4).
struct Segment: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Define segments and query their members, history and sizes.",
        subcommands: [Define.self, Remove.self, List.self, Members.self, History.self, Sizes.self]
    )

    struct Define: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Append segment definitions from a file: one JSON object per line, or a JSON array.",
            discussion: """
                Each object is {"segment": NAME, "definition": RULE, "description": TEXT?} (docs/segments.md). \
                Every definition is checked (grammar, references to defined segments, no cycles) before any is \
                appended; a bad one is named with its path and nothing is appended (exit 2).
                """
        )

        @OptionGroup var global: GlobalOptions
        @Option(help: "Event time of the definitions (RFC 3339); default: now.") var at: String?
        @Argument(help: "The file of definitions (- for standard input).") var file: String

        func run() async throws {
            let time = try parseTime(at, option: "--at") ?? .now
            let definitions = try Self.read(file)
            let engine = try global.open(writing: true)
            var notices = [String]()
            let runner = try ProjectionRunner<CustomerProfiles>.restore(engine: engine, notices: &notices)
            do {
                try await runner.defineSegments(definitions, at: time)
            } catch {
                await engine.close()
                guard error.code == .invalidEvent else { throw error }
                warn("error: \(error.message)")
                throw ExitCode(2)
            }
            try runner.saveSnapshot()
            await engine.close()
            print("defined \(definitions.map(\.name).joined(separator: ", "))")
        }

        static func read(_ file: String) throws -> [SegmentDefinition] {
            let data =
                file == "-"
                ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: file)
            guard let data, let text = String(data: data, encoding: .utf8) else {
                throw ToolError.io("cannot read \(file)")
            }
            do {
                return try SegmentDefinition.list(fromJSON: text, source: file)
            } catch {
                throw ToolError.usage(error.message)
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Append segment.removed: every membership ends.")

        @OptionGroup var global: GlobalOptions
        @Option(help: "Event time of the removal (RFC 3339); default: now.") var at: String?
        @Argument(help: "The segment.") var name: String

        func run() async throws {
            let time = try parseTime(at, option: "--at") ?? .now
            let engine = try global.open(writing: true)
            var notices = [String]()
            do {
                let runner = try ProjectionRunner<CustomerProfiles>.restore(engine: engine, notices: &notices)
                try await runner.removeSegment(name, at: time)
                try runner.saveSnapshot()
            } catch {
                await engine.close()
                throw error
            }
            await engine.close()
            print("removed \(name)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The live segments, their definitions and sizes.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var format: FormatOption
        @OptionGroup var asOf: AsOfOptions

        func run() async throws {
            let outputFormat = try format.value
            let (state, time) = try await Segment.memberships(global, asOf)
            var table = Table(
                columns: ["segment", "members", "defined", "definition", "description"],
                numeric: ["members"]
            )
            for summary in state.segmentSummaries(asOf: time) {
                table.rows.append([
                    summary.name, String(summary.members), summary.definedAt.rfc3339,
                    JSONWriter.string(.object(summary.definition.members)), summary.description ?? "",
                ])
            }
            table.printToStandardOutput(outputFormat)
        }
    }

    struct Members: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The members of a segment.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var format: FormatOption
        @OptionGroup var asOf: AsOfOptions
        @Argument(help: "The segment.") var name: String

        func run() async throws {
            let outputFormat = try format.value
            let (state, time) = try await Segment.memberships(global, asOf)
            var table = Table(columns: ["customer"])
            table.rows = state.members(of: name, asOf: time).map { [$0] }
            table.printToStandardOutput(outputFormat)
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A customer's segment changes (and those of ids merged into it), with reasons."
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var format: FormatOption
        @OptionGroup var asOf: AsOfOptions
        @Argument(help: "The customer id.") var customer: String

        func run() async throws {
            let outputFormat = try format.value
            let (state, time) = try await Segment.state(global, asOf, onlyFor: customer)
            var table = Table(columns: ["at", "customer", "segment", "change", "reason"])
            for change in state.segmentHistory(of: customer, asOf: time) {
                table.rows.append([
                    change.at.rfc3339, change.customer, change.segment, change.entered ? "entered" : "exited",
                    change.reason,
                ])
            }
            table.printToStandardOutput(outputFormat)
        }
    }

    struct Sizes: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A segment's size over time.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var format: FormatOption
        @OptionGroup var asOf: AsOfOptions
        @Flag(help: "One row per change instead of one per day.") var everyChange = false
        @Argument(help: "The segment.") var name: String

        func run() async throws {
            let outputFormat = try format.value
            let (state, time) = try await Segment.memberships(global, asOf)
            var table = Table(columns: ["at", "members"], numeric: ["members"])
            for row in state.sizes(of: name, asOf: time, perDay: !everyChange) {
                table.rows.append([row.at.rfc3339, String(row.size)])
            }
            table.printToStandardOutput(outputFormat)
        }
    }

    /// The customer projection for a question about `customer` (from the newest snapshot, caught up), and the
    /// time to answer at; it may hold that customer's profile only (``AsOfOptions/segmentState(engine:onlyFor:)``).
    static func state(
        _ global: GlobalOptions,
        _ asOf: AsOfOptions,
        onlyFor customer: String
    ) async throws -> (state: CustomerProfiles.State, asOf: EventTime?) {
        try await withEngine(global) { engine in try asOf.segmentState(engine: engine, onlyFor: customer) }
    }

    /// Every customer's memberships for a question over every customer, and the time to answer at
    /// (``AsOfOptions/segmentMemberships(engine:)``).
    static func memberships(
        _ global: GlobalOptions,
        _ asOf: AsOfOptions
    ) async throws -> (memberships: any SegmentMembershipSource, asOf: EventTime?) {
        try await withEngine(global) { engine in try asOf.segmentMemberships(engine: engine) }
    }

    /// Opens the engine for reading, runs `body`, and closes it.
    private static func withEngine<Result>(
        _ global: GlobalOptions,
        _ body: (CRMEngine) throws -> Result
    ) async throws -> Result {
        let engine = try global.open(writing: false)
        do {
            let result = try body(engine)
            await engine.close()
            return result
        } catch {
            await engine.close()
            throw error
        }
    }
}
