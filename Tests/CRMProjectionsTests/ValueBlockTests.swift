import Foundation
import Testing

@testable import CRMProjections

/// The block an identified table keeps its values in: growth that keeps every value, copy on write between tables
/// that share a block, and values that cannot be moved bit for bit.
@Suite("Value block")
struct ValueBlockTests {
    /// A value holding a reference and a string on the heap, so that a lost retain or a double release shows.
    struct Named: Identified, Equatable {
        var id: String
        var tags: [String]
    }

    static func named(_ number: Int) -> Named {
        Named(
            id: "customer-with-a-long-id-\(number)",
            tags: ["tag-\(number)", String(repeating: "x", count: number % 40)]
        )
    }

    @Test("Values added one by one through many growths are all found, equal to what was added")
    func growth() {
        var table = IdentifiedTable<Named>()
        for number in 0..<50_000 { table.store(Self.named(number)) }
        #expect(table.count == 50_000)
        for number in stride(from: 0, to: 50_000, by: 7) { #expect(table[Self.named(number).id] == Self.named(number)) }
        #expect(Set(table.ids).count == 50_000)
    }

    @Test("A place's address is its value's; none past the values (a stale place) or in an empty table")
    func addressOfPlace() {
        var table = IdentifiedTable<Named>()
        #expect(table.address(ofPlace: 0) == nil)
        for number in 0..<1_000 { table.store(Self.named(number)) }
        for number in stride(from: 0, to: 1_000, by: 4) { _ = table.remove(Self.named(number).id) }
        table.withValues { values in
            let base = UnsafeRawPointer(values.baseAddress!)
            for place in values.indices {
                #expect(table.address(ofPlace: place) == base + place * MemoryLayout<Named>.stride)
            }
        }
        #expect(table.count == 750 && table.address(ofPlace: 750) == nil && table.address(ofPlace: -1) == nil)
    }

    @Test("Reading ahead guesses each id's value by its hash, after growth and removals; no guess in an empty table")
    func likelyAddress() {
        var table = IdentifiedTable<Named>()
        #expect(table.likelyAddress(hash: IDHash.of(Self.named(1).id)) == nil)
        for number in 0..<20_000 { table.store(Self.named(number)) }
        // Removals move the last value into each hole: the slots follow it.
        for number in stride(from: 0, to: 20_000, by: 3) { _ = table.remove(Self.named(number).id) }
        table.withValues { values in
            let base = UnsafeRawPointer(values.baseAddress!)
            let stride = MemoryLayout<Named>.stride
            var guessed = 0
            for place in values.indices {
                let address = table.likelyAddress(hash: IDHash.of(values[place].id))
                // Within the values, on a value's start: never an address a hint should not be given.
                #expect(address.map { ($0 - base) % stride == 0 && ($0 - base) / stride < values.count } ?? false)
                if address == base + place * stride { guessed += 1 }
            }
            // Wrong only where two ids share the 32 hash bits a slot keeps.
            #expect(guessed >= values.count - 2, "\(guessed) of \(values.count)")
        }
        // An id never stored is guessed only on such a collision.
        let strangers = (50_000..<50_100).filter { table.likelyAddress(hash: IDHash.of(Self.named($0).id)) != nil }
        #expect(strangers.count <= 1)
    }

    @Test("A copy keeps its values while the original is changed, grown and emptied, and the other way round")
    func copyOnWrite() {
        var original = IdentifiedTable<Named>()
        for number in 0..<100 { original.store(Self.named(number)) }
        let snapshot = original
        original.update(Self.named(5).id, default: Self.named(5)) { $0.tags = ["changed"] }
        for number in 100..<5_000 { original.store(Self.named(number)) }
        _ = original.remove(Self.named(0).id)
        #expect(
            snapshot.count == 100 && snapshot[Self.named(5).id] == Self.named(5) && snapshot.contains(Self.named(0).id)
        )
        #expect(original[Self.named(5).id]?.tags == ["changed"] && !original.contains(Self.named(0).id))

        var copy = original
        copy.withMutableValues { values in
            for index in values.indices { values[index].tags.append("copy") }
        }
        #expect(original.allSatisfy { $0.tags.last != "copy" } && copy.allSatisfy { $0.tags.last == "copy" })
        var absorbing = snapshot
        absorbing.absorb(copy)
        #expect(absorbing.count == 5_000 && snapshot.count == 100 && copy.count == 4_999)
    }

