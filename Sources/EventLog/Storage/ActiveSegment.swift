#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The segment being appended to, as the writer (or a read-only open) knows it.
struct ActiveSegment {
    var header: SegmentHeader
    var file: PosixFile
    /// The position after the last whole frame.
    var end: Int64
    var nextOffset: Int64
    var headHash: ChainHash
    var index: SegmentIndex
    var maxEventTime: Int64
    var lastAppendTime: Int64

    var baseOffset: Int64 { header.baseOffset }
    var lastIndexedPosition: Int64? { index.entries.last.map { Int64($0.position) } }
    var isEmpty: Bool { end == Int64(SegmentHeader.size) }
}

/// Opening the active segment: docs/on-disk-format.md, section 6, steps 4 to 8.
enum Recovery {
    /// The result of recovering the active segment.
    struct Outcome {
        var active: ActiveSegment
        var notices: [EventLog.Notice]
    }

    static func openActive(
        directory: LogDirectory,
        baseOffset: Int64,
        writable: Bool,
        indexIntervalBytes: Int
    ) throws(EventLogError) -> Outcome {
        let file = try directory.openSegment(baseOffset, flags: writable ? O_RDWR : O_RDONLY)
        do {
            return try recover(
                file: file,
                directory: directory,
                baseOffset: baseOffset,
                writable: writable,
                indexIntervalBytes: indexIntervalBytes
            )
        } catch {
            file.close()
            throw error
        }
    }

    private static func recover(
        file: PosixFile,
        directory: LogDirectory,
        baseOffset: Int64,
        writable: Bool,
        indexIntervalBytes: Int
    ) throws(EventLogError) -> Outcome {
        // Step 4: the header.
        let header = try SegmentHeader.read(from: file)
        guard header.baseOffset == baseOffset else {
            throw EventLogError(
                .corruptSegment,
                "segment header says base offset \(header.baseOffset), its name says \(baseOffset)",
                file: file.name,
                position: 16
            )
        }
        let length = try file.size()

        // Step 5: the last index hint whose frame passes its checks.
        let hintFiles = HintFiles(directory: directory, baseOffset: baseOffset)
        let hints = hintFiles.entries
        var start = ScanStart.segmentStart(header)
        for (number, entry) in hints.enumerated().reversed() {
            let position = Int64(entry.position)
            var cursor = FrameCursor(file: file, position: position, limit: length, bufferSize: 4096)
            if case .frame(let frame, _, _) = try cursor.next(),
                frame.baseOffset == baseOffset + Int64(entry.relativeOffset)
            {
                start = ScanStart(
                    position: position,
                    expectedOffset: frame.baseOffset,
                    previousHash: nil,
                    // The hint's running maximum already includes its own frame, which the scan reads again.
                    maxEventTime: entry.maxEventTime,
                    entries: Array(hints[..<number])
                )
                break
            }
        }

        // Steps 6 and 7: scan the tail.
        let scan = try SegmentScan.scan(
            file: file,
            header: header,
            from: start,
            limit: length,
            indexIntervalBytes: indexIntervalBytes
        )
        var notices = [EventLog.Notice]()
        if let defect = scan.defect {
            if try SegmentScan.validFrameExists(in: file, after: defect.position, limit: length) {
                throw EventLogError(
                    .corruptSegment,
                    "\(defect.reason); valid frames follow, so this is damage, not a torn write, "
                        + "and nothing was cut",
                    file: file.name,
                    position: defect.position,
                    offset: scan.nextOffset
                )
            }
            if writable {
                try file.truncate(to: scan.validEnd)
                try file.syncData()
                notices.append(
                    .tornTailTruncated(segment: file.name, position: scan.validEnd, bytes: length - scan.validEnd)
                )
            }
        }

        // Step 8: the hint files hold exactly the entries of the valid frames.
        if writable {
            try hintFiles.rewrite(directory: directory, index: scan.index)
        }
        let active = ActiveSegment(
            header: header,
            file: file,
            end: scan.validEnd,
            nextOffset: scan.nextOffset,
            headHash: scan.lastChainHash,
            index: scan.index,
            maxEventTime: scan.maxEventTime,
            lastAppendTime: scan.lastAppendTime
        )
        return Outcome(active: active, notices: notices)
    }
}

/// The active segment's two index hint files as recovery found them (docs/on-disk-format.md, section 5).
struct HintFiles {
    /// The entries on which both files agree, trailer or not.
    var entries: [IndexEntry] = []
    /// The files' bytes, to rewrite only a file that differs from what recovery keeps.
    private var contents: [IndexFile.Kind: [UInt8]] = [:]

    init(directory: LogDirectory, baseOffset: Int64) {
        for kind in [IndexFile.Kind.offsets, .times] {
            contents[kind] = (try? directory.readFile(LogDirectory.indexName(baseOffset, kind))) ?? nil
        }
        guard
            let offsets = contents[.offsets]?.withUnsafeBytes({ IndexFile.decode(.offsets, $0, baseOffset: baseOffset) }
            ),
            let times = contents[.times]?.withUnsafeBytes({ IndexFile.decode(.times, $0, baseOffset: baseOffset) })
        else { return }
        for (entry, time) in zip(offsets.entries, times.entries) {
            guard entry.relativeOffset == time.relativeOffset else { break }
            if let last = entries.last, last.position >= entry.position || last.relativeOffset >= entry.relativeOffset {
                break
            }
            entries.append(
                IndexEntry(
                    relativeOffset: entry.relativeOffset,
                    position: entry.position,
                    maxEventTime: time.maxEventTime
                )
            )
        }
    }

    /// Writes both files with exactly `index`'s entries and no trailer, where they differ from that.
    func rewrite(directory: LogDirectory, index: SegmentIndex) throws(EventLogError) {
        for kind in [IndexFile.Kind.offsets, .times] {
            var bytes = IndexFile.header(kind, baseOffset: index.baseOffset)
            for entry in index.entries { IndexFile.appendEntry(kind, entry, to: &bytes) }
            // Hints need no fsync: recovery checks them before trusting them.
            if contents[kind] != bytes {
                try directory.replaceFile(LogDirectory.indexName(index.baseOffset, kind), with: bytes, durable: false)
            }
        }
    }
}
