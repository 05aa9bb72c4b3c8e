/// Records to append in one atomic ``EventLog/append(_:)``, encoded as they are added.
///
/// The batch is one contiguous buffer in the log's record format, so appending it costs no allocation per
/// record and the writer copies it into a frame as it is.
///
/// ```swift
/// var batch = RecordBatch()
/// try batch.append(key: "c-42", typeTag: 3, schemaVersion: 1, eventTime: micros, value: json)
/// let offsets = try await log.append(batch)
/// ```
public struct RecordBatch: Sendable {
    /// The encoded records.
    private(set) var bytes: [UInt8] = []
    /// The number of records in the batch.
    public private(set) var count = 0
    private(set) var minEventTime = Int64.max
    private(set) var maxEventTime = Int64.min

    /// Creates an empty batch with room for `reservingBytes` bytes of encoded records.
    public init(reservingBytes: Int = 0) {
        bytes.reserveCapacity(reservingBytes)
    }

    /// Whether the batch has no record.
    public var isEmpty: Bool { count == 0 }

    /// The size of the encoded records, which is what the log compresses.
    public var encodedByteCount: Int { bytes.count }

    /// Calls `body` with the encoded records: exactly the bytes the log compresses into a frame's payload.
    public func withEncodedBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try bytes.withUnsafeBytes(body)
    }

    /// Removes every record and keeps the buffer's capacity.
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        count = 0
        minEventTime = .max
        maxEventTime = .min
    }

    /// Adds a record.
    /// - Parameters:
    ///   - key: the customer or stream id (at most 65,535 bytes; may be empty).
    ///   - typeTag: the record's type, opaque to the log.
    ///   - schemaVersion: the version of the value's schema, opaque to the log.
    ///   - eventTime: when the fact happened, in microseconds since 1970.
    ///   - producerID: an optional id given by the producer (at most 255 bytes).
    ///   - value: the record's bytes (at most 16 MiB; may be empty).
    public mutating func append(
        key: UnsafeRawBufferPointer,
        typeTag: UInt16,
        schemaVersion: UInt16,
        eventTime: Int64,
        producerID: UnsafeRawBufferPointer? = nil,
        value: UnsafeRawBufferPointer
    ) throws(EventLogError) {
        let producerCount = producerID?.count ?? 0
        guard key.count <= EventLog.Limits.maxKeyBytes else {
            throw EventLogError(.invalidRecord, "key of \(key.count) bytes exceeds \(EventLog.Limits.maxKeyBytes)")
        }
        guard producerCount <= EventLog.Limits.maxProducerIDBytes else {
            throw EventLogError(
                .invalidRecord,
                "producer id of \(producerCount) bytes exceeds \(EventLog.Limits.maxProducerIDBytes)"
            )
        }
        guard value.count <= EventLog.Limits.maxValueBytes else {
            throw EventLogError(
                .invalidRecord,
                "value of \(value.count) bytes exceeds \(EventLog.Limits.maxValueBytes)"
            )
        }
        let length = RecordLayout.fixedLengthAfterLengthField + key.count + producerCount + value.count
        guard bytes.count + RecordLayout.lengthFieldSize + length <= EventLog.Limits.maxBytesPerAppend,
            count < EventLog.Limits.maxRecordsPerAppend
        else {
            throw EventLogError(
                .invalidRecord,
                "a batch holds at most \(EventLog.Limits.maxRecordsPerAppend) records and "
                    + "\(EventLog.Limits.maxBytesPerAppend) bytes"
            )
        }
        let needed = bytes.count + RecordLayout.lengthFieldSize + length
        if needed > bytes.capacity {
            // One allocation for the record, keeping geometric growth (reserveCapacity alone grows exactly).
            bytes.reserveCapacity(Swift.max(needed, bytes.capacity * 2))
        }
        bytes.appendLE(UInt32(length))
        bytes.appendLE(eventTime)
        bytes.appendLE(typeTag)
        bytes.appendLE(schemaVersion)
        bytes.appendLE(UInt16(key.count))
        bytes.append(UInt8(producerCount))
        bytes.append(0)
        bytes.appendLE(UInt32(value.count))
        bytes.append(contentsOf: key)
        if let producerID { bytes.append(contentsOf: producerID) }
        bytes.append(contentsOf: value)
        count += 1
        minEventTime = Swift.min(minEventTime, eventTime)
        maxEventTime = Swift.max(maxEventTime, eventTime)
    }

    /// Adds a record whose key, producer id and value are byte arrays.
    public mutating func append(
        key: [UInt8],
        typeTag: UInt16,
        schemaVersion: UInt16,
        eventTime: Int64,
        producerID: [UInt8]? = nil,
        value: [UInt8]
    ) throws(EventLogError) {
        try key.withBytes { key throws(EventLogError) in
            try value.withBytes { value throws(EventLogError) in
                guard let producerID else {
                    try append(
                        key: key,
                        typeTag: typeTag,
                        schemaVersion: schemaVersion,
                        eventTime: eventTime,
                        value: value
                    )
                    return
                }
                try producerID.withBytes { producer throws(EventLogError) in
                    try append(
                        key: key,
                        typeTag: typeTag,
                        schemaVersion: schemaVersion,
                        eventTime: eventTime,
                        producerID: producer,
                        value: value
                    )
                }
            }
        }
    }

    /// Adds a record whose key, producer id and value are given as strings and bytes.
    public mutating func append(
        key: String,
        typeTag: UInt16,
        schemaVersion: UInt16,
        eventTime: Int64,
        producerID: String? = nil,
        value: [UInt8]
    ) throws(EventLogError) {
        var key = key
        var producerID = producerID
        var failure: EventLogError?
        key.withUTF8 { keyBytes in
            value.withUnsafeBytes { valueBytes in
                func add(_ producer: UnsafeRawBufferPointer?) {
                    do {
                        try append(
                            key: UnsafeRawBufferPointer(keyBytes),
                            typeTag: typeTag,
                            schemaVersion: schemaVersion,
                            eventTime: eventTime,
                            producerID: producer,
                            value: valueBytes
                        )
                    } catch { failure = error }
                }
                if producerID == nil {
                    add(nil)
                } else {
                    producerID!.withUTF8 { add(UnsafeRawBufferPointer($0)) }
                }
            }
        }
        if let failure { throw failure }
    }
}

