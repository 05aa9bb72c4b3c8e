import CRMModel
import Testing
import _EventLogTestSupport

@testable import CRMProjections

@Suite("A customer's timed facts, packed in one buffer")
struct TimedFactsTests {
    typealias EventFact = SegmentStanding.EventFact
    typealias AmountFact = SegmentStanding.AmountFact
    typealias TouchFact = SegmentStanding.TouchFact

    /// The arrays the packed lists replaced: a fact goes after every fact at the same or an earlier time.
    struct Reference {
        var events = [EventFact]()
        var amounts = [AmountFact]()
        var touches = [TouchFact]()
        var changes = [MembershipChange]()

        static func insert<Fact: TimedFact>(_ fact: Fact, into facts: inout [Fact]) {
            facts.insert(fact, at: facts.firstIndex { $0.at > fact.at } ?? facts.count)
        }
    }

    @Test(
        "Random facts, late, at equal times, far before 1970 and far after, read back as the arrays held them",
        arguments: [1, 2, 3, 4, 5, 6, 7, 8]
    )
    func packedEqualsArrays(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var packed = TimedFacts()
        var reference = Reference()
        #expect(packed.isEmpty)
        // Times mostly ascending, some late, some repeated, and extremes (year 0000 and 9999 in microseconds).
        // Words of the vocabulary, more than 128 of them, so that some numbers take two bytes.
        let words = (0..<300).map { Vocabulary.number(of: "timed-facts-word-\($0)") }
        var clock: Int64 = Int64(random.next() % 1_000_000_000_000)
        for step in 0..<400 {
            let choice = random.next() % 10
            let at: Int64 =
                switch choice {
                case 0: clock - Int64(random.next() % 10_000_000_000)  // late
                case 1: clock  // the same instant as the latest
                case 2 where step % 50 == 0: [-62_167_219_200_000_000, 253_402_300_799_999_999][Int(random.next() % 2)]
                default: clock + Int64(random.next() % 100_000_000_000)
                }
            clock = max(clock, at)
            let word = words[Int(random.next() % UInt64(words.count))]
            // Now and then a membership change, which goes before the facts in the buffer, in the order made (some
            // with the ids of a merge, some at the extreme times).
            if random.next() % 8 == 0 {
                let triggers: [MembershipChange.Trigger] = [
                    .event, .window, .defined, .removed, .mergedInto, .rescored,
                ]
                let change = MembershipChange(
                    at: EventTime(microseconds: at),
                    generation: Int(random.next() % 70_000),
                    entered: random.next() % 2 == 0,
                    trigger: triggers[Int(random.next() % 6)],
                    eventType: UInt8(random.next() % 40),
                    node: Int(random.next() % 300),
                    nodeHolds: random.next() % 2 == 0,
                    subject: random.next() % 5 == 0 ? "c-\(random.next() % 100)" : nil,
                    other: random.next() % 5 == 0 ? "" : nil
                )
                packed.append(change)
                reference.changes.append(change)
            }
            switch random.next() % 3 {
            case 0:
                let fact = EventFact(at: at, type: UInt8(random.next() % 40))
                packed.insert(fact)
                Reference.insert(fact, into: &reference.events)
            case 1:
                let kinds: [AmountFact.Kind] = [.placed, .cancelled, .refunded]
                let minor = Int64(bitPattern: random.next()) >> Int64(random.next() % 64)
                let fact = AmountFact(at: at, minorUnits: minor, currency: word, kind: kinds[Int(random.next() % 3)])
                packed.insert(fact)
                Reference.insert(fact, into: &reference.amounts)
            default:
                let fact = TouchFact(at: at, channel: word, campaign: words[Int(random.next() % 5)])
                packed.insert(fact)
                Reference.insert(fact, into: &reference.touches)
            }
            // Copies share the buffer until one of them changes: the copy keeps what it saw.
            if step == 200 {
                let copy = packed
                packed.insert(EventFact(at: clock, type: 1))
                Reference.insert(EventFact(at: clock, type: 1), into: &reference.events)
                #expect(Array(copy.events) == Array(reference.events.dropLast()))
            }
        }
        #expect(Array(packed.events) == reference.events)
        #expect(Array(packed.amounts) == reference.amounts)
        #expect(Array(packed.touches) == reference.touches)
        #expect(Array(packed.changes) == reference.changes)
        #expect(packed.events.count == reference.events.count && !packed.isEmpty)
        #expect(packed.events.mostFacts >= reference.events.count)
        #expect(packed.amounts.mostFacts >= reference.amounts.count)
        #expect(packed.touches.mostFacts >= reference.touches.count)
        let rebuilt = TimedFacts(
            changes: MembershipHistory(reference.changes),
            events: reference.events,
            amounts: reference.amounts,
            touches: reference.touches
        )
        #expect(Array(rebuilt.changes) == reference.changes)
        #expect(Array(rebuilt.events) == reference.events)
        #expect(Array(rebuilt.amounts) == reference.amounts)
        #expect(Array(rebuilt.touches) == reference.touches)
        let read = Self.readBack(reference)
        #expect(Array(read.changes) == reference.changes)
        // The changes in canonical form are their byte count, then each change as docs/projections.md lays it out:
        // its time from the change before, generation, node, event type, flags, and the ids of a merge.
        let canonical = Self.canonicalChanges(reference.changes)
        let history = try! reading(canonical) { reader throws(EventDecodingError) in
            try MembershipHistory(reading: &reader)
        }
        #expect(history == MembershipHistory(reference.changes) && Array(history) == reference.changes)
        // And are written back as they were read.
        var written = BinaryWriter()
        history.write(into: &written)
        #expect(written.bytes == canonical)
        #expect(Array(read.events) == reference.events)
        #expect(Array(read.amounts) == reference.amounts)
        #expect(Array(read.touches) == reference.touches)
        // Written in canonical form, each list is its byte count, then its facts, each time from the one before it and
        // each word by its place in the table: the event facts copied as they are packed, late ones inserted
        // among them; the others copied but for their words.
        // Read newest first, and only after a start (newest first unless every fact is after it), each list gives
        // the same facts, in whichever state it was made.
        let starts =
            [Int64.min, -62_167_219_200_000_001, 0, clock / 2, clock - 50_000_000_000, clock, Int64.max]
            + (0..<20).map { _ in Int64(random.next() % UInt64(clock)) }
        for facts in [packed, rebuilt, read] {
            Self.expectReadsAgree(facts.events, reference.events, starts: starts)
            Self.expectReadsAgree(facts.amounts, reference.amounts, starts: starts)
            Self.expectReadsAgree(facts.touches, reference.touches, starts: starts)
        }
        let table = FactWords(words).table()
        let lists = Self.canonicalLists(reference, table: table)
        for facts in [packed, rebuilt, read] {
            var written = BinaryWriter()
            facts.events.writeCanonical(into: &written, words: table)
            facts.amounts.writeCanonical(into: &written, words: table)
            facts.touches.writeCanonical(into: &written, words: table)
            #expect(written.bytes == lists)
        }
    }

