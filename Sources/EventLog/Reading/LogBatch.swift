/// The records of one frame, decompressed; iterate it to get ``LogRecord``s.
///
/// A batch owns one buffer; its records are views into it, so reading a field copies nothing.
public struct LogBatch: Sendable, Sequence {
    /// The offset of the first record this batch yields.
    public let firstOffset: Int64
    /// The number of records this batch yields.
    public let count: Int
    /// When the writer appended the frame (microseconds since 1970).
    public let appendTime: Int64
    /// The frame's base offset (may be before ``firstOffset`` when a read started inside the frame).
    public let frameBaseOffset: Int64
    let storage: [UInt8]
    /// The byte position of the first yielded record in `storage`.
    let startPosition: Int

    /// The offset after the last record of this batch.
    public var nextOffset: Int64 { firstOffset + Int64(count) }

    /// The bytes of the records this batch yields, uncompressed (a whole frame's payload when read from its start).
    public var recordByteCount: Int { storage.count - startPosition }

    public struct Iterator: IteratorProtocol {
        let storage: [UInt8]
        var offset: Int64
        let end: Int64
        var position: Int

        public mutating func next() -> LogRecord? {
            guard offset < end else { return nil }
            let record = LogRecord(offset: offset, storage: storage, position: position)
            position += RecordLayout.lengthFieldSize + Int(record.load(0, as: UInt32.self))
            offset += 1
            return record
        }
    }

    public func makeIterator() -> Iterator {
        Iterator(storage: storage, offset: firstOffset, end: nextOffset, position: startPosition)
    }

    /// The record at `offset`, which must be in the batch.
    func record(at offset: Int64) -> LogRecord {
        precondition(offset >= firstOffset && offset < nextOffset, "offset \(offset) is not in this batch")
        var iterator = dropping(before: offset).makeIterator()
        return iterator.next()!
    }

    /// The records from `offset` on (the batch must contain `offset`).
    func dropping(before offset: Int64) -> LogBatch {
        guard offset > firstOffset else { return self }
        var position = startPosition
        for _ in 0..<Int(offset - firstOffset) {
            position +=
                RecordLayout.lengthFieldSize
                + Int(storage.withUnsafeBytes { $0.le(position, as: UInt32.self) })
        }
        return LogBatch(
            firstOffset: offset,
            count: count - Int(offset - firstOffset),
            appendTime: appendTime,
            frameBaseOffset: frameBaseOffset,
            storage: storage,
            startPosition: position
        )
    }

    /// Decodes one whole frame: checks its header and CRC, decompresses it and checks every record's layout.
    /// This is the decoder that readers use; it is public for fuzzing and tools.
    public static func decode(frame: UnsafeRawBufferPointer) throws(EventLogError) -> LogBatch {
        try decode(frame: frame, checkingCRC: true)
    }

    /// The decoder with the CRC check optional, so that a fuzzer's mutations reach decompression and the record
    /// layout checks instead of stopping at the checksum.
    @_spi(Fuzzing)
    public static func decode(frame: UnsafeRawBufferPointer, checkingCRC: Bool) throws(EventLogError) -> LogBatch {
        let header: FrameHeader
        switch FrameHeader.parse(frame) {
        case .success(let parsed): header = parsed
        case .failure(let defect): throw EventLogError(.corruptSegment, defect.reason)
        }
        guard Int(header.frameLength) == frame.count else {
            throw EventLogError(.corruptSegment, "frame length \(header.frameLength) ≠ \(frame.count) bytes given")
        }
        guard !checkingCRC || FrameHeader.crcMatches(frame) else {
            throw EventLogError(.corruptSegment, "frame fails its CRC32C")
        }
        return try decode(header: header, frame: frame)
    }

    /// Decompresses a frame whose header and CRC were checked already.
    static func decode(header: FrameHeader, frame: UnsafeRawBufferPointer) throws(EventLogError) -> LogBatch {
        let payload = UnsafeRawBufferPointer(rebasing: frame[FrameHeader.size...])
        let length = Int(header.uncompressedLength)
        var decompressed = true
        let storage = [UInt8](unsafeUninitializedCapacity: length) { buffer, initialized in
            let out = UnsafeMutableRawBufferPointer(buffer)
            switch header.compression {
            case .none: out.copyMemory(from: payload)
            case .lz4: decompressed = LZ4.decompress(payload, into: out)
            }
            initialized = decompressed ? length : 0
        }
        guard decompressed else { throw EventLogError(.corruptSegment, "LZ4 payload does not decompress") }
        if let defect = storage.withUnsafeBytes({ RecordLayout.validate($0, count: Int(header.recordCount)) }) {
            throw EventLogError(.corruptSegment, defect)
        }
        return LogBatch(
            firstOffset: header.baseOffset,
            count: Int(header.recordCount),
            appendTime: header.appendTime,
            frameBaseOffset: header.baseOffset,
            storage: storage,
            startPosition: 0
        )
    }
}

