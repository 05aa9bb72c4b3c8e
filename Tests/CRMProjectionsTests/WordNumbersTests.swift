import Testing

@testable import CRMProjections

/// The per-thread table of word numbers behind ``Vocabulary``: every word remembered is found with its number, a word
/// not remembered is not, whatever its length and however its bytes resemble another's.
@Suite("Word numbers")
struct WordNumbersTests {
    /// Words of every length from 0 to 40 bytes, words that differ in one byte only (first, middle, last, each of the
    /// bytes an 8-byte load covers twice), and words that are not ASCII.
    static let words: [String] = {
        var words = [String]()
        for length in 0...40 { words.append(String(repeating: "a", count: length)) }
        for length in [1, 3, 4, 7, 8, 9, 12, 15, 16, 17, 24] {
            let base = Array(repeating: UInt8(ascii: "x"), count: length)
            for position in 0..<length {
                var bytes = base
                bytes[position] = UInt8(ascii: "y")
                words.append(String(decoding: bytes, as: UTF8.self))
            }
        }
        words += ["é", "email", "émail", "cmp-5", "cmp-50", "blog.example.org", "so-retargeting", "日本語のチャネル"]
        words += (0..<500).map { "campaign-\($0)-spring" }
        return Array(Set(words)).sorted()
    }()

    @Test("finds every word remembered with its number, and no other, across growth")
    func remembersEveryWord() {
        var table = WordNumbers()
        var remembered = [String: UInt32]()
        for (index, word) in Self.words.enumerated() {
            if index % 2 == 0 {
                table.insert(word, number: UInt32(index))
                remembered[word] = UInt32(index)
            }
            // Every word remembered so far is still found after each insert (and each growth).
            if index % 97 == 0 {
                for (known, number) in remembered { #expect(table[known] == number, "\(known)") }
            }
        }
        #expect(table.count == remembered.count)
        for (index, word) in Self.words.enumerated() {
            #expect(table[word] == remembered[word], "\(word) at \(index)")
        }
    }

    @Test("a word built another way (a substring, a longer native string) is the same word")
    func equalWordsHashEqually() {
        var table = WordNumbers()
        table.insert("paid_search", number: 7)
        table.insert("a-campaign-name-longer-than-16", number: 8)
        let built = String("xpaid_searchx".dropFirst().dropLast())
        #expect(table[built] == 7)
        #expect(table[String(decoding: Array("a-campaign-name-longer-than-16".utf8), as: UTF8.self)] == 8)
        #expect(table["paid_searcH"] == nil)
    }

    @Test("the vocabulary gives a word the same number on every thread")
    func vocabularyAgreesAcrossThreads() {
        let words = Self.words
        let numbers = words.map { Vocabulary.number(of: $0) }
        // Distinct words, distinct numbers.
        #expect(Set(numbers).count == words.count)
        let others = concurrentMap(4, parallel: true) { thread in
            // Each thread looks the words up in another order, twice (the second time from its own table).
            let order = thread % 2 == 0 ? Array(words.indices) : Array(words.indices.reversed())
            var found = [UInt32](repeating: 0, count: words.count)
            for _ in 0..<2 { for index in order { found[index] = Vocabulary.number(of: words[index]) } }
            return found
        }
        for thread in 0..<4 { #expect(others[thread] == numbers, "thread \(thread)") }
        for (word, number) in zip(words, numbers) { #expect(Vocabulary.shared.word(number) == word) }
    }
}
