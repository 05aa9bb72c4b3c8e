public import CRMModel
public import CRMProjections
import EventLog
import Locking

/// Runs a projection over the engine's log (docs/projections.md): live, following appends, or rebuilt from
/// scratch on every core.
///
/// ```swift
/// let profiles = ProjectionRunner<CustomerProfiles>(engine: crm)
/// try profiles.catchUp()                          // everything appended so far, including our own writes
/// let ana = profiles.read { state, _ in state.profile(of: "c-42") }
/// ```
public final class ProjectionRunner<P: Projection>: Sendable {
    let engine: CRMEngine
    private let current: Locked<(state: P.State, nextOffset: Int64)>

    /// A runner starting from `state` as it is after the events before `offset` (the empty state at 0).
    public init(engine: CRMEngine, state: P.State = P.makeState(), offset: Int64 = 0) {
        self.engine = engine
        self.current = Locked((state, offset))
    }

    /// The offset of the next event the projection will apply.
    public var nextOffset: Int64 { current.withLock { $0.nextOffset } }

    /// Reads the state and the offset it has reached.
    public func read<Result>(_ body: (P.State, Int64) throws -> Result) rethrows -> Result {
        try current.withLock { try body($0.state, $0.nextOffset) }
    }

    /// Applies every event from where the projection is to the log's head (or to `offset`); after an append
    /// returned, calling this gives read-your-writes. A long catch-up reads and decodes the next chunk of batches on
    /// another core while this one applies the current chunk.
    public func catchUp(to offset: Int64? = nil) throws(CRMError) {
        try current.withLock { current throws(CRMError) in
            let end = min(offset ?? engine.nextOffset, engine.nextOffset)
            guard current.nextOffset < end else { return }
            // Used by one thread at a time: the background work below reads it, and is waited for before the next.
            nonisolated(unsafe) let chunks = try ChunkReader(engine: engine, from: current.nextOffset, to: end)
            let access = PersonalDataAccess.revealOnly(P.personalFieldsRead)
            let engine = engine
            var decoded = [[ProjectedEvent]]()
            if let first = try chunks.next() { decoded = try Self.decode(first, engine: engine, access: access) }
            // What the background work owns while this thread applies a chunk: the chunk applied before, which it
            // frees, and the next one, which it reads and decodes.
            var handOff = (spent: [[ProjectedEvent]](), next: Result<[[ProjectedEvent]], CRMError>.success([]))
            while !decoded.isEmpty {
                withUnsafeMutablePointer(to: &handOff) { pointer in
                    // Written by the background work only, read after it is done.
                    nonisolated(unsafe) let handOff = pointer
                    // The next chunk is read from the files, checked and decoded in the background, and the last
                    // one's events freed there, while this thread applies this one: the applying core is the one
                    // that limits a catch-up (reading the files and freeing events on it took a tenth of its time,
                    // while the other core idled more than half of the time). Applying is free to use every core
                    // itself (a monthly RFM step does).
                    whileInBackground(
                        {
                            handOff.pointee.spent = []
                            handOff.pointee.next = Result { () throws(CRMError) in
                                guard let frames = try chunks.next() else { return [] }
                                return try Self.decode(frames, engine: engine, access: access)
                            }
                        },
                        // A catch-up of one chunk (read-your-writes after an append) stays on this thread.
                        parallel: onlineCores > 1 && chunks.done < end
                    ) {
                        for batch in decoded.indices { Self.apply(&decoded[batch], before: end, to: &current) }
                    }
                }
                handOff.spent = decoded
                // Taken out, not shared: applying writes each event's clock, which would copy a shared chunk.
                decoded = try handOff.next.get()
                handOff.next = .success([])
            }
        }
    }

