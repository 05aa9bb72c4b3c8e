import CRMModel
import Synchronization
import Testing

@testable import CRMProjections

/// Reading a chunked map straight into one array (``BinaryReader/chunkedValues(as:_:)``), as a profile snapshot is
/// restored: every value at its place, chunks that do not have the writer's shape refused, and nothing read before
/// a refusal left alive.
@Suite("Chunked values")
struct ChunkedValuesTests {
    /// Counts its instances alive, so that a test sees whether a refused read released what it had read.
    final class Tracked: Sendable {
        static let alive = Atomic<Int>(0)
        let key: String
        let number: Int64

        init(key: String, number: Int64) {
            self.key = key
            self.number = number
            Self.alive.add(1, ordering: .relaxed)
        }

        deinit { Self.alive.subtract(1, ordering: .relaxed) }
    }

    /// One value read: its key, number, chunk and index within the chunk.
    struct Placed: Sendable {
        var key: String
        var number: Int64
        var chunk: Int
        var index: Int
    }

    static func values(_ bytes: [UInt8]) throws(EventDecodingError) -> [Placed] {
        try reading(bytes) { reader throws(EventDecodingError) in
            try reader.chunkedValues { key, chunk, index, reader throws(EventDecodingError) in
                Placed(key: key, number: try reader.int(), chunk: chunk, index: index)
            }
        }
    }

    /// `k-007`: keys whose String order is their number's.
    static func key(_ number: Int) -> String {
        let digits = String(number)
        return "k-" + String(repeating: "0", count: max(0, 3 - digits.count)) + digits
    }

    /// A chunked map by hand, of any shape: the entry count given, then chunks of the sizes given, whose entries
    /// are `k-000`, `k-001`, … with their numbers as values.
    static func handWritten(count: Int, chunkSizes: [Int]) -> [UInt8] {
        var writer = BinaryWriter()
        writer.varint(UInt64(count))
        writer.varint(UInt64(chunkSizes.count))
        var number = 0
        for size in chunkSizes {
            var chunk = BinaryWriter()
            for _ in 0..<size {
                chunk.string(Self.key(number))
                chunk.int(Int64(number))
                number += 1
            }
            writer.varint(UInt64(chunk.bytes.count))
            writer.bytes += chunk.bytes
        }
        return writer.bytes
    }

    @Test("Every value at its place in key order, with its chunk and index; an empty map reads as empty")
    func inPlace() throws {
        var writer = BinaryWriter()
        let keys = (0..<100).map { Self.key($0) }
        writer.chunkedMap(entries: keys.shuffled(), key: \.self, chunkSize: 7) { $0.int(Int64($1.dropFirst(2))!) }
        let read = try Self.values(writer.bytes)
        #expect(read.map(\.key) == keys)
        #expect(read.map(\.number) == (0..<100).map(Int64.init))
        #expect(read.map(\.chunk) == (0..<100).map { $0 / 7 })
        #expect(read.map(\.index) == (0..<100).map { $0 % 7 })
        var empty = BinaryWriter()
        empty.chunkedMap(entries: [String](), key: \.self) { _, _ in }
        #expect(try Self.values(empty.bytes).isEmpty)
        // One chunk holding everything.
        #expect(try Self.values(Self.handWritten(count: 5, chunkSizes: [5])).map(\.number) == [0, 1, 2, 3, 4])
    }

    @Test("Chunks that do not have the writer's shape are refused, naming the chunk")
    func shapes() {
        // Entry counts that do not match the chunks.
        #expect(
            Self.refuses(count: 11, chunkSizes: [4, 4, 2], saying: "chunk 2 of a chunked map holds 2 entries, not 3")
        )
        #expect(
            Self.refuses(count: 9, chunkSizes: [4, 3, 2], saying: "chunk 1 of a chunked map holds 3 entries, not 4")
        )
        #expect(
            Self.refuses(count: 8, chunkSizes: [4, 5], saying: "chunk 1 of a chunked map holds more than 4 entries")
        )
        #expect(Self.refuses(count: 10, chunkSizes: [3, 7], saying: "in 2 chunks starts with 3 entries"))
        #expect(Self.refuses(count: 4, chunkSizes: [2], saying: "in 1 chunks starts with 2 entries"))
        #expect(Self.refuses(count: 0, chunkSizes: [2], saying: "a chunked map of 0 entries has 1 chunks"))
    }

    static func refuses(count: Int, chunkSizes: [Int], saying reason: String) -> Bool {
        readingRefuses(handWritten(count: count, chunkSizes: chunkSizes), saying: reason) {
            reader throws(EventDecodingError) in
            _ = try reader.chunkedValues { _, _, _, reader throws(EventDecodingError) in try reader.int() }
        }
    }

    @Test("A refused read releases every value it had read, in every chunk")
    func releasedOnRefusal() {
        let before = Tracked.alive.load(ordering: .relaxed)
        // Chunk 3 of 4 is cut short: chunks 0 to 2, and part of 3, were read first.
        let bytes = Self.handWritten(count: 16, chunkSizes: [4, 4, 4, 3])
        let refused = readingRefuses(bytes, saying: "chunk 3") { reader throws(EventDecodingError) in
            _ = try reader.chunkedValues { key, _, _, reader throws(EventDecodingError) in
                Tracked(key: key, number: try reader.int())
            }
        }
        #expect(refused)
        #expect(Tracked.alive.load(ordering: .relaxed) == before)
        // And a whole read keeps them all, until the array goes.
        do {
            let kept = try reading(Self.handWritten(count: 15, chunkSizes: [4, 4, 4, 3])) {
                reader throws(EventDecodingError) in
                try reader.chunkedValues { key, _, _, reader throws(EventDecodingError) in
                    Tracked(key: key, number: try reader.int())
                }
            }
            #expect(kept.map(\.number) == (0..<15).map(Int64.init))
            #expect(Tracked.alive.load(ordering: .relaxed) == before + 15)
        } catch {
            Issue.record("\(error)")
        }
        #expect(Tracked.alive.load(ordering: .relaxed) == before)
    }
}
