/// Customers ordered by the instant a windowed rule can next change for them (docs/segments.md, section 3): a
/// min-heap on (instant, customer id), so that customers due at the same instant are taken in id order. Four
/// children a node: a queue of a million customers is ten levels deep instead of twenty, and the four children
/// of a node lie side by side (taking the earliest entry was 3 % of a rebuild, most of it waiting on memory).
///
/// Entries can be stale (the customer's due moved since); the projection checks each one it takes against the
/// customer's own `queued` instant. The queue is not part of the canonical state: it is rebuilt from the
/// customers' due instants.
struct DueQueue: Sendable {
    struct Entry: Sendable {
        var at: Int64
        var customer: String

        static func < (lhs: Entry, rhs: Entry) -> Bool { (lhs.at, lhs.customer) < (rhs.at, rhs.customer) }
    }

    private var heap: [Entry] = []

    var count: Int { heap.count }

    init() {}

    /// The queue of every profile that has a due instant, each at its `due`: a restored state's queue.
    init(dueInstantsOf block: ValueBlock<CustomerProfile>) {
        withExtendedLifetime(block) {
            // By index: `for profile in profiles` would copy each profile (retaining each of its references).
            let profiles = block.buffer
            for index in profiles.indices where profiles[index].standing.due != .max {
                push(profiles[index].standing.due, profiles[index].id)
            }
        }
    }

    mutating func push(_ at: Int64, _ customer: String) {
        heap.append(Entry(at: at, customer: customer))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 4
            guard heap[child] < heap[parent] else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// Whether some entry is due at or before `time`.
    func hasEntry(atOrBefore time: Int64) -> Bool { heap.first.map { $0.at <= time } ?? false }

    /// Takes the earliest entry if it is due at or before `time`.
    mutating func popDue(atOrBefore time: Int64) -> Entry? {
        guard let first = heap.first, first.at <= time else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            siftDown(0)
        }
        return first
    }

    /// Adds every entry of another queue.
    mutating func absorb(_ other: DueQueue) {
        heap += other.heap
        guard heap.count > 1 else { return }
        for index in stride(from: (heap.count - 2) / 4, through: 0, by: -1) { siftDown(index) }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let first = 4 * parent + 1
            guard first < heap.count else { return }
            var smallest = first
            for child in first + 1..<min(first + 4, heap.count) where heap[child] < heap[smallest] {
                smallest = child
            }
            guard heap[smallest] < heap[parent] else { return }
            heap.swapAt(smallest, parent)
            parent = smallest
        }
    }
}
