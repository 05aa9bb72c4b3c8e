/// The hash of a customer id or a word in the engine's own tables (``IdentifiedTable``, ``HashFilter``, the
/// per-thread word numbers), seeded per process: never saved.
///
/// Up to 16 bytes, which nearly every id and word is: the bytes in two 64-bit words (loads that cover them,
/// overlapping when shorter), mixed by two keyed 64 × 64-bit multiplications, each folding its product's halves
/// together (the scheme of wyhash's short path; one multiplication alone left 0.6 % of 300,000 customer-like ids
/// colliding). Longer ones take the standard library's hash. Swift's SipHash of each event's customer id, where
/// events are decoded, was about 1.5 % of a one-core rebuild. Tables confirm a hit by comparing the ids, so a
/// collision only costs a probe.
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

    /// The hash of `id`: equal ids hash equally within a process (a string whose bytes are not contiguous, never
    /// on Linux, is hashed as a longer one is).
    public static func of(_ id: String) -> Int {
        let short = id.utf8.withContiguousStorageIfAvailable { of(shortUTF8: UnsafeRawBufferPointer($0)) }
        return (short ?? nil) ?? id.hashValue
    }

    /// What ``of(_:)`` gives for an id of these UTF-8 bytes when they are 16 or fewer; nil for longer ones (their
    /// hash is the `String`'s). For a reader that has the bytes and no `String`.
    @inline(__always)
    public static func of(shortUTF8 bytes: UnsafeRawBufferPointer) -> Int? {
        let count = bytes.count
        guard count <= 16 else { return nil }
        let first: UInt64
        let last: UInt64
        if count >= 8, let start = bytes.baseAddress {
            first = start.loadUnaligned(as: UInt64.self)
            last = start.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
        } else if count >= 4, let start = bytes.baseAddress {
            first =
                UInt64(start.loadUnaligned(as: UInt32.self)) << 32
                | UInt64(start.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self))
            last = 0
        } else if count > 0 {
            first = UInt64(bytes[0]) | UInt64(bytes[count / 2]) << 8 | UInt64(bytes[count - 1]) << 16
            last = 0
        } else {
            first = 0
            last = 0
        }
        let seed = seed
        return Int(truncatingIfNeeded: mix(mix(first ^ seed.0, last ^ seed.1) ^ seed.2, UInt64(count) ^ seed.0))
    }
}
