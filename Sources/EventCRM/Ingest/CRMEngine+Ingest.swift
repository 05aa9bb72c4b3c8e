public import CRMModel
import CRMProjections
import EventLog

#if canImport(Glibc)
import Glibc
#endif

/// Where ``CRMEngine/ingest(_:options:progress:)`` reads NDJSON from.
public enum IngestSource: Sendable {
    /// A file.
    case file(String)
    /// The process's standard input.
    case standardInput
    /// Bytes in memory.
    case bytes([UInt8])
}

/// How ``CRMEngine/ingest(_:options:progress:)`` treats invalid lines.
public struct IngestOptions: Sendable {
    /// Append the valid lines even when some are invalid (default: any invalid line appends nothing).
    public var skipInvalid = false
    /// With ``skipInvalid``: the file that gets each invalid line as `line number TAB reason TAB the line`.
    public var rejectsPath: String?
    /// How many problems the report lists (all are counted).
    public var listedProblems = 100

    public init() {}
}

/// How far an ingest has got, for progress bars.
public struct IngestProgress: Sendable {
    public enum Phase: String, Sendable {
        /// Reading, validating, sealing and staging the input (pass 1).
        case validating
        /// Appending the staged events (pass 2).
        case appending
    }

    public var phase: Phase
    /// Input bytes read (validating) or staged bytes appended (appending).
    public var done: Int64
    /// The total, when known (a file's size; unknown for a pipe while validating).
    public var total: Int64?
}

/// What an ingest did.
public struct IngestReport: Sendable {
    /// Whether the events were appended: false when invalid lines stopped an all-or-nothing ingest.
    public var committed = false
    /// Lines holding an event (blank lines are not counted).
    public var lines = 0
    /// Events appended.
    public var appended = 0
    /// Valid events skipped because their `id` was already in the log (or earlier in the input).
    public var duplicates = 0
    /// Invalid lines.
    public var rejected = 0
    /// The first ``IngestOptions/listedProblems`` invalid lines, with line, field and reason.
    public var problems: [ValidationError] = []
    /// Bytes of input read.
    public var inputBytes: Int64 = 0
    /// Wall-clock seconds the ingest took.
    public var seconds = 0.0
    /// Of those, the seconds spent validating, sealing and staging (pass 1); the rest is appending (pass 2).
    public var validationSeconds = 0.0
}

extension CRMEngine {
    /// Staged batches aim at the log's frame size, so that history reads decompress little.
    private static let stagedBatchBytes = 64 << 10
    /// Staged batches handed to the log at once: they share writes and syncs.
    private static let batchesPerAppend = 32

    /// Ingests NDJSON events (docs/events.md) in two passes (docs/engine-directory.md, section 3): validate, seal
    /// and stage everything, then append. By default an input with any invalid line appends nothing and the
    /// report lists the problems; with ``IngestOptions/skipInvalid`` the valid lines are appended. Events whose
    /// `id` is already in the log are skipped and counted, so running the same ingest again is harmless, also
    /// after a crash halfway.
    public func ingest(
        _ source: IngestSource,
        options: IngestOptions = IngestOptions(),
        progress: (@Sendable (IngestProgress) -> Void)? = nil
    ) async throws(CRMError) -> IngestReport {
        try requireWritable()
        let started = ContinuousClock.now
        var report = IngestReport()
        let staging = try StagingFile(directory: path)
        var rejects: PosixFile?
        if options.skipInvalid, let rejectsPath = options.rejectsPath {
            do {
                rejects = try PosixFile.open(rejectsPath, name: rejectsPath, flags: O_WRONLY | O_CREAT | O_TRUNC)
            } catch {
                throw CRMError(.io, "cannot create the rejects file: \(error)")
            }
        }
        defer { rejects?.close() }
        try stage(source, into: staging, rejects: rejects, options: options, report: &report, progress: progress)
        report.validationSeconds = (ContinuousClock.now - started) / .seconds(1)
        if report.rejected > 0 && !options.skipInvalid {
            report.seconds = (ContinuousClock.now - started) / .seconds(1)
            return report
        }
        try await appendStaged(staging, report: &report, progress: progress)
        report.committed = true
        report.seconds = (ContinuousClock.now - started) / .seconds(1)
        return report
    }

