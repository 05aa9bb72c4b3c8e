import ArgumentParser
import CRMModel
import CRMProjections
import EventCRM
import Foundation

struct Attribution: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Channel (or campaign) attribution of conversions by a model, or by every model side by side.",
        discussion: "Definitions: docs/attribution.md. Values are per currency, never converted."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var format: FormatOption
    @Option(help: "first, last, last-non-direct, linear, position, time-decay, markov or shapley.")
    var model: String = "last"
    @Option(help: "The lookback window before a conversion, e.g. 30d.") var window: String = "30d"
    @OptionGroup(title: "Period (conversions by their time, other paths by their last touch)") var period: PeriodOptions
    @Option(help: "What paths are made of: channel or campaign.") var by: String = "channel"
    @Option(help: "The event types that are touches, comma-separated.") var touches = "touchpoint,message.clicked"
    @Option(help: "The time-decay half-life, e.g. 7d.") var halfLife: String = "7d"
    @Option(help: "The order of the Markov chain behind removal effects: 1 or 2.") var markovOrder = 1
    @Flag(help: "Print the path table instead (path, conversions, value, paths without conversion).") var paths = false
    @Flag(help: "Print the conversions every model credits, side by side.") var compare = false
    @OptionGroup var asOfOptions: AsOfOptions

    func validate() throws {
        if AttributionModel(rawValue: model) == nil {
            throw ValidationError(
                "--model must be one of " + AttributionModel.allCases.map(\.rawValue).joined(separator: ", ")
            )
        }
        if SegmentWindow(window) == nil { throw ValidationError("--window must be like 30d or 12h (at most 3650d)") }
        if SegmentWindow(halfLife) == nil { throw ValidationError("--half-life must be like 7d or 12h") }
        if PathOptions.Key(rawValue: by) == nil { throw ValidationError("--by must be channel or campaign") }
        if paths && compare { throw ValidationError("give --paths or --compare, not both") }
        if !MarkovChain.orders.contains(markovOrder) {
            throw ValidationError("--markov-order must be 1 or 2, not \(markovOrder)")
        }
        _ = try pathOptions()
    }

    func pathOptions() throws -> PathOptions {
        var options = PathOptions()
        options.window = SegmentWindow(window) ?? options.window
        options.key = PathOptions.Key(rawValue: by) ?? .channel
        options.period = try period.period(asOf: asOfOptions)
        var types = Set<EventType>()
        for name in touches.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            guard let type = EventType(rawValue: name), PathOptions.possibleTouchTypes.contains(type) else {
                throw ValidationError(
                    "--touches: \(name) is not a touch type (possible: "
                        + PathOptions.possibleTouchTypes.map(\.rawValue).joined(separator: ", ") + ")"
                )
            }
            types.insert(type)
        }
        options.touchTypes = types
        return options
    }

    func run() async throws {
        let outputFormat = try format.value
        let options = try pathOptions()
        let state = try await asOfOptions.state(of: CustomerJourneys.self, global: global)
        let halfLife = SegmentWindow(halfLife)!.microseconds
        if paths {
            Self.pathTable(state.pathTable(options), shortened: outputFormat == .table).printToStandardOutput(
                outputFormat
            )
            return
        }
        if compare {
            Self.comparison(
                state.attributionByEveryModel(options, halfLife: halfLife, markovOrder: markovOrder),
                by: by
            )
            .printToStandardOutput(outputFormat)
            return
        }
        let report = state.attribution(
            options,
            model: AttributionModel(rawValue: model)!,
            halfLife: halfLife,
            markovOrder: markovOrder
        )
        Self.table(report, by: by).printToStandardOutput(outputFormat)
        if outputFormat == .table {
            let value = report.value.keys.sorted().map { amountText(report.value[$0]!, $0) }
            print(
                "\(report.conversions) conversions worth \(value.isEmpty ? "0" : value.joined(separator: " + ")): "
                    + "\(report.convertingPaths) converting paths, \(report.nonConvertingPaths) without conversion, "
                    + "\(report.untouchedConversions) conversions without a touch in the window (credited to none)"
            )
        }
    }

    static func table(_ report: AttributionReport, by key: String) -> Table {
        let currencies = report.value.keys.sorted()
        let revenue = currencies.map { "revenue_\($0)" }
        var table = Table(
            columns: [key, "conversions"] + revenue + ["touches", "paths", "conversion_rate", "removal_effect"],
            numeric: Set(["conversions", "touches", "paths", "conversion_rate", "removal_effect"] + revenue)
        )
        for row in report.rows {
            table.rows.append(
                [row.key, String(format: "%.4f", row.conversions)]
                    + currencies.map { amountText(row.value[$0] ?? 0, $0) }
                    + [
                        String(row.touches), String(row.paths), String(format: "%.4f", row.conversionRate),
                        String(format: "%.4f", row.removalEffect),
                    ]
            )
        }
        return table
    }

    static func comparison(_ credits: [String: [AttributionModel: Double]], by key: String) -> Table {
        let models = AttributionModel.allCases
        var table = Table(columns: [key] + models.map(\.rawValue), numeric: Set(models.map(\.rawValue)))
        // Most credited by the last-touch model first, as the default report orders them.
        for name in credits.keys.sorted(by: { (credits[$1]![.last]!, $0) < (credits[$0]![.last]!, $1) }) {
            table.rows.append([name] + models.map { String(format: "%.4f", credits[name]![$0]!) })
        }
        return table
    }

    /// The path table; `shortened`: paths longer than 80 characters are cut (for reading on a terminal).
    static func pathTable(_ rows: [AttributionReport.PathRow], shortened: Bool) -> Table {
        let currencies = Set(rows.flatMap(\.value.keys)).sorted()
        let value = currencies.map { "value_\($0)" }
        var table = Table(
            columns: ["path", "conversions"] + value + ["without_conversion"],
            numeric: Set(["conversions", "without_conversion"] + value)
        )
        for row in rows {
            table.rows.append(
                [shortened && row.path.count > 80 ? row.path.prefix(77) + "..." : row.path, String(row.conversions)]
                    + currencies.map { amountText(row.value[$0] ?? 0, $0) } + [String(row.withoutConversion)]
            )
        }
        return table
    }
}
