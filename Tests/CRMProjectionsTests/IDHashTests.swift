import Testing

@testable import CRMProjections

/// The hash every table of the engine finds ids and words by: equal ids hash equally however they were built, and
/// ids that differ little (customer numbers) spread over the bits a table takes its slots from.
@Suite("Id hash")
struct IDHashTests {
    @Test("an id built another way (a substring, from bytes, longer than 16 bytes) hashes as the same id")
    func equalIDsHashEqually() {
        for id in [
            "", "c", "c-1", "c-1234", "c-123456789", "c-1234567890123", "c-12345678901234", "a-much-longer-id-42",
        ] {
            let sliced = String("x\(id)x".dropFirst().dropLast())
            let decoded = String(decoding: Array(id.utf8), as: UTF8.self)
            #expect(IDHash.of(sliced) == IDHash.of(id), "\(id)")
            #expect(IDHash.of(decoded) == IDHash.of(id), "\(id)")
        }
        #expect(IDHash.of("c-1") != IDHash.of("c-2"))
    }

    @Test("customer-like ids do not collide and spread evenly over a table's slot bits")
    func idsSpread() {
        let ids = (0..<100_000).flatMap { ["c-\($0)", "v-\($0)", "customer-\($0)@shop"] }
        let hashes = ids.map(IDHash.of)
        #expect(Set(hashes).count == ids.count)
        // A table's first slot comes from the top 32 bits masked to its length: count the 1,024 values of the top
        // bits that a table of that many slots would use, and of the lowest ten (a shard or a filter's bit).
        for shift in [54, 0] {
            var buckets = [Int](repeating: 0, count: 1024)
            for hash in hashes { buckets[Int((UInt64(bitPattern: Int64(hash)) >> UInt64(shift)) & 1023)] += 1 }
            let mean = ids.count / 1024
            #expect(buckets.min()! > mean / 2 && buckets.max()! < mean * 3 / 2, "shift \(shift)")
        }
    }
}
