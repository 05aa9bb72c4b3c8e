import CRMModel
import Testing

@testable import CRMProjections

/// A state's bytes that are all in memory already.
struct ContiguousStateBytes: StateBytes {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var count: Int { bytes.count }

    func withBytes<Result>(
        in range: Range<Int>,
        _ body: (UnsafeRawBufferPointer) throws(EventDecodingError) -> Result
    ) throws(EventDecodingError) -> Result {
        var result: Swift.Result<Result, EventDecodingError>!
        bytes.withUnsafeBytes { raw in
            result = Swift.Result { () throws(EventDecodingError) in
                try body(UnsafeRawBufferPointer(rebasing: raw[range]))
            }
        }
        return try result.get()
    }
}

/// A state's bytes in memory that record which ranges were read (from one thread).
final class RecordingStateBytes: StateBytes, @unchecked Sendable {
    let inner: ContiguousStateBytes
    var reads = [Range<Int>]()

    init(_ bytes: [UInt8]) { inner = ContiguousStateBytes(bytes) }

    var count: Int { inner.count }

    func withBytes<Result>(
        in range: Range<Int>,
        _ body: (UnsafeRawBufferPointer) throws(EventDecodingError) -> Result
    ) throws(EventDecodingError) -> Result {
        reads.append(range)
        return try inner.withBytes(in: range, body)
    }
}

@Suite("Reading one entry out of a state's bytes")
struct StateBytesTests {
    /// A head of `headBytes` bytes, then a chunked map of `keys` (chunks of 3) whose values are `key.count * 10`.
    static func state(keys: [String], headBytes: Int = 5) -> (bytes: [UInt8], mapStart: Int) {
        var writer = BinaryWriter()
        writer.string(String(repeating: "h", count: headBytes))
        let mapStart = writer.bytes.count
        let ownKey: @Sendable (String) -> String = { $0 }
        writer.chunkedMap(entries: keys.shuffled(), key: ownKey, chunkSize: 3) { writer, key in
            writer.int(Int64(key.count * 10))
        }
        return (writer.bytes, mapStart)
    }

    @Test("Every key of a chunked map is found, at chunk starts, ends and between; absent keys give nil")
    func everyKeyFound() throws {
        let keys = ["b", "bb", "c-1", "c-10", "c-2", "d", "é", "zz", "zzz", "zzzz"]
        let (bytes, mapStart) = Self.state(keys: keys)
        let source = ContiguousStateBytes(bytes)
        for key in keys {
            let value = try source.chunkedEntry(of: key, at: mapStart) { reader throws(EventDecodingError) in
                try reader.int()
            }
            #expect(value == Int64(key.count * 10), "\(key)")
        }
        for absent in ["", "a", "ba", "c-3", "e", "z", "zzzzz", "ü"] {
            let value = try source.chunkedEntry(of: absent, at: mapStart) { reader throws(EventDecodingError) in
                try reader.int()
            }
            #expect(value == nil, "\(absent)")
        }
        let empty = Self.state(keys: [])
        #expect(
            try ContiguousStateBytes(empty.bytes).chunkedEntry(of: "a", at: empty.mapStart) {
                reader throws(EventDecodingError) in try reader.int()
            } == nil
        )
    }

    @Test("Only the chunk that can hold the key is read whole; of the others, only their first bytes")
    func onlyOneChunkRead() throws {
        let keys = (0..<300).map { "customer-\(1000 + $0)" }
        let (bytes, mapStart) = Self.state(keys: keys)
        let source = RecordingStateBytes(bytes)
        let value = try source.chunkedEntry(of: "customer-1150", at: mapStart) {
            reader throws(EventDecodingError) in try reader.int()
        }
        #expect(value == 130)
        // 100 chunks of about 45 bytes; the walk reads counts (up to 10 bytes) and first keys (13): a read of more
        // than 20 bytes is a whole chunk, and only one is read.
        #expect(source.reads.filter { $0.count > 20 }.count == 1)
        #expect(source.reads.allSatisfy { $0.upperBound <= bytes.count })
        // The walk stops at the first chunk after the key: chunks 51 to 99 are not touched.
        let read = source.reads.map(\.upperBound).max()!
        #expect(read < bytes.count / 2 + 200, "read up to byte \(read) of \(bytes.count)")
    }

    @Test("A head longer than the first window is read by doubling it; a cut state is refused")
    func prefixGrows() throws {
        let (bytes, mapStart) = Self.state(keys: ["a", "b"], headBytes: 3 << 20)
        let source = RecordingStateBytes(bytes)
        let (head, end) = try source.prefix { reader throws(EventDecodingError) in try reader.string() }
        #expect(head.count == 3 << 20)
        #expect(end == mapStart)
        #expect(source.reads.map(\.count) == [1 << 20, 2 << 20, 4 << 20, bytes.count].filter { $0 <= bytes.count })
        let cut = ContiguousStateBytes(Array(bytes[..<(2 << 20)]))
        #expect(throws: EventDecodingError.self) {
            _ = try cut.prefix { reader throws(EventDecodingError) in try reader.string() }
        }
        let cutInChunk = ContiguousStateBytes(Array(bytes.dropLast()))
        #expect(throws: EventDecodingError.self) {
            _ = try cutInChunk.chunkedEntry(of: "b", at: mapStart) { reader throws(EventDecodingError) in
                try reader.int()
            }
        }
    }
}
