/// A growable scratch buffer owned by one cursor or writer; freed with it.
final class ScratchBuffer {
    private(set) var memory: UnsafeMutableRawBufferPointer

    init(capacity: Int) {
        memory = .allocate(byteCount: max(capacity, 64), alignment: 16)
    }

    deinit { memory.deallocate() }

    /// Grows to at least `capacity`, keeping the first `keeping` bytes.
    func reserve(_ capacity: Int, keeping: Int) {
        guard capacity > memory.count else { return }
        let grown = UnsafeMutableRawBufferPointer.allocate(byteCount: max(capacity, memory.count * 2), alignment: 16)
        if keeping > 0 {
            grown.baseAddress!.copyMemory(from: memory.baseAddress!, byteCount: keeping)
        }
        memory.deallocate()
        memory = grown
    }
}

/// Reads a segment's frames in order, through a large buffer, checking each one's structure and CRC.
///
/// Used by recovery, readers, index rebuilds and `verify`. It never interprets a frame that fails a check:
/// it stops and says where and why.
struct FrameCursor {
    enum Step {
        /// A frame that passed its checks. `bytes` is the whole frame, valid until the next call.
        case frame(FrameHeader, bytes: UnsafeRawBufferPointer, position: Int64)
        /// The readable end was reached exactly at a frame boundary.
        case end
        /// The bytes at `position` are not a valid frame.
        case defect(reason: String, position: Int64)
    }

    let file: PosixFile
    /// The number of readable bytes of the file; frames must end at or before it.
    var limit: Int64
    /// The position of the next frame.
    private(set) var position: Int64

    private let buffer: ScratchBuffer
    private var bufferStart: Int64 = 0
    private var bufferCount = 0

    init(file: PosixFile, position: Int64, limit: Int64, bufferSize: Int = 1 << 20) {
        self.file = file
        self.position = position
        self.limit = limit
        self.buffer = ScratchBuffer(capacity: bufferSize)
    }

    /// Moves to `position` (which must be a frame boundary).
    mutating func seek(to position: Int64) {
        self.position = position
    }

    /// Makes `[position, position + count)` present in the buffer.
    private mutating func ensure(_ count: Int) throws(EventLogError) -> UnsafeRawBufferPointer {
        let offsetInBuffer = Int(position - bufferStart)
        if position < bufferStart || offsetInBuffer + count > bufferCount {
            // Keep what we have from `position` on, then fill the rest of the buffer.
            var kept = 0
            if position >= bufferStart && offsetInBuffer < bufferCount {
                kept = bufferCount - offsetInBuffer
                let base = buffer.memory.baseAddress!
                base.copyMemory(from: base + offsetInBuffer, byteCount: kept)
            }
            buffer.reserve(count, keeping: kept)
            bufferStart = position
            let wanted = Int(min(Int64(buffer.memory.count - kept), limit - position - Int64(kept)))
            let into = UnsafeMutableRawBufferPointer(rebasing: buffer.memory[kept..<kept + max(0, wanted)])
            bufferCount = kept + (try file.read(into: into, at: position + Int64(kept)))
            if bufferCount < count {
                throw EventLogError(
                    .corruptSegment,
                    "segment is shorter than expected",
                    file: file.name,
                    position: position
                )
            }
        }
        let start = Int(position - bufferStart)
        return UnsafeRawBufferPointer(rebasing: buffer.memory[start..<start + count])
    }

    mutating func next() throws(EventLogError) -> Step {
        if position >= limit { return .end }
        let remaining = limit - position
        guard remaining >= Int64(FrameHeader.size) else {
            return .defect(reason: "\(remaining) bytes are too few for a frame header", position: position)
        }
        let header: FrameHeader
        switch FrameHeader.parse(try ensure(FrameHeader.size)) {
        case .success(let parsed): header = parsed
        case .failure(let defect): return .defect(reason: defect.reason, position: position)
        }
        guard Int64(header.frameLength) <= remaining else {
            return .defect(
                reason: "frame of \(header.frameLength) bytes runs past the end (\(remaining) bytes left)",
                position: position
            )
        }
        let bytes = try ensure(Int(header.frameLength))
        guard FrameHeader.crcMatches(bytes) else {
            return .defect(reason: "frame fails its CRC32C", position: position)
        }
        let framePosition = position
        position += Int64(header.frameLength)
        return .frame(header, bytes: bytes, position: framePosition)
    }
}
