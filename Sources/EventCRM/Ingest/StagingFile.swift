import EventLog

#if canImport(Glibc)
import Glibc
#endif

/// Sealed record batches kept between the two passes of an ingest (docs/engine-directory.md, section 3).
///
/// The file is unlinked as soon as it is created, so it vanishes with the process whatever happens; it holds no
/// plain personal data (the batches are sealed).
final class StagingFile {
    private let file: PosixFile
    /// Bytes written.
    private(set) var size: Int64 = 0
    /// Where the next ``next()`` reads.
    private(set) var position: Int64 = 0

    init(directory: String) throws(CRMError) {
        let name = ".ingest-staging-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do {
            file = try PosixFile.open(directory + "/" + name, name: name, flags: O_RDWR | O_CREAT | O_EXCL)
        } catch {
            throw CRMError(.io, "cannot create the staging file: \(error)")
        }
        unlink(directory + "/" + name)
    }

    deinit { file.close() }

    func write(_ batch: RecordBatch) throws(CRMError) {
        var bytes = [UInt8]()
        bytes.reserveCapacity(4 + batch.encodedByteCount)
        bytes.appendLE(UInt32(batch.encodedByteCount))
        batch.withEncodedBytes { bytes.append(contentsOf: $0) }
        do {
            try file.write(bytes, at: size)
        } catch {
            throw CRMError(.io, "cannot write the staging file: \(error)")
        }
        size += Int64(bytes.count)
    }

    func rewind() { position = 0 }

    /// The next staged batch, or nil after the last.
    func next() throws(CRMError) -> RecordBatch? {
        guard position < size else { return nil }
        do {
            let length = try file.read(count: 4, at: position).withUnsafeBytes { $0.le(0, as: UInt32.self) }
            let bytes = try file.read(count: Int(length), at: position + 4)
            position += 4 + Int64(length)
            return try RecordBatch(encodedRecords: bytes)
        } catch {
            throw CRMError(.io, "cannot read the staging file back: \(error)")
        }
    }
}
