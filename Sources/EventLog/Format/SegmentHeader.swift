/// The 64-byte header at the start of every segment file (docs/on-disk-format.md, section 2).
struct SegmentHeader: Equatable {
    static let size = 64
    static let magic: [UInt8] = Array("EVLOGSEG".utf8)
    static let formatVersion: UInt16 = 1

    var baseOffset: Int64
    /// The chain hash that this segment's first frame chains to.
    var previousChainHash: ChainHash

    func encoded() -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(Self.size)
        bytes.append(contentsOf: Self.magic)
        bytes.appendLE(Self.formatVersion)
        bytes.appendLE(UInt16(Self.size))
        bytes.appendLE(UInt32(0))
        bytes.appendLE(baseOffset)
        bytes.append(contentsOf: previousChainHash.bytes)
        bytes.appendLE(UInt32(0))
        bytes.appendLE(CRC32C.checksum(bytes))
        return bytes
    }

    /// Reads and checks the header at the start of a segment file.
    static func read(from file: PosixFile) throws(EventLogError) -> SegmentHeader {
        try file.read(count: size, at: 0).withBytes { raw throws(EventLogError) in try decode(raw, file: file.name) }
    }

    /// Decodes and checks a header; `file` names the segment in errors.
    static func decode(_ raw: UnsafeRawBufferPointer, file: String) throws(EventLogError) -> SegmentHeader {
        func corrupt(_ why: String) -> EventLogError {
            EventLogError(.corruptSegment, "segment header \(why)", file: file, position: 0)
        }
        guard raw.count >= size else { throw corrupt("is truncated (\(raw.count) of \(size) bytes)") }
        guard raw.prefix(8).elementsEqual(magic) else { throw corrupt("has a wrong magic number") }
        let version: UInt16 = raw.le(8)
        let headerLength: UInt16 = raw.le(10)
        let storedCRC: UInt32 = raw.le(60)
        guard storedCRC == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<60])) else {
            throw corrupt("fails its CRC32C")
        }
        guard version <= formatVersion, version >= 1 else {
            throw EventLogError(
                .unsupportedFormat,
                "segment format version \(version) is newer than this library's \(formatVersion)",
                file: file,
                position: 8
            )
        }
        guard headerLength == size else { throw corrupt("declares length \(headerLength), expected \(size)") }
        return SegmentHeader(
            baseOffset: raw.le(16),
            previousChainHash: ChainHash(UnsafeRawBufferPointer(rebasing: raw[24..<56]))
        )
    }
}

/// A SHA-256 value of the hash chain (docs/on-disk-format.md, section 4).
public struct ChainHash: Hashable, Sendable, CustomStringConvertible {
    /// The 32 bytes of the hash.
    public let bytes: [UInt8]

    /// The hash that the first frame of a log chains to: 32 zero bytes.
    public static let zero = ChainHash(bytes: [UInt8](repeating: 0, count: 32))

    init(bytes: [UInt8]) {
        precondition(bytes.count == 32)
        self.bytes = bytes
    }

    init(_ raw: UnsafeRawBufferPointer) {
        self.bytes = Array(raw.prefix(32))
    }

    /// Parses 64 hexadecimal digits, as printed by ``description``.
    public init?(hex: String) {
        let digits = Array(hex.utf8)
        guard digits.count == 64 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(32)
        for pair in stride(from: 0, to: 64, by: 2) {
            guard let high = Self.nibble(digits[pair]), let low = Self.nibble(digits[pair + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        self.bytes = bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The hash as 64 lowercase hexadecimal digits.
    public var description: String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(64)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
