import Testing

@testable import EventCRM

@Suite("Customer key table")
struct CustomerKeyTableTests {
    /// A key whose first 8 bytes are `number`'s: distinct for every number.
    static func key(_ number: Int) -> CustomerKey {
        CustomerKey(
            bytes: withUnsafeBytes(of: UInt64(number).littleEndian, Array.init) + [UInt8](repeating: 7, count: 24)
        )
    }

    static func bytes(_ key: CustomerKey?) -> [UInt8]? { key?.withUnsafeBytes { Array($0) } }

    @Test("Keys set, replaced and destroyed: the others stay found with their bytes, a destroyed one is gone")
    func setReplaceDestroy() {
        var table = CustomerKeyTable()
        for number in 0..<5_000 { table.set(Self.key(number), for: "c-\(number)") }
        table.set(Self.key(99_999), for: "c-10")
        #expect(table.count == 5_000)
        #expect(Self.bytes(table["c-10"]) == Self.bytes(Self.key(99_999)))
        // A key in the middle (the last entry takes its place) and the last one added.
        #expect(table.destroyKey(of: "c-20") && table.destroyKey(of: "c-4999"))
        #expect(!table.destroyKey(of: "c-20") && !table.destroyKey(of: "never-stored"))
        #expect(table.count == 4_998 && table["c-20"] == nil && table["c-4999"] == nil)
        let intact = (0..<4_999).filter { $0 != 20 && $0 != 10 }.allSatisfy {
            Self.bytes(table["c-\($0)"]) == Self.bytes(Self.key($0))
        }
        #expect(intact)
        var visited = [String: [UInt8]]()
        table.visitKeys { customer, key in visited[customer] = Self.bytes(key) }
        #expect(visited.count == 4_998 && visited["c-20"] == nil && visited["c-0"] == Self.bytes(Self.key(0)))
        let destroyedFound = visited.values.contains(Self.bytes(Self.key(20))!)
        #expect(!destroyedFound, "the destroyed key's bytes are in no entry")
    }
}
