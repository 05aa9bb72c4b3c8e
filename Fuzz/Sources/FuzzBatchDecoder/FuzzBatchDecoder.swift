import EventLog

/// libFuzzer entry point: any bytes given to the batch decoder must either decode into records whose fields
/// all lie inside the batch, or fail with an EventLogError. A crash, a hang or a sanitizer report is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBatchDecoder(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let frame = UnsafeRawBufferPointer(start: data, count: size)
    guard let batch = try? LogBatch.decode(frame: frame) else { return 0 }
    var visited = 0
    for record in batch {
        visited &+= record.key.count &+ record.value.count &+ (record.producerID?.count ?? 0)
        visited &+= Int(record.typeTag) &+ Int(record.schemaVersion) &+ Int(truncatingIfNeeded: record.eventTime)
    }
    precondition(batch.count >= 1)
    return visited == Int.min ? 1 : 0
}
