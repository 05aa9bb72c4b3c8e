/// A customer's AES-256 key (docs/key-store.md): 32 bytes held inline, so that the key store's table and a look-up
/// allocate nothing (a `SymmetricKey` was a heap object made at each look-up, and freed after).
///
/// A copy is not zeroed when it goes out of scope; the key store overwrites the bytes it holds when a customer is
/// forgotten, and the engine keeps no other copy beyond the call that uses one.
public struct CustomerKey: Sendable {
    /// The key's bytes, in order.
    var words: (UInt64, UInt64, UInt64, UInt64)

    /// 32 zero bytes: what a destroyed key's bytes are overwritten with.
    static let zero = CustomerKey(words: (0, 0, 0, 0))

    private init(words: (UInt64, UInt64, UInt64, UInt64)) { self.words = words }

    /// The key made of these 32 bytes.
    public init(bytes: some Collection<UInt8>) {
        precondition(bytes.count == 32, "a customer key is 32 bytes")
        words = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { $0.copyBytes(from: bytes) }
    }

    /// Calls `body` with the key's 32 bytes.
    public func withUnsafeBytes<Result, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try Swift.withUnsafeBytes(of: words, body)
    }
}
