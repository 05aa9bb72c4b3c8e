/// One point of a segment's sparse indexes: where a frame starts and how far event time had reached.
struct IndexEntry: Equatable, Sendable {
    /// The frame's base offset minus the segment's base offset.
    var relativeOffset: UInt32
    /// The frame's byte position in the segment file.
    var position: UInt32
    /// The largest event time of the segment's frames up to and including this one.
    var maxEventTime: Int64
}

/// A segment's offset and time indexes in memory, and their two files (docs/on-disk-format.md, section 5).
struct SegmentIndex: Sendable, Equatable {
    var baseOffset: Int64
    var entries: [IndexEntry] = []

    /// Whether a frame at `position` gets an index entry: the segment's first frame, then the first frame at least
    /// `interval` bytes after the last entry. The writer and every scan that rebuilds an index use this rule.
    static func isDue(position: Int64, lastIndexed: Int64?, interval: Int) -> Bool {
        lastIndexed.map { position - $0 >= Int64(interval) } ?? true
    }

    /// The last entry whose frame starts at or before `offset`.
    func floorEntry(forOffset offset: Int64) -> IndexEntry? {
        let relative = offset - baseOffset
        var low = 0
        var high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if Int64(entries[middle].relativeOffset) <= relative { low = middle + 1 } else { high = middle }
        }
        return low == 0 ? nil : entries[low - 1]
    }

    /// The entry to start scanning from to find the first frame whose running maximum event time reaches
    /// `time`: the entry before the first one that reaches it (nil: the start of the segment).
    func scanStart(forEventTime time: Int64) -> IndexEntry? {
        var low = 0
        var high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].maxEventTime < time { low = middle + 1 } else { high = middle }
        }
        return low == 0 ? nil : entries[low - 1]
    }
}

/// The two index files' encoding.
enum IndexFile {
    enum Kind {
        case offsets
        case times

        var magic: [UInt8] { Array((self == .offsets ? "EVLOGIDX" : "EVLOGTIX").utf8) }
        var fileExtension: String { self == .offsets ? "index" : "timeindex" }
    }

    static let headerSize = 32
    static let entrySize = 16
    static let trailerSize = 32
    static let formatVersion: UInt16 = 1
    static let trailerMagic: [UInt8] = Array("EVSEALED".utf8)

    /// What a sealed index's trailer records about its segment.
    struct Trailer: Equatable {
        var entryCount: UInt32
        var entriesCRC: UInt32
        var segmentLength: UInt64
        var recordCount: UInt32
    }

    static func header(_ kind: Kind, baseOffset: Int64) -> [UInt8] {
        var bytes = kind.magic
        bytes.appendLE(formatVersion)
        bytes.appendLE(UInt16(entrySize))
        bytes.appendLE(UInt32(0))
        bytes.appendLE(baseOffset)
        bytes.appendLE(UInt32(0))
        bytes.appendLE(CRC32C.checksum(bytes))
        return bytes
    }

    static func appendEntry(_ kind: Kind, _ entry: IndexEntry, to bytes: inout [UInt8]) {
        let start = bytes.count
        switch kind {
        case .offsets:
            bytes.appendLE(entry.relativeOffset)
            bytes.appendLE(entry.position)
            bytes.appendLE(UInt32(0))
        case .times:
            bytes.appendLE(entry.maxEventTime)
            bytes.appendLE(entry.relativeOffset)
        }
        let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[start..<start + 12])) }
        bytes.appendLE(crc)
    }

    /// The whole sealed file: header, entries and trailer.
    static func sealedFile(
        _ kind: Kind,
        index: SegmentIndex,
        segmentLength: UInt64,
        recordCount: UInt32
    ) -> [UInt8] {
        var bytes = header(kind, baseOffset: index.baseOffset)
        for entry in index.entries { appendEntry(kind, entry, to: &bytes) }
        let entriesCRC = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[headerSize...])) }
        let trailerStart = bytes.count
        bytes.append(contentsOf: trailerMagic)
        bytes.appendLE(UInt32(index.entries.count))
        bytes.appendLE(entriesCRC)
        bytes.appendLE(segmentLength)
        bytes.appendLE(recordCount)
        let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[trailerStart...])) }
        bytes.appendLE(crc)
        return bytes
    }

    /// A decoded index file: its valid entries and, when sealed, its trailer.
    struct Decoded {
        /// For the offset index: relative offset and position. For the time index: time and relative offset
        /// (position is 0).
        var entries: [IndexEntry]
        var trailer: Trailer?
        /// The byte length of the valid header and entries (where a hint file can be cut and appended to).
        var validLength: Int
        /// Why decoding stopped before the end of the file, if it did.
        var defect: String?
    }

    /// Decodes a file. Entries are read until the first one that fails its CRC; a trailer is recognised at the
    /// end. `nil` when the header itself is bad or belongs to another segment.
    static func decode(_ kind: Kind, _ raw: UnsafeRawBufferPointer, baseOffset: Int64) -> Decoded? {
        guard raw.count >= headerSize, raw.prefix(8).elementsEqual(kind.magic),
            raw.le(28, as: UInt32.self) == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<28])),
            raw.le(8, as: UInt16.self) == formatVersion, raw.le(10, as: UInt16.self) == UInt16(entrySize),
            raw.le(16, as: Int64.self) == baseOffset
        else { return nil }

        var trailer: Trailer?
        var entriesEnd = raw.count
        if raw.count >= headerSize + trailerSize {
            let start = raw.count - trailerSize
            let candidate = UnsafeRawBufferPointer(rebasing: raw[start...])
            if candidate.prefix(8).elementsEqual(trailerMagic),
                candidate.le(28, as: UInt32.self)
                    == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: candidate[0..<28]))
            {
                trailer = Trailer(
                    entryCount: candidate.le(8),
                    entriesCRC: candidate.le(12),
                    segmentLength: candidate.le(16),
                    recordCount: candidate.le(24)
                )
                entriesEnd = start
            }
        }

        var entries = [IndexEntry]()
        entries.reserveCapacity((entriesEnd - headerSize) / entrySize)
        var position = headerSize
        var defect: String?
        while position + entrySize <= entriesEnd {
            let entry = UnsafeRawBufferPointer(rebasing: raw[position..<position + entrySize])
            guard entry.le(12, as: UInt32.self) == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: entry[0..<12]))
            else {
                defect = "entry \(entries.count) at byte \(position) fails its CRC32C"
                break
            }
            switch kind {
            case .offsets:
                entries.append(IndexEntry(relativeOffset: entry.le(0), position: entry.le(4), maxEventTime: 0))
            case .times:
                entries.append(IndexEntry(relativeOffset: entry.le(8), position: 0, maxEventTime: entry.le(0)))
            }
            position += entrySize
        }
        if defect == nil && position != entriesEnd {
            defect = "\(entriesEnd - position) stray bytes after the last entry"
        }
        return Decoded(entries: entries, trailer: trailer, validLength: position, defect: defect)
    }
}
