import ArgumentParser
import CRMModel
import CRMProjections
import EventCRM
import Foundation

struct Cohorts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Monthly acquisition cohorts (by first order) against months since: active, orders, revenue.",
        discussion: "Definitions: docs/analytics.md, section 4. Revenue per currency."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var format: FormatOption
    @Flag(help: "One row per cohort and month (long form) instead of a retention matrix.") var long = false
    @OptionGroup var asOfOptions: AsOfOptions

    func run() async throws {
        let outputFormat = try format.value
        let state = try await asOfOptions.state(of: ShopAnalytics.self, global: global)
        let cells = state.cohorts()
        if long {
            let currencies = Set(cells.flatMap(\.revenue.keys)).sorted()
            let revenue = currencies.map { "revenue_\($0)" }
            let numbers = ["months_since", "customers", "active", "orders", "retention"] + revenue
            var table = Table(columns: ["cohort"] + numbers, numeric: Set(numbers))
            for cell in cells {
                table.rows.append(
                    [
                        cell.cohort, String(cell.monthsSince), String(cell.size), String(cell.active),
                        String(cell.orders), String(format: "%.4f", cell.retention),
                    ] + currencies.map { amountText(cell.revenue[$0] ?? 0, $0) }
                )
            }
            table.printToStandardOutput(outputFormat)
            return
        }
        // The retention matrix: a row per cohort, a column per month since.
        let months = (cells.map(\.monthsSince).max() ?? -1) + 1
        let columns = (0..<months).map { "m\($0)" }
        var table = Table(columns: ["cohort", "customers"] + columns, numeric: Set(["customers"] + columns))
        for cohort in Set(cells.map(\.cohort)).sorted() {
            let row = cells.filter { $0.cohort == cohort }
            var retention = [String](repeating: "", count: months)
            for cell in row { retention[cell.monthsSince] = String(format: "%.3f", cell.retention) }
            table.rows.append([cohort, String(row[0].size)] + retention)
        }
        table.printToStandardOutput(outputFormat)
    }
}