    /// Applies the events of one batch from the runner's offset up to `end`, in one call.
    private static func apply(
        _ events: inout [ProjectedEvent],
        before end: Int64,
        to current: inout (state: P.State, nextOffset: Int64)
    ) {
        events.withUnsafeMutableBufferPointer { run in
            // Offsets read through the pointer: `firstIndex(where:)` copied each event it looked at.
            guard let first = run.baseAddress else { return }
            var start = 0
            while start < run.count, first[start].offset < current.nextOffset { start += 1 }
            var stop = start
            while stop < run.count, first[stop].offset < end { stop += 1 }
            guard start < stop else { return }
            P.applyInSequence(UnsafeMutableBufferPointer(rebasing: run[start..<stop]), to: &current.state)
            current.nextOffset = first[stop - 1].offset + 1
        }
    }

    /// The events of each frame of a chunk, decompressed and decoded in order on this thread.
    private static func decode(
        _ frames: [CheckedFrame],
        engine: CRMEngine,
        access: PersonalDataAccess
    ) throws(CRMError) -> [[ProjectedEvent]] {
        var decoded = [[ProjectedEvent]]()
        for frame in frames {
            decoded.append(
                try engine.decode(try batch(of: frame), access: access, detail: P.eventDetail) { stored in
                    let offset = stored.offset
                    // Moved out: `stored.event` alone copied the event (each string retained) and freed the stored
                    // one after.
                    return ProjectedEvent(offset: offset, event: (consume stored).event)
                }
            )
        }
        return decoded
    }

    /// The records of a frame, decompressed.
    private static func batch(of frame: CheckedFrame) throws(CRMError) -> LogBatch {
        do {
            return try frame.batch()
        } catch {
            throw .storage(error)
        }
    }

    /// Folds `events` (in log order) into a fresh state and reads it, without touching this runner: a view of one
    /// identity group, from its history, is exact for what depends only on the events of that group (a profile);
    /// what depends on every customer or on events of no customer (segments, RFM groups) needs the whole log.
    public func fold<Result>(_ events: [StoredEvent], read body: (P.State) -> Result) -> Result {
        var state = P.makeState()
        for stored in events.sorted(by: { $0.offset < $1.offset }) {
            P.applyInSequence(offset: stored.offset, event: stored.event, to: &state)
        }
        return body(state)
    }

    // MARK: Snapshots and as-of (docs/projections.md, sections 4 and 5)

    /// Saves the state at the offset it has reached, so that a later start or an as-of query replays less.
    /// - Returns: false when an erasure in progress (or one not yet applied by this runner) holds snapshots back.
    @discardableResult
    public func saveSnapshot() throws(CRMError) -> Bool {
        try engine.requireWritable()
        // A copy sharing the state's storage, serialized outside the lock: readers and appliers are not held up by
        // the disk (an applier that changes the state meanwhile copies what it changes).
        let (state, offset) = current.withLock { ($0.state, $0.nextOffset) }
        do {
            return try engine.snapshots.write(projection: P.name, version: P.version, offset: offset) { writer in
                state.serialize(into: &writer)
            }
        } catch {
            throw .storage(error)
        }
    }

    /// The offsets at which snapshots of this projection's version were saved, newest first, as the snapshot
    /// directory names them (not checked: ``restore(engine:upTo:notices:)`` checks what it loads).
    public static func snapshotOffsets(engine: CRMEngine) -> [Int64] {
        engine.snapshots.offsets(projection: P.name, version: P.version)
    }

    /// A runner started from the newest valid snapshot at or before `offset` (or from nothing), caught up to
    /// `offset` (default: the head). Damaged snapshots are deleted and listed in `notices`; snapshots of another
    /// version of the projection are never loaded.
    public static func restore(
        engine: CRMEngine,
        upTo offset: Int64? = nil,
        notices: inout [String]
    ) throws(CRMError) -> ProjectionRunner<P> {
        let end = min(offset ?? engine.nextOffset, engine.nextOffset)
        var runner = ProjectionRunner(engine: engine)
        if let (offset, state) = engine.snapshots.newest(
            projection: P.name,
            version: P.version,
            atOrBefore: end,
            rejected: &notices,
            read: { blocks throws(EventDecodingError) in try P.State(restoring: blocks) }
        ) {
            runner = ProjectionRunner(engine: engine, state: state, offset: offset)
        }
        try runner.catchUp(to: end)
        return runner
    }

