import CRMProjections
import EventCRM
import Foundation

/// Keeping every projection's snapshot at the log's head, so that a query starts from a snapshot and reads no more
/// than what was appended since (docs/projections.md, section 4): `crm rebuild` rebuilds them all from scratch;
/// `crm ingest` and `crm forget` restore them before appending and bring them to the new head after.
///
/// Restored before appending because an erasure among the appends deletes every snapshot (a snapshot can hold the
/// forgotten customer's personal fields): the states read before it, caught up over the `customer.forgotten`
/// event, are saved without them, where otherwise only a rebuild from the whole log could save a snapshot again.
struct ProjectionUpkeep {
    private let engine: CRMEngine
    /// Each projection restored from its newest snapshot; nil when one of them has none, or when the newest is
    /// older than half the log (a rebuild in one decoding pass on every core is then the shorter way).
    private let restored:
        (
            profiles: ProjectionRunner<CustomerProfiles>,
            journeys: ProjectionRunner<CustomerJourneys>,
            analytics: ProjectionRunner<ShopAnalytics>
        )?
    private var notices = [String]()

    /// Restores the projections, before a command appends to a writable engine.
    init(beforeAppendingTo engine: CRMEngine) throws {
        self.engine = engine
        let head = engine.nextOffset
        let newest = [
            ProjectionRunner<CustomerProfiles>.snapshotOffsets(engine: engine).first { $0 <= head },
            ProjectionRunner<CustomerJourneys>.snapshotOffsets(engine: engine).first { $0 <= head },
            ProjectionRunner<ShopAnalytics>.snapshotOffsets(engine: engine).first { $0 <= head },
        ]
        guard let oldest = newest.map({ $0 ?? -1 }).min(), oldest >= 0, head - oldest <= head / 2 else {
            restored = nil
            return
        }
        var notices = [String]()
        // Kept until the process exits: freeing every profile on the way out is work nobody waits for.
        restored = (
            try KeptUntilExit.keep(ProjectionRunner<CustomerProfiles>.restore(engine: engine, notices: &notices)),
            try KeptUntilExit.keep(ProjectionRunner<CustomerJourneys>.restore(engine: engine, notices: &notices)),
            try KeptUntilExit.keep(ProjectionRunner<ShopAnalytics>.restore(engine: engine, notices: &notices))
        )
        self.notices = notices
    }

    /// ``init(beforeAppendingTo:)``, unless `skipped` (`--no-projections`); closes the engine when the restore
    /// fails, as the commands do on every error.
    static func beforeAppending(to engine: CRMEngine, unless skipped: Bool) async throws -> ProjectionUpkeep? {
        guard !skipped else { return nil }
        do {
            return try ProjectionUpkeep(beforeAppendingTo: engine)
        } catch {
            await engine.close()
            throw error
        }
    }

    /// After appending: catches the restored projections up to the head and saves them, or (`rebuilding`)
    /// rebuilds them all in one pass and saves them. Returns what it did, as lines to print.
    func bringToHead(rebuilding: Bool = true) throws -> [String] {
        guard let restored else {
            guard rebuilding else {
                return ["projections: no recent snapshot to bring to the head (`crm rebuild` saves them)"]
            }
            let (state, events, seconds) = try Self.rebuild(engine: engine)
            let lines = try Self.save(state, at: events, engine: engine)
            return [String(format: "projections: rebuilt from the whole log, %d events in %.2f s", events, seconds)]
                + lines
        }
        // The three were restored at the same offset: each caught up to the head as it was.
        let from = restored.profiles.read { _, offset in offset }
        let head = engine.nextOffset
        let savedAtHead = [
            ProjectionRunner<CustomerProfiles>.snapshotOffsets(engine: engine),
            ProjectionRunner<CustomerJourneys>.snapshotOffsets(engine: engine),
            ProjectionRunner<ShopAnalytics>.snapshotOffsets(engine: engine),
        ].allSatisfy { $0.first == head }
        if from == head && savedAtHead {
            return notices.map { "notice: \($0)" } + ["projections: already at the head (offset \(head))"]
        }
        let started = ContinuousClock.now
        var saved = [String]()
        func catchUp<P: Projection>(_ runner: ProjectionRunner<P>) throws {
            try runner.catchUp()
            if try runner.saveSnapshot() { saved.append(P.name) }
        }
        try catchUp(restored.profiles)
        try catchUp(restored.journeys)
        try catchUp(restored.analytics)
        let seconds = (ContinuousClock.now - started) / .seconds(1)
        return notices.map { "notice: \($0)" } + [
            String(
                format: "projections: caught up %d events from offset %d in %.2f s; snapshots saved: %@",
                head - from,
                from,
                seconds,
                saved.isEmpty ? "none" : saved.joined(separator: ", ")
            )
        ]
    }

    /// Every projection rebuilt from the whole log in one decoding pass on every core, with a progress bar.
    static func rebuild(
        engine: CRMEngine,
        workers: Int? = nil
    ) throws -> (state: EveryProjection.State, events: Int64, seconds: Double) {
        let progress = ProgressBar(label: "rebuilding", unit: "M events")
        let started = ContinuousClock.now
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
            let started = ContinuousClock.now
            let saved = engine.options.readOnly ? false : try runner.saveSnapshot()
            let seconds = (ContinuousClock.now - started) / .seconds(1)
            return "  \(Part.name): \(counts)"
                + (saved ? "; snapshot saved in \(String(format: "%.2f", seconds)) s" : "")
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
}
