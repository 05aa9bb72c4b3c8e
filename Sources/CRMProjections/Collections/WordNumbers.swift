/// Word → number for the few words (tens to thousands) that one thread looks up millions of times
/// (``Vocabulary``'s per-thread memory): an ``IdentifiedTable`` of numbered words, hashed with ``IDHash`` as every
/// table of the engine is. Each thread keeps its own in memory of its own, reached through a pointer
/// (``Vocabulary``): held by a class, each look-up retained and released the class and checked exclusive access to
/// the table, about half of the look-up's time.
///
/// A `[String: Word]` hashed every look-up with SipHash, through the string's hashing path: two look-ups of a
/// touchpoint (its channel and campaign) were about 3 % of a one-core rebuild, on the decoding side.
struct WordNumbers {
    private struct NumberedWord: Identified {
        let id: String
        let number: Vocabulary.Word
    }

    private var table = IdentifiedTable<NumberedWord>()

    /// Words remembered.
    var count: Int { table.count }

    /// The number remembered for `word`, or nil. A `mutating get` only so that a caller reaching the table through
    /// a pointer (``Vocabulary``) passes it where it lies: with a plain getter, reading through `pointee` retained and
    /// released the table's two references at every look-up (half of `Vocabulary.number`'s samples in perf of a
    /// one-core rebuild).
    subscript(word: String) -> Vocabulary.Word? {
        mutating get { table.place(of: word).map { table[place: $0].number } }
    }

    /// Remembers `number` for `word` (not remembered yet).
    mutating func insert(_ word: String, number: Vocabulary.Word) {
        table.update(word, default: NumberedWord(id: word, number: number)) { _ in }
    }
}
