import CRMModel

/// A customer's timed facts (``SegmentStanding/EventFact``, ``SegmentStanding/AmountFact``,
/// ``SegmentStanding/TouchFact``), packed as varints in one buffer: what windowed segment rules read. The customer's
/// membership changes (``MembershipHistory``) come first in the same buffer: a buffer of their own cost an array
/// header and an allocation header, 48 bytes, in every customer.
///
/// Three arrays of fixed-size facts took about 550 bytes per customer at 1M customers (16 to 24 bytes a fact, three
/// allocation headers, and up to half of each array's capacity unused), more than a quarter of a profile's memory,
/// and an event of the common kinds touched two of them. Here a fact takes 8 to 12 bytes: its time as a zigzag
/// varint from `base` (the first time recorded), then its fields. The lists follow each other in the buffer,
/// amounts, then touches, then events (appended to on every event, so last). Each list is in time order; a fact
/// goes after every fact of its list at the same or an earlier time, as in the arrays before. This is memory only:
/// the canonical encoding of the lists is unchanged (``SegmentStanding``).
struct TimedFacts: Sendable {
    private var bytes: [UInt8] = []

    /// Where the bytes' array sits within the facts (``prefetchArrayStorage(at:)``).
    static var bytesOffset: Int { MemoryLayout<Self>.offset(of: \Self.bytes)! }
    /// Where the bytes are in memory, found the usual way (tests check ``bytesOffset`` against it).
    var bytesAddress: UnsafeRawPointer? { bytes.withUnsafeBytes { $0.baseAddress } }
    /// The time differences are taken from (the first fact's time; 0 while empty).
    private var base: Int64 = 0
    /// The latest time of any fact: a fact at or after it goes at the end of its list without a search.
    private var latest = Int64.min
    /// Where the facts start, after the membership changes.
    private var amountsStart: UInt32 = 0
    private var touchesStart: UInt32 = 0
    private var eventsStart: UInt32 = 0

    init() {}

    /// The bytes a customer's buffer of facts is given with its first fact (a restored one is sized exactly).
    /// Measured: 48 against growing from the first fact's few bytes, the 1M-customer rebuild 3 to 5 % faster at the
    /// same resident memory; 96 slower.
    static let firstCapacity = 48

    /// The lists given, each in its order, after the changes.
    init(
        changes: MembershipHistory,
        events: [SegmentStanding.EventFact],
        amounts: [SegmentStanding.AmountFact],
        touches: [SegmentStanding.TouchFact]
    ) {
        base = events.first?.at ?? amounts.first?.at ?? touches.first?.at ?? 0
        // Each list is in time order: its last fact is its latest.
        latest = max(events.last?.at ?? .min, amounts.last?.at ?? .min, touches.last?.at ?? .min)
        // Sized exactly: a restored or merged customer gets no spare capacity.
        var size = ByteCount()
        size.count = changes.packed.count
        for fact in amounts { fact.pack(into: &size, base: base) }
        for fact in touches { fact.pack(into: &size, base: base) }
        for fact in events { fact.pack(into: &size, base: base) }
        bytes.reserveCapacity(size.count)
        bytes += changes.packed
        amountsStart = UInt32(bytes.count)
        for fact in amounts { fact.pack(into: &bytes, base: base) }
        touchesStart = UInt32(bytes.count)
        for fact in touches { fact.pack(into: &bytes, base: base) }
        eventsStart = UInt32(bytes.count)
        for fact in events { fact.pack(into: &bytes, base: base) }
    }

