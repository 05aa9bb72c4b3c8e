import ArgumentParser
import CRMModel
import CRMProjections
import EventCRM
import Foundation

struct Support: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tickets opened and resolved, backlog, time to resolution and satisfaction.",
        discussion: "Definitions: docs/analytics.md, section 3. Tickets are selected by the time they were opened."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var format: FormatOption
    @Option(help: "Group by total, channel or priority.") var by = "total"
    @OptionGroup var period: PeriodOptions
    @OptionGroup var asOfOptions: AsOfOptions

    func validate() throws {
        if ShopAnalytics.State.SupportGrouping(rawValue: by) == nil {
            throw ValidationError("--by must be one of total, channel, priority")
        }
    }

    func run() async throws {
        let outputFormat = try format.value
        let period = try period.period(asOf: asOfOptions)
        let state = try await asOfOptions.state(of: ShopAnalytics.self, global: global)
        let numbers = [
            "opened", "resolved", "backlog", "median_hours", "p90_hours", "satisfaction", "rated_1", "rated_2",
            "rated_3", "rated_4", "rated_5",
        ]
        var table = Table(columns: [by == "total" ? "all" : by] + numbers, numeric: Set(numbers))
        func hours(_ microseconds: Int64?) -> String {
            microseconds.map { String(format: "%.1f", Double($0) / 3_600_000_000) } ?? ""
        }
        for row in state.support(by: ShopAnalytics.State.SupportGrouping(rawValue: by)!, in: period) {
            table.rows.append(
                [
                    row.group, String(row.opened), String(row.resolved), String(row.backlog),
                    hours(row.resolutionTime(percentile: 50)), hours(row.resolutionTime(percentile: 90)),
                    row.averageSatisfaction.map { String(format: "%.2f", $0) } ?? "",
                ] + row.ratings.map { String($0) }
            )
        }
        table.printToStandardOutput(outputFormat)
    }
}
