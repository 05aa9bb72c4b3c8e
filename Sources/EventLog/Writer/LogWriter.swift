import Dispatch
import Foundation
import Locking

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The single writer: a dedicated thread that turns queued appends into frames, writes them, syncs them as the
/// durability mode asks, rolls segments, and only then acknowledges (docs/on-disk-format.md, sections 3, 7, 8).
///
/// Appenders only touch `inbox`; everything else is confined to the writer thread, which is why the class is
/// `@unchecked Sendable`.
final class LogWriter: @unchecked Sendable {
    private struct Request {
        /// Who waits: one appender's continuation (the common case, no allocation), or a callback for appends
        /// submitted several at a time.
        enum Waiter {
            case continuation(CheckedContinuation<Range<Int64>, any Error>)
            case callback(@Sendable (Result<Range<Int64>, any Error>) -> Void)
        }

        let batch: RecordBatch
        let waiter: Waiter

        /// Called once on the writer thread with the offsets given, or why the append failed.
        func complete(_ result: Result<Range<Int64>, any Error>) {
            switch waiter {
            case .continuation(let continuation): continuation.resume(with: result)
            case .callback(let callback): callback(result)
            }
        }
    }

    private struct Inbox {
        var requests: [Request] = []
        var stopping = false
        /// Set when a failure left the files in a state the writer cannot vouch for; the log must be reopened.
        var failure: EventLogError?
    }

    /// A frame encoded into `output`, with the requests it carries.
    private struct PlannedFrame {
        var bytes: Range<Int>
        var header: FrameHeader
        var requests: Range<Int>
    }

    private let inbox = Locked(Inbox())
    private let wakeup = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let directory: LogDirectory
    private let configuration: EventLog.Configuration
    private let catalog: LogCatalog

    // Confined to the writer thread after `start()`.
    private var active: ActiveSegment
    private var output: [UInt8] = []
    private var payload: [UInt8] = []
    /// The active segment's two hint files, opened on first use (offsets, then times).
    private var hintFiles: [PosixFile] = []
    /// How many appends the last group held, and how long an fdatasync takes here (a moving average).
    private var lastGroupCount = 0
    private var syncNanoseconds: Int64 = 100_000

    init(directory: LogDirectory, configuration: EventLog.Configuration, catalog: LogCatalog, active: ActiveSegment) {
        self.directory = directory
        self.configuration = configuration
        self.catalog = catalog
        self.active = active
        output.reserveCapacity(configuration.maxGroupBytes + (1 << 16))
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "EventLog writer"
        thread.start()
    }

    /// Queues `batch` and waits until it is written as durably as the mode promises.
    func append(_ batch: RecordBatch) async throws -> Range<Int64> {
        guard !batch.isEmpty else { throw EventLogError(.invalidRecord, "cannot append an empty batch") }
        return try await withCheckedThrowingContinuation { continuation in
            enqueue([Request(batch: batch, waiter: .continuation(continuation))])
        }
    }

    /// Adds requests to the inbox in order and wakes the writer, or fails them all if the log cannot take them.
    private func enqueue(_ requests: [Request]) {
        let refusal = inbox.withLock { inbox -> EventLogError? in
            if let failure = inbox.failure {
                return EventLogError(.logFailed, "an earlier failure needs the log to be reopened: \(failure)")
            }
            if inbox.stopping { return EventLogError(.notWritable, "the log is closed") }
            inbox.requests.append(contentsOf: requests)
            return nil
        }
        if let refusal {
            for request in requests { request.complete(.failure(refusal)) }
        } else {
            wakeup.signal()
        }
    }

    /// Queues `batches` in order, each to be appended atomically on its own, and returns at once; the ticket
    /// tells when all are written as durably as the mode promises, or failed. Later batches never land before
    /// earlier ones, nor before batches submitted earlier.
    func submit(_ batches: [RecordBatch]) -> AppendTicket {
        if let empty = batches.firstIndex(where: \.isEmpty) {
            return .failing(
                batches.count,
                with: EventLogError(.invalidRecord, "cannot append an empty batch (batch \(empty))")
            )
        }
        let ticket = AppendTicket(count: batches.count)
        enqueue(
            batches.indices.map { number in
                Request(batch: batches[number], waiter: .callback { ticket.complete(number, $0) })
            }
        )
        return ticket
    }

    /// Finishes what is queued, closes the files and stops the thread. Blocks until it has.
    func stop() {
        let alreadyStopping = inbox.withLock { inbox in
            defer { inbox.stopping = true }
            return inbox.stopping
        }
        guard !alreadyStopping else { return }
        wakeup.signal()
        finished.wait()
    }

