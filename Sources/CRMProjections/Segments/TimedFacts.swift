import CRMModel
import Locking

/// A customer's timed facts (``SegmentStanding/EventFact``, ``SegmentStanding/AmountFact``,
/// ``SegmentStanding/TouchFact``), packed as varints in one buffer: what windowed segment rules read. The customer's
/// membership changes (``MembershipHistory``) come first in the same buffer: a buffer of their own cost an array
/// header and an allocation header, 48 bytes, in every customer.
///
/// Three arrays of fixed-size facts took about 550 bytes per customer at 1M customers (16 to 24 bytes a fact, three
/// allocation headers, and up to half of each array's capacity unused), more than a quarter of a profile's memory,
/// and an event of the common kinds touched two of them. Here a fact takes 6 to 12 bytes: its time as a zigzag
/// varint from the fact before it in its list (the first: from 0), then its fields. The lists follow each other in
/// the buffer, amounts, then touches, then events (appended to on every event, so last). Each list is in time order;
/// a fact goes after every fact of its list at the same or an earlier time, as in the arrays before.
///
/// Times are written as the canonical encoding writes them (``SegmentStanding``), so that a snapshot copies what it
/// can: the event facts, which name no words, are their canonical bytes, written and read as they are. The amounts
/// and touches name words by ``Vocabulary`` number here and by their place in the state's table there.
struct TimedFacts: Sendable {
    private var bytes: [UInt8] = []

