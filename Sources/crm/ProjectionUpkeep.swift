import CRMProjections
import EventCRM
import Foundation

/// Keeping every projection's snapshot at the log's head, so that a query starts from a snapshot and reads no more
/// than what was appended since: `crm rebuild` rebuilds them all from scratch, `crm ingest` brings them up to the
/// head after it appended (docs/projections.md, section 4).
enum ProjectionUpkeep {
    /// Every projection rebuilt from the whole log in one decoding pass on every core, with a progress bar.
    static func rebuild(
        engine: CRMEngine,
        workers: Int? = nil
    ) throws -> (state: EveryProjection.State, events: Int64, seconds: Double) {
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
        return (state, events, seconds)
    }

    /// Saves each part of `state` (the projections after the events before `offset`) as its own projection's
    /// snapshot; returns a line per part, with what it holds.
    static func save(_ state: EveryProjection.State, at offset: Int64, engine: CRMEngine) throws -> [String] {
        func save<Part: Projection>(_ part: Part.Type, _ partState: Part.State, _ counts: String) throws -> String {
            let runner = ProjectionRunner<Part>(engine: engine, state: partState, offset: offset)
            let saved = engine.options.readOnly ? false : try runner.saveSnapshot()
            return "  \(Part.name): \(counts)" + (saved ? "; snapshot saved" : "")
        }
        let analytics = state.second.second
        return [
            try save(CustomerProfiles.self, state.first, "\(state.first.profiles.count) customers"),
            try save(CustomerJourneys.self, state.second.first, "\(state.second.first.journeys.count) journeys"),
            try save(
                ShopAnalytics.self,
                analytics,
                "\(analytics.orders.count) orders, \(analytics.tickets.count) tickets"
            ),
        ]
    }

    /// Brings every projection's snapshot to the head, on a writable engine: each projection from its newest
    /// snapshot, caught up and saved; all of them rebuilt in one pass instead when one has no snapshot yet or
    /// when the newest is older than half the log (one decoding pass on every core is then the shorter way).
    /// Returns what it did, as lines to print.
    static func bringToHead(engine: CRMEngine) throws -> [String] {
        let head = engine.nextOffset
        let newest = [
            ProjectionRunner<CustomerProfiles>.snapshotOffsets(engine: engine).first { $0 <= head },
            ProjectionRunner<CustomerJourneys>.snapshotOffsets(engine: engine).first { $0 <= head },
            ProjectionRunner<ShopAnalytics>.snapshotOffsets(engine: engine).first { $0 <= head },
        ]
        if newest.allSatisfy({ $0 == head }) { return ["projections: already at the head (offset \(head))"] }
        let oldest = newest.map { $0 ?? 0 }.min() ?? 0
        if newest.contains(nil) || head - oldest > head / 2 {
            let (state, events, seconds) = try rebuild(engine: engine)
            let lines = try save(state, at: events, engine: engine)
            return [String(format: "projections: rebuilt from the whole log, %d events in %.2f s", events, seconds)]
                + lines
        }
        let started = ContinuousClock.now
        var notices = [String]()
        var saved = [String]()
        func catchUp<P: Projection>(_ projection: P.Type, from offset: Int64?) throws {
            guard offset != head else { return }
            let runner = try KeptUntilExit.keep(ProjectionRunner<P>.restore(engine: engine, notices: &notices))
            if try runner.saveSnapshot() { saved.append(P.name) }
        }
        try catchUp(CustomerProfiles.self, from: newest[0])
        try catchUp(CustomerJourneys.self, from: newest[1])
        try catchUp(ShopAnalytics.self, from: newest[2])
        let seconds = (ContinuousClock.now - started) / .seconds(1)
        return notices.map { "notice: \($0)" } + [
            String(
                format: "projections: caught up %d events from offset %d in %.2f s; snapshots saved: %@",
                head - oldest,
                oldest,
                seconds,
                saved.isEmpty ? "none" : saved.joined(separator: ", ")
            )
        ]
    }
}
