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
        let progress = ProgressBar(label: "rebuilding", unit: "M events")
        let started = ContinuousClock.now
        // Kept until the process exits: freeing every profile on the way out is work nobody waits for.
        let runner = try KeptUntilExit.keep(
            ProjectionRunner<EveryProjection>.rebuild(engine: engine, workers: workers) { step in
                progress.update(done: step.eventsDone, total: step.eventsTotal)
            }
        )
        let seconds = (ContinuousClock.now - started) / .seconds(1)
        progress.finish()
        let (state, events) = runner.read { state, offset in (state, offset) }
        print(
            String(
                format: "rebuilt in one pass: %d events in %.2f s: %.0f events/s",
                events,
                seconds,
                Double(events) / max(seconds, 1e-9)
            )
        )
        // Each part is saved as its own projection's snapshot: the next start restores from there.
        func save<Part: Projection>(_ part: Part.Type, _ partState: Part.State, _ counts: String) throws {
            let runner = ProjectionRunner<Part>(engine: engine, state: partState, offset: events)
            let saved = engine.options.readOnly ? false : try runner.saveSnapshot()
            print("  \(Part.name): \(counts)" + (saved ? "; snapshot saved" : ""))
        }
        try save(CustomerProfiles.self, state.first, "\(state.first.profiles.count) customers")
        try save(CustomerJourneys.self, state.second.first, "\(state.second.first.journeys.count) journeys")
        let analytics = state.second.second
        try save(ShopAnalytics.self, analytics, "\(analytics.orders.count) orders, \(analytics.tickets.count) tickets")
        await engine.close()
    }
}