    /// Pass 1: read, validate on every core, seal, and write sealed batches to the staging file.
    private func stage(
        _ source: IngestSource,
        into staging: StagingFile,
        rejects: PosixFile?,
        options: IngestOptions,
        report: inout IngestReport,
        progress: (@Sendable (IngestProgress) -> Void)?
    ) throws(CRMError) {
        var reader: LineBlockReader?
        var inMemory: LineBlockReader.Block?
        switch source {
        case .file(let path):
            do {
                let file = try PosixFile.open(path, name: path, flags: O_RDONLY)
                reader = LineBlockReader(file: file, closeWhenDone: true)
            } catch {
                throw CRMError(.io, "cannot read the input: \(error)")
            }
        case .standardInput:
            reader = LineBlockReader(file: PosixFile(descriptor: 0, name: "standard input"), closeWhenDone: false)
        case .bytes(let bytes):
            inMemory = LineBlockReader.Block(bytes: bytes, firstLine: 1)
        }
        var rejectsPosition: Int64 = 0
        while true {
            let block: LineBlockReader.Block
            if let reader {
                do {
                    guard let next = try reader.next() else { break }
                    block = next
                } catch {
                    throw CRMError(.io, "cannot read the input: \(error)")
                }
                report.inputBytes = reader.bytesRead
            } else {
                guard let next = inMemory else { break }
                block = next
                inMemory = nil
                report.inputBytes = Int64(block.bytes.count)
            }
            let parsed = parse(block)
            var valid = [ParsedEvent]()
            valid.reserveCapacity(parsed.count)
            for (number, line) in parsed.enumerated() {
                switch line {
                case .blank:
                    continue
                case .event(let event):
                    report.lines += 1
                    valid.append(event)
                case .invalid(let problem):
                    report.lines += 1
                    report.rejected += 1
                    if report.problems.count < options.listedProblems { report.problems.append(problem) }
                    if let rejects {
                        let text =
                            Array("\(problem.line ?? 0)\t\(problem.withoutLine)\t".utf8)
                            + block.bytes[block.lineRanges[number]] + [0x0A]
                        do {
                            try rejects.write(text, at: rejectsPosition)
                        } catch {
                            throw CRMError(.io, "cannot write the rejects file: \(error)")
                        }
                        rejectsPosition += Int64(text.count)
                    }
                }
            }
            progress?(IngestProgress(phase: .validating, done: report.inputBytes, total: reader?.totalBytes))
            // All or nothing: once a line is invalid, keep validating to list the problems, but stage nothing.
            guard report.rejected == 0 || options.skipInvalid else { continue }
            for staged in try sealInParallel(valid) { try staging.write(staged) }
        }
    }

    /// A valid line, encoded, with the hash of its id.
    private struct ParsedEvent: Sendable {
        var encoded: EncodedEvent
        var idHash: EventIDHash?
        var hasPersonalPart: Bool
    }

    /// One line of input after parsing.
    private enum ParsedLine: Sendable {
        case blank
        case event(ParsedEvent)
        case invalid(ValidationError)
    }

    /// Seals `events` on every core into batches of about ``stagedBatchBytes``, in input order.
    private func sealInParallel(_ events: [ParsedEvent]) throws(CRMError) -> [StagedBatch] {
        guard !events.isEmpty else { return [] }
        let customerKeys = try customerKeys(for: events.lazy.filter(\.hasPersonalPart).map(\.encoded.key))
        let workers = min(events.count, Self.chunkCount)
        return try concurrentMap(workers) { worker throws(CRMError) -> [StagedBatch] in
            let slice = events[events.count * worker / workers..<events.count * (worker + 1) / workers]
            var staged = [StagedBatch]()
            var batch = RecordBatch(reservingBytes: Self.stagedBatchBytes + (16 << 10))
            var hashes = [EventIDHash?]()
            for event in slice {
                try batch.append(
                    Self.seal(event.encoded, hasPersonalPart: event.hasPersonalPart, keys: customerKeys)
                )
                hashes.append(event.idHash)
                if batch.encodedByteCount >= Self.stagedBatchBytes {
                    staged.append(StagedBatch(batch: batch, idHashes: hashes))
                    batch.removeAll()
                    hashes.removeAll(keepingCapacity: true)
                }
            }
            if !batch.isEmpty { staged.append(StagedBatch(batch: batch, idHashes: hashes)) }
            return staged
        }.flatMap { $0 }
    }

