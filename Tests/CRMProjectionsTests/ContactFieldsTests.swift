import CRMModel
import Testing

@testable import CRMProjections

@Suite("A profile's contact fields, held as their canonical bytes")
struct ContactFieldsTests {
    /// The canonical encoding of the five fields, written field by field as the profile wrote them before they were
    /// held encoded.
    private func fieldByField(_ values: ContactFields.Values) -> [UInt8] {
        var writer = BinaryWriter()
        writer.optionalString(values.email)
        writer.optionalString(values.name)
        writer.optionalString(values.phone)
        writer.optionalString(values.city)
        writer.object(values.traits)
        return writer.bytes
    }

    private func serialized(_ fields: ContactFields) -> [UInt8] {
        var writer = BinaryWriter()
        fields.serialize(into: &writer)
        return writer.bytes
    }

    private static let cases: [ContactFields.Values] = [
        .init(),
        .init(email: "ada@example.com"),
        .init(city: "Lyon"),
        .init(email: "zoë.o'brien@example.com", name: "Zoë O'Brien", phone: "+33 6 12 34 56 78", city: "Saint-Étienne"),
        .init(name: "Bo", traits: JSONObject([("tier", .string("gold")), ("sizes", .array([.number("38"), .null]))])),
    ]

    @Test("Every field reads back, the city alone too, and the bytes are the field-by-field encoding", arguments: cases)
    func roundTrip(values: ContactFields.Values) throws {
        let fields = ContactFields(values)
        #expect(fields.values == values)
        #expect(fields.city == values.city)
        let bytes = serialized(fields)
        #expect(bytes == fieldByField(values))
        let restored = try bytes.withUnsafeBytes { raw throws(EventDecodingError) in
            var reader = BinaryReader(raw)
            let fields = try ContactFields(deserializing: &reader)
            #expect(reader.isAtEnd)
            return fields
        }
        #expect(restored.values == values && restored.city == values.city)
        #expect(serialized(restored) == bytes)
    }

    @Test("Changing one field through the profile keeps the others")
    func changingOneField() {
        var profile = CustomerProfile(id: "c-1")
        profile.email = "a@example.com"
        profile.city = "Oslo"
        profile.traits = JSONObject([("vip", .bool(true))])
        profile.email = nil
        profile.name = "Ann"
        #expect(profile.email == nil && profile.name == "Ann" && profile.phone == nil && profile.city == "Oslo")
        #expect(profile.traits == JSONObject([("vip", .bool(true))]))
        profile.city = nil
        profile.name = nil
        profile.traits = JSONObject()
        #expect(serialized(profile.contact) == fieldByField(.init()), "an emptied profile writes the absent fields")
    }

    @Test(
        "Damaged contact bytes are refused, saying what is wrong",
        arguments: [
            // The email's bytes are not UTF-8.
            ([3, 0xC3, 0x28, 0, 0, 0, 0], "not valid UTF-8"),
            // The name says 9 bytes, 2 follow.
            ([0, 10, 0x41, 0x42], "runs past the end"),
            // The traits' object says it has one member, and nothing follows.
            ([0, 0, 0, 0, 1], "object member count 1 is too large"),
            // The traits' member has its key and no value.
            ([0, 0, 0, 0, 1, 1, 0x6B], "ends early"),
            // A trait with an unknown JSON tag.
            ([0, 0, 0, 0, 1, 1, 0x6B, 9], "unknown JSON tag 9"),
        ] as [([UInt8], String)]
    )
    func damaged(bytes: [UInt8], reason: String) {
        let refused = readingRefuses(bytes, saying: reason) { reader throws(EventDecodingError) in
            _ = try ContactFields(deserializing: &reader)
        }
        #expect(refused)
    }
}
