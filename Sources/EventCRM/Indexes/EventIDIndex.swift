import EventLog

/// Event id → offset, so that an event whose `id` is already in the log is skipped (docs/engine-directory.md,
/// section 1). Ids of the newest records wait in memory; older ones are in runs with Bloom filters.
///
/// Not thread-safe: the engine serializes access.
final class EventIDIndex: RunIndex, RecordIndex {
    private var recent = EventIDTable()

    override var waitingCount: Int { recent.count }

    /// Whether an event with this id hash is in the log (or was added).
    func contains(_ hash: EventIDHash) -> Bool {
        if recent.contains(hash) { return true }
        var found = false
        runs.forEachValue(ofKey: hash.runKey) { value in
            if value >> 40 == hash.high { found = true }
        }
        return found
    }

    func add(hash: EventIDHash, offset: Int64) {
        recent.insert(hash, offset: offset)
    }

    func add(_ record: RecordView, at offset: Int64) {
        guard !record.producerID.isEmpty, offset >= indexedThrough else { return }
        add(hash: StableHash.eventID(record.producerID), offset: offset)
    }

    override func flush() throws(EventLogError) {
        guard runs.writable, indexedThrough > runs.coveredThrough else { return }
        var entries = [RunEntry]()
        entries.reserveCapacity(recent.count)
        var kept = EventIDTable()
        recent.forEachEntry { entry, offset in
            if offset < indexedThrough {
                entries.append(entry)
            } else {
                kept.insert(EventIDHash(low: entry.key, high: entry.value >> 40), offset: offset)
            }
        }
        entries.sort()
        try runs.add(sortedEntries: entries, through: indexedThrough)
        recent = kept
    }
}
