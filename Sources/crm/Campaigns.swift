import ArgumentParser
import CRMModel
import CRMProjections
import EventCRM
import Foundation

struct Campaigns: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Campaign performance: sends, deliveries, opens, clicks, rates, and attributed conversions.",
        discussion: "Definitions: docs/analytics.md, section 1. Revenue is shown in --currency (others not converted)."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var format: FormatOption
    @Option(help: "The attribution model for conversions and revenue (docs/attribution.md).") var model = "last"
    @Option(help: "Show this many campaigns, by attributed conversions (0: all).") var top = 0
    @OptionGroup var asOfOptions: AsOfOptions

    func validate() throws {
        if AttributionModel(rawValue: model) == nil {
            throw ValidationError(
                "--model must be one of " + AttributionModel.allCases.map(\.rawValue).joined(separator: ", ")
            )
        }
        if top < 0 { throw ValidationError("--top must be ≥ 0") }
    }

    func run() async throws {
        let outputFormat = try format.value
        let currency = try global.options().defaultCurrency.code
        let engine = try global.open(writing: false)
        let analytics = try asOfOptions.state(of: ShopAnalytics.self, engine: engine)
        let journeys = try asOfOptions.state(of: CustomerJourneys.self, engine: engine)
        await engine.close()
        var options = PathOptions()
        options.key = .campaign
        options.period.to = try asOfOptions.time
        let report = journeys.attribution(options, model: AttributionModel(rawValue: model)!)
        let credit = Dictionary(uniqueKeysWithValues: report.rows.map { ($0.key, $0) })
        var rows = analytics.campaignRows()
        rows.sort {
            (credit[$1.campaign]?.conversions ?? 0, $0.campaign) < (credit[$0.campaign]?.conversions ?? 0, $1.campaign)
        }
        if top > 0 { rows = Array(rows.prefix(top)) }
        let revenue = "revenue_\(currency)"
        let perRecipient = "revenue_per_recipient_\(currency)"
        var table = Table(
            columns: [
                "campaign", "name", "sent", "delivered", "unique_opens", "unique_clicks", "open_rate", "click_rate",
                "click_to_open", "unsubscribes", "bounce_rate", "conversions", revenue, perRecipient,
            ],
            numeric: [
                "sent", "delivered", "unique_opens", "unique_clicks", "open_rate", "click_rate", "click_to_open",
                "unsubscribes", "bounce_rate", "conversions", revenue, perRecipient,
            ]
        )
        func rate(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "" }
        for row in rows {
            let attributed = credit[row.campaign]
            let money = attributed?.value[currency] ?? 0
            table.rows.append([
                row.campaign, row.name ?? "", String(row.sent), String(row.delivered), String(row.uniqueOpens),
                String(row.uniqueClicks), rate(row.openRate), rate(row.clickRate), rate(row.clickToOpenRate),
                String(row.unsubscribes), rate(row.bounceRate), String(format: "%.4f", attributed?.conversions ?? 0),
                amountText(money, currency),
                row.delivered == 0 ? "" : amountText(money / Double(row.delivered), currency),
            ])
        }
        table.printToStandardOutput(outputFormat)
    }
}
