/// A value that carries the id it is found by in an ``IdentifiedTable``: a customer's profile, a journey, an order.
public protocol Identified: Sendable {
    var id: String { get }
}

/// Values by their id: the values side by side in one array, found through a hash table of places. What the
/// projections keep per customer (profiles, journeys) and per order.
///
/// A `Dictionary` keeps a quarter to a half of its buckets empty, each as large as a value, and moves every value
/// when it grows (growing the shop's orders was a twentieth of a rebuild of every projection, and so was joining
/// two shards' orders). An `OrderedDictionary` keeps the ids in an array of their own beside the values (16 bytes
/// an entry), and comparing the id an event names with the one in that array missed the cache on most events of a
/// rebuild (a tenth of it): a second miss, since the value itself is read next anyway. This table's slots hold a
/// value's place and 32 bits of its id's hash, and the id compared is the value's own. Places change when a value
/// is removed (a merge): the last one moves into the hole.
public struct IdentifiedTable<Element: Identified>: Sendable {
    /// The values, in the order they were added (a removed one's place taken by the last), in one block that grows
    /// without moving them (``ValueBlock``).
    @usableFromInline private(set) var block = ValueBlock<Element>()
    /// Open addressing with linear probing, a power of two long (or empty): 0 is an empty slot; otherwise the high
    /// 32 bits are those of the id's hash (``hashBits(_:)``) and the low 32 the value's place plus one. A slot's
    /// first choice is its hash bits masked to the table's length.
    @usableFromInline private(set) var slots: [UInt64] = []

    public init() {}

    /// The values of `block` in their order; their ids must be distinct (nil otherwise). The block is taken as it
    /// is (copying it would copy each value and retain each of its references, with both copies resident at once).
    init?(_ block: ValueBlock<Element>) {
        self.block = block
        slots = Self.emptySlots(count: Self.slotCount(for: block.count))
        let stored = UnsafeBufferPointer(block.buffer)
        let unique = stored.indices.allSatisfy { place in
            // Through the pointer: a subscript that returns the value would copy it to read its id.
            let id = stored[place].id
            let bits = Self.hashBits(id)
            guard case .absent(let slot) = find(id, bits: bits, in: stored) else { return false }
            slots[slot] = Self.slot(bits: bits, place: place)
            return true
        }
        if !unique { return nil }
    }

    /// Copies of `elements` in the order given; their ids must be distinct (nil otherwise).
    init?(_ elements: [Element]) {
        self.init(ValueBlock(copying: elements))
    }

    /// The values of `block` in their order, or the error `repeated` makes of the first id they hold twice (a state
    /// read back).
    init<Failure: Error>(_ block: ValueBlock<Element>, repeated: (_ id: String) -> Failure) throws(Failure) {
        guard let table = Self(block) else {
            // Looked for only once the table is refused: the search is a second pass over every id.
            var seen = Set<String>()
            throw repeated(block.buffer.first { !seen.insert($0.id).inserted }?.id ?? "")
        }
        self = table
    }

    public var count: Int { block.count }
    public var isEmpty: Bool { block.count == 0 }
    /// The ids, in the order of `all`.
    public var ids: [String] { withValues { stored in stored.indices.map { stored[$0].id } } }
    /// Every value, in no particular order.
    public var all: [Element] { withValues { Array($0) } }

    /// The value at `place` (`0..<count`, the order of `ids`), borrowed where it lies.
    subscript(place place: Int) -> Element {
        _read {
            precondition(place >= 0 && place < block.count, "a place in the table")
            yield block.base![place]
        }
    }

    /// Calls `body` with the values where they lie, in the order of `ids`, to read them without copying each one
    /// (iterating the table copies each value it hands out, retaining every reference the value holds). The
    /// buffer is valid only inside `body`.
    @inlinable public func withValues<Result, Failure: Error>(
        _ body: (UnsafeBufferPointer<Element>) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try withExtendedLifetime(block) { () throws(Failure) -> Result in try body(UnsafeBufferPointer(block.buffer)) }
    }