    @Test("Read out of their lists, facts pack as from arrays, with some of the lists empty")
    func readWithEmptyLists() {
        let words = (0..<200).map { Vocabulary.number(of: "timed-facts-word-\($0)") }
        let touch = TouchFact(at: -5, channel: words[199], campaign: words[2])
        let amount = AmountFact(at: 9, minorUnits: .min, currency: words[3], kind: .refunded)
        for reference in [
            Reference(touches: [touch]), Reference(amounts: [amount], touches: [touch]),
            Reference(events: [EventFact(at: .max, type: 255)]), Reference(),
        ] {
            let read = Self.readBack(reference)
            #expect(Array(read.events) == reference.events)
            #expect(Array(read.amounts) == reference.amounts)
            #expect(Array(read.touches) == reference.touches)
            // Later facts go after those read, in each list.
            var grown = read
            grown.insert(TouchFact(at: 10, channel: 1, campaign: 1))
            #expect(Array(grown.touches) == reference.touches + [TouchFact(at: 10, channel: 1, campaign: 1)])
            #expect(Array(grown.events) == reference.events && Array(grown.amounts) == reference.amounts)
        }
    }

    /// `changes` as the canonical encoding writes them, laid out by hand from docs/projections.md.
    static func canonicalChanges(_ changes: [MembershipChange]) -> [UInt8] {
        var packed = BinaryWriter()
        var previous: Int64 = 0
        for change in changes {
            packed.time(change.at.microseconds, after: &previous)
            packed.varint(UInt64(change.generation))
            packed.varint(UInt64(change.node))
            packed.bytes.append(change.eventType)
            let ids = change.subject != nil || change.other != nil
            let flags = (change.entered ? 1 : 0) | (change.nodeHolds ? 2 : 0) | change.trigger.rawValue << 2
            packed.bytes.append(flags | (ids ? 0x80 : 0))
            if ids {
                packed.optionalString(change.subject)
                packed.optionalString(change.other)
            }
        }
        var writer = BinaryWriter()
        writer.varint(UInt64(packed.bytes.count))
        return writer.bytes + packed.bytes
    }