    /// The facts read out of their canonical lists (events, then amounts, then touches, each after its count, as
    /// ``SegmentStanding`` writes them; `event`, `amount` and `touch` read one fact each), packed after `changes`
    /// into a buffer of their exact size, as ``init(changes:events:amounts:touches:)`` packs them. Each fact is
    /// packed as it is read, into scratch memory: reading each list into an array first, then packing every fact
    /// twice (once to size the buffer), allocated and freed three arrays per customer of a restore.
    init(
        changes: MembershipHistory,
        reading reader: inout BinaryReader,
        event: (inout BinaryReader) throws(EventDecodingError) -> SegmentStanding.EventFact,
        amount: (inout BinaryReader) throws(EventDecodingError) -> SegmentStanding.AmountFact,
        touch: (inout BinaryReader) throws(EventDecodingError) -> SegmentStanding.TouchFact
    ) throws(EventDecodingError) {
        // Passed along as arguments, not captured: a local function that captured them, called from the closures
        // nested below, had every access to them checked at run time (a tenth of reading a customer's facts).
        var unpacked = Unpacked()
        let changeBytes = changes.packed
        // Each list's scratch lives until the last one is read; the buffer is joined from all of them at once.
        let (joined, amountsCount, touchesCount) = try Self.withPackedList("event facts", &reader, &unpacked, event) {
            events,
            reader,
            unpacked throws(EventDecodingError) in
            try Self.withPackedList("amount facts", &reader, &unpacked, amount) {
                amounts,
                reader,
                unpacked throws(EventDecodingError) in
                try Self.withPackedList("touch facts", &reader, &unpacked, touch) {
                    touches,
                    _,
                    _ throws(EventDecodingError) in
                    var joined = [UInt8]()
                    joined.reserveCapacity(changeBytes.count + amounts.count + touches.count + events.count)
                    joined += changeBytes
                    joined += amounts
                    joined += touches
                    joined += events
                    return (joined, amounts.count, touches.count)
                }
            }
        }
        bytes = joined
        base = unpacked.base ?? 0
        latest = unpacked.latest
        amountsStart = UInt32(changeBytes.count)
        touchesStart = amountsStart + UInt32(amountsCount)
        eventsStart = touchesStart + UInt32(touchesCount)
    }

    /// What ``init(changes:reading:event:amount:touch:)`` has read so far: the time the packing starts from (the
    /// first fact read: the first event, else amount, else touch, as in the initializer from arrays) and the latest.
    private struct Unpacked {
        var base: Int64?
        var latest = Int64.min
    }

    /// Packs the list next in `reader` into scratch memory and calls `body` with the packed bytes (and the reader
    /// and what was read, for the lists after it).
    private static func withPackedList<Fact: PackedFact, Result>(
        _ what: String,
        _ reader: inout BinaryReader,
        _ unpacked: inout Unpacked,
        _ read: (inout BinaryReader) throws(EventDecodingError) -> Fact,
        _ body: (UnsafeRawBufferPointer, inout BinaryReader, inout Unpacked) throws(EventDecodingError) -> Result
    ) throws(EventDecodingError) -> Result {
        let count = try reader.count(what)
        return try withUnsafeTemporaryAllocation(
            byteCount: count * Fact.mostPackedBytes + RawPackedBytes.slack,
            alignment: 1
        ) { scratch throws(EventDecodingError) -> Result in
            var packed = RawPackedBytes(start: scratch.baseAddress)
            for _ in 0..<count {
                let fact = try read(&reader)
                if unpacked.base == nil { unpacked.base = fact.at }
                unpacked.latest = max(unpacked.latest, fact.at)
                fact.pack(into: &packed, base: unpacked.base!)
            }
            return try body(UnsafeRawBufferPointer(rebasing: scratch[..<packed.count]), &reader, &unpacked)
        }
    }

    /// No fact at all (every event of the customer leaves an event fact).
    var isEmpty: Bool { bytes.count == amountsStart }

    /// The membership changes, in the order they were made.
    var changes: MembershipHistory { MembershipHistory(in: bytes, at: 0..<Int(amountsStart)) }

    /// Adds `change` after the other changes.
    mutating func append(_ change: MembershipChange) {
        // Packed apart first: the last change's time is read out of the buffer, which must not be referenced when it
        // changes (it would be copied). On the stack unless it names merged ids: an array allocated and freed for
        // every change was a fifth of appending one, on the folding core of a live catch-up.
        let previous = changes.lastTime
        func packed<Packed: PackedBuffer>(into empty: Packed) -> Packed {
            var packed = empty
            change.pack(into: &packed, after: previous)
            return packed
        }
        let at = Int(amountsStart)
        let grown =
            change.packsIntoRecord
            ? insertPacked(packed(into: PackedRecord()), at: at) : insertPacked(packed(into: [UInt8]()), at: at)
        amountsStart += grown
        touchesStart += grown
        eventsStart += grown
    }

    var events: List<SegmentStanding.EventFact> {
        List(bytes: bytes, range: Int(eventsStart)..<bytes.count, base: base)
    }
    var amounts: List<SegmentStanding.AmountFact> {
        List(bytes: bytes, range: Int(amountsStart)..<Int(touchesStart), base: base)
    }
    var touches: List<SegmentStanding.TouchFact> {
        List(bytes: bytes, range: Int(touchesStart)..<Int(eventsStart), base: base)
    }

