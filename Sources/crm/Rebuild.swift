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
        try rebuild(CustomerProfiles.self, engine: engine) { $0.profiles.count }
        try rebuild(CustomerJourneys.self, engine: engine) { $0.journeys.count }
        try rebuild(ShopAnalytics.self, engine: engine) { Set($0.orders.values.map(\.customer)).count }
        await engine.close()
    }

    /// Rebuilds one projection, saves a snapshot (the next start restores from there), and reports the speed.
    private func rebuild<P: Projection>(
        _ projection: P.Type,
        engine: CRMEngine,
        customers: (P.State) -> Int
    ) throws {
        let progress = ProgressBar(label: "rebuilding \(P.name)", unit: "M events")
        let started = ContinuousClock.now
        let runner = try ProjectionRunner<P>.rebuild(engine: engine, workers: workers) { step in
            progress.update(done: step.eventsDone, total: step.eventsTotal)
        }
        let seconds = (ContinuousClock.now - started) / .seconds(1)
        progress.finish()
        let saved = engine.options.readOnly ? false : try runner.saveSnapshot()
        let (count, events) = runner.read { state, offset in (customers(state), offset) }
        print(
            String(
                format: "%@: %d events, %d customers, in %.2f s: %.0f events/s%@",
                P.name,
                events,
                count,
                seconds,
                Double(events) / max(seconds, 1e-9),
                saved ? "; snapshot saved" : ""
            )
        )
    }
}