    /// Calls `body` with the values where they lie, in the order of `ids`, to change them in place; it must not
    /// change an id.
    mutating func withMutableValues<Result>(_ body: (UnsafeMutableBufferPointer<Element>) -> Result) -> Result {
        makeBlockUnique()
        return withExtendedLifetime(block) { body(block.buffer) }
    }

    /// Each id with the place of its value.
    var places: [(key: String, value: Int32)] {
        withValues { stored in stored.indices.map { (key: stored[$0].id, value: Int32($0)) } }
    }

    @inlinable public func contains(_ id: String) -> Bool { place(of: id) != nil }

    @inlinable public subscript(id: String) -> Element? { place(of: id).map { block.base![$0] } }

    /// Runs `body` on the value of `id` where it lies, made by `make` first when there is none, and passes
    /// `context` through; returns `body`'s result and the value's place (valid until a value is removed). Borrowing
    /// the array's element: moving the value out and back would retain and release each of its references on every
    /// event. `hash` is `IDHash.of(id)`, which the caller may have worked out elsewhere
    /// (``ProjectedEvent/customerHash``).
    @discardableResult
    mutating func update<Context, Result>(
        _ id: String,
        hash: Int? = nil,
        default make: @autoclosure () -> Element,
        passing context: Context,
        _ body: (inout Element, Context) -> Result
    ) -> (result: Result, place: Int) {
        makeBlockUnique()
        let place = placeAdding(id, bits: Self.hashBits(hash ?? IDHash.of(id)), make).place
        return (body(&block.base![place], context), place)
    }

    /// ``update(_:hash:default:passing:_:)`` for the customer an event names, whose id may have been merged away:
    /// the value of `id` itself when the table holds one, otherwise that of the id `identities` resolves it to, made
    /// by `make` (given that id) when there is none. A table of per-customer values never holds one under an id
    /// merged away (the merge moves it to the survivor in the same event), so a value found under `id` is its
    /// customer's, and only the events of new or merged ids ask `identities`. Asking first, on every event, read a
    /// word of the merged-id filter that was no longer in the cache: perf of a rebuild of every projection, where
    /// three projections each asked, put 5 % of the fold's samples on that one load. (Not forced inline: inlined
    /// into the profiles' fold, it made the fold copy the segment catalogue it passes as `context` for every event.)
    @discardableResult
    mutating func update<Context, Result>(
        customer id: String,
        hash: Int,
        identities: borrowing IdentityMap,
        default make: (_ id: String) -> Element,
        passing context: Context,
        applying body: (inout Element, Context) -> Result
    ) -> (result: Result, place: Int) {
        makeBlockUnique()
        let bits = Self.hashBits(hash)
        let place: Int
        switch findMakingRoom(id, bits: bits) {
        case .found(_, let found):
            place = found
        case .absent(let slot):
            if let (survivor, survivorHash) = identities.survivor(of: id, hash: hash) {
                place = placeAdding(survivor, bits: Self.hashBits(survivorHash)) { make(survivor) }.place
            } else {
                place = append(make(id), inEmptySlot: slot, bits: bits)
            }
        }
        return (body(&block.base![place], context), place)
    }

    /// ``update(_:hash:default:passing:_:)`` without a context.
    mutating func update<Result>(
        _ id: String,
        hash: Int? = nil,
        default make: @autoclosure () -> Element,
        _ body: (inout Element) -> Result
    ) -> Result {
        update(id, hash: hash, default: make(), passing: ()) { element, _ in body(&element) }.result
    }

    /// Runs `body` on the value at `place` where it lies, passing `context` through, if the table has one there.
    package mutating func updateIfPresent<Context, Result>(
        atPlace place: Int,
        passing context: Context,
        _ body: (inout Element, Context) -> Result
    ) -> Result? {
        guard place < block.count else { return nil }
        makeBlockUnique()
        return body(&block.base![place], context)
    }