    /// Parallel work is cut into more chunks than cores, so that a core that finishes early takes another.
    private static var chunkCount: Int { 4 * onlineCores }

    /// Parses and encodes the lines of a block, on every core.
    private func parse(_ block: LineBlockReader.Block) -> [ParsedLine] {
        let codec = self.codec
        let ranges = block.lineRanges
        let workers = min(ranges.count, Self.chunkCount)
        return concurrentMap(workers) { worker -> [ParsedLine] in
            let lines = ranges.count * worker / workers..<ranges.count * (worker + 1) / workers
            return block.bytes.withUnsafeBytes { raw in
                lines.map { number -> ParsedLine in
                    let line = UnsafeRawBufferPointer(rebasing: raw[ranges[number]])
                    if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return .blank }
                    do throws(ValidationError) {
                        let event = try codec.decode(line: line, lineNumber: block.firstLine + number)
                        let encoded = EventBinaryCodec.encode(event)
                        return .event(
                            ParsedEvent(
                                encoded: encoded,
                                idHash: event.id.map(StableHash.eventID),
                                hasPersonalPart: encoded.hasPersonalPart
                            )
                        )
                    } catch {
                        return .invalid(error)
                    }
                }
            }
        }.flatMap { $0 }
    }

    /// Pass 2: append the staged batches in order, dropping events already in the log.
    private func appendStaged(
        _ staging: StagingFile,
        report: inout IngestReport,
        progress: (@Sendable (IngestProgress) -> Void)?
    ) async throws(CRMError) {
        staging.rewind()
        // While the writer compresses and syncs one group of batches, the next group is read back and checked
        // for duplicates; the groups land in order.
        var inFlight: SubmittedAppend?
        func finish(_ submitted: SubmittedAppend) async throws(CRMError) {
            for offsets in try await complete(submitted) {
                for offset in offsets {
                    if offset == nil { report.duplicates += 1 } else { report.appended += 1 }
                }
            }
            progress?(IngestProgress(phase: .appending, done: staging.position, total: staging.size))
        }
        while true {
            var batches = [StagedBatch]()
            do throws(CRMError) {
                while batches.count < Self.batchesPerAppend, let batch = try staging.next() {
                    batches.append(batch)
                }
            } catch {
                if let inFlight { try await finish(inFlight) }
                throw error
            }
            guard !batches.isEmpty else { break }
            let submitted: SubmittedAppend
            do {
                submitted = try submitDeduplicated(
                    batches.map(\.batch),
                    idHashes: batches.map(\.idHashes),
                    deferringKeyCompaction: true
                )
            } catch {
                if let inFlight { try await finish(inFlight) }
                throw error
            }
            if let previous = inFlight {
                do {
                    try await finish(previous)
                } catch {
                    // Let the group just submitted finish too (indexed, or its ids released), then report.
                    _ = try? await complete(submitted)
                    throw error
                }
            }
            inFlight = submitted
        }
        if let inFlight { try await finish(inFlight) }
        // Erasures met on the way made keys unusable at once; their bytes leave the key file now (or at the next
        // open, after a crash).
        do {
            try keys.compactIfNeeded()
        } catch {
            throw .keyStore(error)
        }
    }
}

extension ValidationError {
    /// The description without the line number.
    var withoutLine: String {
        var copy = self
        copy.line = nil
        return copy.description
    }
}
