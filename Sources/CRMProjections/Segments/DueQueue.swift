/// Customers ordered by the instant a windowed rule can next change for them (docs/segments.md, section 3), taken
/// in (instant, place) order.
///
/// A customer is named by its place in the profile table (``IdentifiedTable``), not by its id: the profile is read
/// there without hashing the id and probing the table's slots (a fifth of a live catch-up's time-window
/// re-evaluations was that look-up, which missed the cache twice), and an entry takes 16 bytes instead of 24. A
/// merge moves profiles to other places; the projection queues each moved profile again at its new place, and an
/// entry left at the old place is taken as stale. Which of the customers due at one instant goes first changes
/// nothing: a re-evaluation changes its own customer only.
///
/// A calendar queue: entries wait unordered in a bucket per day of event time, and only the earliest bucket, once
/// the clock reaches it, is ordered: sorted once, then taken from its end. Due instants lie weeks to a year ahead (a
/// fact leaving a window), so that bucket holds about a day's entries and stays in the cache, where one heap of every
/// customer took a few cache misses for each level of a million entries on every push and every pop (a twentieth of
/// a live catch-up's folding thread). An entry pushed into a bucket already taken (rare: due the same day) goes to a
/// small heap beside it. Sorting a taken bucket instead of ordering it in a heap: each pop of the heap sifted down
/// about seven levels of four children, 2.7 % of a live catch-up's folding core (perf, thirty-second session).
///
/// Entries can be stale (the customer's due moved since, or another customer holds the place now); the projection
/// checks each one it takes against the `queued` instant of the profile at the place. The queue is not part of the
/// canonical state: it is rebuilt from the customers' queued instants.
struct DueQueue: Sendable {
    struct Entry: Sendable {
        var at: Int64
        /// The customer's place in the profile table.
        var place: UInt32

        static func < (lhs: Entry, rhs: Entry) -> Bool { (lhs.at, lhs.place) < (rhs.at, rhs.place) }
    }

    /// A day of event time, in microseconds.
    static let day: Int64 = 86_400_000_000

    /// The span of event time a bucket covers.
    private let bucketWidth: Int64
    /// The entries of the bucket taken last, latest first: the next one to take is the last.
    private var taken: [Entry] = []
    /// The entries pushed into buckets up to `takenBucket` after it was taken, in a heap.
    private var late = EntryHeap()
    /// The last bucket taken (`Int64.min`: none yet). Every entry of a later bucket is in `waiting`; every entry of
    /// it or an earlier one is in `taken` or `late`.
    private var takenBucket = Int64.min
    /// The entries of each later bucket, unordered.
    private var waiting: [Int64: [Entry]] = [:]
    /// The buckets of `waiting`, latest first: the next one to take is the last.
    private var waitingBuckets: [Int64] = []

    var count: Int { taken.count + late.entries.count + waiting.values.reduce(0) { $0 + $1.count } }

    /// `bucketWidth`: the span of event time in a bucket (a day; smaller in tests, so that they cross buckets).
    init(bucketWidth: Int64 = Self.day) {
        precondition(bucketWidth > 0)
        self.bucketWidth = bucketWidth
    }

    /// The queue of every profile of `profiles` (a table's values, in their places) that is queued: a restored
    /// state's queue, or one whose places changed.
    init(queuedInstantsOf profiles: UnsafeBufferPointer<CustomerProfile>) {
        self.init()
        for place in profiles.indices where profiles[place].standing.queued != .max {
            push(profiles[place].standing.queued, place: place)
        }
    }

    mutating func push(_ at: Int64, place: Int) {
        let entry = Entry(at: at, place: UInt32(place))
        add(CollectionOfOne(entry), inBucket: bucket(of: at))
    }

    /// Whether some entry is due at or before `time`.
    mutating func hasEntry(atOrBefore time: Int64) -> Bool {
        takeBuckets(through: time)
        return upcoming.map { $0.at <= time } ?? false
    }

    /// The earliest entry of the buckets the clock has reached (nil when none is ordered yet), without taking it:
    /// the customer a window changes next, to read ahead for.
    var upcoming: Entry? { takenGoesFirst ? taken.last : late.first }

