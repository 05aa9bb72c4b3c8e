import CRMModel
import EventLog

/// The two ids of every `customer.merged` record, by offset, so that a rebuild finds its identity groups without
/// reading the whole log (docs/engine-directory.md, section 2). Two entries a record: key `offset × 2` holds the
/// customer hash of the survivor (the record's key), key `offset × 2 + 1` that of the merged id (`from`).
///
/// Not thread-safe: the engine serializes access.
final class MergeIndex: RecordIndex {
    let runs: IndexRuns
    /// Entries of records not in a run yet, in offset order.
    private var recent: [RunEntry] = []
    private(set) var indexedThrough: Int64
    private let flushEntries: Int

    init(runs: IndexRuns, flushEntries: Int) {
        self.runs = runs
        self.indexedThrough = runs.coveredThrough
        self.flushEntries = flushEntries
    }

    func add(_ record: RecordView, at offset: Int64) {
        guard record.typeTag == EventType.customerMerged.tag, offset >= indexedThrough,
            let merged = Self.mergedID(of: record)
        else { return }
        let key = UInt64(offset) << 1
        recent.append(RunEntry(key: key, value: StableHash.customer(record.key)))
        recent.append(RunEntry(key: key | 1, value: StableHash.customer(merged)))
    }

    /// The `from` of a `customer.merged` record (its public part: no key is needed). A record that does not
    /// decode was refused at append; one damaged since is left out here and reported by `verify()`.
    private static func mergedID(of record: RecordView) -> String? {
        let header = EncodedEvent(
            key: String(decoding: record.key, as: UTF8.self),
            typeTag: record.typeTag,
            schemaVersion: record.schemaVersion,
            eventTime: record.eventTime,
            producerID: nil,
            value: []
        )
        guard let event = try? EventBinaryCodec.decode(header, value: record.value, personalPart: .absent),
            case .customerMerged(let from) = event.payload
        else { return nil }
        return from
    }

    func advance(to offset: Int64) throws(EventLogError) {
        indexedThrough = max(indexedThrough, offset)
        if recent.count >= flushEntries { try flush() }
    }

    func flush() throws(EventLogError) {
        guard runs.writable, indexedThrough > runs.coveredThrough else { return }
        let limit = UInt64(indexedThrough) << 1
        // Appends complete out of order: sorted here, not as they come.
        let entries = recent.filter { $0.key < limit }.sorted()
        try runs.add(sortedEntries: entries, through: indexedThrough)
        recent.removeAll { $0.key < limit }
    }

    /// The (survivor, merged id) customer hashes of every merge record below `end` that the index holds, and the
    /// offset up to which it holds every one: the records from there to `end` must be read from the log.
    func merges(below end: Int64) -> (pairs: [(survivor: UInt64, merged: UInt64)], through: Int64) {
        let limit = UInt64(max(0, end)) << 1
        var survivors: [UInt64: UInt64] = [:]
        var pairs = [(survivor: UInt64, merged: UInt64)]()
        func take(_ entry: RunEntry) {
            guard entry.key < limit else { return }
            if entry.key & 1 == 0 {
                survivors[entry.key >> 1] = entry.value
            } else if let survivor = survivors.removeValue(forKey: entry.key >> 1) {
                pairs.append((survivor, entry.value))
            }
        }
        runs.forEachEntry(take)
        for entry in recent.sorted() { take(entry) }
        return (pairs, min(end, indexedThrough))
    }

    func damagedFiles() -> [String] { runs.damagedRuns() }
}
