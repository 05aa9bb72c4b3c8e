import CRMModel
import Testing

@testable import CRMProjections

@Suite("Words prepared for writing a snapshot, and the table of a state's fact words")
struct EncodedWordsTests {
    static let words = [
        "", "email", "spring-sale-2026-newsletter-second-wave", "Zürich", "paid_search", "a", "émail", "B",
        String(repeating: "x", count: 200),
    ]

    @Test("Each word is written as the writer writes the string")
    func writtenAsStrings() {
        let encoded = EncodedWords(Self.words)
        for (number, word) in Self.words.enumerated() {
            var expected = BinaryWriter()
            expected.string(word)
            var written = BinaryWriter()
            written.bytes = [7]  // appended after what is there
            encoded.write(number, into: &written)
            #expect(written.bytes == [7] + expected.bytes, "word \(number): \(word)")
        }
    }

    @Test("A state's fact words are written once, in String order, and facts name them by their place")
    func factWordsTable() throws {
        var set = FactWords()
        // Numbered in an order that is not the words' own.
        let numbers = Self.words.reversed().map(Vocabulary.number(of:))
        for number in numbers.shuffled() { set.insert(number) }
        let table = set.table()
        var writer = BinaryWriter()
        table.write(into: &writer)
        for number in numbers { table.write(number, into: &writer) }
        var expected = BinaryWriter()
        expected.strings(Self.words.sorted())
        let places = numbers.map { number in Self.words.sorted().firstIndex(of: Vocabulary.shared.word(number))! }
        for place in places { expected.varint(UInt64(place)) }
        #expect(writer.bytes == expected.bytes)

        var readSet = FactWords()
        let readBack = try reading(writer.bytes) { reader throws(EventDecodingError) in
            let table = try FactWords.ReadTable(deserializing: &reader)
            readSet = table.set
            var words = [Vocabulary.Word]()
            for _ in numbers { words.append(try table.word(from: &reader)) }
            return words
        }
        #expect(readSet == set, "the set read back is the set written")
        #expect(readBack == numbers)
    }

    @Test("A table out of order, or a place past its end, is refused")
    func factWordsRefused() {
        var writer = BinaryWriter()
        writer.strings(["email", "display"])
        #expect(
            readingRefuses(writer.bytes, saying: "the fact words are not in order at display") {
                reader throws(EventDecodingError) in
                _ = try FactWords.ReadTable(deserializing: &reader)
            }
        )
        var ordered = BinaryWriter()
        ordered.strings(["display", "email"])
        ordered.varint(2)
        #expect(
            readingRefuses(ordered.bytes, saying: "a fact names word 2 of 2") { reader throws(EventDecodingError) in
                let table = try FactWords.ReadTable(deserializing: &reader)
                _ = try table.word(from: &reader)
            }
        )
    }
}
