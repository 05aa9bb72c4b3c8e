public import CRMModel

/// A state's canonical bytes, read piece by piece: a snapshot checks and decompresses only the blocks a read
/// touches, so that a restore decompresses each chunk of a large map where it is read, into memory used before, and
/// a query about one customer reads a few megabytes of a state of hundreds (docs/projections.md, section 4).
public protocol StateBytes: Sendable {
    /// The state's byte count.
    var count: Int { get }

    /// Calls `body` with the bytes of `range` (within `0..<count`), contiguous and valid during the call. Throws
    /// when they cannot be read, naming what is wrong (a block that does not match its checksum). May be called
    /// from several threads at once.
    func withBytes<Result>(
        in range: Range<Int>,
        _ body: (UnsafeRawBufferPointer) throws(EventDecodingError) -> Result
    ) throws(EventDecodingError) -> Result
}

/// Bytes already in memory, read where they are: valid for as long as whoever lends them keeps them, unchanged.
package struct BorrowedStateBytes: StateBytes, @unchecked Sendable {
    let bytes: UnsafeRawBufferPointer

    package init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    package var count: Int { bytes.count }

    package func withBytes<Result>(
        in range: Range<Int>,
        _ body: (UnsafeRawBufferPointer) throws(EventDecodingError) -> Result
    ) throws(EventDecodingError) -> Result {
        try body(UnsafeRawBufferPointer(rebasing: bytes[range]))
    }
}

/// Where a chunked map (``BinaryWriter/chunkedMap(entries:key:chunkSize:bytesPerEntry:_:)``) lies in a state's
/// bytes: its entry count, each chunk's entries (after the chunk's byte count), and where the map ends.
package struct ChunkedMapLayout: Sendable {
    package var count: Int
    package var chunks: [Range<Int>]
    package var end: Int
}

extension StateBytes {
    /// What `parse` reads from the start of the state, and where it stopped. A part at the start of a state has no
    /// byte count of its own, so `parse` is given windows of the bytes that double from 1 MiB until it succeeds;
    /// the error of the last window, the whole state, is the one thrown.
    package func prefix<Value>(
        from start: Int = 0,
        _ parse: (inout BinaryReader) throws(EventDecodingError) -> Value
    ) throws(EventDecodingError) -> (value: Value, end: Int) {
        let rest = count - start
        var length = Swift.min(rest, 1 << 20)
        while true {
            do {
                return try withBytes(in: start..<start + length) { raw throws(EventDecodingError) in
                    var reader = BinaryReader(raw)
                    let value = try parse(&reader)
                    return (value, start + reader.bytesRead)
                }
            } catch {
                guard length < rest else { throw error }
                length = Swift.min(rest, length * 2)
            }
        }
    }

    /// The layout of the chunked map that starts at byte `start`: its counts, then each chunk's byte count in turn
    /// (the first bytes of the block each chunk starts in, for a snapshot), checked to stay within the state.
    package func chunkedMap(at start: Int) throws(EventDecodingError) -> ChunkedMapLayout {
        let (entries, afterCount) = try count(at: start)
        let (chunkCount, firstChunk) = try count(at: afterCount)
        var chunks = [Range<Int>]()
        // Bounded: a count is checked against the bytes left, not against what a chunk takes in memory.
        chunks.reserveCapacity(Swift.min(chunkCount, 1 << 12))
        var position = firstChunk
        for _ in 0..<chunkCount {
            let chunk = try self.chunk(at: position)
            chunks.append(chunk)
            position = chunk.upperBound
        }
        return ChunkedMapLayout(count: entries, chunks: chunks, end: position)
    }

    /// The entries of the chunk of a chunked map whose byte count is at `position`.
    private func chunk(at position: Int) throws(EventDecodingError) -> Range<Int> {
        let (length, start) = try count(at: position)
        return start..<start + length
    }

    /// The count at byte `position` (a varint), and where the bytes after it start; refused when that many bytes
    /// do not follow it.
    func count(at position: Int) throws(EventDecodingError) -> (value: Int, end: Int) {
        guard position < count else {
            throw EventDecodingError(reason: "a count runs past the end at byte \(position)")
        }
        return try withBytes(in: position..<Swift.min(count, position + 10)) { raw throws(EventDecodingError) in
            var reader = BinaryReader(raw)
            let value = try reader.varint()
            let end = position + reader.bytesRead
            guard value <= UInt64(count - end) else {
                throw EventDecodingError(reason: "count \(value) at byte \(position) runs past the end")
            }
            return (Int(value), end)
        }
    }

    /// The value of `key` in the chunked map (``BinaryWriter/chunkedMap(entries:key:chunkSize:bytesPerEntry:_:)``)
    /// that starts at byte `start`, or nil when the map has no such key. Reads the first key of each chunk, in
    /// order, until one comes after `key`; then only the chunk before it, whose entries are read in order up to
    /// `key` (an entry has no byte count of its own).
    package func chunkedEntry<Value>(
        of key: String,
        at start: Int,
        _ value: (inout BinaryReader) throws(EventDecodingError) -> Value
    ) throws(EventDecodingError) -> Value? {
        // Chunk by chunk, not the whole layout (``chunkedMap(at:)``): a cold query reads from the disk every block
        // it touches, and the walk stops at the first chunk after the key.
        let (_, afterCount) = try count(at: start)
        let (chunks, firstChunk) = try count(at: afterCount)
        var candidate: Range<Int>?
        var position = firstChunk
        for _ in 0..<chunks {
            let chunk = try self.chunk(at: position)
            position = chunk.upperBound
            let (keyLength, keyStart) = try count(at: chunk.lowerBound)
            guard keyStart + keyLength <= chunk.upperBound else {
                throw EventDecodingError(reason: "a key runs past its chunk at byte \(keyStart)")
            }
            let firstKey = try withBytes(in: keyStart..<keyStart + keyLength) { raw throws(EventDecodingError) in
                guard let text = String(validatingUTF8Bytes: raw) else {
                    throw EventDecodingError(reason: "a key is not valid UTF-8 at byte \(keyStart)")
                }
                return text
            }
            if firstKey > key { break }
            candidate = chunk
        }
        guard let candidate else { return nil }
        return try withBytes(in: candidate) { raw throws(EventDecodingError) -> Value? in
            var reader = BinaryReader(raw)
            while !reader.isAtEnd {
                let entryKey = try reader.string()
                if entryKey > key { return nil }
                let entry = try value(&reader)
                if entryKey == key { return entry }
            }
            return nil
        }
    }
}
