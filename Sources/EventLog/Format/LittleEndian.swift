/// Little-endian loads and stores at byte positions; every on-disk integer goes through these. Inlinable: called
/// from other modules unspecialized, each load looked up generic metadata (a ninth of opening an engine).
extension UnsafeRawBufferPointer {
    @inlinable @inline(__always)
    package func le<T: FixedWidthInteger>(_ position: Int, as type: T.Type = T.self) -> T {
        T(littleEndian: loadUnaligned(fromByteOffset: position, as: T.self))
    }
}

extension UnsafeMutableRawBufferPointer {
    @inlinable @inline(__always)
    package func setLE<T: FixedWidthInteger>(_ value: T, at position: Int) {
        storeBytes(of: value.littleEndian, toByteOffset: position, as: T.self)
    }
}

extension Array where Element == UInt8 {
    /// Appends the little-endian bytes of `value`.
    @inlinable @inline(__always)
    package mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}

extension Array {
    /// `withUnsafeBytes` that keeps the closure's error type (the standard one only rethrows `any Error`).
    package func withBytes<Result, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        var outcome: Swift.Result<Result, Failure>?
        withUnsafeBytes { raw in
            outcome = Swift.Result { () throws(Failure) -> Result in try body(raw) }
        }
        return try outcome!.get()
    }

    /// `withUnsafeMutableBytes` that keeps the closure's error type, as ``withBytes(_:)`` does.
    package mutating func withMutableBytes<Result, Failure: Error>(
        _ body: (UnsafeMutableRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        var outcome: Swift.Result<Result, Failure>?
        withUnsafeMutableBytes { raw in
            outcome = Swift.Result { () throws(Failure) -> Result in try body(raw) }
        }
        return try outcome!.get()
    }
}
