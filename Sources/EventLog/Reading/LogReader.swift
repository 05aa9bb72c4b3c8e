#if canImport(Glibc)
import Locking
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A cursor over the log from some offset on, one ``LogBatch`` at a time.
///
/// A reader works on its own file descriptors and never blocks the writer. It sees what was committed when it
/// reaches the head; calling ``next()`` again later returns what was appended since. Every frame is checked
/// before any of its records is returned: damage is an error naming the segment and position, never skipped.
public final class LogReader: Sequence, IteratorProtocol {
    private let log: EventLog
    /// The offset of the next record this reader returns.
    public private(set) var nextOffset: Int64
    /// The first error met while iterating with `for … in`; check it after the loop.
    public private(set) var error: EventLogError?

    private struct OpenSegment {
        var baseOffset: Int64
        var cursor: FrameCursor
        var expectedOffset: Int64
        var isActive: Bool
    }

    private var segment: OpenSegment?
    /// How many bytes each read of a segment asks for: large for scans, small for lookups that jump around.
    private let readAhead: Int

    init(log: EventLog, from offset: Int64, readAhead: Int = 1 << 20) {
        self.log = log
        self.nextOffset = offset
        self.readAhead = readAhead
    }

    deinit { segment?.cursor.file.close() }

    /// The next batch, or nil at the head of the log (or after an error, when iterating with `for … in`).
    public func next() -> LogBatch? {
        guard error == nil else { return nil }
        do {
            return try nextBatch()
        } catch {
            self.error = error
            return nil
        }
    }

    /// The next batch, or nil at the head of the log.
    public func nextBatch() throws(EventLogError) -> LogBatch? {
        guard case .frame(let frame, let bytes) = try nextFrame(copying: false) else { return nil }
        return try frame.batch(of: bytes)
    }

    /// The next frame, checked (its place in the log and its CRC) but not decompressed, or nil at the head of the
    /// log. Decompressing is most of reading a batch: a scan on several cores reads frames on one and
    /// decompresses them on all (``CheckedFrame/batch()``).
    public func nextCheckedFrame() throws(EventLogError) -> CheckedFrame? {
        guard case .frame(let frame, _) = try nextFrame(copying: true) else { return nil }
        return frame
    }

    private enum FrameStep {
        /// `bytes`: the frame in the reader's buffer, valid until the reader moves.
        case frame(CheckedFrame, UnsafeRawBufferPointer)
        case end
    }

    /// The next frame; `copying`: whether the checked frame keeps a copy of its bytes.
    private func nextFrame(copying: Bool) throws(EventLogError) -> FrameStep {
        while true {
            if segment == nil {
                guard let opened = try openSegment() else { return .end }
                segment = opened
            }
            let step = try segment!.cursor.next()
            switch step {
            case .frame(let header, let bytes, let position):
                guard header.baseOffset == segment!.expectedOffset else {
                    throw corruption(
                        "frame has base offset \(header.baseOffset), expected \(segment!.expectedOffset)",
                        at: position
                    )
                }
                segment!.expectedOffset = header.nextOffset
                if header.nextOffset <= nextOffset { continue }
                let frame = CheckedFrame(
                    header: header,
                    bytes: copying ? Array(bytes) : [],
                    dropBefore: nextOffset,
                    segmentBase: segment!.baseOffset,
                    position: position
                )
                nextOffset = header.nextOffset
                return .frame(frame, bytes)
            case .defect(let reason, let position):
                throw corruption(reason, at: position)
            case .end:
                if segment!.isActive {
                    let (limit, stillActive) = try log.readableEnd(
                        ofSegment: segment!.baseOffset,
                        file: segment!.cursor.file
                    )
                    segment!.isActive = stillActive
                    if limit > segment!.cursor.limit {
                        segment!.cursor.limit = limit
                        continue
                    }
                    if stillActive { return .end }
                }
                guard let nextBase = log.segmentBase(after: segment!.baseOffset) else { return .end }
                guard nextBase == segment!.expectedOffset else {
                    throw corruption(
                        "segment ends before offset \(segment!.expectedOffset) but the next one starts at \(nextBase)",
                        at: segment!.cursor.position
                    )
                }
                segment!.cursor.file.close()
                segment = nil
            }
        }
    }