    @Test("Absorbing a table handed over moves its values, in its order, and empties it; a shared one is copied")
    func absorbTaking() {
        func table(_ numbers: some Sequence<Int>) -> IdentifiedTable<Named> {
            var table = IdentifiedTable<Named>()
            for number in numbers { table.store(Self.named(number)) }
            return table
        }
        var target = table(0..<1_000)
        // 500..<1000 are held already: those keep the target's values.
        var handedOver = table((500..<3_000).reversed())
        handedOver.update(Self.named(700).id, default: Self.named(700)) { $0.tags = ["theirs"] }
        target.absorb(taking: &handedOver)
        #expect(handedOver.isEmpty && target.count == 3_000)
        #expect(
            target.ids == (0..<1_000).map { Self.named($0).id }
                + (500..<3_000).reversed().filter { $0 >= 1_000 }.map { Self.named($0).id }
        )
        #expect(target[Self.named(700).id] == Self.named(700), "a held id keeps its value")
        for number in 0..<3_000 { #expect(target[Self.named(number).id] == Self.named(number), "\(number)") }

        var shared = table(5_000..<5_100)
        let keeper = shared
        target.absorb(taking: &shared)
        #expect(shared.isEmpty && keeper.count == 100 && keeper[Self.named(5_050).id] == Self.named(5_050))
        #expect(target.count == 3_100 && target[Self.named(5_050).id] == Self.named(5_050))
        var other = table(6_000..<6_010)
        other.absorb(keeper)
        #expect(other.count == 110 && keeper.count == 100, "absorbing without taking leaves the other table whole")
    }

    /// A weak reference is registered at its address: such a value is not movable bit for bit.
    final class Object: Sendable {}
    struct Watching: Identified {
        let id: String
        weak var object: Object?
    }

