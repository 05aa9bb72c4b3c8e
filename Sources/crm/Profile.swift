import ArgumentParser
import CRMModel
import CRMProjections
import EventCRM
import Foundation

struct Profile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A customer's profile (the 360° view), folded from its events and those of merged ids."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var format: FormatOption
    @OptionGroup var asOfOptions: AsOfOptions
    @Argument(help: "The customer id (a merged id gives its survivor).") var customer: String

    func run() async throws {
        let outputFormat = try format.value
        let engine = try global.open(writing: false)
        let end = try asOfOptions.end(in: engine)
        // The profile is folded from the histories of the customer's identity group, which is exact: a profile
        // depends only on the events of its group. Segments and RFM groups depend on the whole log.
        let runner = ProjectionRunner<CustomerProfiles>(engine: engine)
        var events = [Int64: StoredEvent]()
        for id in try engine.identityGroup(of: customer) {
            for stored in try engine.history(of: id) where stored.offset < end { events[stored.offset] = stored }
        }
        let profile = runner.fold(Array(events.values)) { $0.profile(of: customer) }
        let (segmentState, asOfTime) = try asOfOptions.segmentState(engine: engine)
        await engine.close()
        guard let profile else {
            throw ToolError.usage("no events for customer \(customer)")
        }
        var table = Table(columns: ["field", "value"])
        func row(_ name: String, _ value: String?) { table.rows.append([name, value ?? ""]) }
        func time(_ time: EventTime?) -> String? { time?.rfc3339 }
        row("id", profile.id)
        row("merged ids", profile.mergedIDs.joined(separator: " "))
        row("email", profile.email)
        row("name", profile.name)
        row("phone", profile.phone)
        row("country", profile.country)
        row("city", profile.city)
        row("traits", profile.traits.isEmpty ? nil : JSONWriter.string(.object(profile.traits.members)))
        row("forgotten", profile.forgotten ? "yes" : "no")
        row("acquisition channel", profile.acquisitionChannel)
        row("registered", time(profile.registeredAt))
        row("first seen", time(profile.firstSeen))
        row("last seen", time(profile.lastSeen))
        for (channel, decision) in profile.consent.sorted(by: { $0.key < $1.key }) {
            row("consent " + channel, "\(decision.granted ? "granted" : "refused") at \(decision.at.rfc3339)")
        }
        row(
            "channels",
            profile.channels.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        )
        row(
            "campaigns",
            profile.campaigns.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        )
        row("orders", String(profile.orderCount))
        for (code, amounts) in profile.amounts.sorted(by: { $0.key < $1.key }) {
            let currency = Currency(code) ?? .usd
            func money(_ minor: Int64) -> String { Money(minorUnits: minor, currency: currency).jsonNumber }
            row("gross " + code, money(amounts.gross))
            row("cancelled " + code, money(amounts.cancelled))
            row("returned " + code, money(amounts.returned))
            row("refunded " + code, money(amounts.refunded))
            row("net " + code, money(amounts.net))
            row("average order " + code, money(amounts.averageOrderValue))
        }
        row("first order", time(profile.firstOrderAt))
        row("last order", time(profile.lastOrderAt))
        row("mean days between orders", profile.meanDaysBetweenOrders.map { String(format: "%.1f", $0) })
        row("open tickets", profile.openTickets.sorted().joined(separator: " "))
        row("resolved tickets", String(profile.resolvedTickets.count))
        row("average satisfaction", profile.averageSatisfaction.map { String(format: "%.2f", $0) })
        row("subscriptions", profile.subscriptions.sorted().joined(separator: " "))
        row("segments", segmentState.segments(of: profile.id, asOf: asOfTime).joined(separator: " "))
        // The group at the latest monthly rescoring; `crm rfm --as-of` scores any other time.
        if asOfTime == nil { row("rfm group", segmentState.rfmGroup(of: customer)) }
        let sink = ByteSink.standardOutput
        table.print(outputFormat, to: sink)
        sink.close()
    }
}
