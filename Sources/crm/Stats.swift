import ArgumentParser
import CRMModel
import EventCRM
import EventLog
import Foundation

struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Counts and sizes: events by type, customers, bytes.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var format: FormatOption

    func run() async throws {
        let outputFormat = try format.value
        let engine = try global.open(writing: false)
        let statistics = try engine.statistics()
        let next = engine.nextOffset
        await engine.close()
        var table = Table(columns: ["metric", "value"], numeric: ["value"])
        func row(_ name: String, _ value: String) { table.rows.append([name, value]) }
        row("events", String(statistics.events))
        for type in EventType.allCases {
            if let count = statistics.eventsByType[type] { row("events." + type.rawValue, String(count)) }
        }
        row("customers", String(statistics.customers))
        row("customers.forgotten", String(statistics.forgottenCustomers))
        for (currency, total) in statistics.orderTotals.sorted(by: { $0.key.code < $1.key.code }) {
            row("orders.total." + currency.code, total.jsonNumber)
        }
        row("first_event_at", statistics.firstEventTime?.rfc3339 ?? "")
        row("last_event_at", statistics.lastEventTime?.rfc3339 ?? "")
        row("segments", String(statistics.segments))
        row("bytes.segments", String(statistics.segmentBytes))
        row("bytes.uncompressed_records", String(statistics.uncompressedBytes))
        row("bytes.on_disk", String(statistics.bytesOnDisk))
        row("compression_ratio", String(format: "%.3f", statistics.compressionRatio))
        row(
            "bytes_per_event",
            String(
                format: "%.1f",
                statistics.events == 0 ? 0 : Double(statistics.segmentBytes) / Double(statistics.events)
            )
        )
        row("head.offset", String(next))
        row("head.hash", statistics.headHash.description)
        table.printToStandardOutput(outputFormat)
    }
}
