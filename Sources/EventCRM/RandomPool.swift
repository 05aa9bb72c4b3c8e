import EventLog
import Locking

#if canImport(Glibc)
import Glibc
#endif

/// Random bytes for AES-GCM nonces and customer keys from the kernel's CSPRNG (`/dev/urandom`), read 4 KiB at a
/// time: one system call per 341 nonces or 128 keys, where the standard generator makes one per 8 bytes (those calls
/// were a visible part of an ingest). Falls back to the standard generator if the device cannot be read.
final class RandomPool: Sendable {
    static let shared = RandomPool()

    private let pool = Locked<(bytes: [UInt8], position: Int)>(([], 0))

    /// `count` (at most 4096) random bytes, never handed out twice.
    func bytes(_ count: Int) -> ArraySlice<UInt8> {
        pool.withLock { pool -> ArraySlice<UInt8> in
            if pool.position + count > pool.bytes.count {
                pool.bytes = Self.randomBytes(4096)
                pool.position = 0
            }
            defer { pool.position += count }
            return pool.bytes[pool.position..<pool.position + count]
        }
    }

    /// A random 96-bit AES-GCM nonce.
    func nonce() -> ArraySlice<UInt8> {
        bytes(12)
    }

    /// A random AES-256 key.
    func key() -> CustomerKey {
        CustomerKey(bytes: bytes(32))
    }

    private static func randomBytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let device = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
        var filled = 0
        if device >= 0 {
            defer { close(device) }
            while filled < count {
                let read = bytes.withUnsafeMutableBytes { Glibc.read(device, $0.baseAddress! + filled, count - filled) }
                if read > 0 {
                    filled += read
                } else if read < 0 && errno == EINTR {
                    continue
                } else {
                    break
                }
            }
        }
        if filled < count {
            var generator = SystemRandomNumberGenerator()
            for index in filled..<count { bytes[index] = generator.next() }
        }
        return bytes
    }
}
