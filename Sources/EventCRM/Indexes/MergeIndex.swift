import CRMModel
import EventLog

/// The two ids of every `customer.merged` record, by offset, so that a rebuild finds its identity groups without
/// reading the whole log (docs/engine-directory.md, section 2). Two entries a record: key `offset × 2` holds the
/// customer hash of the survivor (the record's key), key `offset × 2 + 1` that of the merged id (`from`).
///
/// Not thread-safe: the engine serializes access.
final class MergeIndex: ListedRunIndex, RecordIndex {
    override func offset(of entry: RunEntry) -> Int64 { Int64(entry.key >> 1) }

    func add(_ record: RecordView, at offset: Int64) {
        // A record that does not decode was refused at append; one damaged since is left out here and reported by
        // `verify()`.
        guard offset >= indexedThrough, let (survivor, merged) = (try? Self.ids(ofMerge: record)) ?? nil else {
            return
        }
        let key = UInt64(offset) << 1
        wait(RunEntry(key: key, value: StableHash.customer(survivor)))
        wait(RunEntry(key: key | 1, value: StableHash.customer(merged)))
    }

    /// The survivor (the record's key) and the merged id (`from`) of a `customer.merged` record; nil for a record of
    /// another type. Decoded as the engine decodes a record whose personal part it withholds (a merge has none): how
    /// both this index and a scan of the log read merges.
    static func ids(ofMerge record: RecordView) throws(EventDecodingError) -> (survivor: String, merged: String)? {
        guard record.typeTag == EventType.customerMerged.tag else { return nil }
        let survivor = String(decoding: record.key, as: UTF8.self)
        let header = EncodedEvent(
            key: survivor,
            typeTag: record.typeTag,
            schemaVersion: record.schemaVersion,
            eventTime: record.eventTime,
            producerID: nil,
            value: []
        )
        guard case .customerMerged(let merged) = try CRMEngine.withheldEvent(header, value: record.value).payload
        else { return nil }
        return (survivor, merged)
    }

    /// The (survivor, merged id) customer hashes of every merge record below `end` that the index holds, and the
    /// offset up to which it holds every one: the records from there to `end` must be read from the log.
    func merges(below end: Int64) -> (pairs: [(survivor: UInt64, merged: UInt64)], through: Int64) {
        let limit = UInt64(max(0, end)) << 1
        var pairs = [(survivor: UInt64, merged: UInt64)]()
        // Entries come in key order, and a record's two are always added and written together: each merged id's
        // entry follows its survivor's.
        var survivor: RunEntry?
        func take(_ entry: RunEntry) {
            guard entry.key < limit else { return }
            if entry.key & 1 == 0 {
                survivor = entry
            } else if let held = survivor, held.key == entry.key & ~1 {
                pairs.append((held.value, entry.value))
            }
        }
        runs.forEachEntry(take)
        for entry in waiting.sorted() { take(entry) }
        return (pairs, min(end, indexedThrough))
    }
}