    // MARK: - The writer thread

    private func run() {
        while true {
            awaitWork()
            gatherStragglers()
            let (requests, stopping) = takeGroup()
            if !requests.isEmpty { lastGroupCount = requests.count }
            if !requests.isEmpty {
                if configuration.durability == .syncEveryAppend {
                    for request in requests { commit([request]) }
                } else {
                    commit(requests)
                }
            }
            if stopping && requests.isEmpty { break }
        }
        closeHintFiles()
        active.file.close()
        finished.signal()
    }

    /// Blocks until an append arrives. Spins briefly first: a caller appending back to back usually comes back
    /// within microseconds, and waking a thread that went to sleep costs tens of microseconds per frame.
    private func awaitWork() {
        spin(for: 30_000) { !$0.requests.isEmpty || $0.stopping }
        wakeup.wait()
    }

    /// Group commit under load: the appenders acknowledged by the last group are being resumed and append again
    /// within microseconds. Waiting for them (at most half an fsync) lets one fsync serve the whole group instead
    /// of splitting it into a small group and a large one, each paying a sync. This is PostgreSQL's
    /// `commit_delay`, made adaptive: no wait unless the last group had several appenders.
    private func gatherStragglers() {
        guard configuration.durability == .groupCommit, lastGroupCount > 1 else { return }
        let wanted = lastGroupCount
        spin(for: min(syncNanoseconds / 2, 500_000)) { $0.requests.count >= wanted || $0.stopping }
    }

    /// Yields the core until `ready` holds for the inbox or `nanoseconds` have passed. Not nanosleep: timer slack
    /// makes a 5 µs sleep last 50 µs or more; yielding gives the core to the appenders being waited for.
    private func spin(for nanoseconds: Int64, until ready: (Inbox) -> Bool) {
        let deadline = Self.monotonicNanoseconds() + nanoseconds
        while Self.monotonicNanoseconds() < deadline {
            if inbox.withLock({ ready($0) }) { return }
            sched_yield()
        }
    }

    /// Takes the waiting requests, up to `maxGroupBytes`; wakes itself again when some are left.
    private func takeGroup() -> ([Request], Bool) {
        inbox.withLock { inbox in
            var taken = 0
            var bytes = 0
            while taken < inbox.requests.count
                && (taken == 0 || bytes + inbox.requests[taken].batch.encodedByteCount <= configuration.maxGroupBytes)
            {
                bytes += inbox.requests[taken].batch.encodedByteCount
                taken += 1
            }
            let group = Array(inbox.requests[..<taken])
            inbox.requests.removeFirst(taken)
            if !inbox.requests.isEmpty { wakeup.signal() }
            if inbox.stopping && !group.isEmpty { wakeup.signal() }
            return (group, inbox.stopping)
        }
    }

    /// Writes `requests` as frames, in as few writes and syncs as the segment boundaries allow.
    private func commit(_ requests: [Request]) {
        if let failure = inbox.withLock({ $0.failure }) {
            let error = EventLogError(.logFailed, "an earlier failure needs the log to be reopened: \(failure)")
            for request in requests { request.complete(.failure(error)) }
            return
        }
        let frames = encodeFrames(requests)
        var unitStart = 0
        var unitBytes: Int64 = 0
        do {
            for (number, frame) in frames.enumerated() {
                let length = Int64(frame.bytes.count)
                let segmentHasFrames = active.end + unitBytes > Int64(SegmentHeader.size)
                if segmentHasFrames && active.end + unitBytes + length > Int64(configuration.segmentBytes) {
                    if number > unitStart {
                        try writeUnit(frames[unitStart..<number], requests: requests)
                    }
                    try roll()
                    unitStart = number
                    unitBytes = 0
                }
                unitBytes += length
            }
            try writeUnit(frames[unitStart...], requests: requests)
        } catch {
            // Frames from `unitStart` on were not acknowledged; they chain after each other, so none of them is
            // kept in memory. Their callers learn why.
            for frame in frames[unitStart...] {
                for request in requests[frame.requests] { request.complete(.failure(error)) }
            }
        }
    }