    @Test("Membership changes that do not read are refused, with what was wrong")
    func badChangesRefused() {
        func refuses(_ bytes: [UInt8], saying reason: String) -> Bool {
            readingRefuses([UInt8(bytes.count)] + bytes, saying: reason) { reader throws(EventDecodingError) in
                _ = try MembershipHistory(reading: &reader)
            }
        }
        // Time 1, generation 0, node 0, event type 3, then the flags.
        #expect(refuses([2, 0, 0, 3, 6 << 2], saying: "unknown membership trigger 6"))
        #expect(refuses([2, 0, 0, 3, 0x40], saying: "unknown membership trigger 16"))
        #expect(refuses([2, 0x80, 0x80, 0x80, 0x80, 0x10, 0, 3, 0], saying: "generation 4294967296"))
        #expect(refuses([2, 0, 0x80, 0x80, 0x04, 3, 0], saying: "node 65536"))
        // Merge ids, the first of invalid UTF-8.
        #expect(refuses([2, 0, 0, 3, 0x80 | 4 << 2, 2, 0xFF, 0], saying: "UTF-8"))
        // A change cut short by the byte count.
        #expect(refuses([2, 0, 0, 3], saying: "end"))
        let read = try? reading([10, 2, 0, 0, 3, 4 << 2, 2, 0, 0, 3, 1]) { reader throws(EventDecodingError) in
            try MembershipHistory(reading: &reader)
        }
        #expect(read.map { Array($0).map(\.trigger) } == [.mergedInto, .event])
        #expect(read.map { Array($0).map(\.at.microseconds) } == [1, 2])
    }

    /// Reading `list` newest first gives `reference` reversed, stopping where the body says; reading it after each
    /// of `starts` gives the facts later than the start (in either order), and stops where the body says.
    static func expectReadsAgree<Fact: PackedFact & Equatable>(
        _ list: TimedFacts.List<Fact>,
        _ reference: [Fact],
        starts: [Int64]
    ) {
        var newestFirst = [Fact]()
        list.readNewestFirst { fact in
            newestFirst.append(fact)
            return true
        }
        #expect(newestFirst == reference.reversed())
        var firstTwo = [Fact]()
        list.readNewestFirst { fact in
            firstTwo.append(fact)
            return firstTwo.count < 2
        }
        #expect(firstTwo == Array(reference.reversed().prefix(2)))
        for start in starts {
            var after = [Fact]()
            list.read(after: start) { fact in
                after.append(fact)
                return true
            }
            let expected = reference.filter { $0.at > start }
            // Oldest first unless the list is long and the start leaves less than half of its time span after it.
            let spanLooked = list.range.count > TimedFacts.List<Fact>.longList
            let inOrder =
                !spanLooked || reference.first.map { start <= $0.at + (reference.last!.at - $0.at) / 2 } ?? true
            #expect(after == (inOrder ? expected : expected.reversed()), "after \(start)")
            var one = 0
            list.read(after: start) { _ in
                one += 1
                return false
            }
            #expect(one == min(1, expected.count), "stops after \(start)")
        }
    }