    /// The state as of offset `offset`: after the events before it (nearest snapshot, then replay).
    public static func state(engine: CRMEngine, asOfOffset offset: Int64) throws(CRMError) -> P.State {
        var notices = [String]()
        return try restore(engine: engine, upTo: offset, notices: &notices).read { state, _ in state }
    }

    /// The state as of event time `time`: after the events the log held before the first one later than `time`,
    /// with the clock moved to `time` (docs/projections.md, section 5).
    public static func state(engine: CRMEngine, asOf time: EventTime) throws(CRMError) -> P.State {
        var state = try state(engine: engine, asOfOffset: try engine.offset(after: time))
        P.advance(&state, to: time)
        return state
    }

    /// What ``rebuild(engine:upTo:workers:progress:)`` reports as it goes.
    public struct RebuildProgress: Sendable {
        public var eventsDone: Int64
        public var eventsTotal: Int64
    }

    /// Folds the log from its first event to `offset` (default: the head) into a fresh state, decoding and
    /// folding on every core (or on this thread only when `workers` is 1) with the state sharded by identity
    /// group; the result is the state a single sequential fold gives (docs/projections.md, section 3).
    public static func rebuild(
        engine: CRMEngine,
        upTo offset: Int64? = nil,
        workers: Int? = nil,
        progress: ((RebuildProgress) -> Void)? = nil
    ) throws(CRMError) -> ProjectionRunner<P> {
        let end = min(offset ?? engine.nextOffset, engine.nextOffset)
        let state = try fold(engine: engine, upTo: end, workers: max(1, workers ?? onlineCores), progress: progress)
        // The identity groups, the decoded chunks and the other shards are gone by now: give their pages back
        // rather than keep them resident next to the state for as long as the process lives.
        releaseFreeMemoryToSystem()
        return ProjectionRunner(engine: engine, state: state, offset: end)
    }

