import OrderedCollections

/// The customer profiles by id: the profiles side by side in one array, found through a hash table of places.
///
/// A `Dictionary` of profiles keeps a quarter to a half of its buckets empty, each as large as a profile, and
/// moves every profile when it grows; a `[String: Int32]` of places beside an array still spends 20 bytes a bucket
/// (42 bytes a customer at a million). `OrderedDictionary` keeps the ids and the profiles in two arrays and its
/// hash table stores only places, in as few bits as the count needs (21 at a million): about 22 bytes a customer.
/// Places change when a profile is removed (a merge): the last one moves into the hole.
public struct ProfileTable: Sendable {
    private var byID: OrderedDictionary<String, CustomerProfile> = [:]

    public init() {}

    /// Profiles in the order given; `ids` must be distinct (nil otherwise).
    init?(_ profiles: [CustomerProfile]) {
        // A snapshot lists profiles sorted by id: then the ids are distinct when each is above the one before, and
        // the table takes the array's storage as its values instead of copying 184 bytes and a retain of each
        // reference per profile, with both copies resident at once.
        // The ids read through a pointer to each profile: a lazy map over the array copied every profile to take
        // its id (a retain and a release of each of its references), a sixth of a restore.
        let ids = profiles.withUnsafeBufferPointer { stored in stored.indices.map { stored[$0].id } }
        if zip(ids, ids.dropFirst()).allSatisfy({ $0 < $1 }) {
            byID = OrderedDictionary(uncheckedUniqueKeys: ids, values: profiles)
            return
        }
        byID.reserveCapacity(profiles.count)
        // By index: `for profile in profiles` would copy each profile (retaining each of its references).
        for place in profiles.indices {
            guard byID.updateValue(profiles[place], forKey: profiles[place].id) == nil else { return nil }
        }
    }

    public var count: Int { byID.count }
    public var isEmpty: Bool { byID.isEmpty }
    /// The ids, in the order of `all`.
    public var ids: some RandomAccessCollection<String> { byID.keys }
    /// Every profile, in no particular order.
    public var all: some RandomAccessCollection<CustomerProfile> { byID.values }

    /// Every profile, in the order of `ids`. Mutable in place by the projection, which must not change an id.
    var values: OrderedDictionary<String, CustomerProfile>.Values {
        get { byID.values }
        _modify { yield &byID.values }
    }

    /// Each id with the place of its profile in `values`.
    var places: [(key: String, value: Int32)] {
        byID.keys.enumerated().map { (key: $0.element, value: Int32($0.offset)) }
    }

    public func contains(_ id: String) -> Bool { byID.keys.contains(id) }

    public subscript(id: String) -> CustomerProfile? { byID[id] }

    /// Runs `body` on the profile of `id` where it lies, made by `make` first when there is none, and passes
    /// `context` through. The defaulted subscript's `_modify` moves the profile out and copies it back (a
    /// retain and a release of each of its references on every event); this borrows the array's element.
    mutating func update<Context, Result>(
        _ id: String,
        default make: @autoclosure () -> CustomerProfile,
        passing context: Context,
        _ body: (inout CustomerProfile, Context) -> Result
    ) -> Result {
        byID.updateValue(forKey: id, default: make()) { body(&$0, context) }
    }

    /// Adds `profile` or replaces the one with its id.
    mutating func store(_ profile: CustomerProfile) {
        byID[profile.id] = profile
    }

    /// Removes and returns the profile of `id`.
    mutating func remove(_ id: String) -> CustomerProfile? {
        guard let place = byID.index(forKey: id) else { return nil }
        // Removing from the middle would shift every later profile: the last one takes the hole instead.
        byID.swapAt(place, byID.count - 1)
        return byID.removeLast().value
    }

    /// Adds the profiles of `other` whose ids this table does not hold.
    mutating func absorb(_ other: ProfileTable) {
        byID.reserveCapacity(count + other.count)
        for place in other.byID.values.indices where !byID.keys.contains(other.byID.keys[place]) {
            byID[other.byID.keys[place]] = other.byID.values[place]
        }
    }
}