    /// `reference`'s facts as the canonical encoding writes them (``SegmentStanding/serialize(into:words:)``):
    /// each list after its byte count, each fact's time from the one before it in its list, its words by their places in
    /// `table`.
    static func canonicalLists(_ reference: Reference, table: FactWords.Table) -> [UInt8] {
        var events = BinaryWriter()
        var previous: Int64 = 0
        for fact in reference.events {
            events.time(fact.at, after: &previous)
            events.varint(UInt64(fact.type))
        }
        var amounts = BinaryWriter()
        previous = 0
        for fact in reference.amounts {
            amounts.time(fact.at, after: &previous)
            amounts.varint(UInt64(fact.kind.rawValue))
            amounts.zigzag(fact.minorUnits)
            table.write(fact.currency, into: &amounts)
        }
        var touches = BinaryWriter()
        previous = 0
        for fact in reference.touches {
            touches.time(fact.at, after: &previous)
            table.write(fact.channel, into: &touches)
            table.write(fact.campaign, into: &touches)
        }
        var writer = BinaryWriter()
        for list in [events, amounts, touches] {
            writer.varint(UInt64(list.bytes.count))
            writer.bytes += list.bytes
        }
        return writer.bytes
    }

    /// `reference`'s facts written as canonical lists and read back with ``TimedFacts/read(changes:from:words:)``,
    /// through the table of their words as a snapshot holds it.
    static func readBack(_ reference: Reference) -> TimedFacts {
        let words = reference.amounts.map(\.currency) + reference.touches.flatMap { [$0.channel, $0.campaign] }
        let table = FactWords(words).table()
        var tableBytes = BinaryWriter()
        table.write(into: &tableBytes)
        return try! reading(tableBytes.bytes + canonicalLists(reference, table: table)) {
            reader throws(EventDecodingError) in
            let readTable = try FactWords.ReadTable(deserializing: &reader)
            return try TimedFacts.read(changes: MembershipHistory(reference.changes), from: &reader, words: readTable)
        }
    }

