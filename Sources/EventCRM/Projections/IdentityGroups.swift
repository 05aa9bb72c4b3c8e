import CRMModel
import CRMProjections
import EventLog

/// The ids that `customer.merged` events join, as groups (a union-find), so that a parallel rebuild sends every
/// id of a group to the same shard (docs/projections.md, section 3).
struct IdentityGroups {
    private var parent: [String: String] = [:]
    /// The hashes of the ids in `parent`: most ids were never merged, and the filter says so without a lookup.
    private var joined = HashFilter()

    /// Reads the log's record headers and decodes only the `customer.merged` events before `end`; with
    /// `parallel`, the segment files are read on every core (the order of unions does not change the groups). Read
    /// on one core, this was a tenth of a 2-core rebuild's time with a core idle.
    static func build(engine: CRMEngine, upTo end: Int64, parallel: Bool = false) throws(CRMError) -> IdentityGroups {
        let bases = engine.log.segmentBaseOffsets.filter { $0 < end }
        let starts = bases.isEmpty ? [0] : bases
        let merges = try concurrentMap(starts.count, parallel: parallel) {
            part throws(CRMError) -> [(customer: String, from: String)] in
            try merged(engine: engine, from: starts[part], to: part + 1 < starts.count ? starts[part + 1] : end)
        }
        var groups = IdentityGroups()
        for part in merges {
            for (customer, from) in part { groups.union(customer, from) }
        }
        return groups
    }

    /// The (survivor, merged id) of each `customer.merged` event at an offset from `start` to `end`.
    private static func merged(
        engine: CRMEngine,
        from start: Int64,
        to end: Int64
    ) throws(CRMError) -> [(customer: String, from: String)] {
        var merges = [(customer: String, from: String)]()
        let mergedTag = EventType.customerMerged.tag
        var failure: CRMError?
        do {
            let reader = try engine.log.reader(from: start)
            while failure == nil, let batch = try reader.nextBatch(), batch.firstOffset < end {
                batch.forEachRecord { record in
                    guard failure == nil, record.typeTag == mergedTag, record.offset < end else { return }
                    do throws(CRMError) {
                        let stored = try engine.decode(record, access: .withhold)
                        if case .customerMerged(let from) = stored.event.payload, let customer = stored.event.customer {
                            merges.append((customer, from))
                        }
                    } catch {
                        failure = error
                    }
                }
            }
        } catch {
            throw .storage(error)
        }
        if let failure { throw failure }
        return merges
    }

    func root(of id: String) -> String {
        var current = id
        while let next = parent[current], next != current { current = next }
        return current
    }

    mutating func union(_ a: String, _ b: String) {
        let rootA = root(of: a)
        let rootB = root(of: b)
        guard rootA != rootB else { return }
        // The smaller id becomes the root: any order of unions gives the same roots.
        let (child, root) = rootA < rootB ? (rootB, rootA) : (rootA, rootB)
        parent[child] = root
        joined.insert(IDHash.of(child))
    }

    /// Every id in `customer`'s group (itself included), sorted.
    func members(of customer: String) -> [String] {
        let root = root(of: customer)
        return ([customer, root] + parent.keys.filter { self.root(of: $0) == root }).uniqued().sorted()
    }

    /// The shard of `customer`'s group among `count`; `hash` is the id's (``ProjectedEvent/customerHash``). Any
    /// function of the group's root will do, as long as it is the same throughout a rebuild: the root's hash, which
    /// for an id never merged is the hash its event already carries.
    func shard(of customer: String, hash: Int, count: Int) -> Int {
        let rootHash = joined.mayContain(hash) ? IDHash.of(root(of: customer)) : hash
        return Int(UInt(bitPattern: rootHash) % UInt(count))
    }
}

extension Array where Element: Hashable {
    fileprivate func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}

extension CRMEngine {
    /// Every id joined to `customer` by `customer.merged` events, in either direction and through chains (itself
    /// included). Reads the log's record headers and decodes only the merge events.
    public func identityGroup(of customer: String) throws(CRMError) -> [String] {
        try IdentityGroups.build(engine: self, upTo: nextOffset).members(of: customer)
    }
}
