import Testing

@testable import CRMModel

/// Varints read back whatever their length and however far from the end of the bytes they sit, and the reader's
/// refusals (too long, cut short) hold near the end as well as far from it.
@Suite("Binary reader: varints")
struct BinaryReaderTests {
    static let values: [UInt64] = [
        0, 1, 127, 128, 300, 16_383, 16_384, 1 << 35, 1_733_011_200_000_000, (1 << 56) - 1, 1 << 63, .max,
    ]

    /// `bytes` read as one varint: the value and the bytes it took, or the error's text.
    static func read(_ bytes: [UInt8]) -> Result<(value: UInt64, read: Int), EventDecodingError> {
        bytes.withUnsafeBytes { raw in
            var reader = BinaryReader(raw)
            return Result { () throws(EventDecodingError) in (try reader.varint(), reader.bytesRead) }
        }
    }

    @Test("Every length, with 0 to 12 bytes after it")
    func everyLengthAnywhere() throws {
        for value in Self.values {
            var writer = BinaryWriter()
            writer.varint(value)
            let encoded = writer.bytes
            for trailing in 0...12 {
                let read = try Self.read(encoded + [UInt8](repeating: 0xFF, count: trailing)).get()
                #expect(read.value == value && read.read == encoded.count, "\(value) with \(trailing) bytes after")
            }
        }
    }

    @Test("Values of every bit length, padded or not, read back at every distance from the end")
    func everyBitLength() throws {
        // Read a word at a time when the varint ends within eight bytes, a byte at a time otherwise: both ways,
        // and the border between them, for values of 0 to 64 bits and for varints padded with empty groups.
        var generator = SystemRandomNumberGenerator()
        for bits in 0...64 {
            for _ in 0..<20 {
                let value = bits == 0 ? 0 : UInt64.random(in: 0...UInt64.max, using: &generator) >> (64 - bits)
                var writer = BinaryWriter()
                writer.varint(value)
                var encodings = [writer.bytes]
                // The same value with one or two more groups of zeros (still at most ten bytes).
                for padding in 1...2 where writer.bytes.count + padding <= 10 {
                    var padded = writer.bytes
                    padded[padded.count - 1] |= 0x80
                    padded += [UInt8](repeating: 0x80, count: padding - 1) + [0x00]
                    encodings.append(padded)
                }
                for encoded in encodings {
                    for trailing in 0...9 {
                        let read = try Self.read(encoded + [UInt8](repeating: 0xFF, count: trailing)).get()
                        #expect(
                            read.value == value && read.read == encoded.count,
                            "\(value) as \(encoded) with \(trailing) bytes after"
                        )
                    }
                }
            }
        }
    }

    @Test("Ten continued bytes are refused as too long, near the end or not; a cut varint ends early")
    func refused() {
        for trailing in 0...3 {
            let tooLong = [UInt8](repeating: 0x80, count: 10) + [UInt8](repeating: 0x01, count: max(1, trailing))
            guard case .failure(let error) = Self.read(tooLong) else {
                Issue.record("eleven-byte varint read, \(trailing) bytes after")
                continue
            }
            #expect(error.reason.contains("varint too long at byte 11"), "\(error.reason)")
        }
        for length in 1...12 {
            guard case .failure(let error) = Self.read([UInt8](repeating: 0x81, count: length)) else {
                Issue.record("\(length) continued bytes read as a varint")
                continue
            }
            #expect(error.reason.contains(length <= 10 ? "value ends early" : "varint too long"), "\(length)")
        }
    }

    @Test("ASCII is told from UTF-8 whatever the length and wherever the first byte above 0x7F sits")
    func asciiCheckedEightBytesAtATime() {
        // Lengths around the eight-byte steps, with one non-ASCII byte at each place, including the tail after the
        // last full word.
        for length in 0...25 {
            let ascii = [UInt8]((0..<length).map { UInt8(ascii: "a") + UInt8($0 % 26) })
            ascii.withUnsafeBytes { raw in
                #expect(raw.isASCII && raw.isValidUTF8, "\(length) ASCII bytes")
                #expect(String(validatingUTF8Bytes: raw) == String(decoding: ascii, as: UTF8.self))
            }
            for place in 0..<length {
                var bytes = ascii
                bytes[place] = 0x80
                bytes.withUnsafeBytes { raw in
                    #expect(!raw.isASCII, "0x80 at \(place) of \(length)")
                    #expect(!raw.isValidUTF8, "0x80 at \(place) of \(length)")
                    #expect(String(validatingUTF8Bytes: raw) == nil, "0x80 at \(place) of \(length)")
                }
            }
        }
        let accented = Array("caf\u{E9} \u{65E5}\u{672C}".utf8)
        accented.withUnsafeBytes { raw in
            #expect(!raw.isASCII && raw.isValidUTF8 && String(validatingUTF8Bytes: raw) == "caf\u{E9} \u{65E5}\u{672C}")
        }
    }

    @Test("An amount read back keeps its currency's minor unit digits, the exceptions' as well as the usual two")
    func moneyReadBackWithItsDigits() throws {
        for (code, digits) in Currency.exceptions.map({ ($0.key, $0.value) }) + [("USD", 2), ("EUR", 2), ("BRL", 2)] {
            var writer = BinaryWriter()
            writer.money(Money(minorUnits: -12_345, currency: Currency(code)!))
            let money = try writer.bytes.withUnsafeBytes { raw throws(EventDecodingError) in
                var reader = BinaryReader(raw)
                return try reader.money()
            }
            #expect(money.currency.code == code && money.currency.minorUnitDigits == digits, "\(code)")
            #expect(money.minorUnits == -12_345 && Currency(code)!.minorUnitDigits == digits, "\(code)")
        }
    }
}
