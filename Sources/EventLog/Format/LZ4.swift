internal import CLZ4

/// The only place that calls liblz4: one LZ4 block per frame (and per snapshot block), no dictionary.
package enum LZ4 {
    /// The largest output `compress` can produce for `count` input bytes.
    package static func compressBound(_ count: Int) -> Int {
        Int(LZ4_compressBound(Int32(clamping: count)))
    }

    /// Compresses `source` into `destination`; returns the compressed size, or 0 when it does not fit.
    /// `acceleration` above 1 trades size for speed (liblz4's `LZ4_compress_fast`); the output decompresses the
    /// same way whatever it was.
    package static func compress(
        _ source: UnsafeRawBufferPointer,
        into destination: UnsafeMutableRawBufferPointer,
        acceleration: Int32 = 1
    ) -> Int {
        guard let src = source.baseAddress, let dst = destination.baseAddress, source.count > 0 else { return 0 }
        return Int(
            LZ4_compress_fast(
                src.assumingMemoryBound(to: CChar.self),
                dst.assumingMemoryBound(to: CChar.self),
                Int32(source.count),
                Int32(clamping: destination.count),
                acceleration
            )
        )
    }

    /// Decompresses one block; returns false unless it decodes to exactly `destination.count` bytes.
    package static func decompress(
        _ source: UnsafeRawBufferPointer,
        into destination: UnsafeMutableRawBufferPointer
    ) -> Bool {
        guard let src = source.baseAddress, let dst = destination.baseAddress, source.count > 0 else {
            return destination.isEmpty && source.isEmpty
        }
        let produced = LZ4_decompress_safe(
            src.assumingMemoryBound(to: CChar.self),
            dst.assumingMemoryBound(to: CChar.self),
            Int32(source.count),
            Int32(clamping: destination.count)
        )
        return Int(produced) == destination.count
    }

    /// Decompresses the start of one block, at least `count` bytes of it, into `destination` (room for the whole
    /// block or less; liblz4's `LZ4_decompress_safe_partial`): reading a chunk's byte count out of the block it
    /// starts costs its first bytes, not the block. Returns false when those bytes do not decode.
    package static func decompress(
        _ source: UnsafeRawBufferPointer,
        into destination: UnsafeMutableRawBufferPointer,
        atLeast count: Int
    ) -> Bool {
        guard count < destination.count else { return decompress(source, into: destination) }
        guard let src = source.baseAddress, let dst = destination.baseAddress, source.count > 0 else {
            return count <= 0
        }
        let produced = LZ4_decompress_safe_partial(
            src.assumingMemoryBound(to: CChar.self),
            dst.assumingMemoryBound(to: CChar.self),
            Int32(source.count),
            Int32(clamping: count),
            Int32(clamping: destination.count)
        )
        return Int(produced) >= count
    }
}
