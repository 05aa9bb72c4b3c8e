import CRMProjections

/// The key store's live keys by customer id: an ``IdentifiedTable`` of ids with their keys inline.
///
/// A rebuild looks a key up for every registration it opens, on both cores. In a `Dictionary` that look-up was about
/// 5 % of a rebuild's decoding (perf of the decoding reference, twenty-ninth session): Swift's SipHash of the id, then
/// the bucket's metadata, key and value, three arrays of a table of 710,000 keys, each a miss in memory. Here the id
/// is hashed by ``IDHash``, a slot names the entry, and the entry holds the id compared and the key; a table of
/// 4 MiB or more sits on huge pages.
struct CustomerKeyTable {
    private struct Entry: Identified {
        let id: String
        var key: CustomerKey
    }

    private var entries = IdentifiedTable<Entry>()

    var count: Int { entries.count }

    subscript(customer: String) -> CustomerKey? { entries[customer]?.key }

    /// Room for `count` keys without growing the table again.
    mutating func reserveCapacity(_ count: Int) { entries.reserveCapacity(count) }

    /// Sets the key of `customer`, replacing any it had.
    mutating func set(_ key: CustomerKey, for customer: String) {
        entries.store(Entry(id: customer, key: key))
    }

    /// Removes the key of `customer`, its bytes overwritten first where the table holds them (the last entry takes
    /// its place). Returns whether there was one.
    mutating func destroyKey(of customer: String) -> Bool {
        guard let place = entries.place(of: customer) else { return false }
        entries.updateIfPresent(atPlace: place, passing: ()) { entry, _ in entry.key = .zero }
        return entries.remove(customer) != nil
    }

    /// Calls `body` with every customer and key, in no particular order.
    func visitKeys(_ body: (_ customer: String, _ key: CustomerKey) -> Void) {
        entries.withValues { stored in
            for entry in stored { body(entry.id, entry.key) }
        }
    }
}
