/// The live segments a customer is in, as a set of the catalog's slots (``SegmentCatalog/liveNames``: slot `n` is
/// the `n`th live segment by name), in 16 bytes inline for up to 64 live segments.
///
/// As an array of names it took about 90 bytes per customer (a header, a string each and unused capacity), and an
/// evaluation compared names. The slots change when a segment is defined or removed: the projection then moves every
/// customer's bits to the new slots (``remapped(_:)``).
struct LiveSegments: Sendable, Equatable {
    /// Slots 0 to 63.
    private var low: UInt64 = 0
    /// Slots from 64 up, 64 to a word: empty (no allocation) unless the catalog has more live segments than that.
    private var high: [UInt64] = []

    init() {}

    var isEmpty: Bool { low == 0 && high.isEmpty }

    var count: Int { high.reduce(low.nonzeroBitCount) { $0 + $1.nonzeroBitCount } }

    func contains(_ slot: Int) -> Bool {
        guard slot >= 64 else { return slot >= 0 && low & (1 << UInt64(slot)) != 0 }
        let word = slot / 64 - 1
        return word < high.count && high[word] & (1 << UInt64(slot % 64)) != 0
    }

    mutating func insert(_ slot: Int) {
        guard slot >= 64 else {
            low |= 1 << UInt64(slot)
            return
        }
        let word = slot / 64 - 1
        if word >= high.count { high += repeatElement(0, count: word + 1 - high.count) }
        high[word] |= 1 << UInt64(slot % 64)
    }

    mutating func remove(_ slot: Int) {
        guard slot >= 64 else {
            low &= ~(1 << UInt64(slot))
            return
        }
        let word = slot / 64 - 1
        guard word < high.count else { return }
        high[word] &= ~(1 << UInt64(slot % 64))
        // No trailing empty words: equal sets compare equal.
        while high.last == 0 { high.removeLast() }
    }

    /// Calls `body` with each slot, in increasing order (the names' order).
    func forEachSlot(_ body: (Int) -> Void) {
        func visit(_ word: UInt64, from first: Int) {
            var bits = word
            while bits != 0 {
                body(first + bits.trailingZeroBitCount)
                bits &= bits - 1
            }
        }
        visit(low, from: 0)
        for (number, word) in high.enumerated() { visit(word, from: (number + 1) * 64) }
    }

    /// The set with each slot `s` moved to `moves[s]` (nil: dropped, its segment removed).
    func remapped(_ moves: [Int?]) -> LiveSegments {
        var moved = LiveSegments()
        forEachSlot { slot in
            if slot < moves.count, let target = moves[slot] { moved.insert(target) }
        }
        return moved
    }
}
