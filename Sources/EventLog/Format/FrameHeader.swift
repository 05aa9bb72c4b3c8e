/// The fixed 88-byte header of a batch frame (docs/on-disk-format.md, section 3).
public struct FrameHeader: Sendable, Equatable {
    /// How a frame's payload is stored.
    public enum Compression: UInt8, Sendable {
        case none = 0
        case lz4 = 1
    }

    static let size = 88
    static let magic: UInt8 = 0xEB

    /// The whole frame's length, header included.
    public var frameLength: UInt32
    public var crc: UInt32
    public var compression: Compression
    public var recordCount: UInt32
    public var baseOffset: Int64
    public var minEventTime: Int64
    public var maxEventTime: Int64
    public var appendTime: Int64
    public var uncompressedLength: UInt32
    public var storedLength: UInt32
    public var chainHash: ChainHash

    /// The offset just after this frame's last record.
    public var nextOffset: Int64 { baseOffset + Int64(recordCount) }

    /// Why a run of bytes is not a frame; returned rather than thrown on the scanning hot path.
    struct Defect: Error, Equatable {
        let reason: String
    }

    /// Parses and checks the fields of a header (not the CRC, which needs the whole frame).
    /// `raw` must hold at least ``size`` bytes.
    static func parse(_ raw: UnsafeRawBufferPointer) -> Result<FrameHeader, Defect> {
        guard raw.count >= size else { return .failure(Defect(reason: "truncated frame header")) }
        let frameLength: UInt32 = raw.le(0)
        guard frameLength >= size else { return .failure(Defect(reason: "frame length \(frameLength) is too small")) }
        guard raw[8] == magic else { return .failure(Defect(reason: "unknown frame magic \(raw[8])")) }
        let attributes = raw[9]
        guard attributes & 0xFC == 0, let compression = Compression(rawValue: attributes & 0x03) else {
            return .failure(Defect(reason: "unknown frame attributes \(attributes)"))
        }
        guard raw.le(10, as: UInt16.self) == 0 else { return .failure(Defect(reason: "reserved bytes are not zero")) }
        let recordCount: UInt32 = raw.le(12)
        guard recordCount >= 1, recordCount <= EventLog.Limits.maxRecordsPerAppend else {
            return .failure(Defect(reason: "record count \(recordCount) is out of range"))
        }
        let uncompressed: UInt32 = raw.le(48)
        let stored: UInt32 = raw.le(52)
        guard UInt64(stored) + UInt64(size) == UInt64(frameLength) else {
            return .failure(Defect(reason: "stored length \(stored) does not match frame length \(frameLength)"))
        }
        guard Int(uncompressed) <= EventLog.Limits.maxBytesPerAppend,
            Int(uncompressed) >= Int(recordCount) * RecordLayout.headerSize
        else {
            return .failure(Defect(reason: "uncompressed length \(uncompressed) is out of range"))
        }
        if compression == .none && stored != uncompressed {
            return .failure(Defect(reason: "raw frame with stored length \(stored) ≠ \(uncompressed)"))
        }
        if compression == .lz4 && Int(stored) > LZ4.compressBound(Int(uncompressed)) {
            return .failure(Defect(reason: "compressed length \(stored) exceeds the LZ4 bound"))
        }
        let minTime: Int64 = raw.le(24)
        let maxTime: Int64 = raw.le(32)
        guard minTime <= maxTime else { return .failure(Defect(reason: "event time range is inverted")) }
        return .success(
            FrameHeader(
                frameLength: frameLength,
                crc: raw.le(4),
                compression: compression,
                recordCount: recordCount,
                baseOffset: raw.le(16),
                minEventTime: minTime,
                maxEventTime: maxTime,
                appendTime: raw.le(40),
                uncompressedLength: uncompressed,
                storedLength: stored,
                chainHash: ChainHash(UnsafeRawBufferPointer(rebasing: raw[56..<88]))
            )
        )
    }

    /// Whether the CRC stored in `frame` (a whole frame) matches its bytes.
    static func crcMatches(_ frame: UnsafeRawBufferPointer) -> Bool {
        frame.le(4, as: UInt32.self) == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: frame[8...]))
    }

    /// The chain hash a whole `frame` must carry when it follows a frame whose hash is `previous`.
    static func chainHash(previous: ChainHash, frame: UnsafeRawBufferPointer) -> ChainHash {
        previous.bytes.withUnsafeBytes { previous in
            ChainHash(
                bytes: SHA256.hash(
                    previous,
                    UnsafeRawBufferPointer(rebasing: frame[8..<56]),
                    UnsafeRawBufferPointer(rebasing: frame[size...])
                )
            )
        }
    }
}
