import CRMModel

/// The hash of a customer id or a word in the engine's own tables (``IdentifiedTable``, ``HashFilter``, the
/// per-thread word numbers), seeded per process: never saved.
///
/// Tables compare ids as `String`s, which are equal when their text is canonically equivalent (docs/events.md, "Ids
/// and words are text"), so the hash is of the id's canonical bytes: its UTF-8 in Normalization Form C, which for
/// ASCII is the bytes as they are. Up to 16 canonical bytes, which nearly every id and word is: the bytes in two
/// 64-bit words (loads that cover them, overlapping when shorter), mixed by two keyed 64 × 64-bit multiplications,
/// each folding its product's halves together (the scheme of wyhash's short path; one multiplication alone left
/// 0.6 % of 300,000 customer-like ids colliding). Longer ones take the standard library's hash, itself of the
/// canonical form. Swift's SipHash of each event's customer id, where events are decoded, was about 1.5 % of a
/// one-core rebuild. Tables confirm a hit by comparing the ids, so a collision only costs a probe.
public enum IDHash {
    private static let seed: (UInt64, UInt64, UInt64) = {
        var generator = SystemRandomNumberGenerator()
        return (generator.next(), generator.next(), generator.next())
    }()

    /// The two halves of the full product of `a` and `b`, folded.
    @inline(__always) private static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let product = a.multipliedFullWidth(by: b)
        return product.high ^ product.low
    }

    /// The hash of `id`: equal ids (as `String`s compare) hash equally within a process.
    public static func of(_ id: String) -> Int {
        let short = id.utf8.withContiguousStorageIfAvailable { of(shortUTF8: UnsafeRawBufferPointer($0)) }
        return (short ?? nil) ?? ofCanonicalForm(id)
    }

    /// The hash of an id longer than 16 bytes or not ASCII: of its canonical bytes, so that a spelling of more than
    /// 16 bytes whose canonical form has 16 or fewer (six Kelvin signs, six Ks) hashes as that form does.
    @inline(never)
    private static func ofCanonicalForm(_ id: String) -> Int {
        var contiguous = id
        return contiguous.withUTF8 { utf8 in
            UnsafeRawBufferPointer(utf8).withCanonicalUTF8 { canonical in
                canonical.count <= 16 ? mixed(canonical) : id.hashValue
            }
        }
    }

    /// What ``of(_:)`` gives for an id of these UTF-8 bytes when they are ASCII and 16 or fewer; nil for others
    /// (hash those with ``of(_:)``). For a reader that has the bytes and no `String`.
    @inline(__always)
    public static func of(shortUTF8 bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count <= 16 else { return nil }
        let (first, last) = words(bytes)
        // The loads cover every byte, so a byte of 0x80 or above shows in them: not ASCII, not known canonical.
        guard (first | last) & 0x8080_8080_8080_8080 == 0 else { return nil }
        return mixed(first: first, last: last, count: bytes.count)
    }

    /// The short path's hash of up to 16 bytes, canonical or not.
    private static func mixed(_ bytes: UnsafeRawBufferPointer) -> Int {
        let (first, last) = words(bytes)
        return mixed(first: first, last: last, count: bytes.count)
    }

    /// Up to 16 bytes in two words, by loads that cover every byte (overlapping when shorter).
    @inline(__always)
    private static func words(_ bytes: UnsafeRawBufferPointer) -> (first: UInt64, last: UInt64) {
        let count = bytes.count
        if count >= 8, let start = bytes.baseAddress {
            return (
                start.loadUnaligned(as: UInt64.self),
                start.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
            )
        } else if count >= 4, let start = bytes.baseAddress {
            return (
                UInt64(start.loadUnaligned(as: UInt32.self)) << 32
                    | UInt64(start.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)),
                0
            )
        } else if count > 0 {
            return (UInt64(bytes[0]) | UInt64(bytes[count / 2]) << 8 | UInt64(bytes[count - 1]) << 16, 0)
        }
        return (0, 0)
    }

    @inline(__always)
    private static func mixed(first: UInt64, last: UInt64, count: Int) -> Int {
        let seed = seed
        return Int(truncatingIfNeeded: mix(mix(first ^ seed.0, last ^ seed.1) ^ seed.2, UInt64(count) ^ seed.0))
    }
}
