import ArgumentParser
import CRMModel
import CRMProjections
import EventCRM
import Foundation

struct Sales: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Revenue gross, cancelled, returned, refunded and net, orders, AOV and rates, per currency.",
        discussion: "Definitions: docs/analytics.md, section 2. Orders are selected by the time they were placed."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var format: FormatOption
    @Option(help: "Group by total, channel, country, city or month.") var by = "total"
    @Option(name: .customLong("in"), help: "Only orders in this currency (ISO 4217).") var onlyCurrency: String?
    @OptionGroup var period: PeriodOptions
    @OptionGroup var asOfOptions: AsOfOptions

    func validate() throws {
        if ShopAnalytics.State.SalesGrouping(rawValue: by) == nil {
            throw ValidationError("--by must be one of total, channel, country, city, month")
        }
    }

    func run() async throws {
        let outputFormat = try format.value
        let period = try period.period(asOf: asOfOptions)
        let state = try await asOfOptions.state(of: ShopAnalytics.self, global: global)
        let grouping = ShopAnalytics.State.SalesGrouping(rawValue: by)!
        let numbers = ["orders", "gross", "cancelled", "returned", "refunded", "net", "aov", "return_rate"]
        var table = Table(columns: [by == "total" ? "all" : by, "currency"] + numbers, numeric: Set(numbers))
        for row in state.sales(by: grouping, in: period)
        where onlyCurrency.map({ $0.uppercased() == row.currency }) ?? true {
            let amounts = row.amounts
            let money = [amounts.gross, amounts.cancelled, amounts.returned, amounts.refunded, amounts.net].map {
                amountText($0, row.currency)
            }
            table.rows.append(
                [row.group, row.currency, String(amounts.orders)] + money + [
                    amountText(row.averageOrderValue, row.currency),
                    row.returnRate.map { String(format: "%.4f", $0) } ?? "",
                ]
            )
        }
        table.printToStandardOutput(outputFormat)
        if outputFormat == .table {
            let repeating = state.repeatPurchaseRate(in: period)
            let rate = repeating.customers == 0 ? 0 : Double(repeating.repeating) / Double(repeating.customers)
            print(
                "repeat-purchase rate (every currency): \(repeating.repeating) of \(repeating.customers) customers with a sale "
                    + String(format: "(%.1f %%)", rate * 100)
            )
        }
    }
}