    /// Adds `value` or replaces the one with its id; returns its place.
    @discardableResult
    package mutating func store(_ value: Element) -> Int {
        makeBlockUnique()
        let (place, added) = placeAdding(value.id, bits: Self.hashBits(value.id)) { value }
        if !added { block.base![place] = value }
        return place
    }

    /// Room for `count` values without growing the values' block or the slots again.
    package mutating func reserveCapacity(_ count: Int) {
        makeBlockUnique()
        block.reserveCapacity(count)
        resizeSlots(forCount: count)
    }

    /// Removes and returns the value of `id`.
    package mutating func remove(_ id: String) -> Element? {
        removeValue(of: id)?.value
    }

    /// Removes and returns the value of `id`, and the place it had, which the last value took (nil when it was the
    /// last).
    mutating func removeValue(of id: String) -> (value: Element, movedInto: Int?)? {
        // A table never stored into has no slot to search (a shard's journeys before its first touch, when its first
        // event is a merge).
        guard !slots.isEmpty else { return nil }
        let bits = Self.hashBits(id)
        guard case .found(let slot, let place) = withValues({ find(id, bits: bits, in: $0) }) else { return nil }
        makeBlockUnique()
        emptySlot(slot)
        let last = block.count - 1
        if place != last {
            // Removing from the middle would shift every later value: the last one takes the hole, and its slot
            // its new place.
            let moved = withValues { stored in
                let id = stored[last].id
                return find(id, bits: Self.hashBits(id), in: stored)
            }
            guard case .found(let movedSlot, _) = moved else { preconditionFailure("every value has a slot") }
            slots[movedSlot] = Self.slot(bits: UInt32(truncatingIfNeeded: slots[movedSlot] >> 32), place: place)
            block.buffer.swapAt(place, last)
        }
        return (block.removeLast(), place != last ? place : nil)
    }

    /// Adds the values of `other` whose ids this table does not hold.
    mutating func absorb(_ other: IdentifiedTable) {
        var copy = other
        absorb(taking: &copy)
    }

    /// Adds the values of `other` whose ids this table does not hold, in `other`'s order, and leaves `other` empty.
    /// When no other table shares `other`'s block (a rebuild's shard, joined), its values are moved, not copied: no
    /// reference they hold is retained here and released with `other`. Their ids are not hashed again: `other`'s
    /// slots keep their hash bits. Returns whether every value of `other` was added (each one then follows the
    /// values this table held, in `other`'s order, so its place is its place in `other` plus this table's count).
    @discardableResult
    mutating func absorb(taking other: inout IdentifiedTable) -> Bool {
        defer { other = IdentifiedTable() }
        guard !other.isEmpty else { return true }
        var addedEvery = true
        makeBlockUnique()
        block.reserveCapacity(count + other.count)
        resizeSlots(forCount: count + other.count)
        var bitsByPlace = [UInt32](repeating: 0, count: other.count)
        for slot in other.slots where slot != 0 {
            bitsByPlace[Int(truncatingIfNeeded: slot & 0xFFFF_FFFF) - 1] = UInt32(truncatingIfNeeded: slot >> 32)
        }
        let moving = isKnownUniquelyReferenced(&other.block)
        let theirs = other.block.buffer
        for place in theirs.indices {
            let bits = bitsByPlace[place]
            switch withValues({ find(theirs[place].id, bits: bits, in: $0) }) {
            case .found:
                // A held id keeps its value.
                addedEvery = false
                if moving { (theirs.baseAddress! + place).deinitialize(count: 1) }
            case .absent(let slot):
                slots[slot] = Self.slot(bits: bits, place: block.count)
                block.append(moving ? (theirs.baseAddress! + place).move() : theirs[place])
            }
        }
        if moving { other.block.forgetMovedValues() }
        return addedEvery
    }

    // MARK: Reading ahead (``ReadAhead``)