    mutating func insert(_ fact: SegmentStanding.EventFact) {
        insert(fact, into: Int(eventsStart)..<bytes.count, movingStarts: (false, false))
    }

    mutating func insert(_ fact: SegmentStanding.AmountFact) {
        insert(fact, into: Int(amountsStart)..<Int(touchesStart), movingStarts: (true, true))
    }

    mutating func insert(_ fact: SegmentStanding.TouchFact) {
        insert(fact, into: Int(touchesStart)..<Int(eventsStart), movingStarts: (false, true))
    }

    /// Puts `fact` into the list at `range`, after every fact at the same or an earlier time, and moves the starts
    /// of the lists after it.
    private mutating func insert<Fact: PackedFact>(
        _ fact: Fact,
        into range: Range<Int>,
        movingStarts moving: (touches: Bool, events: Bool)
    ) {
        if isEmpty {
            base = fact.at
            // The first fact reserves room for about a dozen: grown from the first fact's few bytes, the buffer was
            // reallocated and copied at each doubling on the way, on the folding core of a live catch-up.
            bytes.reserveCapacity(bytes.count + Self.firstCapacity)
        }
        // The list read for a late fact is gone before the buffer changes: still referenced, the buffer would be
        // copied.
        let position =
            fact.at < latest
            ? Self.end(ofFactsUpTo: fact.at, in: List<Fact>(bytes: bytes, range: range, base: base))
            : range.upperBound
        latest = max(latest, fact.at)
        var record = PackedRecord()
        fact.pack(into: &record, base: base)
        let grown = insertPacked(record, at: position)
        if moving.touches { touchesStart += grown }
        if moving.events { eventsStart += grown }
    }

    /// Inserts packed bytes at `position` of the buffer; returns how many.
    private mutating func insertPacked(_ packed: some PackedBuffer, at position: Int) -> UInt32 {
        packed.withBytes { bytes.insert(contentsOf: $0, at: position) }
        return UInt32(packed.count)
    }

    /// Where the facts of `list` at or before `time` end.
    private static func end<Fact: PackedFact>(ofFactsUpTo time: Int64, in list: List<Fact>) -> Int {
        var end = list.range.lowerBound
        list.readWithNextStart { fact, next in
            guard fact.at <= time else { return false }
            end = next
            return true
        }
        return end
    }

    /// The facts of one list.
    struct List<Fact: PackedFact>: Sequence {
        fileprivate let bytes: [UInt8]
        fileprivate let range: Range<Int>
        fileprivate let base: Int64

        var isEmpty: Bool { range.isEmpty }

        /// At least the count, without reading the list: every fact takes at least `Fact.leastPackedBytes`.
        var mostFacts: Int { range.count / Fact.leastPackedBytes }

        /// Counted by reading the list (it is written after its count in the canonical encoding, once).
        var count: Int {
            var count = 0
            read { _ in
                count += 1
                return true
            }
            return count
        }

        /// Writes the list in canonical form: its count, then each fact as `element` encodes it, in at most
        /// `mostBytes`, counted as written (``BinaryWriter/countedList(atMost:_:)``, with room for as many facts as
        /// the list's bytes can hold).
        func write(into writer: inout BinaryWriter, mostBytes: Int, _ element: (inout RawPackedBytes, Fact) -> Void) {
            writer.countedList(atMost: range.count / Fact.leastPackedBytes * mostBytes) { encoded in
                var count = 0
                read { fact in
                    element(&encoded, fact)
                    count += 1
                    return true
                }
                return count
            }
        }

        /// Calls `body` with each fact in order until it returns false: how rules read the facts, in the buffer
        /// itself. (The iterator of `Sequence` copies the list into an array first: for tests and merges.)
        func read(while body: (Fact) -> Bool) {
            readWithNextStart { fact, _ in body(fact) }
        }

        /// Whether a fact after `start` and at or before `end` satisfies `matches`.
        func contains(within start: Int64, _ end: Int64, where matches: (Fact) -> Bool) -> Bool {
            var found = false
            read { fact in
                guard fact.at <= end else { return false }
                found = fact.at > start && matches(fact)
                return !found
            }
            return found
        }