    /// Encodes the group into frames of about `targetFrameBytes`, each holding whole requests.
    private func encodeFrames(_ requests: [Request]) -> [PlannedFrame] {
        output.removeAll(keepingCapacity: true)
        var frames = [PlannedFrame]()
        var nextOffset = active.nextOffset
        var previousHash = active.headHash
        let appendTime = max(active.lastAppendTime, Self.microsecondsNow())
        var first = 0
        while first < requests.count {
            var end = first + 1
            var bytes = requests[first].batch.encodedByteCount
            while end < requests.count
                && bytes + requests[end].batch.encodedByteCount <= configuration.targetFrameBytes
            {
                bytes += requests[end].batch.encodedByteCount
                end += 1
            }
            var count = 0
            var minTime = Int64.max
            var maxTime = Int64.min
            for request in requests[first..<end] {
                count += request.batch.count
                minTime = min(minTime, request.batch.minEventTime)
                maxTime = max(maxTime, request.batch.maxEventTime)
            }
            let start = output.count
            func encode(_ records: UnsafeRawBufferPointer) -> FrameHeader {
                FrameEncoder.encode(
                    records: records,
                    count: count,
                    eventTimes: minTime...maxTime,
                    baseOffset: nextOffset,
                    appendTime: appendTime,
                    previousHash: previousHash,
                    into: &output
                )
            }
            let header: FrameHeader
            if end == first + 1 {
                // One append fills the frame: compress its bytes where they are.
                header = requests[first].batch.bytes.withUnsafeBytes(encode)
            } else {
                payload.removeAll(keepingCapacity: true)
                for request in requests[first..<end] { payload.append(contentsOf: request.batch.bytes) }
                header = payload.withUnsafeBytes(encode)
            }
            frames.append(PlannedFrame(bytes: start..<output.count, header: header, requests: first..<end))
            nextOffset = header.nextOffset
            previousHash = header.chainHash
            first = end
        }
        return frames
    }

    /// Writes consecutive frames to the active segment with one write and at most one sync, then publishes them
    /// and acknowledges their requests.
    private func writeUnit(_ frames: ArraySlice<PlannedFrame>, requests: [Request]) throws(EventLogError) {
        guard let first = frames.first, let last = frames.last else { return }
        let startEnd = active.end
        let range = first.bytes.lowerBound..<last.bytes.upperBound
        do {
            try output.withBytes { raw throws(EventLogError) in
                try active.file.write(UnsafeRawBufferPointer(rebasing: raw[range]), at: startEnd)
            }
        } catch {
            // Cut what may have reached the file so that the segment ends on its last acknowledged frame; if even
            // that fails, stop taking appends: the next open recovers from what is really on disk.
            if (try? active.file.truncate(to: startEnd)) == nil { inbox.withLock { $0.failure = error } }
            throw error
        }
        if configuration.durability != .none {
            do {
                let began = Self.monotonicNanoseconds()
                try active.file.syncData()
                syncNanoseconds = (syncNanoseconds * 7 + (Self.monotonicNanoseconds() - began)) / 8
            } catch {
                // After a failed fdatasync the kernel may have dropped the dirty pages: what is on disk is unknown
                // and retrying could acknowledge lost data. Refuse further appends until the log is reopened.
                _ = try? active.file.truncate(to: startEnd)
                inbox.withLock { $0.failure = error }
                throw error
            }
        }

        var newEntries = [IndexEntry]()
        for frame in frames {
            let position = startEnd + Int64(frame.bytes.lowerBound - range.lowerBound)
            active.maxEventTime = max(active.maxEventTime, frame.header.maxEventTime)
            if SegmentIndex.isDue(
                position: position,
                lastIndexed: active.lastIndexedPosition,
                interval: configuration.indexIntervalBytes
            ) {
                let entry = IndexEntry(
                    relativeOffset: UInt32(frame.header.baseOffset - active.baseOffset),
                    position: UInt32(position),
                    maxEventTime: active.maxEventTime
                )
                active.index.entries.append(entry)
                newEntries.append(entry)
            }
        }
        active.end = startEnd + Int64(range.count)
        active.nextOffset = last.header.nextOffset
        active.headHash = last.header.chainHash
        active.lastAppendTime = last.header.appendTime
        appendHints(newEntries)
        catalog.publish(
            end: active.end,
            nextOffset: active.nextOffset,
            headHash: active.headHash,
            newEntries: newEntries[...]
        )
        for frame in frames {
            var offset = frame.header.baseOffset
            for request in requests[frame.requests] {
                let end = offset + Int64(request.batch.count)
                request.complete(.success(offset..<end))
                offset = end
            }
        }
    }

    /// Appends index entries to the active segment's hint files. Best effort: recovery checks hints.
    private func appendHints(_ entries: [IndexEntry]) {
        guard !entries.isEmpty else { return }
        if hintFiles.isEmpty {
            hintFiles = [IndexFile.Kind.offsets, .times].compactMap { kind in
                let name = LogDirectory.indexName(active.baseOffset, kind)
                return try? PosixFile.open(directory.path(of: name), name: name, flags: O_WRONLY | O_APPEND)
            }
        }
        for (file, kind) in zip(hintFiles, [IndexFile.Kind.offsets, .times]) {
            var bytes = [UInt8]()
            for entry in entries { IndexFile.appendEntry(kind, entry, to: &bytes) }
            _ = bytes.withUnsafeBytes { Glibc.write(file.descriptor, $0.baseAddress, $0.count) }
        }
    }

