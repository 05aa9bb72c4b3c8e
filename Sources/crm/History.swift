import ArgumentParser
import CRMModel
import EventCRM

struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "One customer's events (merged ids included), by event time, from the history index."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var format: FormatOption
    @Option(help: "Only events at or after this time (RFC 3339).") var from: String?
    @Option(help: "Only events before this time (RFC 3339).") var to: String?
    @Argument(help: "The customer id.") var customer: String

    func run() async throws {
        let outputFormat = try format.value
        let lower = try parseTime(from, option: "--from")
        let upper = try parseTime(to, option: "--to")
        let engine = try global.open(writing: false)
        let history = try engine.history(of: customer, from: lower, to: upper)
        await engine.close()
        let codec = EventJSONCodec(defaultCurrency: engine.options.defaultCurrency)
        let sink = ByteSink.standardOutput
        if outputFormat == .ndjson {
            for stored in history {
                sink.line(JSONWriter.string(codec.encode(stored)))
            }
        } else {
            var table = Table(
                columns: ["offset", "at", "type", "customer", "id", "personal", "details"],
                numeric: ["offset"]
            )
            for stored in history {
                table.rows.append([
                    String(stored.offset), stored.event.at.rfc3339, stored.event.type.rawValue,
                    stored.event.customer ?? "", stored.event.id ?? "", "\(stored.personalData)",
                    details(stored, codec: codec),
                ])
            }
            table.print(outputFormat, to: sink)
        }
        sink.close()
    }

    /// The event's own fields, as compact JSON without the envelope.
    private func details(_ stored: StoredEvent, codec: EventJSONCodec) -> String {
        guard case .object(let members) = codec.encode(stored) else { return "" }
        let envelope: Set<String> = ["id", "type", "at", "customer"]
        return JSONWriter.string(.object(members.filter { !envelope.contains($0.key) }))
    }
}
