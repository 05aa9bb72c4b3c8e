@_spi(Fuzzing) import EventLog

#if canImport(Glibc)
import Glibc
#endif

// libFuzzer target for the batch decoder: any bytes must either decode into records whose fields all lie inside
// the batch, or fail with an EventLogError. A crash, a hang or a sanitizer report is a bug. See docs/fuzzing.md.
//
// SwiftPM links an executable's top-level code as its `main`, so this file hands control to libFuzzer's driver
// instead of letting libFuzzer bring its own `main`.

/// Decodes one input; returns 0 as libFuzzer requires. Also exported under libFuzzer's own name, for when the
/// linker takes libFuzzer's `main` rather than this file's.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzBatchDecoder(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let frame = UnsafeRawBufferPointer(start: data, count: size)
    // Odd first byte: check the CRC as readers do; even: skip it, so mutations reach LZ4 and the record layout.
    let checkingCRC = size > 0 && data[0] & 1 == 1
    guard let batch = try? LogBatch.decode(frame: frame, checkingCRC: checkingCRC) else { return 0 }
    var visited = 0
    for record in batch {
        visited &+= record.key.count &+ record.value.count &+ (record.producerID?.count ?? 0)
        visited &+= Int(record.typeTag) &+ Int(record.schemaVersion) &+ Int(truncatingIfNeeded: record.eventTime)
    }
    batch.forEachRecord { view in visited &+= view.key.count &+ view.value.count &+ view.producerID.count }
    precondition(batch.count >= 1, "a decoded batch has records")
    return visited == Int.min ? 1 : 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(runFuzzerDriver(&argc, &argv) { data, size in fuzzBatchDecoder(data, size) })