    /// Moves the reader to `offset`; the segment file stays open when `offset` is in the same segment.
    public func seek(to offset: Int64) throws(EventLogError) {
        guard offset >= 0, offset <= log.nextOffset else {
            throw EventLogError(.offsetOutOfRange, "offset \(offset) is outside 0...\(log.nextOffset)", offset: offset)
        }
        error = nil
        nextOffset = offset
        guard let current = segment else { return }
        if let location = try log.locate(offset: offset), location.baseOffset == current.baseOffset {
            segment!.cursor.seek(to: location.position)
            segment!.expectedOffset = location.frameOffset
            if location.isActive { segment!.cursor.limit = Swift.max(current.cursor.limit, location.committedEnd) }
        } else {
            current.cursor.file.close()
            segment = nil
        }
    }

    private func corruption(_ reason: String, at position: Int64) -> EventLogError {
        EventLogError(
            .corruptSegment,
            reason,
            file: segment.map { LogDirectory.segmentName($0.baseOffset) },
            position: position,
            offset: segment?.expectedOffset
        )
    }

    private func openSegment() throws(EventLogError) -> OpenSegment? {
        guard let location = try log.locate(offset: nextOffset) else { return nil }
        let file = try log.directory.openSegment(location.baseOffset)
        let limit = location.isActive ? location.committedEnd : (try file.size())
        return OpenSegment(
            baseOffset: location.baseOffset,
            cursor: FrameCursor(file: file, position: location.position, limit: limit, bufferSize: readAhead),
            expectedOffset: location.frameOffset,
            isActive: location.isActive
        )
    }
}

extension EventLog {
    /// Where to start reading `offset`.
    struct Location {
        var baseOffset: Int64
        var position: Int64
        /// The base offset of the frame at `position`.
        var frameOffset: Int64
        var isActive: Bool
        var committedEnd: Int64
    }

    /// A reader that returns records from `offset` on (0: the whole log).
    public func reader(from offset: Int64 = 0) throws(EventLogError) -> LogReader {
        guard offset >= 0, offset <= nextOffset else {
            throw EventLogError(.offsetOutOfRange, "offset \(offset) is outside 0...\(nextOffset)", offset: offset)
        }
        return LogReader(log: self, from: offset)
    }

    /// The records at `offsets` (ascending, each below ``nextOffset``), in that order. Each frame holding one of
    /// them is read and decompressed once, so offsets that sit close together cost little more than one.
    public func records(at offsets: [Int64]) throws(EventLogError) -> [LogRecord] {
        var found = [LogRecord]()
        found.reserveCapacity(offsets.count)
        let reader = LogReader(log: self, from: 0, readAhead: 64 << 10)
        var batch: LogBatch?
        for offset in offsets {
            if batch == nil || offset < batch!.firstOffset || offset >= batch!.nextOffset {
                try reader.seek(to: offset)
                guard let next = try reader.nextBatch(), next.firstOffset == offset else {
                    throw EventLogError(.offsetOutOfRange, "no record at offset \(offset)", offset: offset)
                }
                batch = next
            }
            found.append(batch!.record(at: offset))
        }
        return found
    }

    /// A reader that starts at the first record whose event time is at least `eventTime` (microseconds since
    /// 1970) and returns everything after it in log order. Nil when no record reaches that time.
    public func reader(fromEventTime eventTime: Int64) throws(EventLogError) -> LogReader? {
        guard let offset = try firstOffset(atOrAfterEventTime: eventTime) else { return nil }
        return LogReader(log: self, from: offset)
    }

