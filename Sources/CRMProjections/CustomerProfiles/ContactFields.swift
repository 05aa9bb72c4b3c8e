import CRMModel

/// A profile's personal contact fields and custom traits, held as their canonical bytes (docs/projections.md,
/// section 4) in one allocation.
///
/// Decoded, they took an inline string each, a heap string for most emails and names, and an array of traits with
/// its strings: about 100 bytes of RSS a customer more, and as many objects for a snapshot to visit and a restore to
/// allocate. The fold writes them about once a customer (registration, updates, erasure) and segment rules read only
/// the city, so they are decoded when read. Saving them copies the bytes.
struct ContactFields: Sendable {
    /// The fields, decoded.
    struct Values: Sendable, Equatable {
        var email: String?
        var name: String?
        var phone: String?
        var city: String?
        var traits = JSONObject()

        var isEmpty: Bool { email == nil && name == nil && phone == nil && city == nil && traits.isEmpty }
    }

    /// The canonical encoding of ``Values``; empty when every field is absent (no allocation for a customer known
    /// only by its id).
    private var bytes: [UInt8] = []

    /// Where the bytes' array sits within the fields (``prefetchArrayStorage(at:)``).
    static var bytesOffset: Int { MemoryLayout<Self>.offset(of: \Self.bytes)! }
    /// Where the bytes are in memory, found the usual way (tests check ``bytesOffset`` against it).
    var bytesAddress: UnsafeRawPointer? { bytes.withUnsafeBytes { $0.baseAddress } }

    /// The encoding of a profile without contact fields: four absent strings and an empty object.
    private static let absent: [UInt8] = [0, 0, 0, 0, 0]

    init() {}

    init(_ values: Values) {
        guard !values.isEmpty else { return }
        var writer = BinaryWriter()
        // Room made first: grown field by field, the bytes of most registrations were moved three or four times,
        // and kept up to twice the room they took.
        writer.bytes.reserveCapacity(Self.encodedSizeEstimate(values))
        Self.write(values, into: &writer)
        bytes = writer.bytes
    }

    var values: Values {
        guard !bytes.isEmpty else { return Values() }
        return bytes.withUnsafeBytes { raw in
            var reader = BinaryReader(raw)
            // Checked when they were encoded or restored.
            do { return try Self.read(&reader) } catch { preconditionFailure("contact fields are canonical") }
        }
    }

    /// The city alone, which segment rules read.
    var city: String? {
        guard !bytes.isEmpty else { return nil }
        return bytes.withUnsafeBytes { raw in
            var reader = BinaryReader(raw)
            do { return try Self.readCity(&reader) } catch { preconditionFailure("contact fields are canonical") }
        }
    }

    /// Changes the fields (decoded once, encoded once).
    mutating func modify(_ change: (inout Values) -> Void) {
        var values = self.values
        change(&values)
        self = ContactFields(values)
    }

    /// Appends the canonical encoding, as ``CustomerProfile`` writes its fields.
    func serialize(into writer: inout BinaryWriter) {
        writer.bytes.append(contentsOf: bytes.isEmpty ? Self.absent : bytes)
    }

    /// Checks the fields, as reading them would, and keeps their bytes.
    init(deserializing reader: inout BinaryReader) throws(EventDecodingError) {
        let raw = try reader.bytes { reader throws(EventDecodingError) in
            for _ in 0..<4 { try reader.checkOptionalString() }
            try reader.checkObject()
        }
        if !raw.elementsEqual(Self.absent) { bytes = Array(raw) }
    }

    /// The size of the encoding when every string and count takes one length byte and traits are flat strings or
    /// numbers (most are); a little less otherwise, and the bytes grow as usual.
    private static func encodedSizeEstimate(_ values: Values) -> Int {
        var size = 5 + 3 * values.traits.members.count
        size += values.email?.utf8.count ?? 0
        size += values.name?.utf8.count ?? 0
        size += values.phone?.utf8.count ?? 0
        size += values.city?.utf8.count ?? 0
        for member in values.traits.members {
            size += member.key.utf8.count
            switch member.value {
            case .string(let text), .number(let text): size += text.utf8.count
            default: break
            }
        }
        return size
    }

    private static func write(_ values: Values, into writer: inout BinaryWriter) {
        writer.optionalString(values.email)
        writer.optionalString(values.name)
        writer.optionalString(values.phone)
        writer.optionalString(values.city)
        writer.object(values.traits)
    }

    private static func read(_ reader: inout BinaryReader) throws(EventDecodingError) -> Values {
        Values(
            email: try reader.optionalString(),
            name: try reader.optionalString(),
            phone: try reader.optionalString(),
            city: try reader.optionalString(),
            traits: try reader.object()
        )
    }

    private static func readCity(_ reader: inout BinaryReader) throws(EventDecodingError) -> String? {
        for _ in 0..<3 { try reader.checkOptionalString() }
        return try reader.optionalString()
    }
}
