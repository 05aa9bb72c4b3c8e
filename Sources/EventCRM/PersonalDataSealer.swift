public import CRMModel
public import Crypto

import struct Foundation.Data

/// Seals, unseals and erases the personal part of encoded events (docs/event-codec.md, docs/key-store.md).
///
/// The personal part is encrypted with AES-256-GCM under the customer's key; the customer id and the public part
/// are authenticated with it, so a sealed block cannot be moved to another event unnoticed.
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

    /// What a sealed part authenticates besides itself: the customer id, a zero byte, the public part.
    private static func authenticated(customer: String, public open: some Collection<UInt8>) -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(customer.utf8.count + 1 + open.count)
        bytes.append(contentsOf: customer.utf8)
        bytes.append(0)
        bytes.append(contentsOf: open)
        return bytes
    }

    /// The event with its personal part sealed under `key`. Events without personal data are left as they are.
    public static func seal(_ event: EncodedEvent, with key: SymmetricKey) throws(Failure) -> EncodedEvent {
        let parts = try layout(event.value)
        guard parts.flags == ValueLayout.plain, !parts.personal.isEmpty else { return event }
        let open = event.value[parts.public]
        do {
            let box = try AES.GCM.seal(
                event.value[parts.personal],
                using: key,
                nonce: RandomPool.shared.nonce(),
                authenticating: authenticated(customer: event.key, public: open)
            )
            var sealed = event
            sealed.value = ValueLayout.assemble(flags: ValueLayout.sealed, personal: box.combined!, public: open)
            return sealed
        } catch {
            throw Failure(reason: "sealing failed: \(error)")
        }
    }

    /// The event with its personal part readable again. Fails when the key is wrong or the value was altered.
    public static func unseal(_ event: EncodedEvent, with key: SymmetricKey) throws(Failure) -> EncodedEvent {
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
        with key: SymmetricKey,
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
        with key: SymmetricKey,
        _ body: (UnsafeRawBufferPointer) throws(EventDecodingError) -> Result
    ) throws(Failure) -> Result {
        let plain: Data
        do {
            let box = try AES.GCM.SealedBox(combined: UnsafeRawBufferPointer(rebasing: value[layout.personal]))
            let open = UnsafeRawBufferPointer(rebasing: value[layout.public])
            plain = try AES.GCM.open(box, using: key, authenticating: authenticated(customer: customer, public: open))
        } catch {
            throw Failure(reason: "the personal part does not open with this customer's key (altered, or another key)")
        }
        let result = plain.withUnsafeBytes { bytes in
            Swift.Result { () throws(EventDecodingError) in try body(bytes) }
        }
        do {
            return try result.get()
        } catch {
            throw Failure(reason: "\(error)")
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
