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
        let (state, events, seconds) = try ProjectionUpkeep.rebuild(engine: engine, workers: workers)
        print(
            String(
                format: "rebuilt in one pass: %d events in %.2f s: %.0f events/s",
                events,
                seconds,
                Double(events) / max(seconds, 1e-9)
            )
        )
        // Each part is saved as its own projection's snapshot: the next start restores from there.
        for line in try ProjectionUpkeep.save(state, at: events, engine: engine) { print(line) }
        await engine.close()
    }
}