    /// Where the bytes' array sits within the facts (``prefetchArrayStorage(at:)``).
    static var bytesOffset: Int { MemoryLayout<Self>.offset(of: \Self.bytes)! }
    /// Where the start of the amounts, the first facts after the membership changes, sits within the facts.
    static var amountsStartOffset: Int { MemoryLayout<Self>.offset(of: \Self.amountsStart)! }
    /// Where the bytes are in memory, found the usual way (tests check ``bytesOffset`` against it).
    var bytesAddress: UnsafeRawPointer? { bytes.withUnsafeBytes { $0.baseAddress } }
    /// The time of each list's last fact, which a fact appended after it takes its time from (any value while the
    /// list is empty): a fact at or after it goes at the end of its list without reading the list.
    private var lastEvent: Int64 = 0
    private var lastAmount: Int64 = 0
    private var lastTouch: Int64 = 0
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
        // Sized exactly: a restored or merged customer gets no spare capacity.
        var size = ByteCount()
        Self.pack(amounts, into: &size)
        Self.pack(touches, into: &size)
        Self.pack(events, into: &size)
        bytes.reserveCapacity(changes.packed.count + size.count)
        bytes += changes.packed
        amountsStart = UInt32(bytes.count)
        lastAmount = Self.pack(amounts, into: &bytes)
        touchesStart = UInt32(bytes.count)
        lastTouch = Self.pack(touches, into: &bytes)
        eventsStart = UInt32(bytes.count)
        lastEvent = Self.pack(events, into: &bytes)
    }

    /// Packs `facts`, each with its time from the one before; returns the last one's time (0 for none).
    @discardableResult
    private static func pack<Fact: PackedFact>(_ facts: [Fact], into packed: inout some PackedBytes) -> Int64 {
        var previous: Int64 = 0
        for fact in facts { fact.pack(into: &packed, after: &previous) }
        return previous
    }

    /// The facts read out of their canonical lists (events, then amounts, then touches, each after its byte count, as
    /// ``SegmentStanding`` writes them, naming words by their places in `words`), packed after `changes` into a
    /// buffer of their exact size. Each fact is read once, to check it and find where it ends, and copied as it is
    /// but for its words. The event facts, which name none, are copied from where they are read; the amounts and
    /// touches into scratch memory first, their words written as vocabulary numbers. (Reading each list into an
    /// array first, then packing every fact twice, once to size the buffer, allocated and freed three arrays per
    /// customer of a restore.)
    ///
    /// A function, not an initializer, so that `words` is borrowed: an initializer takes its arguments owned, and
    /// both cores of a restore retaining and releasing the one table, for every customer, took a fifth of reading
    /// the facts. For the same reason the table's numbers and the changes' bytes are reached through pointers.
    static func read(
        changes: MembershipHistory,
        from reader: inout BinaryReader,
        words: FactWords.ReadTable
    ) throws(EventDecodingError) -> TimedFacts {
        let events = try reader.byteCountedBytes("bytes of event facts")
        let amounts = try reader.byteCountedBytes("bytes of amount facts")
        let touches = try reader.byteCountedBytes("bytes of touch facts")
        var facts = TimedFacts()
        facts.lastEvent = try lastTime(checking: events, of: SegmentStanding.EventFact.self)
        let room =
            roomTranslated(amounts, of: SegmentStanding.AmountFact.self)
            + roomTranslated(touches, of: SegmentStanding.TouchFact.self)
        try words.numbers.withUnsafeBufferPointer { words throws(EventDecodingError) in
            try changes.withPackedBytes { changes throws(EventDecodingError) in
                try withUnsafeTemporaryAllocation(byteCount: room + RawPackedBytes.slack, alignment: 1) {
                    scratch throws(EventDecodingError) in
                    var packed = RawPackedBytes(start: scratch.baseAddress)
                    facts.lastAmount = try translate(amounts, of: SegmentStanding.AmountFact.self, words, &packed)
                    let amountsCount = packed.count
                    facts.lastTouch = try translate(touches, of: SegmentStanding.TouchFact.self, words, &packed)
                    let translated = UnsafeRawBufferPointer(rebasing: scratch[..<packed.count])
                    facts.bytes = [UInt8](filledInPlace: changes.count + translated.count + events.count) {
                        buffer,
                        count in
                        var joined = RawPackedBytes(start: buffer.baseAddress)
                        joined.append(contentsOf: changes)
                        joined.append(contentsOf: translated)
                        joined.append(contentsOf: events)
                        count = joined.count
                    }
                    facts.amountsStart = UInt32(changes.count)
                    facts.touchesStart = facts.amountsStart + UInt32(amountsCount)
                    facts.eventsStart = facts.touchesStart + UInt32(packed.count - amountsCount)
                }
            }
        }
        return facts
    }

    /// Checks a canonical list of facts without words (its bytes are their packed bytes), fact by fact; returns its
    /// last fact's time.
    private static func lastTime<Fact: PackedFact>(
        checking list: UnsafeRawBufferPointer,
        of: Fact.Type
    ) throws(EventDecodingError) -> Int64 {
        var reader = BinaryReader(list)
        var previous: Int64 = 0
        while !reader.isAtEnd { try Fact.readLeading(from: &reader, after: &previous) }
        return previous
    }

    /// The most bytes `list`, canonical, takes packed: a word takes at least a byte there and at most 5 here.
    private static func roomTranslated<Fact: PackedFact>(_ list: UnsafeRawBufferPointer, of: Fact.Type) -> Int {
        list.count + list.count / Fact.leastPackedBytes * Fact.wordVarints * 4
    }

    /// Packs a canonical list of facts with words: each fact checked and copied up to its words, which are written
    /// as vocabulary numbers. Returns its last fact's time.
    private static func translate<Fact: PackedFact>(
        _ list: UnsafeRawBufferPointer,
        of: Fact.Type,
        _ words: UnsafeBufferPointer<Vocabulary.Word>,
        _ packed: inout RawPackedBytes
    ) throws(EventDecodingError) -> Int64 {
        var reader = BinaryReader(list)
        var previous: Int64 = 0
        while !reader.isAtEnd {
            let (start, factStart) = (reader.remainingBytes.baseAddress, reader.bytesRead)
            try Fact.readLeading(from: &reader, after: &previous)
            packed.append(contentsOf: UnsafeRawBufferPointer(start: start, count: reader.bytesRead - factStart))
            for _ in 0..<Fact.wordVarints {
                packed.varint(UInt64(try FactWords.ReadTable.word(from: &reader, numbers: words)))
            }
        }
        return previous
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
            ? insertPacked(packed(into: PackedRecord()), replacing: at..<at)
            : insertPacked(packed(into: [UInt8]()), replacing: at..<at)
        amountsStart += UInt32(grown)
        touchesStart += UInt32(grown)
        eventsStart += UInt32(grown)
    }

    var events: List<SegmentStanding.EventFact> {
        List(bytes: bytes, range: Int(eventsStart)..<bytes.count, last: lastEvent)
    }
    var amounts: List<SegmentStanding.AmountFact> {
        List(bytes: bytes, range: Int(amountsStart)..<Int(touchesStart), last: lastAmount)
    }
    var touches: List<SegmentStanding.TouchFact> {
        List(bytes: bytes, range: Int(touchesStart)..<Int(eventsStart), last: lastTouch)
    }

    mutating func insert(_ fact: SegmentStanding.EventFact) {
        lastEvent = insert(fact, into: Int(eventsStart)..<bytes.count, last: lastEvent, movingStarts: (false, false))
    }

    mutating func insert(_ fact: SegmentStanding.AmountFact) {
        lastAmount = insert(
            fact,
            into: Int(amountsStart)..<Int(touchesStart),
            last: lastAmount,
            movingStarts: (true, true)
        )
    }

    mutating func insert(_ fact: SegmentStanding.TouchFact) {
        lastTouch = insert(
            fact,
            into: Int(touchesStart)..<Int(eventsStart),
            last: lastTouch,
            movingStarts: (false, true)
        )
    }

    /// Puts `fact` into the list at `range`, whose last fact is at `last`, after every fact at the same or an
    /// earlier time, and moves the starts of the lists after it; returns the list's new last time.
    private mutating func insert<Fact: PackedFact>(
        _ fact: Fact,
        into range: Range<Int>,
        last: Int64,
        movingStarts moving: (touches: Bool, events: Bool)
    ) -> Int64 {
        if isEmpty {
            // The first fact reserves room for about a dozen: grown from the first fact's few bytes, the buffer was
            // reallocated and copied at each doubling on the way, on the folding core of a live catch-up.
            bytes.reserveCapacity(bytes.count + Self.firstCapacity)
        }
        var record = PackedRecord()
        let grown: Int
        if range.isEmpty || fact.at >= last {
            var previous = range.isEmpty ? 0 : last
            fact.pack(into: &record, after: &previous)
            grown = insertPacked(record, replacing: range.upperBound..<range.upperBound)
        } else {
            // A late fact goes before the first fact later than it, whose time is then written from the late one.
            // (The list read is gone before the buffer changes: still referenced, the buffer would be copied.)
            let next = List<Fact>(bytes: bytes, range: range, last: last).firstFact(laterThan: fact.at)
            var previous = next.previousTime
            fact.pack(into: &record, after: &previous)
            record.time(next.time, after: &previous)
            grown = insertPacked(record, replacing: next.start..<next.start + next.timeBytes)
        }
        if moving.touches { touchesStart = UInt32(Int(touchesStart) + grown) }
        if moving.events { eventsStart = UInt32(Int(eventsStart) + grown) }
        return range.isEmpty ? fact.at : max(last, fact.at)
    }

    /// Puts packed bytes in place of the bytes at `replaced`; returns how many bytes the buffer grew by.
    private mutating func insertPacked(_ packed: some PackedBuffer, replacing replaced: Range<Int>) -> Int {
        packed.withBytes { bytes.replaceSubrange(replaced, with: $0) }
        return packed.count - replaced.count
    }

    /// The facts of one list.
    struct List<Fact: PackedFact>: Sequence {
        fileprivate let bytes: [UInt8]
        let range: Range<Int>
        /// The time of the list's last fact (any value while it is empty).
        fileprivate let last: Int64

        var isEmpty: Bool { range.isEmpty }

        /// At least the count, without reading the list: every fact takes at least `Fact.leastPackedBytes`.
        var mostFacts: Int { range.count / Fact.leastPackedBytes }

        /// Counted by reading the list.
        var count: Int {
            var count = 0
            read { _ in
                count += 1
                return true
            }
            return count
        }

        /// Writes the list in canonical form: its byte count, then each fact's bytes as they are packed, but for
        /// its words (its last varints, ``PackedFact/wordVarints``), written as their places in `words`, the
        /// state's table. A list of facts without words, the event facts, is copied whole.
        func writeCanonical(into writer: inout BinaryWriter, words: FactWords.Table) {
            guard Fact.wordVarints > 0 else { return writer.byteCounted(bytes[range]) }
            // A word's place takes at most the 5 bytes its number may take: room for as many facts as the list's
            // bytes can hold, each of the most bytes.
            writer.byteCountedList(atMost: range.count / Fact.leastPackedBytes * Fact.mostPackedBytes) { encoded in
                bytes.withUnsafeBytes { buffer in
                    let list = UnsafeRawBufferPointer(rebasing: buffer[range])
                    var position = 0
                    while position < list.count {
                        let start = position
                        for _ in 0..<Fact.leadingVarints { position = Self.end(ofVarintAt: position, in: list) }
                        encoded.append(contentsOf: UnsafeRawBufferPointer(rebasing: list[start..<position]))
                        for _ in 0..<Fact.wordVarints {
                            var reader = BinaryReader(UnsafeRawBufferPointer(rebasing: list[position...]))
                            // The buffer's own bytes, written by `pack`: they decode.
                            words.write(Vocabulary.Word(truncatingIfNeeded: try! reader.varint()), into: &encoded)
                            position += reader.bytesRead
                        }
                    }
                }
            }
        }

        /// Where the varint at `position` ends (the buffer's own bytes: it ends within them).
        private static func end(ofVarintAt position: Int, in bytes: UnsafeRawBufferPointer) -> Int {
            var end = position
            while bytes[end] >= 0x80 { end += 1 }
            return end + 1
        }

        /// Calls `body` with each fact in order until it returns false: how rules read the facts, in the buffer
        /// itself. (The iterator of `Sequence` copies the list into an array first: for tests and merges.)
        func read(while body: (Fact) -> Bool) {
            guard !range.isEmpty else { return }
            bytes.withUnsafeBytes { buffer in
                var reader = BinaryReader(UnsafeRawBufferPointer(rebasing: buffer[range]))
                var previous: Int64 = 0
                while !reader.isAtEnd {
                    // The buffer's own bytes, written by `pack`: they decode.
                    guard body(try! Fact.unpack(from: &reader, after: &previous)) else { return }
                }
            }
        }

        /// Whether a fact after `start` and at or before `end` satisfies `matches`.
        func contains(within start: Int64, _ end: Int64, where matches: (Fact) -> Bool) -> Bool {
            var found = false
            read(after: start) { fact in
                found = fact.at <= end && matches(fact)
                return !found
            }
            return found
        }

        /// Calls `body` with each fact later than `start`, until it returns false: what a rule over a window reads.
        /// Newest first where ``readsNewestFirst(after:)`` says so, oldest first otherwise.
        func read(after start: Int64, while body: (Fact) -> Bool) {
            let newestFirst = readsNewestFirst(after: start)
            // Newest first, the first fact at or before `start` ends the reading; oldest first, such facts are
            // stepped over.
            read(newestFirst: newestFirst) { fact in fact.at > start ? body(fact) : !newestFirst }
        }

        /// ``readNewestFirst(while:)`` or ``read(while:)``.
        func read(newestFirst: Bool, while body: (Fact) -> Bool) {
            if newestFirst { readNewestFirst(while: body) } else { read(while: body) }
        }

        /// Whether the facts later than `start` are best read newest first: when the list is long and `start` is
        /// past the middle of its time span, so that a window over a long history costs the window's facts, not the
        /// history's. A fact read newest first costs more (its start is found by stepping back over its bytes),
        /// and a short list is read oldest first without looking at its span: on the benchmark log, whose customers
        /// have about 14 events within a year, looking cost about what it saved.
        func readsNewestFirst(after start: @autoclosure () -> Int64) -> Bool {
            guard mayReadNewestFirst, let first = firstTime else { return false }
            // Event times (years 0000 to 9999) keep the sum from overflowing.
            return start() > first + (last - first) / 2
        }

        /// Whether the list is long enough to be read newest first at some instant: a list only grows, so one that
        /// is not never was.
        var mayReadNewestFirst: Bool { range.count > Self.longList }

        /// The bytes above which a list's span is looked at (about 20 event facts).
        static var longList: Int { 128 }

        /// The time of the first fact (packed from 0), nil for an empty list.
        private var firstTime: Int64? {
            guard !range.isEmpty else { return nil }
            return bytes.withUnsafeBytes { buffer in
                var reader = BinaryReader(UnsafeRawBufferPointer(rebasing: buffer[range]))
                var previous: Int64 = 0
                // The buffer's own bytes, written by `pack`: they decode.
                return try! reader.time(after: &previous)
            }
        }

        /// Calls `body` with each fact from the last back until it returns false. Each fact's time is packed from
        /// the one before it, so the times are worked out back from the list's last (kept beside the buffer), and
        /// each fact's start is found by stepping back over its varints: a varint's last byte is the only one below
        /// 0x80, so the bytes at 0x80 and above before a varint's last byte are that varint's.
        func readNewestFirst(while body: (Fact) -> Bool) {
            stepBack { fact, _, _ in body(fact) }
        }

        /// ``readNewestFirst(while:)``, also giving `body` where each fact starts in the list and its distance from
        /// the fact before it (its whole time for the first).
        private func stepBack(while body: (_ fact: Fact, _ start: Int, _ distance: Int64) -> Bool) {
            guard !range.isEmpty else { return }
            bytes.withUnsafeBytes { buffer in
                let list = UnsafeRawBufferPointer(rebasing: buffer[range])
                var end = list.count
                var time = last
                while end > 0 {
                    var start = end
                    for _ in 0..<Fact.leadingVarints + Fact.wordVarints {
                        start -= 1
                        while start > 0 && list[start - 1] >= 0x80 { start -= 1 }
                    }
                    var reader = BinaryReader(UnsafeRawBufferPointer(rebasing: list[start..<end]))
                    // Read after 0, the fact's time is its distance from the one before.
                    var distance: Int64 = 0
                    // The buffer's own bytes, written by `pack`: they decode.
                    var fact = try! Fact.unpack(from: &reader, after: &distance)
                    fact.at = time
                    guard body(fact, start, distance) else { return }
                    time -= distance
                    end = start
                }
            }
        }

        /// The first fact later than `time`, which the caller knows there is: where it starts in the buffer, its
        /// time, how many bytes that time takes, and the time of the fact before it (0 for none). A late fact is
        /// most often late by little: a long list is looked through from its last fact when `time` is past the
        /// middle of its span (``readsNewestFirst(after:)``), as a window is.
        fileprivate func firstFact(
            laterThan time: Int64
        ) -> (start: Int, time: Int64, timeBytes: Int, previousTime: Int64) {
            if readsNewestFirst(after: time) {
                var found: (start: Int, time: Int64, previousTime: Int64)?
                stepBack { fact, start, distance in
                    guard fact.at > time else { return false }
                    found = (start, fact.at, fact.at - distance)
                    return true
                }
                // The caller knows a fact is later than `time`.
                let (start, later, previousTime) = found!
                let end = bytes.withUnsafeBytes {
                    Self.end(ofVarintAt: start, in: UnsafeRawBufferPointer(rebasing: $0[range]))
                }
                return (range.lowerBound + start, later, end - start, previousTime)
            }
            return bytes.withUnsafeBytes { buffer in
                let listBytes = UnsafeRawBufferPointer(rebasing: buffer[range])
                var reader = BinaryReader(listBytes)
                var previous: Int64 = 0
                while !reader.isAtEnd {
                    let start = reader.bytesRead
                    var at = previous
                    // The buffer's own bytes, written by `pack`: they decode.
                    let fact = try! Fact.unpack(from: &reader, after: &at)
                    if fact.at > time {
                        let timeBytes = Self.end(ofVarintAt: start, in: listBytes) - start
                        return (range.lowerBound + start, fact.at, timeBytes, previous)
                    }
                    previous = at
                }
                preconditionFailure("no fact of the list is later than \(time)")
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

/// A fact that ``TimedFacts`` packs: its time as a zigzag varint from the fact before it in its list (the first:
/// from 0), as the canonical encoding writes it, then its fields.
protocol PackedFact: TimedFact {
    /// The fewest bytes one fact packs into (each varint, zigzag or not, takes at least one).
    static var leastPackedBytes: Int { get }
    /// The most bytes one fact packs into (a zigzag time takes up to 10, a word up to 5).
    static var mostPackedBytes: Int { get }
    /// How many of the fact's varints, its time first, are packed as the canonical encoding writes them.
    static var leadingVarints: Int { get }
    /// How many varints follow them, the fact's words: ``Vocabulary`` numbers when packed, places in the state's
    /// ``FactWords`` table in the canonical encoding.
    static var wordVarints: Int { get }
    /// Packs the fact, its time from `previous` (the time of the fact before it in its list, 0 for the first),
    /// which becomes the fact's.
    func pack(into record: inout some PackedBytes, after previous: inout Int64)
    /// Reads a fact packed after a fact at `previous`, which becomes the fact's time.
    static func unpack(from reader: inout BinaryReader, after previous: inout Int64) throws(EventDecodingError) -> Self
    /// Reads the varints before the fact's words, packed or canonical, checking them as ``unpack(from:after:)``
    /// does; `previous` becomes the fact's time. What it reads takes at most the bytes `pack` writes for them,
    /// which is what a restore copies.
    static func readLeading(from reader: inout BinaryReader, after previous: inout Int64) throws(EventDecodingError)
}

extension SegmentStanding.EventFact: PackedFact {
    static var leastPackedBytes: Int { 2 }
    static var mostPackedBytes: Int { 12 }
    static var leadingVarints: Int { 2 }
    static var wordVarints: Int { 0 }

    /// The canonical bytes of the fact (``SegmentStanding/serialize(into:words:)``): its type as a varint.
    func pack(into record: inout some PackedBytes, after previous: inout Int64) {
        record.time(at, after: &previous)
        record.varint(UInt64(type))
    }

    static func unpack(from reader: inout BinaryReader, after previous: inout Int64) throws(EventDecodingError) -> Self
    {
        Self(at: try reader.time(after: &previous), type: UInt8(truncatingIfNeeded: try reader.varint()))
    }

    /// The whole fact (it names no words). Its type may take more bytes than packing writes: the event facts are
    /// read in place, not copied into room reckoned from ``mostPackedBytes``.
    static func readLeading(from reader: inout BinaryReader, after previous: inout Int64) throws(EventDecodingError) {
        _ = try unpack(from: &reader, after: &previous)
    }
}

extension SegmentStanding.AmountFact: PackedFact {
    static var leastPackedBytes: Int { 4 }
    static var mostPackedBytes: Int { 26 }
    static var leadingVarints: Int { 3 }
    static var wordVarints: Int { 1 }

    /// Its kind as a byte: the varint the canonical encoding writes (every kind is below 128).
    func pack(into record: inout some PackedBytes, after previous: inout Int64) {
        record.time(at, after: &previous)
        record.append(kind.rawValue)
        record.zigzag(minorUnits)
        record.varint(UInt64(currency))
    }

    static func unpack(from reader: inout BinaryReader, after previous: inout Int64) throws(EventDecodingError) -> Self
    {
        let at = try reader.time(after: &previous)
        let kind = try readKind(from: &reader)
        let minorUnits = try reader.zigzag()
        return Self(at: at, minorUnits: minorUnits, currency: Vocabulary.Word(try reader.varint()), kind: kind)
    }

    static func readLeading(from reader: inout BinaryReader, after previous: inout Int64) throws(EventDecodingError) {
        _ = try reader.time(after: &previous)
        _ = try readKind(from: &reader)
        _ = try reader.zigzag()
    }

    /// One byte: a longer varint is no kind either.
    private static func readKind(from reader: inout BinaryReader) throws(EventDecodingError) -> Kind {
        let byte = try reader.byte()
        guard let kind = Kind(rawValue: byte) else { throw EventDecodingError(reason: "unknown amount kind \(byte)") }
        return kind
    }
}

extension SegmentStanding.TouchFact: PackedFact {
    static var leastPackedBytes: Int { 3 }
    static var mostPackedBytes: Int { 20 }
    static var leadingVarints: Int { 1 }
    static var wordVarints: Int { 2 }

    func pack(into record: inout some PackedBytes, after previous: inout Int64) {
        record.time(at, after: &previous)
        record.varint(UInt64(channel))
        record.varint(UInt64(campaign))
    }

    static func unpack(from reader: inout BinaryReader, after previous: inout Int64) throws(EventDecodingError) -> Self
    {
        let at = try reader.time(after: &previous)
        let channel = Vocabulary.Word(try reader.varint())
        return Self(at: at, channel: channel, campaign: Vocabulary.Word(try reader.varint()))
    }

    static func readLeading(from reader: inout BinaryReader, after previous: inout Int64) throws(EventDecodingError) {
        _ = try reader.time(after: &previous)
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

    mutating func append(contentsOf bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress else { return }
        (start! + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
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
