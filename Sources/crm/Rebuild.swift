import ArgumentParser
import CRMProjections
import EventCRM
import Foundation

struct Rebuild: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild the projections from the whole log on every core, and report the speed."
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "Threads (default: one per core).") var workers: Int?

    func run() async throws {
        let engine = try global.open(writing: false)
        // Every projection in one decoding pass, then each saved as its own snapshot.
        typealias Every = ProjectionPair<CustomerProfiles, ProjectionPair<CustomerJourneys, ShopAnalytics>>
        let progress = ProgressBar(label: "rebuilding", unit: "M events")
        let started = ContinuousClock.now
        let runner = try ProjectionRunner<Every>.rebuild(engine: engine, workers: workers) { step in
            progress.update(done: step.eventsDone, total: step.eventsTotal)
        }
        let seconds = (ContinuousClock.now - started) / .seconds(1)
        progress.finish()
        let (state, events) = runner.read { state, offset in (state, offset) }
        let parts: [(name: String, save: () throws -> Bool, count: String)] = [
            (
                CustomerProfiles.name,
                {
                    try ProjectionRunner<CustomerProfiles>(engine: engine, state: state.first, offset: events)
                        .saveSnapshot()
                },
                "\(state.first.profiles.count) customers"
            ),
            (
                CustomerJourneys.name,
                {
                    try ProjectionRunner<CustomerJourneys>(engine: engine, state: state.second.first, offset: events)
                        .saveSnapshot()
                },
                "\(state.second.first.journeys.count) journeys"
            ),
            (
                ShopAnalytics.name,
                {
                    try ProjectionRunner<ShopAnalytics>(engine: engine, state: state.second.second, offset: events)
                        .saveSnapshot()
                },
                "\(state.second.second.orders.count) orders, \(state.second.second.tickets.count) tickets"
            ),
        ]
        print(
            String(
                format: "rebuilt in one pass: %d events in %.2f s: %.0f events/s",
                events,
                seconds,
                Double(events) / max(seconds, 1e-9)
            )
        )
        for part in parts {
            // The next start restores from here instead of replaying everything.
            let saved = engine.options.readOnly ? false : try part.save()
            print("  \(part.name): \(part.count)" + (saved ? "; snapshot saved" : ""))
        }
        await engine.close()
    }
}
