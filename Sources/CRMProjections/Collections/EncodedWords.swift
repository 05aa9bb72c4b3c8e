import CRMModel

/// Words as a state's canonical encoding writes them, prepared once for a whole snapshot: each word's bytes (its
/// UTF-8 length as a varint, then the UTF-8) side by side in one buffer.
///
/// Writing a word from its `String` retained and released the string's storage (words longer than 15 bytes are not
/// inline); here a word is copied from plain memory. The names of live segments, which every customer's memberships
/// list.
final class EncodedWords: @unchecked Sendable {
    // @unchecked: the buffers are written by the initializer only, then read from any thread until `deinit`.

    /// The words, by number.
    let words: [String]
    /// Every word's canonical bytes, the word numbered `n` at `starts[n]..<starts[n + 1]`.
    private let bytes: UnsafeMutableRawBufferPointer
    private let starts: UnsafeMutableBufferPointer<Int>

    /// `words`: a segment catalog's live names, or any list of distinct words.
    init(_ words: [String]) {
        self.words = words
        var encoded = BinaryWriter()
        var starts = [Int]()
        starts.reserveCapacity(words.count + 1)
        for word in words {
            starts.append(encoded.bytes.count)
            encoded.string(word)
        }
        starts.append(encoded.bytes.count)
        bytes = .allocate(byteCount: max(1, encoded.bytes.count), alignment: 8)
        bytes.copyBytes(from: encoded.bytes)
        self.starts = .allocate(capacity: starts.count)
        _ = self.starts.initialize(from: starts)
    }

    deinit {
        bytes.deallocate()
        starts.deallocate()
    }

    /// Appends word `number` as ``BinaryWriter/string(_:)`` would.
    func write(_ number: Int, into writer: inout BinaryWriter) {
        writer.bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[starts[number]..<starts[number + 1]]))
    }

    /// Reads a word as ``BinaryReader/string()`` would and returns its number, without making a `String` (a
    /// restore reads a live segment's name for every membership of every customer); nil when it is none of these
    /// words, with `unknown` set to the text read.
    func number(reading reader: inout BinaryReader, unknown: inout String) throws(EventDecodingError) -> Int? {
        let text = try reader.rawBytes(try reader.count("word"))
        // The length of the word's encoding: its count as a varint, then its bytes.
        var encoded = ByteCount()
        encoded.varint(UInt64(text.count))
        encoded.count += text.count
        for number in words.indices where starts[number + 1] - starts[number] == encoded.count {
            // A word's bytes end its encoding, after their count.
            let word = UnsafeRawBufferPointer(rebasing: bytes[starts[number + 1] - text.count..<starts[number + 1]])
            if bytesEqual(word, text) { return number }
        }
        unknown = String(decoding: text, as: UTF8.self)
        return nil
    }

}
