import ArgumentParser
import CRMModel
import EventCRM

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write events as canonical NDJSON; erased personal fields are null."
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this customer (and the ids merged into it).") var customer: String?
    @Option(help: "Only events of this type (repeatable).") var type: [String] = []
    @Option(help: "Only events at or after this time (RFC 3339).") var from: String?
    @Option(help: "Only events before this time (RFC 3339).") var to: String?
    @Argument(help: "The output file, or - for standard output.") var output: String

    func run() async throws {
        var types = Set<EventType>()
        for name in type {
            guard let parsed = EventType(rawValue: name) else {
                throw ValidationError("--type \(name) is not an event type")
            }
            types.insert(parsed)
        }
        let lower = try parseTime(from, option: "--from")
        let upper = try parseTime(to, option: "--to")
        let engine = try global.open(writing: false)
        let sink = try ByteSink(path: output)
        let codec = EventJSONCodec(defaultCurrency: engine.options.defaultCurrency)
        var count = 0
        func write(_ stored: StoredEvent) {
            guard types.isEmpty || types.contains(stored.event.type) else { return }
            if let upper, stored.event.at >= upper { return }
            if let lower, stored.event.at < lower { return }
            sink.line(JSONWriter.string(codec.encode(stored)))
            count += 1
        }
        if let customer {
            for stored in try engine.history(of: customer, from: lower, to: upper) { write(stored) }
        } else {
            let reader = try lower.map { try engine.events(fromTime: $0) } ?? engine.events(from: 0)
            while let stored = try reader.nextEvent() { write(stored) }
        }
        sink.close()
        await engine.close()
        warn("exported \(count) events")
    }
}
