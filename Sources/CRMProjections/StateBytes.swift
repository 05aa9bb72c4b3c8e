package import CRMModel

/// A state's canonical bytes, read piece by piece: a snapshot checks and decompresses only the blocks a read
/// touches, so that a query about one customer reads a few megabytes of a state of hundreds (docs/projections.md,
/// section 4, "One customer out of a snapshot").
package protocol StateBytes {
    /// The state's byte count.
    var count: Int { get }

    /// Calls `body` with the bytes of `range` (within `0..<count`), contiguous and valid during the call. Throws
    /// when they cannot be read, naming what is wrong (a block that does not match its checksum).
    func withBytes<Result>(
        in range: Range<Int>,
        _ body: (UnsafeRawBufferPointer) throws(EventDecodingError) -> Result
    ) throws(EventDecodingError) -> Result
}

extension StateBytes {
    /// What `parse` reads from the start of the state, and where it stopped. A part at the start of a state has no
    /// byte count of its own, so `parse` is given windows of the bytes that double from 1 MiB until it succeeds;
    /// the error of the last window, the whole state, is the one thrown.
    package func prefix<Value>(
        _ parse: (inout BinaryReader) throws(EventDecodingError) -> Value
    ) throws(EventDecodingError) -> (value: Value, end: Int) {
        var length = Swift.min(count, 1 << 20)
        while true {
            do {
                return try withBytes(in: 0..<length) { raw throws(EventDecodingError) in
                    var reader = BinaryReader(raw)
                    let value = try parse(&reader)
                    return (value, reader.bytesRead)
                }
            } catch {
                guard length < count else { throw error }
                length = Swift.min(count, length * 2)
            }
        }
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
        let (_, afterCount) = try count(at: start)
        let (chunks, firstChunk) = try count(at: afterCount)
        var candidate: Range<Int>?
        var position = firstChunk
        for _ in 0..<chunks {
            let (length, chunkStart) = try count(at: position)
            let chunk = chunkStart..<chunkStart + length
            let (keyLength, keyStart) = try count(at: chunkStart)
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
            position = chunk.upperBound
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