    /// Asks for the slot where a value whose id hashes to `hash` is looked for first (``prefetch(_:bytes:)``).
    func prefetchSlot(hash: Int) {
        guard !slots.isEmpty else { return }
        let index = Int(Self.hashBits(hash)) & (slots.count - 1)
        slots.withUnsafeBufferPointer { prefetch(UnsafeRawPointer($0.baseAddress! + index), bytes: 8) }
    }

    /// Where the value the id hashing to `hash` is likely to be, by the hash's bits alone (no id is compared, so
    /// that no value is read): a guess to read ahead with, never to read through.
    func likelyAddress(hash: Int) -> UnsafeRawPointer? {
        guard !slots.isEmpty,
            case .found(_, let place) = probe(bits: Self.hashBits(hash), matching: { _ in true })
        else { return nil }
        return address(ofPlace: place)
    }

    /// The address of the value at `place`, nil when no value is there (a place named by a stale entry): to read
    /// ahead with (``prefetch(_:bytes:)``).
    func address(ofPlace place: Int) -> UnsafeRawPointer? {
        guard let base = block.base, place >= 0, place < block.count else { return nil }
        return UnsafeRawPointer(base + place)
    }

    /// Where the slots lie in memory (tests check the advice given for it), nil while there are none.
    var slotsAddress: UnsafeRawPointer? { slots.withUnsafeBytes { $0.baseAddress } }

    // MARK: Slots

    @usableFromInline enum Probe {
        case found(slot: Int, place: Int)
        /// The empty slot where the id would go.
        case absent(slot: Int)
    }

    /// The 32 bits of `id`'s hash that a slot keeps. The hash is seeded per process: slots are never saved.
    @inlinable static func hashBits(_ id: String) -> UInt32 { hashBits(IDHash.of(id)) }

    @inlinable static func hashBits(_ hash: Int) -> UInt32 {
        UInt32(truncatingIfNeeded: UInt64(bitPattern: Int64(hash)) >> 32)
    }

    private static func slot(bits: UInt32, place: Int) -> UInt64 {
        UInt64(bits) << 32 | UInt64(place + 1)
    }

    /// Where `id` is, or the empty slot where it would go; the table must have slots.
    @inlinable func find(_ id: String, bits: UInt32, in stored: UnsafeBufferPointer<Element>) -> Probe {
        // The id compared is in the value, which the caller reads next anyway.
        probe(bits: bits) { place in stored[place].id == id }
    }

    /// The first slot, from the first choice of `bits` on, that holds `bits` with a place `matches` accepts, or
    /// the empty slot where the probe ends; the table must have slots.
    @inlinable @inline(__always)
    func probe(bits: UInt32, matching matches: (_ place: Int) -> Bool) -> Probe {
        let mask = slots.count - 1
        return slots.withUnsafeBufferPointer { slots in
            var index = Int(bits) & mask
            while true {
                let slot = slots[index]
                if slot == 0 { return .absent(slot: index) }
                let place = Int(truncatingIfNeeded: slot & 0xFFFF_FFFF) - 1
                if UInt32(truncatingIfNeeded: slot >> 32) == bits, matches(place) {
                    return .found(slot: index, place: place)
                }
                index = (index + 1) & mask
            }
        }
    }

    /// The place of `id`'s value, if the table holds it.
    ///
    /// Inlinable, with the look-up it makes (`subscript(id:)`, `find`, `probe`, the stored properties they read):
    /// the key store, in another module, looks up a key for every registration a rebuild opens. Called
    /// unspecialized, each look-up instantiated the table's generic metadata and copied the entry through its value
    /// witness (about 8 % of the decoding reference's samples, thirtieth session).
    @inlinable package func place(of id: String) -> Int? {
        guard !slots.isEmpty else { return nil }
        let found = withValues { find(id, bits: Self.hashBits(id), in: $0) }
        if case .found(_, let place) = found { return place }
        return nil
    }

