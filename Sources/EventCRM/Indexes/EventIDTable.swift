/// An open-addressing hash table (linear probing) from event id hashes to offsets.
///
/// The keys are already SHA-256 bits, so they index the table directly: no per-process seeded hashing as with a
/// `Dictionary`, which made duplicate checks a large part of an ingest.
struct EventIDTable {
    /// `low` words; 0 marks an empty slot (a `low` of 0 is stored as 1: 2^-64 of ids share a slot key with
    /// another, and `high` still tells them apart).
    private var lows: [UInt64]
    /// `high << 40 | offset` per slot.
    private var values: [UInt64]
    private var mask: Int
    private(set) var count = 0

    init(capacity: Int = 1024) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        lows = [UInt64](repeating: 0, count: size)
        values = [UInt64](repeating: 0, count: size)
        mask = size - 1
    }

    private static func key(_ hash: EventIDHash) -> UInt64 { hash.runKey }

    /// The slot holding `hash`, or the empty slot where it would go.
    private func slot(of hash: EventIDHash) -> (index: Int, found: Bool) {
        let key = Self.key(hash)
        var index = Int(truncatingIfNeeded: key) & mask
        while true {
            let stored = lows[index]
            if stored == 0 { return (index, false) }
            if stored == key && values[index] >> 40 == hash.high { return (index, true) }
            index = (index + 1) & mask
        }
    }

    func contains(_ hash: EventIDHash) -> Bool { slot(of: hash).found }

    /// Adds `hash` at `offset`; when present, keeps the smaller offset.
    mutating func insert(_ hash: EventIDHash, offset: Int64) {
        if (count + 1) * 2 > lows.count { grow() }
        let (index, found) = slot(of: hash)
        let value = hash.high << 40 | UInt64(offset)
        if found {
            if value < values[index] { values[index] = value }
            return
        }
        lows[index] = Self.key(hash)
        values[index] = value
        count += 1
    }

    /// Removes `hash` when present, shifting later entries of its probe run back so lookups still find them.
    mutating func remove(_ hash: EventIDHash) {
        var (hole, found) = slot(of: hash)
        guard found else { return }
        var next = hole
        while true {
            next = (next + 1) & mask
            let stored = lows[next]
            if stored == 0 { break }
            let home = Int(truncatingIfNeeded: stored) & mask
            // Move the entry at `next` into the hole unless its home lies cyclically in (hole, next].
            let stays = hole <= next ? (hole < home && home <= next) : (hole < home || home <= next)
            if stays { continue }
            lows[hole] = stored
            values[hole] = values[next]
            hole = next
        }
        lows[hole] = 0
        values[hole] = 0
        count -= 1
    }

    /// Every entry, as the run entry it becomes, and its offset.
    func forEachEntry(_ body: (RunEntry, Int64) -> Void) {
        for index in lows.indices where lows[index] != 0 {
            body(RunEntry(key: lows[index], value: values[index]), Int64(values[index] & 0xFF_FFFF_FFFF))
        }
    }

    private mutating func grow() {
        var larger = EventIDTable(capacity: lows.count)
        for index in lows.indices where lows[index] != 0 {
            larger.insert(
                EventIDHash(low: lows[index], high: values[index] >> 40),
                offset: Int64(values[index] & 0xFF_FFFF_FFFF)
            )
        }
        self = larger
    }
}
