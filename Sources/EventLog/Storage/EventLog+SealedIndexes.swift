#if canImport(Glibc)
import Locking
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension EventLog {
    /// The index of a sealed segment: from the cache, from its files, or rebuilt from the segment when the files
    /// are missing or fail a check (reported as a notice and, by the writer, written back).
    func sealedIndex(baseOffset: Int64, nextBase: Int64) throws(EventLogError) -> SegmentIndex {
        if let cached = catalog.state.withLock({ $0.sealedIndexes[baseOffset] }) { return cached }
        let file = try directory.openSegment(baseOffset)
        defer { file.close() }
        let length = try file.size()
        var index: SegmentIndex
        switch loadSealedIndex(baseOffset: baseOffset, nextBase: nextBase, segmentLength: length) {
        case .success(let loaded):
            index = loaded
        case .failure(let problem):
            let header = try SegmentHeader.read(from: file)
            let scan = try SegmentScan.scan(
                file: file,
                header: header,
                from: .segmentStart(header),
                limit: length,
                indexIntervalBytes: configuration.indexIntervalBytes,
                checkChain: false
            )
            index = scan.index
            let complete = scan.defect == nil && scan.nextOffset == nextBase
            if complete && accessMode == .readWrite {
                for kind in [IndexFile.Kind.offsets, .times] {
                    try directory.replaceFile(
                        LogDirectory.indexName(baseOffset, kind),
                        with: IndexFile.sealedFile(
                            kind,
                            index: index,
                            segmentLength: UInt64(length),
                            recordCount: UInt32(nextBase - baseOffset)
                        )
                    )
                }
            }
            report(.indexRebuilt(file: problem.file, reason: problem.reason))
        }
        catalog.state.withLock { $0.sealedIndexes[baseOffset] = index }
        return index
    }

    struct IndexProblem: Error {
        var file: String
        var reason: String
    }

    /// Reads and fully checks a sealed segment's two index files.
    func loadSealedIndex(baseOffset: Int64, nextBase: Int64, segmentLength: Int64) -> Result<SegmentIndex, IndexProblem>
    {
        var decoded = [IndexFile.Decoded]()
        for kind in [IndexFile.Kind.offsets, .times] {
            let name = LogDirectory.indexName(baseOffset, kind)
            guard let raw = try? directory.readFile(name) else {
                return .failure(IndexProblem(file: name, reason: "missing or unreadable"))
            }
            guard let file = raw.withUnsafeBytes({ IndexFile.decode(kind, $0, baseOffset: baseOffset) }) else {
                return .failure(IndexProblem(file: name, reason: "header is damaged or belongs to another segment"))
            }
            if let defect = file.defect { return .failure(IndexProblem(file: name, reason: defect)) }
            guard let trailer = file.trailer else {
                return .failure(IndexProblem(file: name, reason: "has no sealed trailer"))
            }
            let entriesCRC = raw.withUnsafeBytes {
                CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[IndexFile.headerSize..<file.validLength]))
            }
            guard trailer.entriesCRC == entriesCRC, Int(trailer.entryCount) == file.entries.count else {
                return .failure(IndexProblem(file: name, reason: "entries do not match the trailer"))
            }
            guard trailer.segmentLength == UInt64(segmentLength),
                Int64(trailer.recordCount) == nextBase - baseOffset
            else {
                return .failure(IndexProblem(file: name, reason: "trailer does not describe the segment as it is"))
            }
            decoded.append(file)
        }
        let offsets = decoded[0].entries
        let times = decoded[1].entries
        let name = LogDirectory.indexName(baseOffset, .offsets)
        guard offsets.count == times.count, let first = offsets.first, first.relativeOffset == 0,
            first.position == UInt32(SegmentHeader.size)
        else {
            return .failure(IndexProblem(file: name, reason: "does not start at the segment's first frame"))
        }
        var entries = [IndexEntry]()
        entries.reserveCapacity(offsets.count)
        for (entry, time) in zip(offsets, times) {
            guard entry.relativeOffset == time.relativeOffset,
                Int64(entry.position) < segmentLength,
                Int64(entry.relativeOffset) < nextBase - baseOffset
            else {
                return .failure(IndexProblem(file: name, reason: "entries of the two indexes disagree"))
            }
            if let last = entries.last,
                last.relativeOffset >= entry.relativeOffset || last.position >= entry.position
                    || last.maxEventTime > time.maxEventTime
            {
                return .failure(IndexProblem(file: name, reason: "entries are out of order"))
            }
            entries.append(
                IndexEntry(
                    relativeOffset: entry.relativeOffset,
                    position: entry.position,
                    maxEventTime: time.maxEventTime
                )
            )
        }
        return .success(SegmentIndex(baseOffset: baseOffset, entries: entries))
    }
}
