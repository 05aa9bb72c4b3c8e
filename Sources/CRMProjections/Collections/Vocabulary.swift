import Locking

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Interned strings for the facts every customer keeps many of (channels, campaigns, currency codes): a fact holds a
/// 4-byte number instead of a 16-byte string that must be retained, released and compared byte by byte.
///
/// Numbers are given in the order words are first seen by this process, so they differ between runs and between
/// shards of a rebuild: they never leave memory. The canonical encoding writes the words, and anything ordered for
/// it is ordered by the words. One vocabulary serves the whole process (words are few: tens of channels, thousands
/// of campaigns), so states and their shards share numbers without translating them.
final class Vocabulary: Sendable {
    typealias Word = UInt32

    /// The empty string: "no channel", "no campaign".
    static let none: Word = 0

    private struct Table {
        var numbers: [String: Word] = ["": 0]
        var words: [String] = [""]
    }

    // A pthread mutex (`Locked`), not `Synchronization.Mutex`, whose futex calls ThreadSanitizer cannot see.
    private let table = Locked(Table())

    static let shared = Vocabulary()

    private init() {}

    /// The number of `word` in the ``shared`` vocabulary, giving it the next one if it has none yet. Static: a call
    /// through `shared` retained and released it, whose count both cores of a rebuild or a restore then wrote to
    /// (its cache line moving between them: the retain was as dear as the look-up).
    static func number(of word: String) -> Word {
        // Each thread remembers the numbers it has looked up: both cores of a rebuild or a restore look words up
        // millions of times, and taking the one lock for each was a tenth of a restore.
        let local = ThreadWords.current
        if let number = local.pointee[word] { return number }
        let number = shared.table.withLock { table in
            if let number = table.numbers[word] { return number }
            let number = Word(table.words.count)
            table.numbers[word] = number
            table.words.append(word)
            return number
        }
        local.pointee.insert(word, number: number)
        return number
    }

    /// The word numbered `number` (given by ``number(of:)``).
    func word(_ number: Word) -> String {
        table.withLock { $0.words[Int(number)] }
    }

    /// Every word by its number, as of now (numbers given later are past its end).
    func words() -> [String] {
        table.withLock { $0.words }
    }
}

/// The numbers one thread has looked up (numbers never change, so a copy is never stale), in memory the thread
/// owns: read through the pointer, a look-up neither retains anything nor checks exclusive access (a class holding
/// the table did both, half of each look-up's time).
private enum ThreadWords {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        // Freed when its thread ends.
        let created = pthread_key_create(&key) { pointer in
            guard let pointer else { return }
            let numbers = pointer.assumingMemoryBound(to: WordNumbers.self)
            numbers.deinitialize(count: 1)
            numbers.deallocate()
        }
        precondition(created == 0, "pthread_key_create failed: \(created)")
        return key
    }()

    static var current: UnsafeMutablePointer<WordNumbers> {
        if let pointer = pthread_getspecific(key) { return pointer.assumingMemoryBound(to: WordNumbers.self) }
        let numbers = UnsafeMutablePointer<WordNumbers>.allocate(capacity: 1)
        numbers.initialize(to: WordNumbers())
        pthread_setspecific(key, numbers)
        return numbers
    }
}
