/// A set of hashes that may answer "maybe" for one it does not hold, never "no" for one it holds: a bit per value
/// of a hash's low bits, 2^20 of them (128 KiB) once anything is inserted. What lets most events skip a lookup
/// among the merged ids (``IdentityMap``, a rebuild's identity groups): few ids are ever merged.
package struct HashFilter: Sendable {
    private static let bitCount = 1 << 20
    private var words: [UInt64] = []

    package init() {}

    init(_ ids: some Collection<String>) {
        for id in ids { insert(IDHash.of(id)) }
    }

    package func mayContain(_ hash: Int) -> Bool {
        guard !words.isEmpty else { return false }
        let bit = hash & (Self.bitCount - 1)
        return words[bit >> 6] & (1 << UInt64(bit & 63)) != 0
    }

    /// Adds every hash `other` holds.
    mutating func formUnion(_ other: HashFilter) {
        if words.isEmpty {
            words = other.words
        } else if !other.words.isEmpty {
            for index in words.indices { words[index] |= other.words[index] }
        }
    }

    package mutating func insert(_ hash: Int) {
        if words.isEmpty { words = [UInt64](repeating: 0, count: Self.bitCount / 64) }
        let bit = hash & (Self.bitCount - 1)
        words[bit >> 6] |= 1 << UInt64(bit & 63)
    }
}
