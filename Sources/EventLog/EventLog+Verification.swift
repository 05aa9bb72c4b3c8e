#if canImport(Glibc)
import Locking
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension EventLog {
    /// What ``verify(checkpoint:)`` checked and the first problem it found.
    public struct VerificationReport: Sendable, CustomStringConvertible {
        /// Where and what the first problem is.
        public struct Problem: Sendable, CustomStringConvertible {
            public var file: String
            public var position: Int64?
            /// The offset of the first record of the batch concerned, when known.
            public var offset: Int64?
            public var reason: String

            public var description: String {
                "\(file)" + (position.map { " at byte \($0)" } ?? "") + (offset.map { " (offset \($0))" } ?? "")
                    + ": \(reason)"
            }
        }

        public var segments = 0
        public var frames = 0
        public var records: Int64 = 0
        public var storedBytes: Int64 = 0
        public var uncompressedBytes: Int64 = 0
        public var indexesChecked = 0
        /// The chain hash at the end of the part that verified.
        public var headHash = ChainHash.zero
        /// Whether the chain hash after the checkpoint's offset was the one expected (nil: no checkpoint given).
        public var checkpointMatched: Bool?
        public var firstProblem: Problem?

        /// Whether everything checked out.
        public var isValid: Bool { firstProblem == nil }

        public var description: String {
            var text = "\(segments) segments, \(frames) batches, \(records) records, \(indexesChecked) indexes; "
            text += "head \(headHash)"
            if let firstProblem { text += "; FIRST PROBLEM: \(firstProblem)" }
            return text
        }
    }

    /// Reads the whole log and checks every frame's CRC, every record's layout, the hash chain from the first
    /// frame to the head, the continuity of offsets, and every sealed segment's two indexes against its frames.
    /// Stops at the first problem and names it.
    ///
    /// - Parameter checkpoint: a head hash kept earlier with the offset it was the head of (``nextOffset`` then):
    ///   the chain hash of the batch ending there must be that hash, which proves nothing before it changed.
    public func verify(
        checkpoint: (offset: Int64, hash: ChainHash)? = nil
    ) throws(EventLogError)
        -> VerificationReport
    {
        var report = VerificationReport()
        if let checkpoint, checkpoint.offset == 0 { report.checkpointMatched = checkpoint.hash == .zero }
        let (bases, activeEnd, head, headHash) = catalog.state.withLock {
            ($0.segmentBases, $0.activeEnd, $0.nextOffset, $0.headHash)
        }
        var previousHash = ChainHash.zero
        var expectedOffset: Int64 = 0
        for (number, base) in bases.enumerated() {
            let name = LogDirectory.segmentName(base)
            let isActive = number == bases.count - 1
            let file = try directory.openSegment(base)
            defer { file.close() }
            report.segments += 1
            func problem(_ reason: String, position: Int64? = nil, offset: Int64? = nil) -> VerificationReport {
                report.firstProblem = .init(file: name, position: position, offset: offset, reason: reason)
                return report
            }
            let header: SegmentHeader
            do {
                header = try SegmentHeader.read(from: file)
            } catch {
                return problem(error.message, position: 0)
            }
            guard header.baseOffset == base, base == expectedOffset else {
                return problem(
                    "segment starts at offset \(header.baseOffset), expected \(expectedOffset)",
                    position: 16
                )
            }
            guard header.previousChainHash == previousHash else {
                return problem("segment header does not chain to the previous segment's last batch", position: 24)
            }
            let limit = isActive && accessMode == .readWrite ? activeEnd : try file.size()
            var framesByPosition = [UInt32: (relativeOffset: UInt32, runningMax: Int64)]()
            var runningMax = Int64.min
            let scan = try SegmentScan.scan(
                file: file,
                header: header,
                from: .segmentStart(header),
                limit: limit,
                indexIntervalBytes: configuration.indexIntervalBytes,
                decodeRecords: true
            ) { frame, _, position in
                if let checkpoint, frame.nextOffset == checkpoint.offset {
                    report.checkpointMatched = frame.chainHash == checkpoint.hash
                }
                runningMax = max(runningMax, frame.maxEventTime)
                framesByPosition[UInt32(position)] = (UInt32(frame.baseOffset - base), runningMax)
            }
            report.frames += scan.framesScanned
            report.records += scan.nextOffset - base
            report.storedBytes += scan.storedBytes
            report.uncompressedBytes += scan.uncompressedBytes
            if let defect = scan.defect {
                return problem(defect.reason, position: defect.position, offset: scan.nextOffset)
            }
            previousHash = scan.lastChainHash
            report.headHash = previousHash
            expectedOffset = scan.nextOffset
            guard !isActive else { break }
            guard scan.nextOffset == bases[number + 1] else {
                return problem("segment ends at offset \(scan.nextOffset) but the next begins at \(bases[number + 1])")
            }
            switch loadSealedIndex(baseOffset: base, nextBase: bases[number + 1], segmentLength: limit) {
            case .failure(let indexProblem):
                report.firstProblem = .init(file: indexProblem.file, reason: indexProblem.reason)
                return report
            case .success(let index):
                for entry in index.entries {
                    guard let frame = framesByPosition[entry.position], frame.relativeOffset == entry.relativeOffset,
                        frame.runningMax == entry.maxEventTime
                    else {
                        report.firstProblem = .init(
                            file: LogDirectory.indexName(base, .offsets),
                            reason: "entry for offset \(base + Int64(entry.relativeOffset)) does not match its frame"
                        )
                        return report
                    }
                }
                report.indexesChecked += 2
            }
        }
        if accessMode == .readWrite && (expectedOffset != head || previousHash != headHash) {
            report.firstProblem = .init(
                file: LogDirectory.segmentName(bases.last!),
                reason: "the files end at offset \(expectedOffset), the log's head is \(head)"
            )
        }
        if report.firstProblem == nil, let checkpoint {
            switch report.checkpointMatched {
            case true?: break
            case false?:
                report.firstProblem = .init(
                    file: "(checkpoint)",
                    offset: checkpoint.offset,
                    reason: "the chain hash at offset \(checkpoint.offset) is not \(checkpoint.hash): "
                        + "the log was altered before that offset"
                )
            case nil:
                report.firstProblem = .init(
                    file: "(checkpoint)",
                    offset: checkpoint.offset,
                    reason: "no batch ends at offset \(checkpoint.offset): not a head this log ever had"
                )
            }
        }
        return report
    }

    /// Sizes and counts of the log, read from frame headers (no decompression, no hashing).
    public struct Statistics: Sendable {
        public var segments = 0
        public var frames = 0
        public var records: Int64 = 0
        /// Bytes of records before compression (keys, values and record headers).
        public var uncompressedBytes: Int64 = 0
        /// Bytes of all segment files.
        public var segmentBytes: Int64 = 0
        /// Bytes of all files in the directory, indexes included.
        public var bytesOnDisk: Int64 = 0
        public var headHash = ChainHash.zero

        /// Segment bytes divided by uncompressed record bytes.
        public var compressionRatio: Double {
            uncompressedBytes == 0 ? 1 : Double(segmentBytes) / Double(uncompressedBytes)
        }
    }

    /// Counts frames, records and bytes by reading every frame header and checking its CRC.
    public func statistics() throws(EventLogError) -> Statistics {
        var statistics = Statistics()
        let (bases, activeEnd, head, headHash) = catalog.state.withLock {
            ($0.segmentBases, $0.activeEnd, $0.nextOffset, $0.headHash)
        }
        statistics.records = head
        statistics.headHash = headHash
        for (number, base) in bases.enumerated() {
            let file = try directory.openSegment(base)
            defer { file.close() }
            let header = try SegmentHeader.read(from: file)
            let limit = number == bases.count - 1 && accessMode == .readWrite ? activeEnd : try file.size()
            let scan = try SegmentScan.scan(
                file: file,
                header: header,
                from: .segmentStart(header),
                limit: limit,
                indexIntervalBytes: configuration.indexIntervalBytes,
                checkChain: false
            )
            if let defect = scan.defect {
                throw EventLogError(.corruptSegment, defect.reason, file: file.name, position: defect.position)
            }
            statistics.segments += 1
            statistics.frames += scan.framesScanned
            statistics.uncompressedBytes += scan.uncompressedBytes
            statistics.segmentBytes += limit
        }
        for name in try directory.names() {
            var status = stat()
            if stat(directory.path(of: name), &status) == 0 { statistics.bytesOnDisk += Int64(status.st_size) }
        }
        return statistics
    }
}
