import CRMModel
import Testing

@testable import CRMProjections

@Suite("Reading vocabulary words back from a state")
struct WordReaderTests {
    @Test("Every word reads back as its vocabulary number: repeated, empty, 16 and 17 bytes, non-ASCII, past growth")
    func wordsReadBack() throws {
        var texts = [
            "", "email", "email", "organic_search", "exactly-16-bytes", "seventeen-bytes-x", "promoção", "email",
        ]
        // More distinct words than the table's first size holds at half load, so it grows while reading.
        texts += (0..<300).map { "campaign-\($0)" } + (0..<300).map { "campaign-\($0)" }
        var writer = BinaryWriter()
        for text in texts { writer.string(text) }
        let bytes = writer.bytes
        let numbers = try bytes.withUnsafeBytes { raw throws(EventDecodingError) in
            var reader = BinaryReader(raw)
            var words = WordReader()
            var numbers = [Vocabulary.Word]()
            while !reader.isAtEnd { numbers.append(try words.word(from: &reader)) }
            return numbers
        }
        #expect(numbers == texts.map { Vocabulary.shared.number(of: $0) })
        let vocabulary = Vocabulary.shared.words()
        #expect(numbers.map { vocabulary[Int($0)] } == texts)
    }

    @Test("Bytes that are not UTF-8 are refused with the byte they end at, also when they look like a known word's")
    func invalidUTF8() throws {
        var writer = BinaryWriter()
        writer.string("email")
        let valid = writer.bytes
        // The same length as "email", one byte different and not UTF-8.
        let invalid = valid.prefix(1) + [0x65, 0x6D, 0xFF, 0x69, 0x6C]
        let error = (valid + invalid).withUnsafeBytes { raw -> EventDecodingError? in
            var reader = BinaryReader(raw)
            var words = WordReader()
            do throws(EventDecodingError) {
                _ = try words.word(from: &reader)
                _ = try words.word(from: &reader)
                return nil
            } catch {
                return error
            }
        }
        #expect(error?.reason == "string is not valid UTF-8 at byte 12")
    }
}
