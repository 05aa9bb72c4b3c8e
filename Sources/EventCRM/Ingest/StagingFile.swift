import EventLog

#if canImport(Glibc)
import Glibc
#endif

/// A sealed batch waiting to be appended, with the hashes of its records' ids (nil: no id) computed while
/// staging, on every core.
struct StagedBatch {
    var batch: RecordBatch
    var idHashes: [EventIDHash?]
}

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

    /// Appends `staged` as: batch length u32, the batch's records, then per record a presence byte and the id
    /// hash's two words (u64 each).
    func write(_ staged: StagedBatch) throws(CRMError) {
        let batch = staged.batch
        var bytes = [UInt8]()
        bytes.reserveCapacity(4 + batch.encodedByteCount + staged.idHashes.count * 17)
        bytes.appendLE(UInt32(batch.encodedByteCount))
        batch.withEncodedBytes { bytes.append(contentsOf: $0) }
        for hash in staged.idHashes {
            bytes.append(hash == nil ? 0 : 1)
            bytes.appendLE(hash?.low ?? 0)
            bytes.appendLE(hash?.high ?? 0)
        }
        do {
            try file.write(bytes, at: size)
        } catch {
            throw CRMError(.io, "cannot write the staging file: \(error)")
        }
        size += Int64(bytes.count)
    }

    func rewind() { position = 0 }

    /// The next staged batch, or nil after the last.
    func next() throws(CRMError) -> StagedBatch? {
        guard position < size else { return nil }
        do {
            let length = try file.read(count: 4, at: position).withUnsafeBytes { $0.le(0, as: UInt32.self) }
            let batch = try RecordBatch(encodedRecords: try file.read(count: Int(length), at: position + 4))
            let hashBytes = try file.read(count: batch.count * 17, at: position + 4 + Int64(length))
            position += 4 + Int64(length) + Int64(hashBytes.count)
            let hashes = hashBytes.withUnsafeBytes { raw in
                (0..<batch.count).map { number -> EventIDHash? in
                    let base = number * 17
                    guard raw[base] == 1 else { return nil }
                    return EventIDHash(low: raw.le(base + 1), high: raw.le(base + 9))
                }
            }
            return StagedBatch(batch: batch, idHashes: hashes)
        } catch {
            throw CRMError(.io, "cannot read the staging file back: \(error)")
        }
    }
}
