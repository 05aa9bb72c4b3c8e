public import CRMModel
import OrderedCollections

/// What the questions about every customer's segments (members, sizes, the list) read: the catalog and each
/// customer's live segments and membership changes. The customer projection's state is one; ``SegmentMemberships``
/// (those parts alone, read out of a snapshot) is another.
public protocol SegmentMembershipSource: Sendable {
    var segments: SegmentCatalog { get }
    /// Calls `body` with each customer's id, live segments (sorted) and changes (in the order they were made),
    /// customers in no particular order.
    func forEachCustomer(_ body: (_ id: String, _ segments: [String], _ changes: MembershipHistory) -> Void)
}

extension CustomerProfiles.State: SegmentMembershipSource {
    public func forEachCustomer(_ body: (_ id: String, _ segments: [String], _ changes: MembershipHistory) -> Void) {
        // By index, in place: copying each profile out of the table cost more than a query.
        profiles.withValues { values in
            for index in values.indices {
                body(values[index].id, values[index].standing.segments(in: segments), values[index].standing.changes)
            }
        }
    }
}

/// Questions about segments (docs/segments.md, section 4), answered from the customer projection's state.
///
/// `asOf` filters the recorded changes: a change is recorded at the clock when it was decided, and the clock has
/// passed a time only once every event before it in the log was applied, so the changes at or before `T` are
/// exactly those a state rebuilt as of `T` holds (docs/segments.md, section 4; tested).
extension CustomerProfiles.State {
    /// One change, as queries show it.
    public struct SegmentChange: Sendable, Equatable {
        public var customer: String
        public var segment: String
        public var entered: Bool
        public var at: EventTime
        public var reason: String
    }

    /// One segment as `crm segment list` shows it.
    public struct SegmentSummary: Sendable {
        public var name: String
        public var definition: JSONObject
        public var description: String?
        public var definedAt: EventTime
        public var members: Int
    }

    /// The changes of `customer` and of the ids merged into the customer it resolves to (up to `asOf`), oldest
    /// first.
    public func segmentHistory(of customer: String, asOf time: EventTime? = nil) -> [SegmentChange] {
        guard let profile = profile(of: customer) else { return [] }
        return profile.standing.changes.enumerated()
            .filter { time == nil || $0.element.at <= time! }
            .sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }
            .map { describe($0.element, of: profile.id) }
    }

    /// The live segments `customer` is in (at `asOf`, or now), sorted. A merged id is in none after its merge.
    public func segments(of customer: String, asOf time: EventTime? = nil) -> [String] {
        let id = identities.resolve(customer)
        guard let profile = profiles[id] else { return [] }
        guard let time else { return id == customer ? profile.standing.segments(in: segments) : [] }
        var latest = [String: Bool]()
        for change in profile.standing.changes where change.at <= time && (change.subject ?? id) == customer {
            latest[segments.generations[change.generation].name] = change.entered
        }
        return latest.filter(\.value).keys.sorted()
    }

    /// The customer's RFM group at the latest monthly rescoring.
    public func rfmGroup(of customer: String) -> String? { profile(of: customer)?.standing.rfmGroupName }

    private func describe(_ change: MembershipChange, of profileID: String) -> SegmentChange {
        SegmentChange(
            customer: change.subject ?? profileID,
            segment: segments.generations[change.generation].name,
            entered: change.entered,
            at: change.at,
            reason: change.reason(in: segments)
        )
    }
}

/// Questions about every customer's segments (docs/segments.md, section 4).
///
/// `asOf` filters the recorded changes, as above.
extension SegmentMembershipSource {
    /// The live segments (at `asOf`, or now), by name, with their sizes.
    public func segmentSummaries(asOf time: EventTime? = nil) -> [CustomerProfiles.State.SegmentSummary] {
        let catalog = segments
        let names = segmentNames()
        var counts = [Int](repeating: 0, count: names.names.count)
        forEachMembership(asOf: time, names: names) { _, name in counts[name] += 1 }
        var sizes = [String: Int]()
        for (name, count) in zip(names.names, counts) { sizes[name] = count }
        // The latest generation of each name that was live at the time.
        var live = [String: Int]()
        for (number, generation) in catalog.generations.enumerated() {
            if let time {
                guard generation.definedAt <= time, generation.endedAt.map({ $0 > time }) ?? true else { continue }
            } else {
                guard catalog.live[generation.name] == number else { continue }
            }
            live[generation.name] = number
        }
        return live.keys.sorted().map { name in
            let generation = catalog.generations[live[name]!]
            return CustomerProfiles.State.SegmentSummary(
                name: name,
                definition: generation.definition,
                description: generation.description,
                definedAt: generation.definedAt,
                members: sizes[name] ?? 0
            )
        }
    }

