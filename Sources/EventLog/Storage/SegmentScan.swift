/// Where a scan of a segment starts: a frame boundary, the offset expected there, and what came before it.
struct ScanStart {
    var position: Int64
    var expectedOffset: Int64
    /// The chain hash the frame at `position` must chain to; nil when unknown (a scan resumed from an index
    /// point trusts that frame's own CRC-checked hash).
    var previousHash: ChainHash?
    /// The running maximum event time before `position`.
    var maxEventTime: Int64
    /// The index entries before `position` (kept as they are).
    var entries: [IndexEntry]

    static func segmentStart(_ header: SegmentHeader) -> ScanStart {
        ScanStart(
            position: Int64(SegmentHeader.size),
            expectedOffset: header.baseOffset,
            previousHash: header.previousChainHash,
            maxEventTime: .min,
            entries: []
        )
    }
}

/// What a scan of a segment's frames found: its index, its valid end, and the first defect.
struct SegmentScan {
    var index: SegmentIndex
    /// The position after the last frame that passed.
    var validEnd: Int64
    var nextOffset: Int64
    var lastChainHash: ChainHash
    var maxEventTime: Int64
    var lastAppendTime: Int64 = .min
    var framesScanned = 0
    var storedBytes: Int64 = 0
    var uncompressedBytes: Int64 = 0
    /// The first frame that failed a check, if any.
    var defect: (reason: String, position: Int64)?

    /// Scans frames from `start` to the end of `file` (or to `limit`), checking each frame's CRC, continuity of
    /// offsets and, where the previous hash is known, the chain; and, with `decodeRecords`, every record layout.
    static func scan(
        file: PosixFile,
        header: SegmentHeader,
        from start: ScanStart,
        limit: Int64,
        indexIntervalBytes: Int,
        checkChain: Bool = true,
        decodeRecords: Bool = false,
        visit: ((FrameHeader, UnsafeRawBufferPointer, Int64) -> Void)? = nil
    ) throws(EventLogError) -> SegmentScan {
        var scan = SegmentScan(
            index: SegmentIndex(baseOffset: header.baseOffset, entries: start.entries),
            validEnd: start.position,
            nextOffset: start.expectedOffset,
            lastChainHash: start.previousHash ?? .zero,
            maxEventTime: start.maxEventTime
        )
        var previousHash = start.previousHash
        var lastIndexed = start.entries.last.map { Int64($0.position) }
        var cursor = FrameCursor(file: file, position: start.position, limit: limit)
        scanning: while true {
            switch try cursor.next() {
            case .end:
                break scanning
            case .defect(let reason, let position):
                scan.defect = (reason, position)
                break scanning
            case .frame(let frame, let bytes, let position):
                guard frame.baseOffset == scan.nextOffset else {
                    scan.defect = ("frame has base offset \(frame.baseOffset), expected \(scan.nextOffset)", position)
                    break scanning
                }
                if checkChain, let previousHash {
                    guard FrameHeader.chainHash(previous: previousHash, frame: bytes) == frame.chainHash else {
                        scan.defect = ("frame's chain hash does not follow the previous frame's", position)
                        break scanning
                    }
                }
                if decodeRecords {
                    do {
                        _ = try LogBatch.decode(header: frame, frame: bytes)
                    } catch {
                        scan.defect = (error.message, position)
                        break scanning
                    }
                }
                scan.maxEventTime = max(scan.maxEventTime, frame.maxEventTime)
                if SegmentIndex.isDue(position: position, lastIndexed: lastIndexed, interval: indexIntervalBytes) {
                    scan.index.entries.append(
                        IndexEntry(
                            relativeOffset: UInt32(frame.baseOffset - header.baseOffset),
                            position: UInt32(position),
                            maxEventTime: scan.maxEventTime
                        )
                    )
                    lastIndexed = position
                }
                visit?(frame, bytes, position)
                previousHash = frame.chainHash
                scan.lastChainHash = frame.chainHash
                scan.nextOffset = frame.nextOffset
                scan.validEnd = position + Int64(frame.frameLength)
                scan.lastAppendTime = frame.appendTime
                scan.framesScanned += 1
                scan.storedBytes += Int64(frame.frameLength)
                scan.uncompressedBytes += Int64(frame.uncompressedLength)
            }
        }
        return scan
    }

    /// Whether any frame that passes its own checks starts after `position` (damage followed by good data,
    /// as opposed to a torn tail). Looks at every byte position, so it is only used on a damaged tail.
    static func validFrameExists(in file: PosixFile, after position: Int64, limit: Int64) throws(EventLogError) -> Bool
    {
        guard limit - position > Int64(FrameHeader.size) else { return false }
        let bytes = try file.read(count: Int(limit - position), at: position)
        return bytes.withUnsafeBytes { raw in
            var candidate = 1
            while candidate + FrameHeader.size <= raw.count {
                if raw[candidate + 8] == FrameHeader.magic,
                    case .success(let header) = FrameHeader.parse(UnsafeRawBufferPointer(rebasing: raw[candidate...])),
                    candidate + Int(header.frameLength) <= raw.count,
                    FrameHeader.crcMatches(
                        UnsafeRawBufferPointer(rebasing: raw[candidate..<candidate + Int(header.frameLength)])
                    )
                {
                    return true
                }
                candidate += 1
            }
            return false
        }
    }
}
