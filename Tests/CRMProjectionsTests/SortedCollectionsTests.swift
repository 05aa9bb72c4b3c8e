import CRMModel
import CRMProjections
import Testing

@Suite("Sorted maps and sets of profiles")
struct SortedCollectionsTests {
    @Test("A sorted map keeps keys in order, updates in place, removes on nil, merges, and reads back only in order")
    func sortedMap() throws {
        var map: SortedMap<Int64> = ["sms": 1, "email": 2]
        map["push", default: 0] += 3
        map["email", default: 0] += 1
        #expect(map.keys == ["email", "push", "sms"] && map.values == [3, 3, 1])
        map["push"] = nil
        #expect(map == ["email": 3, "sms": 1] && map["push"] == nil)
        map.merge(["sms": 4, "chat": 1], uniquingKeysWith: +)
        #expect(map.keys == ["chat", "email", "sms"] && map["sms"] == 5)
        var writer = BinaryWriter()
        writer.map(map) { $0.int($1) }
        let dictionary: [String: Int64] = ["chat": 1, "email": 3, "sms": 5]
        var same = BinaryWriter()
        same.map(dictionary) { $0.int($1) }
        #expect(writer.bytes == same.bytes, "the canonical form of a dictionary")
        // Keys written out of order (b before a) are refused.
        let disordered: [UInt8] = [2, 1, UInt8(ascii: "b"), 2, 1, UInt8(ascii: "a"), 2]
        let refused = readingRefuses(disordered, saying: "out of order") { reader throws(EventDecodingError) in
            _ = try reader.sortedMap { reader throws(EventDecodingError) in try reader.int() }
        }
        #expect(refused)
    }

    @Test("A sorted set inserts once, removes, unions and subtracts in order")
    func sortedSet() {
        var set: SortedSet = ["t-2", "t-1"]
        #expect(set.insert("t-3").inserted && !set.insert("t-1").inserted)
        #expect(Array(set) == ["t-1", "t-2", "t-3"])
        #expect(set.remove("t-2") == "t-2" && set.remove("t-9") == nil)
        #expect(Array(set.union(["t-0"])) == ["t-0", "t-1", "t-3"])
        #expect(Array(set.subtracting(["t-1"])) == ["t-3"] && set.contains("t-3") && !set.contains("t-2"))
    }

    @Test("Sorting map entries for writing gives String order: ASCII keys by their bytes, other keys as Strings")
    func entriesSortedInStringOrder() {
        var generator = SystemRandomNumberGenerator()
        // Keys that share their first 8 bytes or more, that are prefixes of one another, short, empty, with NUL.
        var keys = ["", "a", "a\u{0}", "customer", "customer-1", "customer-10", "customer-2", "customeq", "Z", "~"]
        keys += (0..<5_000).map { _ in "c-\(Int.random(in: 0..<100_000, using: &generator))" }
        keys += (0..<2_000).map { _ in "customer-\(Int.random(in: 0..<1_000, using: &generator))" }
        let ascii = Array(Set(keys)).shuffled()
        #expect(sortedOnTwoCores(ascii) { $0 } == ascii.sorted())
        // Canonically equivalent spellings (precomposed and combining é) sort as Swift compares them.
        let mixed = (ascii + ["café", "cafe\u{301}x", "cafd", "zoë", "Ω"]).shuffled()
        #expect(sortedOnTwoCores(mixed) { $0 } == mixed.sorted())
        #expect(sortedOnTwoCores([String]()) { $0 }.isEmpty && sortedOnTwoCores(["x"]) { $0 } == ["x"])
        // Every count from 0 to 40, with keys that repeat: in key order, each element once (the two halves are
        // merged in two parts, on two cores).
        for count in 0...40 {
            let elements = (0..<count).map { (key: "k\($0 % 7)", tag: $0) }.shuffled()
            let sorted = sortedOnTwoCores(elements) { $0.key }
            #expect(sorted.map(\.key) == elements.map(\.key).sorted(), "\(count)")
            #expect(sorted.map(\.tag).sorted() == Array(0..<count), "\(count)")
        }
    }
}