/// One record of a ``LogBatch``: a view into the batch's buffer.
public struct LogRecord: Sendable {
    /// The record's offset in the log.
    public let offset: Int64
    let storage: [UInt8]
    let position: Int

    @inline(__always)
    func load<T: FixedWidthInteger>(_ field: Int, as type: T.Type) -> T {
        storage.withUnsafeBytes { $0.le(position + field, as: T.self) }
    }

    private var keyLength: Int { Int(load(16, as: UInt16.self)) }
    private var producerLength: Int { Int(load(18, as: UInt8.self)) }
    private var valueLength: Int { Int(load(20, as: UInt32.self)) }
    private var keyStart: Int { position + RecordLayout.headerSize }

    /// When the fact happened, in microseconds since 1970.
    public var eventTime: Int64 { load(4, as: Int64.self) }
    /// The record's type tag.
    public var typeTag: UInt16 { load(12, as: UInt16.self) }
    /// The schema version of the value.
    public var schemaVersion: UInt16 { load(14, as: UInt16.self) }

    /// The key bytes (no copy).
    public var key: ArraySlice<UInt8> { storage[keyStart..<keyStart + keyLength] }
    /// The producer id bytes, or nil when the record has none (no copy).
    public var producerID: ArraySlice<UInt8>? {
        let length = producerLength
        guard length > 0 else { return nil }
        let start = keyStart + keyLength
        return storage[start..<start + length]
    }
    /// The value bytes (no copy).
    public var value: ArraySlice<UInt8> {
        let start = keyStart + keyLength + producerLength
        return storage[start..<start + valueLength]
    }

    /// The key as a string (decoded as UTF-8).
    public var keyString: String { String(decoding: key, as: UTF8.self) }

    /// Calls `body` with the value's bytes in place.
    public func withValueBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        let start = keyStart + keyLength + producerLength
        let length = valueLength
        return try storage.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[start..<start + length])) }
    }
}

/// A record seen through ``LogBatch/forEachRecord(_:)``: its fields as pointers into the batch's buffer.
///
/// The buffers are valid only during the call that received the view; copy what must outlive it. This is the
/// fastest way to read a batch: no reference counting and no allocation per record.
public struct RecordView {
    /// The record's offset in the log.
    public let offset: Int64
    /// When the fact happened, in microseconds since 1970.
    public let eventTime: Int64
    /// The record's type tag.
    public let typeTag: UInt16
    /// The schema version of the value.
    public let schemaVersion: UInt16
    /// The key bytes.
    public let key: UnsafeRawBufferPointer
    /// The producer id bytes; empty when the record has none.
    public let producerID: UnsafeRawBufferPointer
    /// The value bytes.
    public let value: UnsafeRawBufferPointer
}

extension RecordView {
    /// Calls `body` with a view of each of the `count` records that start at `position` of `raw` (a payload
    /// already checked by `RecordLayout.validate`), numbering them from `firstOffset`.
    static func forEach(
        in raw: UnsafeRawBufferPointer,
        from position: Int,
        firstOffset: Int64,
        count: Int,
        _ body: (RecordView) throws -> Void
    ) rethrows {
        var position = position
        for offset in firstOffset..<firstOffset + Int64(count) {
            let keyLength = Int(raw.le(position + 16, as: UInt16.self))
            let producerLength = Int(raw[position + 18])
            let valueLength = Int(raw.le(position + 20, as: UInt32.self))
            let keyStart = position + RecordLayout.headerSize
            let producerStart = keyStart + keyLength
            let valueStart = producerStart + producerLength
            try body(
                RecordView(
                    offset: offset,
                    eventTime: raw.le(position + 4),
                    typeTag: raw.le(position + 12),
                    schemaVersion: raw.le(position + 14),
                    key: UnsafeRawBufferPointer(rebasing: raw[keyStart..<producerStart]),
                    producerID: UnsafeRawBufferPointer(rebasing: raw[producerStart..<valueStart]),
                    value: UnsafeRawBufferPointer(rebasing: raw[valueStart..<valueStart + valueLength])
                )
            )
            position = valueStart + valueLength
        }
    }
}

extension LogBatch {
    /// Calls `body` with a view of each record, in offset order.
    public func forEachRecord(_ body: (RecordView) throws -> Void) rethrows {
        try storage.withUnsafeBytes { raw in
            try RecordView.forEach(in: raw, from: startPosition, firstOffset: firstOffset, count: count, body)
        }
    }
}
