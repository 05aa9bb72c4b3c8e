import CRMModel

/// What `read` gets out of `bytes`.
func reading<Value>(
    _ bytes: [UInt8],
    _ read: (inout BinaryReader) throws(EventDecodingError) -> Value
) throws(EventDecodingError) -> Value {
    // `withUnsafeBytes` rethrows untyped errors: the typed one is carried out in a Result.
    let result = bytes.withUnsafeBytes { raw in
        Result { () throws(EventDecodingError) -> Value in
            var reader = BinaryReader(raw)
            return try read(&reader)
        }
    }
    return try result.get()
}

/// Whether `read` refuses `bytes` with an error that says `reason`.
func readingRefuses(
    _ bytes: [UInt8],
    saying reason: String,
    _ read: (inout BinaryReader) throws(EventDecodingError) -> Void
) -> Bool {
    do {
        try reading(bytes, read)
        return false
    } catch {
        return "\(error)".contains(reason)
    }
}
