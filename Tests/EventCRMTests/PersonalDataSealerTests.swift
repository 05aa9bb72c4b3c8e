import CRMModel
import EventCRM
import Testing
import _EventLogTestSupport

@Suite("Sealing personal data")
struct PersonalDataSealerTests {
    static let event = SampleEvents.registered

    @Test("Sealed values hide personal fields; the key opens them; erasure leaves the public fields")
    func sealUnsealRedact() throws {
        let key = CustomerKey.random()
        let plain = EventBinaryCodec.encode(Self.event)
        let sealed = try PersonalDataSealer.seal(plain, with: key)
        for secret in ["ana@example.com", "Ana Silva", "+5511999", "Recife"] {
            #expect(sealed.value.firstRange(of: Array(secret.utf8)) == nil, "\(secret) is not readable when sealed")
        }
        #expect(throws: EventDecodingError.self) { try EventBinaryCodec.decode(sealed) }
        #expect(try EventBinaryCodec.decode(PersonalDataSealer.unseal(sealed, with: key)) == Self.event)

        let erased = try EventBinaryCodec.decode(PersonalDataSealer.redact(sealed))
        #expect(
            erased.payload
                == .customerRegistered(
                    email: nil,
                    name: nil,
                    phone: nil,
                    country: "BR",
                    city: nil,
                    channel: "social",
                    traits: JSONObject()
                )
        )
        #expect(erased.custom == Self.event.custom && erased.customer == "c-42")
    }

    @Test("Decoded in place, a sealed value reads as erased without its personal part, and whole with it opened")
    func decodeInPlace() throws {
        let plain = EventBinaryCodec.encode(Self.event)
        let sealed = try PersonalDataSealer.seal(plain, with: CustomerKey.random())
        let withoutPersonal = try sealed.value.withUnsafeBytes {
            try EventBinaryCodec.decode(sealed, value: $0, personalPart: .absent)
        }
        #expect(withoutPersonal == (try EventBinaryCodec.decode(PersonalDataSealer.redact(sealed))))
        #expect(withoutPersonal != Self.event)
        // The plain value's personal part stands for the sealed one opened.
        let layout = try plain.value.withUnsafeBytes { try ValueLayout($0) }
        let whole = try plain.value.withUnsafeBytes { plainValue in
            try sealed.value.withUnsafeBytes {
                try EventBinaryCodec.decode(
                    sealed,
                    value: $0,
                    personalPart: .opened(UnsafeRawBufferPointer(rebasing: plainValue[layout.personal]))
                )
            }
        }
        #expect(whole == Self.event)
        // A part that does not end where its last field does is refused, as a plain value's would be.
        #expect(throws: EventDecodingError.self) {
            try sealed.value.withUnsafeBytes {
                try EventBinaryCodec.decode(
                    sealed,
                    value: $0,
                    personalPart: .opened(UnsafeRawBufferPointer(rebasing: $0[...]))
                )
            }
        }
    }

    @Test("Another key, another customer or an altered public part does not open the sealed block")
    func tamper() throws {
        let key = CustomerKey.random()
        let sealed = try PersonalDataSealer.seal(EventBinaryCodec.encode(Self.event), with: key)
        #expect(throws: PersonalDataSealer.Failure.self) {
            try PersonalDataSealer.unseal(sealed, with: CustomerKey.random())
        }
        var moved = sealed
        moved.key = "c-43"
        #expect(throws: PersonalDataSealer.Failure.self) { try PersonalDataSealer.unseal(moved, with: key) }
        var altered = sealed
        altered.value[altered.value.count - 3] ^= 1
        #expect(throws: PersonalDataSealer.Failure.self) { try PersonalDataSealer.unseal(altered, with: key) }
    }

    @Test("A sealed part too short to hold a nonce and a tag is refused, and says how long it is")
    func truncatedSealedPart() throws {
        let key = CustomerKey.random()
        let sealed = try PersonalDataSealer.seal(EventBinaryCodec.encode(Self.event), with: key)
        let parts = try sealed.value.withUnsafeBytes { try ValueLayout($0) }
        var cut = sealed
        // The nonce and 15 bytes: one short of the tag alone.
        cut.value = ValueLayout.assemble(
            flags: ValueLayout.sealed,
            personal: sealed.value[parts.personal].prefix(27),
            public: sealed.value[parts.public]
        )
        let error = try #require(throws: PersonalDataSealer.Failure.self) {
            try PersonalDataSealer.unseal(cut, with: key)
        }
        #expect(error.reason.contains("27 bytes"), "\(error.reason)")
    }

    @Test("Events without personal data are stored as they are")
    func nothingToSeal() throws {
        let order = EventBinaryCodec.encode(
            Event(
                at: EventTime(microseconds: 0),
                customer: "c-1",
                payload: .orderDelivered(order: "o-1")
            )
        )
        #expect(try PersonalDataSealer.seal(order, with: CustomerKey.random()) == order)
    }
}

extension CustomerKey {
    /// A key of random bytes, as the key store makes them.
    static func random() -> CustomerKey {
        var generator = SystemRandomNumberGenerator()
        return CustomerKey(bytes: (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}
