import CRMModel

/// The words (channels, campaigns, currency codes) that a state's facts have named, so that its canonical bytes
/// write each word once, in a table sorted by the words, and every fact names a word by its place in that table: a
/// byte where the word took 5 to 20 (docs/projections.md, section 4).
///
/// The set only grows: a word stays in it when the facts that named it are gone (merged away, say). It is a function
/// of the events folded, as the canonical bytes must be: a rebuild, the same events followed live, and a snapshot
/// read back then caught up name the same words (the table read back is the set). Kept as one bit per vocabulary
/// number: the words are few.
struct FactWords: Sendable, Equatable {
    private var bits: [UInt64] = []

    init() {}

    /// The set of `numbers`.
    init(_ numbers: some Sequence<Vocabulary.Word>) {
        for number in numbers { insert(number) }
    }

    mutating func insert(_ word: Vocabulary.Word) {
        let (index, bit) = (Int(word) >> 6, UInt64(1) << (word & 63))
        if index >= bits.count { bits += [UInt64](repeating: 0, count: index + 1 - bits.count) }
        bits[index] |= bit
    }

    mutating func formUnion(_ other: FactWords) {
        if other.bits.count > bits.count { bits += [UInt64](repeating: 0, count: other.bits.count - bits.count) }
        for (index, word) in other.bits.enumerated() { bits[index] |= word }
    }

    /// The numbers in the set, in no particular order.
    private var numbers: [Vocabulary.Word] {
        var numbers = [Vocabulary.Word]()
        for (index, word) in bits.enumerated() where word != 0 {
            var rest = word
            while rest != 0 {
                numbers.append(Vocabulary.Word(index << 6 + rest.trailingZeroBitCount))
                rest &= rest - 1
            }
        }
        return numbers
    }

    /// The table a state's canonical bytes hold: the set's words in String order, each with its place.
    func table() -> Table {
        let words = Vocabulary.shared.words()
        return Table(numbers: numbers.sorted { words[Int($0)] < words[Int($1)] }, vocabulary: words)
    }

    /// The set's words in String order, and each one's place by its vocabulary number: what a serializer writes.
    struct Table: Sendable {
        /// The vocabulary numbers in the order of their words.
        private let numbers: [Vocabulary.Word]
        /// The place of each word, by vocabulary number (`UInt32.max`: not in the table).
        private let places: [UInt32]
        /// ``Vocabulary/words()`` when the table was made: every word by its number.
        let vocabulary: [String]

        fileprivate init(numbers: [Vocabulary.Word], vocabulary: [String]) {
            self.numbers = numbers
            self.vocabulary = vocabulary
            var places = [UInt32](repeating: .max, count: vocabulary.count)
            for (place, number) in numbers.enumerated() { places[Int(number)] = UInt32(place) }
            self.places = places
        }

        /// Writes the table: the count, then the words.
        func write(into writer: inout BinaryWriter) {
            writer.strings(numbers.map { vocabulary[Int($0)] })
        }

        /// Writes word `number`'s place; it must be in the table.
        func write(_ number: Vocabulary.Word, into writer: inout some PackedBytes) {
            let place = places[Int(number)]
            precondition(place != .max, "a fact names a word its state has not noted")
            writer.varint(UInt64(place))
        }
    }

    /// A table read back: each place's vocabulary number.
    struct ReadTable: Sendable {
        let numbers: [Vocabulary.Word]

        /// Reads what ``Table/write(into:)`` wrote.
        init(deserializing reader: inout BinaryReader) throws(EventDecodingError) {
            let words = try reader.strings()
            for (index, word) in words.enumerated() where index > 0 && words[index - 1] >= word {
                throw EventDecodingError(reason: "the fact words are not in order at \(word)")
            }
            numbers = words.map(Vocabulary.number(of:))
        }

        /// The set whose table this was.
        var set: FactWords { FactWords(numbers) }

        /// The vocabulary number of the word whose place is next in `reader`.
        func word(from reader: inout BinaryReader) throws(EventDecodingError) -> Vocabulary.Word {
            try numbers.withUnsafeBufferPointer { numbers throws(EventDecodingError) in
                try Self.word(from: &reader, numbers: numbers)
            }
        }

        /// ``word(from:)`` of a table whose numbers are `numbers`.
        static func word(
            from reader: inout BinaryReader,
            numbers: UnsafeBufferPointer<Vocabulary.Word>
        ) throws(EventDecodingError) -> Vocabulary.Word {
            let place = try reader.varint()
            guard place < UInt64(numbers.count) else {
                throw EventDecodingError(reason: "a fact names word \(place) of \(numbers.count)")
            }
            return numbers[Int(place)]
        }
    }
}
