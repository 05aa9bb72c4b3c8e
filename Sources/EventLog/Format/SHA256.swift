import CCrypto

/// SHA-256 from the system's libcrypto (OpenSSL, through `CCrypto`): the log's chain hashes and the engine's event-id
/// hashes.
package enum SHA256 {
    /// The digest's bytes.
    package static let byteCount = 32

    /// Writes the SHA-256 of the concatenation of `parts` to the 32 bytes at `digest`.
    package static func hash(_ parts: [UnsafeRawBufferPointer], into digest: UnsafeMutableRawPointer) {
        let hashed = withUnsafeTemporaryAllocation(of: UnsafePointer<UInt8>?.self, capacity: parts.count) { starts in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: parts.count) { sizes in
                for (index, part) in parts.enumerated() {
                    starts[index] = part.baseAddress?.assumingMemoryBound(to: UInt8.self)
                    sizes[index] = part.count
                }
                return eventcrm_sha256(
                    starts.baseAddress,
                    sizes.baseAddress,
                    parts.count,
                    digest.assumingMemoryBound(to: UInt8.self)
                )
            }
        }
        // Fails only when the library has no SHA-256 (no default provider): nothing the engine can work around.
        precondition(hashed == 1, "the system's libcrypto could not compute SHA-256")
    }

    /// The SHA-256 of the concatenation of `parts`.
    package static func hash(_ parts: UnsafeRawBufferPointer...) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: byteCount) { digest, count in
            hash(parts, into: UnsafeMutableRawPointer(digest.baseAddress!))
            count = byteCount
        }
    }
}