    /// The fold of ``rebuild(engine:upTo:workers:progress:)``.
    private static func fold(
        engine: CRMEngine,
        upTo end: Int64,
        workers: Int,
        progress: ((RebuildProgress) -> Void)?
    ) throws(CRMError) -> P.State {
        // One shard per worker. On one thread, one shard: the events of every customer go to it, so its identity
        // groups are not needed (reading the log for them, and joining shards at the end, were a tenth of a one-core
        // rebuild). Two shards per worker made every worker read each chunk's events once per shard and added a
        // level of joins, each copying the joined state into new memory: one shard each took a tenth less CPU
        // and 65 MB less memory in a rebuild of every projection over 10M events.
        let shardCount = workers
        let groups =
            shardCount > 1 ? try IdentityGroups.build(engine: engine, upTo: end) : IdentityGroups()
        var shards = [P.State](repeating: P.makeState(), count: shardCount)
        let chunks = try ChunkReader(engine: engine, from: 0, to: end)
        var clock: EventTime?
        // The first population step after `clock` (steps are fixed instants: it stays the next one until the clock
        // reaches it).
        var nextStep: EventTime?
        func step(after time: EventTime) -> EventTime? {
            P.populationStep(after: time, through: EventTime(microseconds: .max))
        }
        // The events of the chunk folded last, freed by the tasks that decode the next one.
        var spent = [[RoutedEvent]]()
        func decode(
            _ chunk: [CheckedFrame],
            alongside foldTasks: Int = 0,
            _ fold: @escaping @Sendable (Int) -> Void = { _ in }
        ) throws(CRMError) -> [[RoutedEvent]] {
            try decodeInParallel(
                chunk,
                freeing: &spent,
                engine: engine,
                end: end,
                groups: groups,
                shards: shardCount,
                parallel: workers > 1,
                alongside: foldTasks,
                fold
            )
        }
        var upcoming = try chunks.next().map { chunk throws(CRMError) in (events: try decode(chunk), end: chunks.done) }
        while let (events, chunkEnd) = upcoming {
            var decoded = events
            upcoming = nil
            // The clock is the log's, not a shard's: each event carries the latest time up to it, and the fold
            // stops wherever every shard must take a population step together. Each batch's events carry the latest
            // time within the batch (set where they were decoded); here the batches are joined: an event before
            // the batch's first time later than the clock so far takes that clock, and a step falls before the
            // first event whose clock reaches it (clocks only grow). Phases are lists of (batch, range of its
            // events); the batches are not flattened, which copied every event.
            var phases = [(parts: [(batch: Int, range: Range<Int>)], stepAfter: EventTime?)]()
            var parts = [(batch: Int, range: Range<Int>)]()
            for batch in decoded.indices {
                decoded[batch].withUnsafeMutableBufferPointer { events in
                    guard let last = events.last?.event.clock else { return }
                    if let carried = clock {
                        var index = 0
                        while index < events.count, events[index].event.clock < carried {
                            events[index].event.clock = carried
                            index += 1
                        }
                    } else {
                        clock = events[0].event.clock
                        nextStep = step(after: clock!)
                    }
                    var start = 0
                    while let instant = nextStep, instant <= max(clock!, last) {
                        // A slice keeps its base's indices.
                        let index = events[start...].partitioningIndex { $0.event.clock >= instant }
                        parts.append((batch, start..<index))
                        phases.append((parts, instant))
                        parts = []
                        start = index
                        clock = instant
                        nextStep = step(after: instant)
                    }
                    parts.append((batch, start..<events.count))
                    clock = max(clock!, last)
                }
            }
            phases.append((parts, nil))
            let next = try chunks.next()
            let nextEnd = chunks.done
            try shards.withUnsafeMutableBufferPointer { states throws(CRMError) in
                nonisolated(unsafe) let states = states
                let routed = decoded
                for (number, phase) in phases.enumerated() {
                    // Each thread folds its own shards only, taking their events in log order.
                    let foldShard: @Sendable (Int) -> Void = { shard in
                        for part in phase.parts {
                            // Through the buffer: the array's subscript copied each event before applying it.
                            routed[part.batch].withUnsafeBufferPointer { events in
                                P.apply(
                                    UnsafeBufferPointer(rebasing: events[part.range]),
                                    routedTo: shard,
                                    to: &states[shard]
                                )
                            }
                        }
                    }
                    if number == phases.count - 1, let next {
                        // The chunk's last phase is folded in the same tasks as the next chunk is decoded in: a core
                        // whose shard is done decodes frames instead of waiting for the other shard, and no core
                        // waits at the end of a chunk's decoding for the last frame (the two waits were about 3 % of
                        // a 2-core rebuild's time). A phase followed by a population step ends where it did.
                        upcoming = (try decode(next, alongside: shardCount, foldShard), nextEnd)
                    } else {
                        concurrentForEach(shardCount, parallel: workers > 1, foldShard)
                    }
                    if let step = phase.stepAfter { P.advance(states, to: step, parallel: workers > 1) }
                }
            }
            spent = decoded
            progress?(RebuildProgress(eventsDone: min(chunkEnd, end), eventsTotal: end))
        }
        if let clock {
            shards.withUnsafeMutableBufferPointer { P.advance($0, to: clock, parallel: workers > 1) }
        }
        return merged(&shards, parallel: workers > 1)
    }

    /// The shards absorbed into one, pairwise on every core (0 ← 1 and 2 ← 3 together, then 0 ← 2): one after the
    /// other, the merges left a core idle for a tenth of a rebuild.
    private static func merged(_ shards: inout [P.State], parallel: Bool) -> P.State {
        var distance = 1
        while distance < shards.count {
            let targets = Array(stride(from: 0, to: shards.count - distance, by: 2 * distance))
            let step = distance
            shards.withUnsafeMutableBufferPointer { states in
                // Each merge writes its own two slots only.
                nonisolated(unsafe) let states = states
                concurrentForEach(targets.count, parallel: parallel) { number in
                    let target = targets[number]
                    // Taken out of the array, not copied: a copy shared with the array would copy its dictionaries
                    // on the first change.
                    var absorbed = P.makeState()
                    swap(&absorbed, &states[target + step])
                    states[target].absorb(consume absorbed, parallel: parallel)
                }
            }
            distance *= 2
        }
        return shards.removeFirst()
    }