    /// The place of `id`'s value, appended (made by `make`, whose id must be `id`) when there is none, and
    /// whether it was. The block must be this table's alone (``makeBlockUnique()``).
    private mutating func placeAdding(
        _ id: String,
        bits: UInt32,
        _ make: () -> Element
    ) -> (place: Int, added: Bool) {
        switch findMakingRoom(id, bits: bits) {
        case .found(_, let place): (place, false)
        case .absent(let slot): (append(make(), inEmptySlot: slot, bits: bits), true)
        }
    }

    /// Where `id` is, or the empty slot where it would go, with the slots grown first if one more value would fill
    /// them past three quarters (so that a probe ends within a few slots). This and `append` are forced inline: left
    /// to the optimizer, the journeys' fold copied each event's payload (`scripts/outlined-copies.sh`).
    @inline(__always)
    private mutating func findMakingRoom(_ id: String, bits: UInt32) -> Probe {
        if (block.count + 1) * 4 > slots.count * 3 { resizeSlots(forCount: block.count + 1) }
        return withValues { find(id, bits: bits, in: $0) }
    }

    /// Appends `value` to the block and records its place in `slot`, the empty slot a probe for its id ended at;
    /// returns the place. The block must be this table's alone.
    @inline(__always)
    private mutating func append(_ value: consuming Element, inEmptySlot slot: Int, bits: UInt32) -> Int {
        slots[slot] = Self.slot(bits: bits, place: block.count)
        block.append(consume value)
        return block.count - 1
    }

    /// Gives this table a block of its own before it writes to it, when another table shares it.
    private mutating func makeBlockUnique() {
        if !isKnownUniquelyReferenced(&block) { block = block.copy() }
    }

    /// Empties `slot`, moving back the entries after it that would no longer be found past the hole (linear
    /// probing's deletion without tombstones).
    private mutating func emptySlot(_ slot: Int) {
        let mask = slots.count - 1
        var hole = slot
        var next = (slot + 1) & mask
        while slots[next] != 0 {
            let home = Int(truncatingIfNeeded: slots[next] >> 32) & mask
            // The entry may fill the hole unless its first choice lies after the hole, up to where it is.
            if (next &- home) & mask >= (next &- hole) & mask {
                slots[hole] = slots[next]
                hole = next
            }
            next = (next + 1) & mask
        }
        slots[hole] = 0
    }

    /// The length of a table that holds `count` values at most three quarters full.
    private static func slotCount(for count: Int) -> Int {
        var length = 16
        while length * 3 < count * 4 { length *= 2 }
        return length
    }

    /// `count` empty slots, given huge pages before they are first written where there are enough of them.
    private static func emptySlots(count: Int) -> [UInt64] {
        [UInt64](unsafeUninitializedCapacity: count) { buffer, initialized in
            adviseHugePages(UnsafeMutableRawPointer(buffer.baseAddress!), bytes: count * 8)
            buffer.initialize(repeating: 0)
            initialized = count
        }
    }

    /// Slots for at least `count` values at most three quarters full, every value placed again.
    private mutating func resizeSlots(forCount count: Int) {
        let length = Self.slotCount(for: count)
        guard length > slots.count else { return }
        let old = slots
        slots = Self.emptySlots(count: length)
        let mask = length - 1
        // Placed by the hash bits their old slots keep: no value is read and no id hashed again (growing read every
        // profile, scattered over hundreds of megabytes, to hash its id).
        slots.withUnsafeMutableBufferPointer { slots in
            for slot in old where slot != 0 {
                var index = Int(truncatingIfNeeded: slot >> 32) & mask
                while slots[index] != 0 { index = (index + 1) & mask }
                slots[index] = slot
            }
        }
    }
}

/// Every value, in no particular order (as a dictionary's values): `for order in state.orders`.
extension IdentifiedTable: Sequence {
    public struct Iterator: IteratorProtocol {
        fileprivate let table: IdentifiedTable
        fileprivate var place = 0

        public mutating func next() -> Element? {
            guard place < table.count else { return nil }
            defer { place += 1 }
            return table[place: place]
        }
    }

    public func makeIterator() -> Iterator { Iterator(table: self) }
    public var underestimatedCount: Int { count }
}