    /// Takes the earliest entry if it is due at or before `time`.
    mutating func popDue(atOrBefore time: Int64) -> Entry? {
        guard hasEntry(atOrBefore: time) else { return nil }
        return takenGoesFirst ? taken.removeLast() : late.removeFirst()
    }

    /// Whether the queue's first entry is the taken bucket's last rather than the late heap's first (false when
    /// both are empty).
    private var takenGoesFirst: Bool {
        guard let next = taken.last else { return false }
        return late.first.map { !($0 < next) } ?? true
    }

    /// Adds every entry of another queue, whose places are those of a table whose values now follow the first
    /// `offset` (a shard's profiles appended to another's).
    mutating func absorb(_ other: DueQueue, placesAfter offset: Int) {
        func moved(_ entry: Entry) -> Entry { Entry(at: entry.at, place: entry.place + UInt32(offset)) }
        for entry in other.taken + other.late.entries {
            add(CollectionOfOne(moved(entry)), inBucket: bucket(of: entry.at))
        }
        for (bucket, entries) in other.waiting { add(entries.lazy.map(moved), inBucket: bucket) }
    }

    /// Every entry, in no particular order (for tests).
    var entries: [Entry] { taken + late.entries + waiting.values.joined() }

    /// Adds `entries`, all of `bucket`: into the heap of late ones when that bucket was taken already, else to the
    /// bucket.
    private mutating func add(_ entries: some Collection<Entry>, inBucket bucket: Int64) {
        if bucket <= takenBucket {
            for entry in entries { late.push(entry) }
        } else if let index = waiting.index(forKey: bucket) {
            waiting.values[index].append(contentsOf: entries)
        } else {
            waiting[bucket] = Array(entries)
            insertWaitingBucket(bucket)
        }
    }

    /// Takes the earliest waiting bucket, sorted latest first, when every taken entry is gone and `time` has reached
    /// that bucket. Taken entries are all earlier than any waiting one, so the earlier of the last taken and the
    /// first late one is the queue's first whenever there is one.
    private mutating func takeBuckets(through time: Int64) {
        while taken.isEmpty, late.isEmpty, let next = waitingBuckets.last, next <= bucket(of: time) {
            waitingBuckets.removeLast()
            taken = waiting.removeValue(forKey: next)!
            taken.sort { $1 < $0 }
            takenBucket = next
        }
    }

    private mutating func insertWaitingBucket(_ bucket: Int64) {
        // Latest first; a new bucket is usually later than every other one, so the search is short.
        var index = 0
        while index < waitingBuckets.count, waitingBuckets[index] > bucket { index += 1 }
        waitingBuckets.insert(bucket, at: index)
    }

    /// The bucket of an instant: floored, so that instants before 1970 fall into earlier buckets too.
    private func bucket(of at: Int64) -> Int64 {
        let (quotient, remainder) = at.quotientAndRemainder(dividingBy: bucketWidth)
        return remainder < 0 ? quotient - 1 : quotient
    }
}

/// A min-heap of due entries, four children a node: the four children of a node lie side by side.
private struct EntryHeap: Sendable {
    private(set) var entries: [DueQueue.Entry] = []

    var isEmpty: Bool { entries.isEmpty }
    var first: DueQueue.Entry? { entries.first }

    mutating func push(_ entry: DueQueue.Entry) {
        entries.append(entry)
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 4
            guard entries[child] < entries[parent] else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    mutating func removeFirst() -> DueQueue.Entry {
        let last = entries.removeLast()
        guard !entries.isEmpty else { return last }
        let first = entries[0]
        entries[0] = last
        siftDown(0)
        return first
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let first = 4 * parent + 1
            guard first < entries.count else { return }
            var smallest = first
            for child in first + 1..<min(first + 4, entries.count) where entries[child] < entries[smallest] {
                smallest = child
            }
            guard entries[smallest] < entries[parent] else { return }
            entries.swapAt(smallest, parent)
            parent = smallest
        }
    }
}