extension RecordBatch {
    /// A batch made of records already in the log's record format, such as ``withEncodedBytes(_:)`` gave:
    /// for batches kept outside the log (staged to a file, sent over a network) before they are appended.
    /// - Throws: ``EventLogError/Code/invalidRecord`` when the bytes are not well-formed records within the limits.
    public init(encodedRecords bytes: [UInt8]) throws(EventLogError) {
        guard bytes.count <= EventLog.Limits.maxBytesPerAppend else {
            throw EventLogError(.invalidRecord, "a batch holds at most \(EventLog.Limits.maxBytesPerAppend) bytes")
        }
        // One walk counts the records and their event times; `validate` then checks every length.
        var count = 0
        var earliest = Int64.max
        var latest = Int64.min
        var position = 0
        while position < bytes.count {
            guard bytes.count - position >= RecordLayout.headerSize else {
                throw EventLogError(.invalidRecord, "record \(count) is cut short")
            }
            let (length, eventTime) = bytes.withUnsafeBytes {
                ($0.le(position, as: UInt32.self), $0.le(position + 4, as: Int64.self))
            }
            earliest = Swift.min(earliest, eventTime)
            latest = Swift.max(latest, eventTime)
            position += RecordLayout.lengthFieldSize + Int(length)
            count += 1
        }
        if let problem = bytes.withUnsafeBytes({ RecordLayout.validate($0, count: count) }) {
            throw EventLogError(.invalidRecord, problem)
        }
        guard count <= EventLog.Limits.maxRecordsPerAppend else {
            throw EventLogError(.invalidRecord, "a batch holds at most \(EventLog.Limits.maxRecordsPerAppend) records")
        }
        self.bytes = bytes
        self.count = count
        minEventTime = earliest
        maxEventTime = latest
    }

    /// Calls `body` with a view of each record, numbered from 0 in the order they were added.
    public func forEachRecord(_ body: (RecordView) throws -> Void) rethrows {
        try bytes.withUnsafeBytes { raw in
            try RecordView.forEach(in: raw, from: 0, firstOffset: 0, count: count, body)
        }
    }

    /// Adds a copy of a record seen through a view (of this batch's kind or of a ``LogBatch``).
    public mutating func append(_ record: RecordView) throws(EventLogError) {
        try append(
            key: record.key,
            typeTag: record.typeTag,
            schemaVersion: record.schemaVersion,
            eventTime: record.eventTime,
            producerID: record.producerID.isEmpty ? nil : record.producerID,
            value: record.value
        )
    }
}
