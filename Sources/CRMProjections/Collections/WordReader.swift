import CRMModel

/// Reads vocabulary words (channels, campaigns, currency codes) back from a serialized state, making a `String` and
/// looking it up in the vocabulary only the first time it meets a word's bytes.
///
/// A restore reads the same few hundred words millions of times: making each one a `String` (a heap allocation
/// when it is longer than 15 bytes), checking its UTF-8 and hashing it for the vocabulary was most of reading a
/// touch back. Words of up to 16 bytes are remembered by their bytes in a small open-addressing table, hashed with
/// one multiplication; longer words take the vocabulary's own path. One reader serves one thread.
package struct WordReader {
    private struct Slot {
        var low: UInt64
        var high: UInt64
        /// The word's length plus one; 0 for an empty slot.
        var lengthPlusOne: UInt8
        var word: Vocabulary.Word
    }

    private var slots = [Slot](repeating: Slot(low: 0, high: 0, lengthPlusOne: 0, word: 0), count: 256)
    private var used = 0

    package init() {}

    /// The vocabulary number of the next string of `reader`.
    mutating func word(from reader: inout BinaryReader) throws(EventDecodingError) -> Vocabulary.Word {
        let raw = try reader.uncheckedStringBytes()
        guard raw.count <= 16 else { return Vocabulary.shared.number(of: try reader.text(of: raw)) }
        var packed: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &packed) { $0.copyMemory(from: raw) }
        let lengthPlusOne = UInt8(raw.count + 1)
        let mask = slots.count - 1
        var index = Self.hash(packed, lengthPlusOne) & mask
        while slots[index].lengthPlusOne != 0 {
            let slot = slots[index]
            if slot.lengthPlusOne == lengthPlusOne, slot.low == packed.0, slot.high == packed.1 { return slot.word }
            index = (index + 1) & mask
        }
        let word = Vocabulary.shared.number(of: try reader.text(of: raw))
        slots[index] = Slot(low: packed.0, high: packed.1, lengthPlusOne: lengthPlusOne, word: word)
        used += 1
        if used * 2 > slots.count { grow() }
        return word
    }

    private static func hash(_ packed: (UInt64, UInt64), _ lengthPlusOne: UInt8) -> Int {
        let mixed = (packed.0 ^ (packed.1 &* 0x9E37_79B9_7F4A_7C15) ^ UInt64(lengthPlusOne)) &* 0xBF58_476D_1CE4_E5B9
        return Int(truncatingIfNeeded: mixed >> 32)
    }

    private mutating func grow() {
        let old = slots
        slots = [Slot](repeating: Slot(low: 0, high: 0, lengthPlusOne: 0, word: 0), count: old.count * 2)
        let mask = slots.count - 1
        for slot in old where slot.lengthPlusOne != 0 {
            var index = Self.hash((slot.low, slot.high), slot.lengthPlusOne) & mask
            while slots[index].lengthPlusOne != 0 { index = (index + 1) & mask }
            slots[index] = slot
        }
    }
}
