/// Word → number for the few words (tens to thousands) that one thread looks up millions of times
/// (``Vocabulary``'s per-thread memory): an ``IdentifiedTable`` whose words are hashed by their bytes instead of by
/// the standard library. A class, used by one thread: a struct read out of the thread's object was copied for each
/// look-up (its arrays retained and released).
///
/// A `[String: Word]` hashed every look-up with SipHash, through the string's hashing path: two look-ups of a
/// touchpoint (its channel and campaign) were about 3 % of a one-core rebuild, on the decoding side. Here a word of up
/// to 16 bytes is hashed with one 64 × 64-bit multiplication of its bytes, keyed by a per-table random seed; a longer
/// word uses the standard library's hash. Either way the table confirms a hit by comparing the words, so a collision
/// only costs a probe. Every word goes in and is looked for with that hash (the table's own hashing of ids is not
/// used).
final class WordNumbers {
    private struct NumberedWord: Identified {
        let id: String
        let number: Vocabulary.Word
    }

    private var table = IdentifiedTable<NumberedWord>()
    private let seed: (UInt64, UInt64)

    init() {
        var generator = SystemRandomNumberGenerator()
        seed = (generator.next(), generator.next())
    }

    /// Words remembered.
    var count: Int { table.count }

    /// The number remembered for `word`, or nil.
    subscript(word: String) -> Vocabulary.Word? {
        table.place(of: word, hash: hash(word)).map { table[place: $0].number }
    }

    /// Remembers `number` for `word` (not remembered yet).
    func insert(_ word: String, number: Vocabulary.Word) {
        table.update(word, hash: hash(word), default: NumberedWord(id: word, number: number)) { _ in }
    }

    /// Equal words hash equally: the same bytes give the same value, and a word whose bytes are not contiguous
    /// (never on Linux) is hashed as a longer one is.
    private func hash(_ word: String) -> Int {
        let seed = seed
        let short = word.utf8.withContiguousStorageIfAvailable { bytes -> Int? in
            let count = bytes.count
            guard count > 0 else { return 0 }
            guard count <= 16, let start = UnsafeRawPointer(bytes.baseAddress) else { return nil }
            // Two loads that cover every byte (overlapping when shorter than 16), then the high and low halves of
            // their keyed product folded together.
            let first: UInt64
            let last: UInt64
            if count >= 8 {
                first = start.loadUnaligned(as: UInt64.self)
                last = start.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
            } else if count >= 4 {
                first = UInt64(start.loadUnaligned(as: UInt32.self))
                last = UInt64(start.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self))
            } else {
                first = UInt64(bytes[0]) | UInt64(bytes[count / 2]) << 8 | UInt64(bytes[count - 1]) << 16
                last = 0
            }
            let product = (first ^ seed.0).multipliedFullWidth(by: last ^ seed.1 ^ UInt64(count))
            return Int(truncatingIfNeeded: product.high ^ product.low)
        }
        return (short ?? nil) ?? word.hashValue
    }
}