    @Test("Canonical lists that do not read are refused, with what was wrong: a kind, a word, a varint, the end")
    func badListsRefused() {
        let table = FactWords([Vocabulary.number(of: "timed-facts-word-0")]).table()
        var tableBytes = BinaryWriter()
        table.write(into: &tableBytes)
        func refuses(_ lists: [UInt8], saying reason: String) -> Bool {
            readingRefuses(tableBytes.bytes + lists, saying: reason) { reader throws(EventDecodingError) in
                let words = try FactWords.ReadTable(deserializing: &reader)
                _ = try TimedFacts.read(changes: MembershipHistory([]), from: &reader, words: words)
            }
        }
        // Each list after its byte count. No events; one amount: time 2, kind 3 (there are three kinds, 0 to 2), 5
        // units, the first word.
        #expect(refuses([0, 4, 4, 3, 10, 0, 0], saying: "unknown amount kind 3"))
        // Kind 1 as a two-byte varint: a kind is one byte.
        #expect(refuses([0, 5, 4, 0x81, 0, 10, 0, 0], saying: "unknown amount kind 129"))
        // A touch naming the second word of a table of one.
        #expect(refuses([0, 0, 3, 4, 0, 1], saying: "a fact names word 1 of 1"))
        // An event fact whose time is a varint of eleven bytes.
        #expect(refuses([12] + [UInt8](repeating: 0x80, count: 10) + [0, 0, 0, 0], saying: "varint too long"))
        // A list of event facts whose byte count ends within a fact, and one that runs past the end.
        #expect(refuses([3, 4, 1, 4, 1, 0, 0], saying: "end"))
        #expect(refuses([9, 4, 1], saying: "bytes of event facts count 9 is too large"))
        // The same lists, well formed, read.
        let read = try? reading(tableBytes.bytes + [2, 4, 1, 4, 4, 1, 10, 0, 3, 4, 0, 0]) {
            reader throws(EventDecodingError) in
            let words = try FactWords.ReadTable(deserializing: &reader)
            return try TimedFacts.read(changes: MembershipHistory([]), from: &reader, words: words)
        }
        #expect(read.map { Array($0.events) } == [EventFact(at: 2, type: 1)])
        // A type written in more bytes than it needs (1 as 0x81 0x00), which a restore copies as it is: read newest
        // first, the facts' starts are still found.
        let wide = try? reading(tableBytes.bytes + [7, 4, 0x81, 0x00, 4, 2, 6, 3, 0, 0]) {
            reader throws(EventDecodingError) in
            let words = try FactWords.ReadTable(deserializing: &reader)
            return try TimedFacts.read(changes: MembershipHistory([]), from: &reader, words: words)
        }
        let facts = [EventFact(at: 2, type: 1), EventFact(at: 4, type: 2), EventFact(at: 7, type: 3)]
        #expect(wide.map { Array($0.events) } == facts)
        var newestFirst = [EventFact]()
        wide?.events.readNewestFirst { fact in
            newestFirst.append(fact)
            return true
        }
        #expect(newestFirst == facts.reversed())
        #expect(read.map { Array($0.amounts).map(\.minorUnits) } == [5])
        #expect(read.map { Array($0.touches).map(\.at) } == [2])
    }

    @Test("Room for a list's facts, reckoned from its bytes, is never less than the count of facts packed smallest")
    func mostFactsBoundsTheSmallestFacts() {
        var packed = TimedFacts()
        for _ in 0..<100 {
            packed.insert(EventFact(at: 7, type: 0))
            packed.insert(AmountFact(at: 7, minorUnits: 0, currency: 0, kind: .placed))
            packed.insert(TouchFact(at: 7, channel: 0, campaign: 0))
        }
        #expect(packed.events.count == 100 && packed.events.mostFacts >= 100)
        #expect(packed.amounts.count == 100 && packed.amounts.mostFacts >= 100)
        #expect(packed.touches.count == 100 && packed.touches.mostFacts >= 100)
    }

    @Test("Lists that are empty stay empty while the others grow, whatever the order they are filled in")
    func emptyLists() {
        var facts = TimedFacts()
        facts.insert(TouchFact(at: 5, channel: 1, campaign: 2))
        #expect(facts.events.isEmpty && facts.amounts.isEmpty && facts.touches.count == 1)
        facts.insert(AmountFact(at: 4, minorUnits: -7, currency: 3, kind: .refunded))
        facts.insert(EventFact(at: 3, type: 9))
        #expect(Array(facts.touches) == [TouchFact(at: 5, channel: 1, campaign: 2)])
        #expect(Array(facts.amounts) == [AmountFact(at: 4, minorUnits: -7, currency: 3, kind: .refunded)])
        #expect(Array(facts.events) == [EventFact(at: 3, type: 9)])
        let change = MembershipChange(at: EventTime(microseconds: 2), generation: 1, entered: true, trigger: .event)
        facts.append(change)
        #expect(Array(facts.changes) == [change] && Array(facts.events) == [EventFact(at: 3, type: 9)])
        #expect(Array(facts.touches) == [TouchFact(at: 5, channel: 1, campaign: 2)])
    }
}