    /// The events of each frame of `chunk` (only those before `end`), decompressed and decoded on every core, each
    /// with its shard and with the latest event time of its frame up to it as its clock; the same tasks free the
    /// events of `spent` (freed on one core, they left the other idle). The first `foldTasks` tasks run `fold`
    /// instead, with their number: the shards folding the chunk before, so that a core done with its part takes
    /// the next one instead of waiting.
    private static func decodeInParallel(
        _ chunk: [CheckedFrame],
        freeing spent: inout [[RoutedEvent]],
        engine: CRMEngine,
        end: Int64,
        groups: IdentityGroups,
        shards: Int,
        parallel: Bool,
        alongside foldTasks: Int,
        _ fold: @Sendable (Int) -> Void
    ) throws(CRMError) -> [[RoutedEvent]] {
        let tasks = foldTasks + max(chunk.count, spent.count)
        return try spent.withUnsafeMutableBufferPointer { spent throws(CRMError) in
            // Each task empties its own slot only.
            nonisolated(unsafe) let spent = spent
            let decoded = try concurrentMap(tasks, parallel: parallel) { task throws(CRMError) -> [RoutedEvent] in
                // The first tasks (taken first, one by each thread) are those it is given to run alongside.
                guard task >= foldTasks else {
                    fold(task)
                    return []
                }
                let number = task - foldTasks
                if number < spent.count { spent[number] = [] }
                guard number < chunk.count else { return [] }
                var clock: EventTime?
                let access = PersonalDataAccess.revealOnly(P.personalFieldsRead)
                return try engine.decode(
                    try batch(of: chunk[number]),
                    access: access,
                    detail: P.eventDetail
                ) { stored, place in
                    let offset = stored.offset
                    guard offset < end else { return false }
                    clock = max(clock ?? stored.event.at, stored.event.at)
                    let shard =
                        stored.event.customer.map { groups.shard(of: $0, count: shards) } ?? RoutedEvent.everyShard
                    // Moved out, as in `decode(_:engine:access:)`, and made where the array keeps it.
                    place.initialize(
                        to: RoutedEvent(
                            event: ProjectedEvent(offset: offset, event: (consume stored).event, clock: clock),
                            shard: shard
                        )
                    )
                    return true
                }
            }
            return Array(decoded.dropFirst(foldTasks).prefix(chunk.count))
        }
    }
}

/// The log's frames from one offset to another, a chunk of up to 96 at a time: the unit decoded together. Frames
/// are read and checked here, on one core, and decompressed where they are decoded, on every core (decompressing
/// here left a core idle for 2 % of a 2-core rebuild; reading here, about 2 %, is the wait left). When chunks were
/// decoded on their own, a core that decoded a chunk's last frame left the other waiting: with 32 frames a chunk,
/// 2.4 % of a 2-core rebuild; with 96, 1.8 %. The shards of the chunk before now fill that wait (`fold`).
private final class ChunkReader {
    private let reader: LogReader
    private let end: Int64
    /// The offset after the last batch read.
    private(set) var done: Int64

    init(engine: CRMEngine, from offset: Int64, to end: Int64) throws(CRMError) {
        do {
            reader = try engine.log.reader(from: offset)
        } catch {
            throw .storage(error)
        }
        self.end = end
        self.done = offset
    }

    /// The next chunk, or nil once `end` is reached.
    func next() throws(CRMError) -> [CheckedFrame]? {
        var chunk = [CheckedFrame]()
        do {
            while chunk.count < 96, done < end, let frame = try reader.nextCheckedFrame() {
                chunk.append(frame)
                done = frame.nextOffset
            }
        } catch {
            throw .storage(error)
        }
        return chunk.isEmpty ? nil : chunk
    }
}
