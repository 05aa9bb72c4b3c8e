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
        let progress = ProgressBar(label: "rebuilding", unit: "M events")
        let started = ContinuousClock.now
        let runner = try ProjectionRunner<CustomerProfiles>.rebuild(engine: engine, workers: workers) { step in
            progress.update(done: step.eventsDone, total: step.eventsTotal)
        }
        let seconds = (ContinuousClock.now - started) / .seconds(1)
        progress.finish()
        // The next start restores from here instead of replaying everything.
        let saved = engine.options.readOnly ? false : try runner.saveSnapshot()
        await engine.close()
        let (customers, events) = runner.read { state, offset in (state.profiles.count, offset) }
        print(
            String(
                format: "customer-profiles: %d events, %d customers, in %.2f s: %.0f events/s%@",
                events,
                customers,
                seconds,
                Double(events) / max(seconds, 1e-9),
                saved ? "; snapshot saved" : ""
            )
        )
    }
}
