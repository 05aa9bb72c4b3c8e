internal import CCRC32C

/// CRC32C (Castagnoli), the checksum of every frame, header and index entry (docs/on-disk-format.md).
///
/// Computed by a small C function that uses the CPU's CRC32C instruction when there is one (SSE4.2 on x86-64,
/// the CRC extension on arm64) and a table otherwise: Swift has no portable way to reach the instruction, and
/// the table alone made the checksum a third of replay time.
package enum CRC32C {
    /// The CRC32C of `bytes`, continuing from `crc` (the result of a previous call, or 0 to start).
    package static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress else { return crc }
        return eventcrm_crc32c(crc, base, bytes.count)
    }

    /// The same computed with the table only, to check the instruction path against it.
    static func portableChecksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress else { return crc }
        return eventcrm_crc32c_portable(crc, base, bytes.count)
    }

    package static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }
}