    @Test("Values that cannot be moved bit for bit are moved one by one as the block grows")
    func notBitwiseMovable() {
        #expect(!_isBitwiseTakable(Watching.self) && _isBitwiseTakable(Named.self))
        let objects = (0..<1_000).map { _ in Object() }
        var table = IdentifiedTable<Watching>()
        for (number, object) in objects.enumerated() { table.store(Watching(id: "w\(number)", object: object)) }
        for (number, object) in objects.enumerated() { #expect(table["w\(number)"]?.object === object, "w\(number)") }
    }

    @Test("Values start on a 64-byte line after every growth, small blocks and mapped ones, and keep their contents")
    func lineAligned() {
        func first<Element>(_ table: IdentifiedTable<Element>) -> Int { Int(bitPattern: table.address(ofPlace: 0)) }
        var named = IdentifiedTable<Named>()
        var watching = IdentifiedTable<Watching>()
        let object = Object()
        var misaligned = [Int]()
        // Past 128 KiB a block is a mapping of its own, which `realloc` moves: 20,000 values of about 40 bytes.
        for number in 0..<20_000 {
            named.store(Self.named(number))
            watching.store(Watching(id: "w\(number)", object: object))
            if first(named) % 64 != 0 || first(watching) % 64 != 0 { misaligned.append(number) }
        }
        let (misalignedCount, firstMisaligned) = (misaligned.count, misaligned.first ?? -1)
        #expect(misalignedCount == 0, "first misaligned after value \(firstMisaligned)")
        #expect((0..<20_000).allSatisfy { named[Self.named($0).id] == Self.named($0) })
        #expect((0..<20_000).allSatisfy { watching["w\($0)"]?.object === object })
    }

    @Test("Room reserved: values added up to it never move, and all are found; reserving in an empty table is harmless")
    func reservedRoom() throws {
        var table = IdentifiedTable<Named>()
        table.reserveCapacity(0)
        #expect(table.isEmpty && table[Self.named(1).id] == nil)
        table.reserveCapacity(30_000)
        table.store(Self.named(0))
        let first = try #require(table.address(ofPlace: 0))
        let slots = table.slotsAddress
        for number in 1..<30_000 { table.store(Self.named(number)) }
        #expect(table.address(ofPlace: 0) == first && table.slotsAddress == slots, "the block or the slots grew")
        #expect((0..<30_000).allSatisfy { table[Self.named($0).id] == Self.named($0) })
    }

    @Test("Built in place: a block read straight from a chunked map becomes a table, and a repeated id is refused")
    func builtInPlace() throws {
        let block = ValueBlock<Named>(copying: (0..<10).map(Self.named))
        let table = try #require(IdentifiedTable(block))
        #expect(table.ids == (0..<10).map { Self.named($0).id } && table[place: 3] == Self.named(3))
        let repeated = ValueBlock<Named>(copying: [Self.named(1), Self.named(2), Self.named(1)])
        #expect(throws: DuplicateID(id: Self.named(1).id)) { try IdentifiedTable(repeated) { DuplicateID(id: $0) } }
    }

    #if os(Linux)
    @Test(
        "A table's large block and slots ask for huge pages, and stay one mapping each as they grow",
        .enabled(if: FileManager.default.fileExists(atPath: "/sys/kernel/mm/transparent_hugepage/enabled"))
    )
    func hugePagesAdvised() throws {
        var table = IdentifiedTable<Named>()
        // 200,000 values of 24 bytes and 524,288 slots of 8: each past the 4 MiB where advice starts, after growths.
        for number in 0..<200_000 { table.store(Self.named(number)) }
        let values = try #require(table.address(ofPlace: 0))
        let slots = try #require(table.slotsAddress)
        let valuesEnd = values + table.count * MemoryLayout<Named>.stride
        for (name, start, end) in [("values", values, valuesEnd), ("slots", slots, slots + (1 << 19) * 8)] {
            let mapping = try #require(try Self.mapping(holding: start), "no mapping holds the \(name)")
            // One mapping from the first byte to the last: `mremap` can grow it without copying.
            #expect(mapping.end >= Int(bitPattern: end), "the \(name) span more than one mapping")
            #expect(mapping.flags.contains("hg"), "the \(name)' mapping has flags \(mapping.flags)")
        }
        let small = IdentifiedTable([Self.named(1)])!
        let smallValues = try #require(small.address(ofPlace: 0))
        let smallMapping = try #require(try Self.mapping(holding: smallValues))
        #expect(!smallMapping.flags.contains("hg") || smallMapping.end - smallMapping.start >= 4 << 20)
    }

    /// The mapping of this process holding `address` (its range and `VmFlags`), read from `/proc/self/smaps`.
    static func mapping(holding address: UnsafeRawPointer) throws -> (start: Int, end: Int, flags: [String])? {
        let target = Int(bitPattern: address)
        var current: (start: Int, end: Int)?
        // Read to its end: the file's size is given as 0, which a read of the whole file at once may trust.
        let smaps = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/self/smaps")).readToEnd() ?? Data()
        for line in String(decoding: smaps, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ")
            if let range = fields.first, range.contains("-"), !range.hasSuffix(":") {
                let bounds = range.split(separator: "-").compactMap { Int($0, radix: 16) }
                current = bounds.count == 2 && bounds[0] <= target && target < bounds[1] ? (bounds[0], bounds[1]) : nil
            } else if let found = current, fields.first == "VmFlags:" {
                return (found.start, found.end, fields.dropFirst().map(String.init))
            }
        }
        return nil
    }
    #endif

    struct DuplicateID: Error, Equatable { var id: String }
}
