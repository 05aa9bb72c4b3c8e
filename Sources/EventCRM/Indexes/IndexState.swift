import EventLog

/// The engine's indexes and the bookkeeping of appends in flight, guarded by one lock in ``CRMEngine``.
struct IndexState {
    let ids: EventIDIndex
    let history: CustomerHistoryIndex
    let merges: MergeIndex
    /// Ids of events being appended right now: a second append of one of them counts as a duplicate.
    var pendingIDs = EventIDTable()
    /// Appended offset ranges above ``frontier`` (appends may complete out of order), lower bound → upper bound.
    private var completed: [Int64: Int64] = [:]
    /// Every record below this offset has been given to the indexes.
    private(set) var frontier: Int64 = 0

    private var all: [any RecordIndex] { [ids, history, merges] }

    static func open(
        indexDirectory path: String,
        log: EventLog,
        writable: Bool,
        flushEntries: Int,
        notices: inout [String]
    ) throws(EventLogError) -> IndexState {
        if writable { try LogDirectory(path: path).create() }
        let head = log.nextOffset
        func runs(_ name: String, bloom: Bool) throws(EventLogError) -> IndexRuns {
            let (runs, discarded) = try IndexRuns.open(
                path: path + "/" + name,
                bloom: bloom,
                logNextOffset: head,
                writable: writable
            )
            if let discarded {
                notices.append("rebuilding index/\(name) from the log: \(discarded)")
            } else if runs.runs.isEmpty && head > 0 {
                notices.append("rebuilding index/\(name) from the log: it was missing")
            }
            return runs
        }
        var state = IndexState(
            ids: EventIDIndex(runs: try runs("event-ids", bloom: true), flushEntries: flushEntries),
            history: CustomerHistoryIndex(runs: try runs("history", bloom: false), flushEntries: flushEntries),
            merges: MergeIndex(runs: try runs("merges", bloom: false), flushEntries: flushEntries)
        )
        try state.catchUp(with: log)
        return state
    }

    /// Gives the indexes every record between what they cover and the log's head.
    mutating func catchUp(with log: EventLog) throws(EventLogError) {
        let start = all.map(\.indexedThrough).min()!
        let reader = try log.reader(from: start)
        while let batch = try reader.nextBatch() {
            let indexes = all
            batch.forEachRecord { record in
                for index in indexes { index.add(record, at: record.offset) }
            }
            for index in indexes { try index.advance(to: batch.nextOffset) }
        }
        frontier = max(frontier, reader.nextOffset)
        completed = completed.filter { $0.value > frontier }
    }

    /// Gives the indexes the records of `batch`, just appended at `offsets`; `idHashes` are the hashes of their
    /// ids in batch order (nil for records without one).
    mutating func recordAppended(
        _ batch: RecordBatch,
        at offsets: Range<Int64>,
        idHashes: [EventIDHash?]
    ) throws(EventLogError) {
        var number = 0
        batch.forEachRecord { record in
            let offset = offsets.lowerBound + record.offset
            if let hash = idHashes[number] {
                ids.add(hash: hash, offset: offset)
                pendingIDs.remove(hash)
            }
            history.add(record, at: offset)
            merges.add(record, at: offset)
            number += 1
        }
        completed[offsets.lowerBound] = offsets.upperBound
        while let upper = completed.removeValue(forKey: frontier) { frontier = upper }
        for index in all { try index.advance(to: frontier) }
    }

    /// Writes the entries waiting in memory to runs.
    func flush() throws(EventLogError) {
        for index in all { try index.flush() }
    }

    /// The run sets of the indexes, whose background merges ``CRMEngine/close()`` waits for.
    var runSets: [IndexRuns] { [ids.runs, history.runs, merges.runs] }
}
