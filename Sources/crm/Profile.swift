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
        let (segmentState, asOfTime) = try asOfOptions.segmentState(engine: engine, onlyFor: customer)
        // The profile is folded from the histories of the customer's identity group, which is exact: a profile
        // depends only on the events of its group. Segments and RFM groups depend on the whole log. The group is
        // the one of the segment state, taken at or after `end`: groups only grow, so it holds every id whose
        // events before `end` the profile folds.
        let profile = try ProjectionRunner<CustomerProfiles>(engine: engine)
            .profile(of: customer, group: segmentState.identities.group(of: customer), before: end)
        await engine.close()
        guard let profile else {
            throw ToolError.usage("no events for customer \(customer)")
        }
        var table = Table(columns: ["field", "value"])
        func row(_ name: String, _ value: String?) { table.rows.append([name, value ?? ""]) }
        for (name, value) in profile.rows { row(name, value) }
        row("segments", segmentState.segments(of: profile.id, asOf: asOfTime).joined(separator: " "))
        // The group at the latest monthly rescoring; `crm rfm --as-of` scores any other time.
        if asOfTime == nil { row("rfm group", segmentState.rfmGroup(of: customer)) }
        table.printToStandardOutput(outputFormat)
    }
}
