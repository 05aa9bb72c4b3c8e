/// A set of event type tags (0...255) as 256 bits: asked for each event and each live segment whether the event's
/// type can change it, where a `Set<UInt8>` hashed the tag every time.
struct TypeTagSet: Sendable, Equatable, ExpressibleByArrayLiteral {
    private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    init() {}

    init(arrayLiteral tags: UInt8...) {
        for tag in tags { insert(tag) }
    }

    var isEmpty: Bool { words == (0, 0, 0, 0) }

    func contains(_ tag: UInt8) -> Bool {
        let bit = UInt64(1) << (tag & 63)
        switch tag >> 6 {
        case 0: return words.0 & bit != 0
        case 1: return words.1 & bit != 0
        case 2: return words.2 & bit != 0
        default: return words.3 & bit != 0
        }
    }

    mutating func insert(_ tag: UInt8) {
        let bit = UInt64(1) << (tag & 63)
        switch tag >> 6 {
        case 0: words.0 |= bit
        case 1: words.1 |= bit
        case 2: words.2 |= bit
        default: words.3 |= bit
        }
    }

    mutating func formUnion(_ other: TypeTagSet) {
        words = (words.0 | other.words.0, words.1 | other.words.1, words.2 | other.words.2, words.3 | other.words.3)
    }

    static func == (a: TypeTagSet, b: TypeTagSet) -> Bool { a.words == b.words }
}
