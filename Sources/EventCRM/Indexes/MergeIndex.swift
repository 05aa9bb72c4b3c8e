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
        guard record.typeTag == EventType.customerMerged.tag, offset >= indexedThrough,
            let merged = Self.mergedID(of: record)
        else { return }
        let key = UInt64(offset) << 1
        wait(RunEntry(key: key, value: StableHash.customer(record.key)))
        wait(RunEntry(key: key | 1, value: StableHash.customer(merged)))
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
        for entry in waiting.sorted() { take(entry) }
        return (pairs, min(end, indexedThrough))
    }

}
