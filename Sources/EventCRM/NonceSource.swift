import Crypto
import EventLog

#if canImport(Glibc)
import Glibc
#endif

/// Random 96-bit AES-GCM nonces from the kernel's CSPRNG (`/dev/urandom`), read 4 KiB at a time: one system call
/// per 341 nonces instead of two each (swift-crypto draws 8 bytes per call; those calls were a visible part of an
/// ingest). Falls back to the standard generator if the device cannot be read.
final class NonceSource: Sendable {
    static let shared = NonceSource()

    private let pool = Locked<(bytes: [UInt8], position: Int)>(([], 0))

    func next() -> AES.GCM.Nonce {
        let bytes = pool.withLock { pool -> ArraySlice<UInt8> in
            if pool.position + 12 > pool.bytes.count {
                pool.bytes = Self.randomBytes(4096)
                pool.position = 0
            }
            defer { pool.position += 12 }
            return pool.bytes[pool.position..<pool.position + 12]
        }
        return try! AES.GCM.Nonce(data: bytes)
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
