import CCrypto
public import CRMModel

/// Seals, unseals and erases the personal part of encoded events (docs/event-codec.md, docs/key-store.md).
///
/// The personal part is encrypted with AES-256-GCM under the customer's key; the customer id and the public part
/// are authenticated with it, so a sealed block cannot be moved to another event unnoticed. A sealed part is the
/// 12-byte nonce, the ciphertext and the 16-byte tag. The cipher is the system's libcrypto (OpenSSL) through
/// `CCrypto`: opening parts through swift-crypto's generic API, which takes and returns `Data`, cost about ten
/// times the cipher's own work, 5 % of a one-core rebuild (docs/benchmark-history.md, eighteenth session).
public enum PersonalDataSealer {
    /// Why a value could not be sealed or unsealed.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    private static func layout(_ value: [UInt8]) throws(Failure) -> ValueLayout {
        var result: Result<ValueLayout, Failure>!
        value.withUnsafeBytes { raw in result = Result { () throws(Failure) in try layout(raw) } }
        return try result.get()
    }

    private static func layout(_ value: UnsafeRawBufferPointer) throws(Failure) -> ValueLayout {
        do {
            return try ValueLayout(value)
        } catch {
            throw Failure(reason: "not an encoded event value: \(error)")
        }
    }

    /// The nonce's bytes before a sealed part's ciphertext, and the tag's after it.
    static let nonceCount = 12
    static let tagCount = 16

    /// Calls `body` with the key's bytes and what a sealed part authenticates besides itself: the customer id, a zero
    /// byte, the public part (on the stack when small, as it nearly always is).
    private static func withCipherInputs<Result>(
        key: CustomerKey,
        customer: String,
        public open: UnsafeRawBufferPointer,
        _ body: (_ key: UnsafePointer<UInt8>, _ authenticated: UnsafeBufferPointer<UInt8>) -> Result
    ) -> Result {
        var customer = customer
        return customer.withUTF8 { id in
            withUnsafeTemporaryAllocation(byteCount: id.count + 1 + open.count, alignment: 1) { bytes in
                bytes.copyMemory(from: UnsafeRawBufferPointer(id))
                bytes[id.count] = 0
                UnsafeMutableRawBufferPointer(rebasing: bytes[(id.count + 1)...]).copyMemory(from: open)
                return key.withUnsafeBytes { key in
                    body(
                        key.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        UnsafeBufferPointer(bytes.bindMemory(to: UInt8.self))
                    )
                }
            }
        }
    }

    /// The event with its personal part sealed under `key`. Events without personal data are left as they are.
    public static func seal(_ event: EncodedEvent, with key: CustomerKey) throws(Failure) -> EncodedEvent {
        let parts = try layout(event.value)
        guard parts.flags == ValueLayout.plain, !parts.personal.isEmpty else { return event }
        let count = parts.personal.count
        var box = [UInt8](repeating: 0, count: nonceCount + count + tagCount)
        box.replaceSubrange(0..<nonceCount, with: RandomPool.shared.nonce())
        let sealed = event.value.withUnsafeBytes { value in
            box.withUnsafeMutableBytes { box in
                let out = box.baseAddress!.assumingMemoryBound(to: UInt8.self)
                let plain = value.baseAddress!.assumingMemoryBound(to: UInt8.self) + parts.personal.lowerBound
                let open = UnsafeRawBufferPointer(rebasing: value[parts.public])
                return withCipherInputs(key: key, customer: event.key, public: open) { key, aad in
                    eventcrm_aes256gcm_seal(
                        key,
                        out,
                        aad.baseAddress,
                        aad.count,
                        plain,
                        count,
                        out + nonceCount,
                        out + nonceCount + count
                    )
                }
            }
        }
        guard sealed == 1 else { throw Failure(reason: "sealing failed (the system's libcrypto refused AES-256-GCM)") }
        var result = event
        result.value = ValueLayout.assemble(flags: ValueLayout.sealed, personal: box, public: event.value[parts.public])
        return result
    }

    /// The event with its personal part readable again. Fails when the key is wrong or the value was altered.
    public static func unseal(_ event: EncodedEvent, with key: CustomerKey) throws(Failure) -> EncodedEvent {
        let parts = try layout(event.value)
        guard parts.flags == ValueLayout.sealed else { return event }
        var result: Result<EncodedEvent, Failure>!
        event.value.withUnsafeBytes { value in
            result = Result { () throws(Failure) in
                try withOpenedPersonalPart(of: value, layout: parts, customer: event.key, with: key) { plain in
                    var unsealed = event
                    unsealed.value = ValueLayout.assemble(
                        flags: ValueLayout.plain,
                        personal: plain,
                        public: value[parts.public]
                    )
                    return unsealed
                }
            }
        }
        return try result.get()
    }

    /// Calls `body` with the plain bytes of the sealed personal part of `value`, the value of an event of
    /// `customer`, opened where the value lies. Fails when the value is not sealed, the key is wrong or the value
    /// was altered; an error of `body` is passed on as the failure's reason.
    static func withOpenedPersonalPart<Result>(
        of value: UnsafeRawBufferPointer,
        customer: String,
        with key: CustomerKey,
        _ body: (UnsafeRawBufferPointer) throws(EventDecodingError) -> Result
    ) throws(Failure) -> Result {
        let layout = try layout(value)
        guard layout.flags == ValueLayout.sealed else { throw Failure(reason: "the personal part is not sealed") }
        return try withOpenedPersonalPart(of: value, layout: layout, customer: customer, with: key, body)
    }

    /// ``withOpenedPersonalPart(of:customer:with:_:)`` of a sealed value whose layout the caller has worked out.
    private static func withOpenedPersonalPart<Result>(
        of value: UnsafeRawBufferPointer,
        layout: ValueLayout,
        customer: String,
        with key: CustomerKey,
        _ body: (UnsafeRawBufferPointer) throws(EventDecodingError) -> Result
    ) throws(Failure) -> Result {
        let box = UnsafeRawBufferPointer(rebasing: value[layout.personal])
        guard box.count >= nonceCount + tagCount else {
            throw Failure(reason: "the sealed personal part is \(box.count) bytes, shorter than a nonce and a tag")
        }
        let count = box.count - nonceCount - tagCount
        // Opened into memory on the stack: swift-crypto's `Data` was a heap object per registration.
        return try withUnsafeTemporaryAllocation(byteCount: max(count, 1), alignment: 1) {
            plain throws(Failure) -> Result in
            let sealed = box.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let open = UnsafeRawBufferPointer(rebasing: value[layout.public])
            let opened = withCipherInputs(key: key, customer: customer, public: open) { key, aad in
                eventcrm_aes256gcm_open(
                    key,
                    sealed,
                    aad.baseAddress,
                    aad.count,
                    sealed + nonceCount,
                    count,
                    sealed + nonceCount + count,
                    plain.baseAddress!.assumingMemoryBound(to: UInt8.self)
                )
            }
            // Told apart so that an audit never reads a broken library as altered data.
            guard opened != -1 else {
                throw Failure(reason: "the system's libcrypto could not run AES-256-GCM to open the personal part")
            }
            guard opened == 1 else {
                throw Failure(
                    reason: "the personal part does not open with this customer's key (altered, or another key)"
                )
            }
            do {
                return try body(UnsafeRawBufferPointer(rebasing: plain[..<count]))
            } catch {
                throw Failure(reason: "\(error)")
            }
        }
    }

    /// The event without its personal part (sealed or plain), for customers whose key is gone: personal fields
    /// then read as absent.
    public static func redact(_ event: EncodedEvent) throws(Failure) -> EncodedEvent {
        let parts = try layout(event.value)
        guard parts.flags != ValueLayout.redacted else { return event }
        var redacted = event
        redacted.value = ValueLayout.assemble(
            flags: ValueLayout.redacted,
            personal: [],
            public: event.value[parts.public]
        )
        return redacted
    }
}
