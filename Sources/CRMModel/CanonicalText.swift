/// Ids and words are text (docs/events.md, "Ids and words are text"): two spellings that Unicode holds canonically
/// equivalent (é as one code point, or e and a combining accent) are one id. Swift's `String` compares and hashes
/// that way; whatever hashes an id's bytes instead (the engine's own tables, the stable hashes its indexes keep on
/// disk) hashes these canonical bytes, so that equal `String`s always hash alike.
extension UnsafeRawBufferPointer {
    /// Calls `body` with the UTF-8 of this UTF-8 text in Unicode Normalization Form C, the form `String` compares
    /// by: the bytes themselves when they are ASCII (nearly every id), a normalized copy otherwise.
    @inlinable
    public func withCanonicalUTF8<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        if isASCII { return try body(self) }
        return try canonicalUTF8().withUnsafeBytes(body)
    }

    /// The UTF-8 of this text in Normalization Form C. The standard library has no public way to normalize yet;
    /// `_nfcCodeUnits` is the normalization its own `==` and hashing use, which is exactly what must be agreed with.
    @usableFromInline
    func canonicalUTF8() -> [UInt8] {
        String(decoding: self, as: UTF8.self)._nfcCodeUnits
    }
}

extension String {
    /// This text in Unicode Normalization Form C: itself when it is ASCII, which is already in that form. The fields
    /// of the event catalog are stored so (docs/events.md), so that the strings a projection keeps and sorts are all
    /// in one form: `String`'s `<` is not a consistent order over spellings in mixed forms (with é decomposed in
    /// one and composed in another, "e\u{301}" and "\u{E9}a" each compare as not less than the other).
    public var canonicalForm: String {
        // A native string's bytes are always contiguous; any other (never on Linux) is simply normalized.
        let isASCII = utf8.withContiguousStorageIfAvailable { UnsafeRawBufferPointer($0).isASCII } ?? false
        return isASCII ? self : String(decoding: _nfcCodeUnits, as: UTF8.self)
    }
}
