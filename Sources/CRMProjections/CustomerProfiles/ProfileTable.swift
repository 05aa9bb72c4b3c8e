/// The customer profiles by id: the profiles side by side in one array, and a dictionary from id to place.
///
/// A dictionary of profiles keeps a third of its buckets empty, each as large as a profile (360 bytes), and moves
/// every profile when it grows; here the empty buckets hold a 4-byte place, and growing the array moves profiles
/// only once per doubling. Places change when a profile is removed (a merge): the last one moves into the hole.
public struct ProfileTable: Sendable {
    /// The place of each profile in `values`.
    private(set) var places: [String: Int32] = [:]
    /// Every profile, in no particular order. Mutable in place by the projection; never appended to or removed
    /// from but through the table, which would leave `places` wrong.
    public internal(set) var values: [CustomerProfile] = []

    public init() {}

    /// Profiles in the order given; `ids` must be distinct (false otherwise).
    init?(_ profiles: [CustomerProfile]) {
        places.reserveCapacity(profiles.count)
        values = profiles
        // By index: `for profile in profiles` would copy each profile (retaining each of its references).
        for place in values.indices {
            guard places.updateValue(Int32(place), forKey: values[place].id) == nil else { return nil }
        }
    }

    public var count: Int { values.count }
    public var isEmpty: Bool { values.isEmpty }
    /// The ids, in no particular order.
    public var ids: Dictionary<String, Int32>.Keys { places.keys }

    public func contains(_ id: String) -> Bool { places[id] != nil }

    public subscript(id: String) -> CustomerProfile? {
        places[id].map { values[Int($0)] }
    }

    /// The profile of `id`, made by `make` first when there is none.
    subscript(id: String, default make: @autoclosure () -> CustomerProfile) -> CustomerProfile {
        get { self[id] ?? make() }
        _modify {
            let place: Int
            if let known = places[id] {
                place = Int(known)
            } else {
                place = values.count
                values.append(make())
                places[id] = Int32(place)
            }
            yield &values[place]
        }
    }

    /// Adds `profile` or replaces the one with its id.
    mutating func store(_ profile: CustomerProfile) {
        self[profile.id, default: profile] = profile
    }

    /// Removes and returns the profile of `id`.
    mutating func remove(_ id: String) -> CustomerProfile? {
        guard let place = places.removeValue(forKey: id).map(Int.init) else { return nil }
        let last = values.count - 1
        if place != last {
            values.swapAt(place, last)
            places[values[place].id] = Int32(place)
        }
        return values.removeLast()
    }

    /// Adds the profiles of `other` whose ids this table does not hold.
    mutating func absorb(_ other: ProfileTable) {
        places.reserveCapacity(count + other.count)
        values.reserveCapacity(count + other.count)
        for profile in other.values where places[profile.id] == nil {
            places[profile.id] = Int32(values.count)
            values.append(profile)
        }
    }
}