    private func closeHintFiles() {
        for file in hintFiles { file.close() }
        hintFiles = []
    }

    /// Seals the active segment and starts the next one (docs/on-disk-format.md, section 7).
    private func roll() throws(EventLogError) {
        do {
            closeHintFiles()
            try active.file.syncData()
            let recordCount = UInt32(active.nextOffset - active.baseOffset)
            for kind in [IndexFile.Kind.offsets, .times] {
                let sealed = IndexFile.sealedFile(
                    kind,
                    index: active.index,
                    segmentLength: UInt64(active.end),
                    recordCount: recordCount
                )
                try directory.replaceFile(LogDirectory.indexName(active.baseOffset, kind), with: sealed)
            }
            let next = try EventLog.createSegment(
                in: directory,
                header: SegmentHeader(baseOffset: active.nextOffset, previousChainHash: active.headHash)
            )
            let sealedIndex = active.index
            active.file.close()
            active = ActiveSegment(
                header: SegmentHeader(baseOffset: active.nextOffset, previousChainHash: active.headHash),
                file: next,
                end: Int64(SegmentHeader.size),
                nextOffset: active.nextOffset,
                headHash: active.headHash,
                index: SegmentIndex(baseOffset: active.nextOffset),
                maxEventTime: .min,
                lastAppendTime: active.lastAppendTime
            )
            catalog.publishRoll(sealedIndex: sealedIndex, newBase: active.baseOffset)
        } catch {
            inbox.withLock { $0.failure = error }
            throw error
        }
    }

    static func monotonicNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    static func microsecondsNow() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
    }
}

/// Builds one frame from encoded records (docs/on-disk-format.md, sections 3 and 4).
enum FrameEncoder {
    static func encode(
        records: UnsafeRawBufferPointer,
        count: Int,
        eventTimes: ClosedRange<Int64>,
        baseOffset: Int64,
        appendTime: Int64,
        previousHash: ChainHash,
        into output: inout [UInt8]
    ) -> FrameHeader {
        let start = output.count
        let bound = LZ4.compressBound(records.count)
        output.append(contentsOf: repeatElement(0, count: FrameHeader.size + bound))
        var header = FrameHeader(
            frameLength: 0,
            crc: 0,
            compression: .lz4,
            recordCount: UInt32(count),
            baseOffset: baseOffset,
            minEventTime: eventTimes.lowerBound,
            maxEventTime: eventTimes.upperBound,
            appendTime: appendTime,
            uncompressedLength: UInt32(records.count),
            storedLength: 0,
            chainHash: .zero
        )
        output.withUnsafeMutableBytes { out in
            let payloadStart = start + FrameHeader.size
            let destination = UnsafeMutableRawBufferPointer(rebasing: out[payloadStart..<payloadStart + bound])
            let compressed = LZ4.compress(records, into: destination)
            if compressed > 0 && compressed < records.count {
                header.storedLength = UInt32(compressed)
            } else {
                header.compression = .none
                header.storedLength = UInt32(records.count)
                destination.copyMemory(from: records)
            }
            header.frameLength = UInt32(FrameHeader.size) + header.storedLength
            let frame = UnsafeMutableRawBufferPointer(rebasing: out[start..<start + Int(header.frameLength)])
            frame.setLE(header.frameLength, at: 0)
            frame[8] = FrameHeader.magic
            frame[9] = header.compression.rawValue
            frame.setLE(header.recordCount, at: 12)
            frame.setLE(header.baseOffset, at: 16)
            frame.setLE(header.minEventTime, at: 24)
            frame.setLE(header.maxEventTime, at: 32)
            frame.setLE(header.appendTime, at: 40)
            frame.setLE(header.uncompressedLength, at: 48)
            frame.setLE(header.storedLength, at: 52)
            header.chainHash = FrameHeader.chainHash(previous: previousHash, frame: UnsafeRawBufferPointer(frame))
            header.chainHash.bytes.withUnsafeBytes { hash in
                UnsafeMutableRawBufferPointer(rebasing: frame[56..<88]).copyMemory(from: hash)
            }
            header.crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: frame[8...]))
            frame.setLE(header.crc, at: 4)
        }
        output.removeLast(bound - Int(header.storedLength))
        return header
    }
}