    /// The offset of the first record (in log order) whose event time is at least `eventTime`.
    public func firstOffset(atOrAfterEventTime eventTime: Int64) throws(EventLogError) -> Int64? {
        let (bases, head) = catalog.state.withLock { ($0.segmentBases, $0.nextOffset) }
        for (number, base) in bases.enumerated() {
            let isLast = number == bases.count - 1
            let index: SegmentIndex
            let limit: Int64?
            if isLast {
                (index, limit) = catalog.state.withLock { ($0.activeIndex, $0.activeEnd) }
            } else {
                index = try sealedIndex(baseOffset: base, nextBase: bases[number + 1])
                limit = nil
            }
            let start = index.scanStart(forEventTime: eventTime)
            let file = try directory.openSegment(base)
            defer { file.close() }
            var cursor = FrameCursor(
                file: file,
                position: start.map { Int64($0.position) } ?? Int64(SegmentHeader.size),
                limit: limit != nil ? limit! : try file.size()
            )
            while case .frame(let header, let bytes, let position) = try cursor.next() {
                guard header.maxEventTime >= eventTime else { continue }
                let batch: LogBatch
                do {
                    batch = try LogBatch.decode(header: header, frame: bytes)
                } catch {
                    throw EventLogError(.corruptSegment, error.message, file: file.name, position: position)
                }
                if let record = batch.first(where: { $0.eventTime >= eventTime }) {
                    return min(record.offset, head)
                }
            }
        }
        return nil
    }

    func locate(offset: Int64) throws(EventLogError) -> Location? {
        let snapshot = catalog.state.withLock {
            state -> (bases: [Int64], next: Int64, end: Int64, entry: IndexEntry?)? in
            guard offset < state.nextOffset else { return nil }
            let entry = state.segmentBases.last! <= offset ? state.activeIndex.floorEntry(forOffset: offset) : nil
            return (state.segmentBases, state.nextOffset, state.activeEnd, entry)
        }
        guard let snapshot else { return nil }
        var low = 0
        var high = snapshot.bases.count
        while low < high {
            let middle = (low + high) / 2
            if snapshot.bases[middle] <= offset { low = middle + 1 } else { high = middle }
        }
        let number = low - 1
        let base = snapshot.bases[number]
        let isActive = number == snapshot.bases.count - 1
        let entry =
            isActive
            ? snapshot.entry
            : try sealedIndex(baseOffset: base, nextBase: snapshot.bases[number + 1]).floorEntry(forOffset: offset)
        return Location(
            baseOffset: base,
            position: entry.map { Int64($0.position) } ?? Int64(SegmentHeader.size),
            frameOffset: base + Int64(entry?.relativeOffset ?? 0),
            isActive: isActive,
            committedEnd: snapshot.end
        )
    }

    /// How far a reader may read a segment it opened as the active one, and whether it still is.
    func readableEnd(ofSegment base: Int64, file: PosixFile) throws(EventLogError) -> (Int64, Bool) {
        let active = catalog.state.withLock { state -> Int64? in
            state.segmentBases.last == base ? state.activeEnd : nil
        }
        if let active { return (active, true) }
        return (try file.size(), false)
    }

    func segmentBase(after base: Int64) -> Int64? {
        catalog.state.withLock { state in state.segmentBases.first { $0 > base } }
    }
}

/// A frame a ``LogReader`` read and checked (its place in the log, its CRC) with a copy of its bytes, not yet
/// decompressed: ``batch()`` decompresses it and checks its records, on any thread.
public struct CheckedFrame: Sendable {
    let header: FrameHeader
    let bytes: [UInt8]
    /// The reader's position when it was read: records before it are left out of the batch.
    let dropBefore: Int64
    /// Where the frame is, for an error about it.
    let segmentBase: Int64
    let position: Int64

    /// The offset after the frame's last record.
    public var nextOffset: Int64 { header.nextOffset }

    /// The frame's records, decompressed and checked.
    public func batch() throws(EventLogError) -> LogBatch {
        var result: Result<LogBatch, EventLogError>!
        bytes.withUnsafeBytes { bytes in
            result = Result { () throws(EventLogError) in try batch(of: bytes) }
        }
        return try result.get()
    }

    /// ``batch()`` of the frame's bytes where they are.
    fileprivate func batch(of bytes: UnsafeRawBufferPointer) throws(EventLogError) -> LogBatch {
        do {
            return try LogBatch.decode(header: header, frame: bytes).dropping(before: dropBefore)
        } catch {
            // As the reader reports damage: its segment, the position, and the offset it expected next.
            throw EventLogError(
                .corruptSegment,
                error.message,
                file: LogDirectory.segmentName(segmentBase),
                position: position,
                offset: header.nextOffset
            )
        }
    }
}
