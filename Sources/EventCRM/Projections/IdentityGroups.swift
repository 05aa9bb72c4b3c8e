import CRMModel
import CRMProjections
import EventLog
import Locking

/// The ids that `customer.merged` events join, as groups, so that a parallel rebuild sends every id of a group to
/// the same shard (docs/projections.md, section 3).
///
/// Ids are joined by their customer hashes (docs/engine-directory.md), which the engine's merges index holds: two
/// ids that share a hash fall into one group, which only puts them on the same shard (a shard folds whichever
/// customers it is given).
struct IdentityGroups: Sendable {
    private var groups = UnionFind<UInt64>()
    /// The customer hashes of the ids in a group of two or more: most ids were never merged, and the filter says
    /// so without a look-up.
    private var joined = HashFilter()

    /// The groups of the merges before `end`: those the merges index holds, and those of the records it does not
    /// cover yet, read from the log. (Reading the whole log for them was 4 % of a 2-core rebuild.)
    static func build(engine: CRMEngine, upTo end: Int64) throws(CRMError) -> IdentityGroups {
        let (indexed, through) = engine.indexes.withLock { $0.merges.merges(below: end) }
        var groups = IdentityGroups()
        for (survivor, merged) in indexed { groups.join(survivor, merged) }
        for (survivor, merged) in try mergedIDs(engine: engine, from: through, to: end) {
            groups.join(StableHash.customer(survivor), StableHash.customer(merged))
        }
        return groups
    }

    private mutating func join(_ survivor: UInt64, _ merged: UInt64) {
        groups.union(survivor, merged)
        joined.insert(Int(truncatingIfNeeded: survivor))
        joined.insert(Int(truncatingIfNeeded: merged))
    }

    /// The shard of `customer`'s group among `count`: its root's customer hash, which for an id never merged is its
    /// own. Any function of the group's root will do, as long as it is the same throughout a rebuild. With one
    /// shard, every group's is 0, and no id is hashed (hashing each event's customer id was 3 % of a one-core
    /// rebuild's decoding).
    func shard(of customer: String, count: Int) -> Int {
        guard count > 1 else { return 0 }
        let hash = StableHash.customer(customer)
        let root = joined.mayContain(Int(truncatingIfNeeded: hash)) ? groups.root(of: hash) : hash
        return Int(root % UInt64(count))
    }

    /// The (survivor, merged id) of each `customer.merged` event at an offset from `start` to `end`: record
    /// headers only, decoding just the merges.
    static func mergedIDs(
        engine: CRMEngine,
        from start: Int64,
        to end: Int64
    ) throws(CRMError) -> [(customer: String, from: String)] {
        var merges = [(customer: String, from: String)]()
        guard start < end else { return merges }
        var failure: CRMError?
        do {
            let reader = try engine.log.reader(from: start)
            while failure == nil, let batch = try reader.nextBatch(), batch.firstOffset < end {
                batch.forEachRecord { record in
                    guard failure == nil, record.offset >= start, record.offset < end else { return }
                    do {
                        if let (survivor, merged) = try MergeIndex.ids(ofMerge: record) {
                            merges.append((survivor, merged))
                        }
                    } catch {
                        failure = CRMEngine.undecodable(at: record.offset, error)
                    }
                }
            }
        } catch {
            throw .storage(error)
        }
        if let failure { throw failure }
        return merges
    }
}

extension CRMEngine {
    /// Every id joined to `customer` by `customer.merged` events, in either direction and through chains (itself
    /// included). Reads the log's record headers and decodes only the merge events.
    public func identityGroup(of customer: String) throws(CRMError) -> [String] {
        var groups = UnionFind<String>()
        for (survivor, merged) in try IdentityGroups.mergedIDs(engine: self, from: 0, to: nextOffset) {
            groups.union(survivor, merged)
        }
        return groups.members(of: customer)
    }
}
