import CRMModel
import Testing

@testable import CRMProjections

@Suite("Words prepared for writing a snapshot")
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

    @Test("Words are ordered as their Strings are")
    func orderedAsStrings() {
        let encoded = EncodedWords(Self.words)
        for left in Self.words.indices {
            for right in Self.words.indices {
                #expect(encoded.areInOrder(left, right) == (Self.words[left] < Self.words[right]))
            }
        }
    }
}