    /// The members of `segment` (at `asOf`, or now), sorted. Ids merged away are not members after their merge.
    public func members(of segment: String, asOf time: EventTime? = nil) -> [String] {
        var members = [String]()
        forEachMembership(asOf: time, only: segment, names: segmentNames()) { customer, _ in members.append(customer) }
        return members.sorted()
    }

    /// The size of `segment` after each change (`perDay`: at the end of each day with a change), up to `asOf`.
    public func sizes(
        of segment: String,
        asOf time: EventTime? = nil,
        perDay: Bool = true
    ) -> [(at: EventTime, size: Int)] {
        let generations = generations(named: segment)
        // By generation number: asking a set for each change hashed the number.
        var counted = [Bool](repeating: false, count: segments.generations.count)
        for generation in generations { counted[generation] = true }
        var deltas = [(at: Int64, delta: Int)]()
        forEachCustomer { _, _, changes in
            for change in changes where counted[change.generation] && (time == nil || change.at <= time!) {
                deltas.append((change.at.microseconds, change.entered ? 1 : -1))
            }
        }
        deltas.sort { $0.at < $1.at }
        let day: Int64 = 86_400_000_000
        var sizes = [(at: EventTime, size: Int)]()
        var size = 0
        for (number, change) in deltas.enumerated() {
            size += change.delta
            let bucket = perDay ? Self.floor(change.at, to: day) : change.at
            let nextBucket =
                number + 1 < deltas.count
                ? (perDay ? Self.floor(deltas[number + 1].at, to: day) : deltas[number + 1].at) : nil
            // One row per instant (or day): the size after every change in it.
            if nextBucket != bucket {
                sizes.append((EventTime(microseconds: perDay ? bucket + day - 1 : bucket), size))
            }
        }
        return sizes
    }

    private static func floor(_ value: Int64, to unit: Int64) -> Int64 {
        value >= 0 ? value / unit * unit : (value - unit + 1) / unit * unit
    }

    /// The names of the catalog's segments (every generation's, sorted), and each generation's place among them.
    private func segmentNames() -> (names: [String], ofGeneration: [Int]) {
        let names = Set(segments.generations.map(\.name)).sorted()
        var place = [String: Int]()
        for (number, name) in names.enumerated() { place[name] = number }
        return (names, segments.generations.map { place[$0.name]! })
    }

    /// Calls `body(customer, segment)` for each membership held at `time` (or now), only of `segment` when given;
    /// the segment is given by its place in `names.names`.
    private func forEachMembership(
        asOf time: EventTime?,
        only segment: String? = nil,
        names: (names: [String], ofGeneration: [Int]),
        _ body: (String, Int) -> Void
    ) {
        var wanted: Int?
        if let segment {
            // A segment never defined has no members.
            guard let number = names.names.firstIndex(of: segment) else { return }
            wanted = number
        }
        // The latest change at or before `time` of each (id, segment) decides: a few per customer, so a list
        // searched in order, reused from customer to customer (a dictionary of dictionaries per customer was most
        // of a query).
        var latest = [(subject: String?, name: Int, entered: Bool)]()
        var place = [String: Int]()
        if time == nil { for (number, name) in names.names.enumerated() { place[name] = number } }
        forEachCustomer { id, live, changes in
            guard let time else {
                for name in live where segment == nil || name == segment { body(id, place[name]!) }
                return
            }
            latest.removeAll(keepingCapacity: true)
            for change in changes where change.at <= time {
                let name = names.ofGeneration[change.generation]
                if let wanted, name != wanted { continue }
                let subject = change.subject
                if let known = latest.firstIndex(where: { $0.name == name && $0.subject == subject }) {
                    latest[known].entered = change.entered
                } else {
                    latest.append((subject, name, change.entered))
                }
            }
            for entry in latest where entry.entered { body(entry.subject ?? id, entry.name) }
        }
    }

    /// The generations (definitions over time) of the segment `name`.
    private func generations(named name: String) -> Set<Int> {
        Set(segments.generations.indices.filter { segments.generations[$0].name == name })
    }
}
