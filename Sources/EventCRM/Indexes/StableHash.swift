import CRMModel
import EventLog

/// Hashes that are the same in every process and on every machine, for what indexes store on disk
/// (docs/engine-directory.md). Swift's `Hasher` is seeded per process and cannot be used for that.
enum StableHash {
    /// FNV-1a 64 of the id's canonical bytes (docs/engine-directory.md: its UTF-8 in Normalization Form C, so that
    /// every spelling of the same text hashes alike), then MurmurHash3's 64-bit finalizer so that every input bit
    /// reaches every output bit.
    static func customer(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        bytes.withCanonicalUTF8 { finalized(fnv1a($0)) }
    }

    /// FNV-1a 64 of `bytes`.
    private static func fnv1a(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    private static func finalized(_ hash: UInt64) -> UInt64 {
        var hash = hash
        hash ^= hash >> 33
        hash &*= 0xff51_afd7_ed55_8ccd
        hash ^= hash >> 33
        hash &*= 0xc4ce_b9fe_1a85_ec53
        hash ^= hash >> 33
        return hash
    }

    static func customer(_ id: String) -> UInt64 {
        var id = id
        return id.withUTF8 { customer(UnsafeRawBufferPointer($0)) }
    }

    /// The first 88 bits of SHA-256 of an event id's canonical bytes: a crafted id cannot collide with another one,
    /// so the engine never skips a genuine event as a duplicate.
    static func eventID(_ bytes: UnsafeRawBufferPointer) -> EventIDHash {
        var digest = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        bytes.withCanonicalUTF8 { canonical in
            withUnsafeMutableBytes(of: &digest) { SHA256.hash(canonical, into: $0.baseAddress!) }
        }
        return withUnsafeBytes(of: digest) { raw in
            EventIDHash(
                low: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                high: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) & 0xFF_FFFF
            )
        }
    }

    static func eventID(_ id: String) -> EventIDHash {
        var id = id
        return id.withUTF8 { eventID(UnsafeRawBufferPointer($0)) }
    }
}

/// 88 bits of an event id's SHA-256: 64 in `low`, 24 in `high`.
struct EventIDHash: Hashable, Sendable {
    var low: UInt64
    var high: UInt64

    /// The key under which index runs and tables file it: `low`, with 0 (which marks empty slots) read as 1.
    var runKey: UInt64 { low == 0 ? 1 : low }
}
