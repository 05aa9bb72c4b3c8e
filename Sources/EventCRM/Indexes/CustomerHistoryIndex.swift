import EventLog

/// Customer → offsets of its records, so that a customer's history is read without scanning the log
/// (docs/engine-directory.md, section 2). The newest entries wait in memory, unsorted; older ones are in runs.
///
/// Not thread-safe: the engine serializes access.
final class CustomerHistoryIndex: RecordIndex {
    let runs: IndexRuns
    private var recent: [RunEntry] = []
    private(set) var indexedThrough: Int64
    /// Entries waiting in memory are written to a run once there are this many.
    private let flushEntries: Int

    init(runs: IndexRuns, flushEntries: Int) {
        self.runs = runs
        self.indexedThrough = runs.coveredThrough
        self.flushEntries = flushEntries
    }

    func add(_ record: RecordView, at offset: Int64) {
        guard !record.key.isEmpty, offset >= indexedThrough else { return }
        recent.append(RunEntry(key: StableHash.customer(record.key), value: UInt64(offset)))
    }

    func advance(to offset: Int64) throws(EventLogError) {
        indexedThrough = max(indexedThrough, offset)
        if recent.count >= flushEntries { try flush() }
    }

    func flush() throws(EventLogError) {
        guard runs.writable, indexedThrough > runs.coveredThrough else { return }
        let limit = UInt64(indexedThrough)
        let entries = recent.filter { $0.value < limit }.sorted()
        try runs.add(sortedEntries: entries, through: indexedThrough)
        recent.removeAll { $0.value < limit }
    }

    /// The offsets of the records whose key hashes like `customer`, ascending. Callers check each record's key.
    func offsets(ofCustomer customer: String) -> [Int64] {
        let hash = StableHash.customer(customer)
        var offsets = [Int64]()
        runs.forEachValue(ofKey: hash) { offsets.append(Int64($0)) }
        for entry in recent where entry.key == hash { offsets.append(Int64(entry.value)) }
        offsets.sort()
        return offsets
    }

    func damagedFiles() -> [String] { runs.damagedRuns() }
}
