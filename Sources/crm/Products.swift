import ArgumentParser
import CRMModel
import CRMProjections
import EventCRM
import Foundation

struct Products: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Top products or categories by revenue, or whom to tell about each product launch.",
        discussion: "Definitions: docs/analytics.md, section 2. Revenue of orders in --currency (default USD)."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var format: FormatOption
    @Flag(help: "Categories instead of products.") var categories = false
    @Flag(help: "For each product.launched: the subscribed customers with consent, and their channels.")
    var launches = false
    @Option(help: "Show this many (0: all).") var top = 20
    @OptionGroup var period: PeriodOptions
    @OptionGroup var asOfOptions: AsOfOptions

    func validate() throws {
        if top < 0 { throw ValidationError("--top must be ≥ 0") }
        if categories && launches { throw ValidationError("give --categories or --launches, not both") }
    }

    func run() async throws {
        let outputFormat = try format.value
        let period = try period.period(asOf: asOfOptions)
        let engine = try global.open(writing: false)
        let state = try asOfOptions.state(of: ShopAnalytics.self, engine: engine)
        let profiles = launches ? try asOfOptions.state(of: CustomerProfiles.self, engine: engine) : nil
        await engine.close()
        if let profiles {
            var table = Table(columns: ["sku", "name", "category", "launched", "customer", "channels"])
            for launch in state.launches where period.contains(launch.at) {
                for target in launch.customersToNotify(profiles) {
                    table.rows.append([
                        launch.sku, launch.name ?? "", launch.category ?? "", launch.at.rfc3339, target.customer,
                        target.channels.joined(separator: " "),
                    ])
                }
            }
            table.printToStandardOutput(outputFormat)
            return
        }
        let currency = try global.options().defaultCurrency.code
        var rows = state.products(categories: categories, in: period).filter { $0.currency == currency }
        if top > 0 { rows = Array(rows.prefix(top)) }
        var table = Table(
            columns: [categories ? "category" : "sku", "currency", "units", "revenue", "orders"],
            numeric: ["units", "revenue", "orders"]
        )
        for row in rows {
            table.rows.append([
                row.name, row.currency, String(row.units), amountText(row.revenue, row.currency),
                String(row.orders),
            ])
        }
        table.printToStandardOutput(outputFormat)
    }
}
