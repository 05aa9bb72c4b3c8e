import Testing

@testable import CRMModel

/// The checking readers (`checkOptionalString`, `checkObject`) accept exactly what the reading ones accept and step
/// over as many bytes: a state that keeps bytes encoded relies on the check alone.
@Suite("Binary reader: checking without reading")
struct CheckingReaderTests {
    /// What one reader does with `bytes`: how many it took, or the error's text.
    static func outcome(
        _ bytes: [UInt8],
        _ body: (inout BinaryReader) throws(EventDecodingError) -> Void
    ) -> Result<Int, EventDecodingError> {
        bytes.withUnsafeBytes { raw in
            var reader = BinaryReader(raw)
            return Result { () throws(EventDecodingError) in
                try body(&reader)
                return reader.bytesRead
            }
        }
    }

    static let object = JSONObject([
        ("tier", .string("gold")),
        ("näme", .string("Zoë")),
        ("sizes", .array([.number("38"), .null, .bool(true), .bool(false)])),
        ("nested", .object([("a", .object([("b", .array([]))]))])),
    ])

    @Test("On a valid object and string, every prefix of them, and every one-byte change")
    func sameOutcomes() {
        var writer = BinaryWriter()
        writer.object(Self.object)
        writer.optionalString("ünïcode")
        let valid = writer.bytes
        var inputs = (0...valid.count).map { Array(valid[..<$0]) }
        for index in valid.indices {
            for replacement: UInt8 in [0, 1, 5, 6, 7, 0x7F, 0x80, 0xC3, 0xFF] where replacement != valid[index] {
                var changed = valid
                changed[index] = replacement
                inputs.append(changed)
            }
        }
        var refused = 0
        for input in inputs {
            let read = Self.outcome(input) { reader throws(EventDecodingError) in
                _ = try reader.object()
                _ = try reader.optionalString()
            }
            let checked = Self.outcome(input) { reader throws(EventDecodingError) in
                try reader.checkObject()
                try reader.checkOptionalString()
            }
            #expect("\(read)" == "\(checked)", "\(input)")
            if case .failure = read { refused += 1 }
        }
        // Both outcomes occur: the comparison is not between two readers that accept everything.
        #expect(refused > inputs.count / 4 && refused < inputs.count)
    }

    @Test("Nesting deeper than the limit is refused by both")
    func depth() {
        let deep = JSONValue.array([])
        let nested = (0..<70).reduce(deep) { inner, _ in .array([inner]) }
        var writer = BinaryWriter()
        writer.object(JSONObject([("k", nested)]))
        let read = Self.outcome(writer.bytes) { reader throws(EventDecodingError) in _ = try reader.object() }
        let checked = Self.outcome(writer.bytes) { reader throws(EventDecodingError) in try reader.checkObject() }
        #expect("\(read)" == "\(checked)")
        #expect("\(checked)".contains("nested too deep"))
    }
}