        /// ``read(while:)``, also giving where the next fact starts.
        fileprivate func readWithNextStart(while body: (Fact, _ next: Int) -> Bool) {
            guard !range.isEmpty else { return }
            bytes.withUnsafeBytes { buffer in
                var reader = BinaryReader(UnsafeRawBufferPointer(rebasing: buffer[range]))
                while !reader.isAtEnd {
                    // The buffer's own bytes, written by `pack`: they decode.
                    let fact = try! Fact.unpack(from: &reader, base: base)
                    guard body(fact, range.lowerBound + reader.bytesRead) else { return }
                }
            }
        }

        func makeIterator() -> IndexingIterator<[Fact]> {
            var facts = [Fact]()
            read { fact in
                facts.append(fact)
                return true
            }
            return facts.makeIterator()
        }
    }
}

/// A fact that ``TimedFacts`` packs: its time from the base as a zigzag varint, then its fields.
protocol PackedFact: TimedFact {
    /// The fewest bytes one fact packs into (each varint, zigzag or not, takes at least one).
    static var leastPackedBytes: Int { get }
    /// The most bytes one fact packs into (a zigzag time takes up to 10, a word up to 5).
    static var mostPackedBytes: Int { get }
    func pack(into record: inout some PackedBytes, base: Int64)
    static func unpack(from reader: inout BinaryReader, base: Int64) throws(EventDecodingError) -> Self
}

extension SegmentStanding.EventFact: PackedFact {
    static var leastPackedBytes: Int { 2 }
    static var mostPackedBytes: Int { 11 }

    func pack(into record: inout some PackedBytes, base: Int64) {
        record.zigzag(at &- base)
        record.append(type)
    }

    static func unpack(from reader: inout BinaryReader, base: Int64) throws(EventDecodingError) -> Self {
        Self(at: base &+ (try reader.zigzag()), type: try reader.byte())
    }
}

extension SegmentStanding.AmountFact: PackedFact {
    static var leastPackedBytes: Int { 4 }
    static var mostPackedBytes: Int { 26 }

    func pack(into record: inout some PackedBytes, base: Int64) {
        record.zigzag(at &- base)
        record.append(kind.rawValue)
        record.zigzag(minorUnits)
        record.varint(UInt64(currency))
    }

    static func unpack(from reader: inout BinaryReader, base: Int64) throws(EventDecodingError) -> Self {
        let at = base &+ (try reader.zigzag())
        guard let kind = Kind(rawValue: try reader.byte()) else {
            throw EventDecodingError(reason: "unknown amount kind")
        }
        let minorUnits = try reader.zigzag()
        return Self(at: at, minorUnits: minorUnits, currency: Vocabulary.Word(try reader.varint()), kind: kind)
    }
}

extension SegmentStanding.TouchFact: PackedFact {
    static var leastPackedBytes: Int { 3 }
    static var mostPackedBytes: Int { 20 }

    func pack(into record: inout some PackedBytes, base: Int64) {
        record.zigzag(at &- base)
        record.varint(UInt64(channel))
        record.varint(UInt64(campaign))
    }

    static func unpack(from reader: inout BinaryReader, base: Int64) throws(EventDecodingError) -> Self {
        let at = base &+ (try reader.zigzag())
        let channel = Vocabulary.Word(try reader.varint())
        return Self(at: at, channel: channel, campaign: Vocabulary.Word(try reader.varint()))
    }
}

/// Where packed facts are written: a buffer, or one record on the stack. (`BinaryWriter`, which reads them back
/// through `BinaryReader`, writes only into an array of its own: an insert would allocate one per event.)
protocol PackedBytes {
    mutating func append(_ byte: UInt8)
    /// Requirements, so that a ``BinaryWriter`` writes them its own way (a longer varint in one append).
    mutating func varint(_ value: UInt64)
    mutating func zigzag(_ value: Int64)
    mutating func optionalString(_ text: String?)
}

extension PackedBytes {
    mutating func varint(_ value: UInt64) { varintByBytes(value) }

