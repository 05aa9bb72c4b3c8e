import ArgumentParser
import CRMModel
import CRMProjections
import EventCRM
import Foundation

struct RFMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rfm",
        abstract: "RFM scores and groups (docs/segments.md, section 5), from the customer profiles."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var format: FormatOption
    @Option(help: "The window of orders, e.g. 365d.") var window: String = "365d"
    @OptionGroup var asOfOptions: AsOfOptions
    @Flag(help: "List every scored customer instead of the group sizes.") var customers = false

    func validate() throws {
        if SegmentWindow(window) == nil { throw ValidationError("--window must be like 365d or 12h (at most 3650d)") }
    }

    func run() async throws {
        let outputFormat = try format.value
        let asOfTime = try asOfOptions.time
        let engine = try global.open(writing: false)
        let end = try asOfOptions.end(in: engine)
        var notices = [String]()
        let runner = KeptUntilExit.keep(
            try ProjectionRunner<CustomerProfiles>.restore(engine: engine, upTo: end, notices: &notices)
        )
        await engine.close()
        for notice in notices { warn("notice: \(notice)") }
        let scores = runner.read { state, _ -> [RFM.Score] in
            // Event time, never the clock: the latest event the profiles have seen, unless --as-of says.
            // Read in place: copying every profile out of the table (`all`) was a tenth of a cold `crm rfm`.
            let latest =
                state.profiles.withValues { profiles in profiles.indices.compactMap { profiles[$0].lastSeen }.max() }
                ?? EventTime(microseconds: 0)
            return RFM.scores(state, at: asOfTime ?? latest, window: SegmentWindow(window)!)
        }
        var table: Table
        if customers {
            table = Table(
                columns: ["customer", "group", "r", "f", "m", "recency_days", "orders", "monetary", "currency"],
                numeric: ["r", "f", "m", "recency_days", "orders", "monetary"]
            )
            for score in scores {
                table.rows.append([
                    score.customer, score.group, String(score.recency), String(score.frequencyScore),
                    String(score.monetaryScore), String(format: "%.1f", score.recencyDays), String(score.frequency),
                    score.monetary.jsonNumber, score.currency.code,
                ])
            }
        } else {
            table = Table(columns: ["group", "customers", "share"], numeric: ["customers", "share"])
            for group in SegmentRule.rfmGroups {
                let count = scores.count { $0.group == group }
                let share = scores.isEmpty ? 0 : Double(count) * 100 / Double(scores.count)
                table.rows.append([group, String(count), String(format: "%.1f", share)])
            }
        }
        table.printToStandardOutput(outputFormat)
    }
}
