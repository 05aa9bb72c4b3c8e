public import CRMModel
public import Crypto

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
        var result: Result<ValueLayout, EventDecodingError>!
        value.withUnsafeBytes { raw in result = Result { () throws(EventDecodingError) in try ValueLayout(raw) } }
        do {
            return try result.get()
        } catch {
            throw Failure(reason: "not an encoded event value: \(error)")
        }
    }

    private static func authenticated(_ event: EncodedEvent, public open: ArraySlice<UInt8>) -> [UInt8] {
        Array(event.key.utf8) + [0] + Array(open)
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
                authenticating: authenticated(event, public: open)
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
        let open = event.value[parts.public]
        do {
            let box = try AES.GCM.SealedBox(combined: event.value[parts.personal])
            let plain = try AES.GCM.open(box, using: key, authenticating: authenticated(event, public: open))
            var unsealed = event
            unsealed.value = ValueLayout.assemble(flags: ValueLayout.plain, personal: plain, public: open)
            return unsealed
        } catch {
            throw Failure(reason: "the personal part does not open with this customer's key (altered, or another key)")
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