    mutating func zigzag(_ value: Int64) {
        varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    /// A time in a list kept in time order, as the time from the one before it (`previous`, 0 before the first;
    /// it becomes `at`), a zigzag varint: one to four bytes where a whole time takes eight. The canonical encoding's
    /// too (a ``BinaryWriter`` is packed bytes); read by ``BinaryReader/time(after:)``.
    mutating func time(_ at: Int64, after previous: inout Int64) {
        zigzag(at &- previous)
        previous = at
    }

    /// As ``BinaryWriter/optionalString(_:)`` writes it: 0 for none, else the length plus one, then the bytes.
    mutating func optionalString(_ text: String?) {
        guard let text else { return varint(0) }
        varint(UInt64(text.utf8.count) + 1)
        for byte in text.utf8 { append(byte) }
    }
}

extension [UInt8]: PackedBytes {}

extension BinaryWriter: PackedBytes {
    mutating func append(_ byte: UInt8) { bytes.append(byte) }
}

/// Counts the bytes packing would write.
struct ByteCount: PackedBytes {
    var count = 0
    mutating func append(_ byte: UInt8) { count += 1 }
}

/// Packed facts written into scratch memory with room for them (``PackedFact/mostPackedBytes`` each), and
/// ``slack`` bytes more.
struct RawPackedBytes: PackedBytes {
    let start: UnsafeMutableRawPointer?
    private(set) var count = 0

    /// The bytes scratch memory holds past the room asked for: a varint is stored as a whole word
    /// (``varint(_:)``), which may reach 8 bytes past the start of the varint however short it is.
    static let slack = 8

    init(start: UnsafeMutableRawPointer?) { self.start = start }

    mutating func append(_ byte: UInt8) {
        start!.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    /// Stored a word at a time (``VarintWord``), into the ``slack`` past the room asked for at the end.
    mutating func varint(_ value: UInt64) {
        guard let word = VarintWord(value) else { return varintByBytes(value) }
        start!.storeBytes(of: word.bytes, toByteOffset: count, as: UInt64.self)
        count += word.length
    }
}

/// A varint of 2 to 8 bytes (a value from 2^7 to 2^56: every time of a fact, from another) as one little-endian
/// word, to be stored at once: its 7-bit groups spread into bytes by three shift-and-mask steps (the inverse of
/// ``BinaryReader``'s reading), the continuation bit set on all but the last. Stored a byte at a time, times of
/// seven bytes were the largest part of encoding facts, both when a snapshot is written and when one is restored.
struct VarintWord {
    /// The varint's bytes, then zeros up to 8.
    let bytes: UInt64
    let length: Int

    /// Nil for a value that takes one byte, or more than 8.
    @inline(__always) init?(_ value: UInt64) {
        guard value >= 0x80, value < 1 << 56 else { return nil }
        var spread = value
        spread = (spread & 0x0FFF_FFFF) | (spread & 0x00FF_FFFF_F000_0000) &<< 4
        spread = (spread & 0x0000_3FFF_0000_3FFF) | (spread & 0x0FFF_C000_0FFF_C000) &<< 2
        spread = (spread & 0x007F_007F_007F_007F) | (spread & 0x3F80_3F80_3F80_3F80) &<< 1
        length = (64 &- value.leadingZeroBitCount &+ 6) / 7
        let continuation = 0x8080_8080_8080_8080 & (UInt64.max &>> UInt64(64 &- 8 &* (length &- 1)))
        bytes = (spread | continuation).littleEndian
    }
}

extension PackedBytes {
    /// ``varint(_:)`` a byte at a time (what a word cannot hold).
    mutating func varintByBytes(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        append(UInt8(value))
    }
}

/// Packed bytes held whole, to be inserted into a buffer of facts.
protocol PackedBuffer: PackedBytes {
    var count: Int { get }
    func withBytes<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result
}

extension [UInt8]: PackedBuffer {
    func withBytes<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result { withUnsafeBytes(body) }
}

/// One packed fact, built on the stack before it is inserted into the buffer (at most 1 + 3 varints of 10 bytes).
struct PackedRecord: PackedBuffer {
    private var storage: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)
    private(set) var count = 0

    mutating func append(_ byte: UInt8) {
        withUnsafeMutableBytes(of: &storage) { $0[count] = byte }
        count += 1
    }

    /// Stored a word at a time where the record has room for a whole word (``VarintWord``; every fact and
    /// membership change packed into a record leaves it).
    mutating func varint(_ value: UInt64) {
        guard count <= MemoryLayout.size(ofValue: storage) - 8, let word = VarintWord(value) else {
            return varintByBytes(value)
        }
        withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: word.bytes, toByteOffset: count, as: UInt64.self) }
        count += word.length
    }

    func withBytes<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        withUnsafeBytes(of: storage) { body(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
    }
}
