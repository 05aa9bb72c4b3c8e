import EventLog

/// Customer → offsets of its records, so that a customer's history is read without scanning the log
/// (docs/engine-directory.md, section 2). The newest entries wait in memory, unsorted; older ones are in runs.
///
/// Not thread-safe: the engine serializes access.
final class CustomerHistoryIndex: ListedRunIndex, RecordIndex {
    override func offset(of entry: RunEntry) -> Int64 { Int64(entry.value) }

    func add(_ record: RecordView, at offset: Int64) {
        guard !record.key.isEmpty, offset >= indexedThrough else { return }
        wait(RunEntry(key: StableHash.customer(record.key), value: UInt64(offset)))
    }

    /// The offsets of the records whose key hashes like `customer`, ascending. Callers check each record's key.
    func offsets(ofCustomer customer: String) -> [Int64] {
        let hash = StableHash.customer(customer)
        var offsets = [Int64]()
        runs.forEachValue(ofKey: hash) { offsets.append(Int64($0)) }
        for entry in waiting where entry.key == hash { offsets.append(Int64(entry.value)) }
        offsets.sort()
        return offsets
    }
}
