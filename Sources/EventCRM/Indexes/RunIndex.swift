import EventLog

/// What every index shares (docs/engine-directory.md, section 1): its runs, how far every record has been added,
/// and when the entries waiting in memory are flushed to a run. A subclass keeps the waiting entries and writes them.
///
/// Not thread-safe: the engine serializes access.
class RunIndex {
    let runs: IndexRuns
    private(set) var indexedThrough: Int64
    /// Entries waiting in memory are written to a run once there are this many.
    private let flushEntries: Int

    init(runs: IndexRuns, flushEntries: Int) {
        self.runs = runs
        self.indexedThrough = runs.coveredThrough
        self.flushEntries = flushEntries
    }

    /// The number of entries waiting in memory.
    var waitingCount: Int { preconditionFailure("a subclass says") }

    /// Writes the waiting entries of the records below ``indexedThrough`` to a run.
    func flush() throws(EventLogError) { preconditionFailure("a subclass writes") }

    /// Every record below `offset` has now been added; flushes when enough entries wait.
    final func advance(to offset: Int64) throws(EventLogError) {
        indexedThrough = max(indexedThrough, offset)
        if waitingCount >= flushEntries { try flush() }
    }

    final func damagedFiles() -> [String] { runs.damagedRuns() }
}

/// An index whose waiting entries are a list, each of them naming its record's offset (``offset(of:)``).
class ListedRunIndex: RunIndex {
    /// Entries of records not in a run yet, in the order they were added.
    private(set) var waiting: [RunEntry] = []

    override var waitingCount: Int { waiting.count }

    /// The offset of the record that `entry` belongs to.
    func offset(of entry: RunEntry) -> Int64 { preconditionFailure("a subclass says") }

    /// Adds an entry of a record at or after ``RunIndex/indexedThrough``.
    final func wait(_ entry: RunEntry) { waiting.append(entry) }

    /// Sorted here: appends complete out of order.
    override final func flush() throws(EventLogError) {
        guard runs.writable, indexedThrough > runs.coveredThrough else { return }
        let limit = indexedThrough
        let entries = waiting.filter { offset(of: $0) < limit }.sorted()
        try runs.add(sortedEntries: entries, through: limit)
        waiting.removeAll { offset(of: $0) < limit }
    }
}
