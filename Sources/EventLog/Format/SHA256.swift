import CCrypto

/// SHA-256 from the system's libcrypto (OpenSSL, through `CCrypto`): the log's chain hashes and the engine's event-id
/// hashes.
package enum SHA256 {
    /// The digest's bytes.
    package static let byteCount = 32

    /// Writes the SHA-256 of `bytes` to the 32 bytes at `digest`. One part needs no list of parts: an event id is
    /// hashed for every event ingested and indexed, where a list was an allocation each.
    package static func hash(_ bytes: UnsafeRawBufferPointer, into digest: UnsafeMutableRawPointer) {
        var start = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        var size = bytes.count
        check(eventcrm_sha256(&start, &size, 1, digest.assumingMemoryBound(to: UInt8.self)))
    }

    /// The SHA-256 of the concatenation of `parts`.
    package static func hash(_ parts: UnsafeRawBufferPointer...) -> [UInt8] {
        let starts = parts.map { $0.baseAddress?.assumingMemoryBound(to: UInt8.self) }
        let sizes = parts.map(\.count)
        return [UInt8](unsafeUninitializedCapacity: byteCount) { digest, count in
            check(eventcrm_sha256(starts, sizes, parts.count, digest.baseAddress!))
            count = byteCount
        }
    }

    /// Fails only when the library has no SHA-256 (no default provider): nothing the engine can work around.
    private static func check(_ hashed: Int32) {
        precondition(hashed == 1, "the system's libcrypto could not compute SHA-256")
    }
}
