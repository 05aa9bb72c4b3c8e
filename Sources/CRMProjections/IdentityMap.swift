import CRMModel

/// Which ids were merged into which (docs/projections.md, section 2): `customer.merged` makes the merged id an
/// alias of the survivor; chains resolve to the last survivor.
public struct IdentityMap: Sendable, Equatable {
    /// Merged id → the id it was merged into (which may itself have been merged since).
    public private(set) var aliases: [String: String] = [:]
    /// The hashes of the ids in `aliases`, as a filter: most events name an id never merged away, and the filter
    /// says so without hashing the id again and looking it up. Derived from `aliases`, never saved.
    private var aliasedHashes = HashFilter()

    public init() {}

    public static func == (left: IdentityMap, right: IdentityMap) -> Bool { left.aliases == right.aliases }

    /// The id that stands for `id` now.
    public func resolve(_ id: String) -> String {
        var current = id
        // Merges never form a cycle (a merge into oneself is ignored), so this ends.
        while let next = aliases[current] { current = next }
        return current
    }

    /// The id that stands for `id` now, with its hash; `hash` is `id`'s (``ProjectedEvent/customerHash``).
    public func resolve(_ id: String, hash: Int) -> (id: String, hash: Int) {
        survivor(of: id, hash: hash) ?? (id, hash)
    }

    /// The id that `id` was merged into (at the end of the chain), with its hash; nil when `id` was never merged
    /// away. `hash` is `id`'s.
    func survivor(of id: String, hash: Int) -> (id: String, hash: Int)? {
        guard aliasedHashes.mayContain(hash), let next = aliases[id] else { return nil }
        let resolved = resolve(next)
        return (resolved, IDHash.of(resolved))
    }

    /// Records that `merged` now resolves to `survivor`; returns the two resolved ids, or nil when they already
    /// are one customer.
    public mutating func merge(_ merged: String, into survivor: String) -> (merged: String, survivor: String)? {
        let from = resolve(merged)
        let into = resolve(survivor)
        guard from != into else { return nil }
        aliases[from] = into
        aliasedHashes.insert(IDHash.of(from))
        return (from, into)
    }

    /// Every id that resolves to the same customer as `id` (`id` and its survivor included), sorted: the ids whose
    /// events make up that customer's profile.
    public func group(of id: String) -> [String] {
        let root = resolve(id)
        var members = Set([id, root])
        for alias in aliases.keys where resolve(alias) == root { members.insert(alias) }
        return members.sorted()
    }

    func serialize(into writer: inout BinaryWriter) {
        writer.map(aliases) { $0.string($1) }
    }

    init(deserializing reader: inout BinaryReader) throws(EventDecodingError) {
        aliases = try reader.map { reader throws(EventDecodingError) in try reader.string() }
        aliasedHashes = HashFilter(aliases.keys)
    }

    /// Adds another shard's aliases (shards hold disjoint identity groups).
    mutating func absorb(_ other: IdentityMap) {
        aliases.merge(other.aliases) { mine, _ in mine }
        aliasedHashes.formUnion(other.aliasedHashes)
    }
}
