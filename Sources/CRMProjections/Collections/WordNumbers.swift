/// Word → number for the few words (tens to thousands) that one thread looks up millions of times: an
/// open-addressing table hashed by the word's bytes (``Vocabulary``'s per-thread memory). A class, used by one thread:
/// a struct read out of the thread's object was copied for each look-up (its two arrays retained and released).
///
/// A `[String: Word]` hashed every look-up with SipHash, through the string's hashing path: two look-ups of a
/// touchpoint (its channel and campaign) were about 3 % of a one-core rebuild, on the decoding side. Here a word of up
/// to 16 bytes is hashed with one 64 × 64-bit multiplication of its bytes, keyed by a per-table random seed; a longer
/// word uses the standard library's hash. Either way a hit is confirmed by comparing the words, so a collision only
/// costs a probe.
final class WordNumbers {
    private static let empty = Vocabulary.Word.max
    /// The words by slot ("" where `numbers` holds `empty`).
    private var words: [String]
    private var numbers: [Vocabulary.Word]
    /// Occupied slots.
    private(set) var count = 0
    private let seed: (UInt64, UInt64)

    init(capacity: Int = 64) {
        let slots = max(8, (capacity * 4 / 3).nextPowerOfTwo)
        words = Array(repeating: "", count: slots)
        numbers = Array(repeating: Self.empty, count: slots)
        var generator = SystemRandomNumberGenerator()
        seed = (generator.next(), generator.next())
    }

    /// The number remembered for `word`, or nil.
    subscript(word: String) -> Vocabulary.Word? {
        let mask = numbers.count - 1
        var slot = hash(word) & mask
        while true {
            let number = numbers[slot]
            if number == Self.empty { return nil }
            if words[slot] == word { return number }
            slot = (slot + 1) & mask
        }
    }

    /// Remembers `number` for `word` (not remembered yet).
    func insert(_ word: String, number: Vocabulary.Word) {
        precondition(number != Self.empty, "the largest word number marks an empty slot")
        // At most three quarters full, so that a miss ends after a few probes.
        if (count + 1) * 4 > numbers.count * 3 { grow() }
        place(word, number)
        count += 1
    }

    private func place(_ word: String, _ number: Vocabulary.Word) {
        let mask = numbers.count - 1
        var slot = hash(word) & mask
        while numbers[slot] != Self.empty { slot = (slot + 1) & mask }
        words[slot] = word
        numbers[slot] = number
    }

    private func grow() {
        let (oldWords, oldNumbers) = (words, numbers)
        words = Array(repeating: "", count: oldNumbers.count * 2)
        numbers = Array(repeating: Self.empty, count: oldNumbers.count * 2)
        for (word, number) in zip(oldWords, oldNumbers) where number != Self.empty { place(word, number) }
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

extension Int {
    fileprivate var nextPowerOfTwo: Int { self <= 1 ? 1 : 1 << (Int.bitWidth - (self - 1).leadingZeroBitCount) }
}
