import CRMModel
import EventLog
import Locking

/// Projection states saved at log offsets (docs/projections.md, section 4), in `DIR/snapshots/`.
///
/// A snapshot can hold personal fields, so erasure and snapshots are coordinated: an erasure deletes every
/// snapshot before its `customer.forgotten` event is appended, and no snapshot is written while an erasure is in
/// flight or at an offset that does not include the last completed erasure's event.
final class SnapshotStore: Sendable {
    private struct State {
        /// Erasures whose keys are destroyed but whose event is not yet in the log.
        var erasuresInFlight = 0
        /// A snapshot must start after this offset: the last `customer.forgotten` event appended.
        var lastErasureOffset: Int64 = -1
    }

    let directory: LogDirectory
    /// A reader's store (of a read-only engine) deletes nothing: a damaged snapshot is reported and left for the
    /// writer.
    let readOnly: Bool
    private let state = Locked(State())

    init(path: String, readOnly: Bool) {
        directory = LogDirectory(path: path)
        self.readOnly = readOnly
    }

    static func fileName(projection: String, version: UInt32, offset: Int64) -> String {
        "\(projection)-v\(version)-" + LogDirectory.paddedOffset(offset) + ".snap"
    }

    /// Writes a snapshot of the state that `serialize` writes (its canonical bytes, streamed: the writer's bytes go
    /// to ``SnapshotFile/Writer`` at each flush) taken after the events before `offset`, unless an erasure makes it
    /// unsafe; returns whether it was written. Serializing, compressing and writing run under the erasure lock: an
    /// erasure that starts meanwhile waits until the file is whole and renamed (a few seconds for a 460 MB state),
    /// then deletes it with the rest.
    func write(
        projection: String,
        version: UInt32,
        offset: Int64,
        serialize: (inout BinaryWriter) -> Void
    ) throws(EventLogError) -> Bool {
        let name = Self.fileName(projection: projection, version: version, offset: offset)
        return try state.withLock { erasures throws(EventLogError) -> Bool in
            guard erasures.erasuresInFlight == 0, offset > erasures.lastErasureOffset else { return false }
            try directory.create()
            try directory.replaceFile(name) { file throws(EventLogError) in
                // Around the page cache: copying hundreds of megabytes into it cost a core more than the disk did.
                let appender = DirectFileAppender(file: file)
                let snapshot = SnapshotFile.Writer(projection: projection, version: version, offset: offset) {
                    bytes,
                    position throws(EventLogError) in
                    precondition(position == appender.count, "a snapshot is written from start to end")
                    try appender.append(bytes)
                }
                var writer = BinaryWriter(streamingTo: snapshot)
                serialize(&writer)
                writer.flush()
                try snapshot.finish()
                try appender.finish()
            }
            return true
        }
    }

    /// The newest snapshot of `projection` at `version` taken at or before `offset` that `read` reads (from its
    /// blocks, decompressed as it reads them), and its offset. A snapshot whose header, block table or blocks do not
    /// check out is deleted (by a writer) and reported in `rejected`, and so is one whose state `read` refuses (the
    /// next older one is tried); snapshots of other versions (of the projection or of the file format) are left
    /// alone (another build may use them) and never loaded.
    func newest<Value>(
        projection: String,
        version: UInt32,
        atOrBefore offset: Int64,
        rejected: inout [String],
        read: (SnapshotFile.Blocks) throws(EventDecodingError) -> Value
    ) -> (offset: Int64, value: Value)? {
        let candidates = offsets(projection: projection, version: version).filter { $0 <= offset }.map {
            (name: Self.fileName(projection: projection, version: version, offset: $0), offset: $0)
        }
        for candidate in candidates {
            // Mapped rather than read: reading copied the whole file into fresh memory first.
            guard let file = mapped(candidate.name) else { continue }
            let reason: String
            do {
                let blocks = try SnapshotFile.Blocks(
                    file: file,
                    projection: projection,
                    version: version,
                    offset: candidate.offset,
                    access: .whole
                )
                do {
                    return (candidate.offset, try read(blocks))
                } catch {
                    reason = blocks.damage ?? "its state does not read: \(error)"
                }
            } catch {
                guard case .damaged(let damage) = error else { continue }
                reason = damage
            }
            if readOnly {
                rejected.append(
                    "ignored damaged snapshot \(candidate.name) (read-only: left for the writer): \(reason)"
                )
            } else {
                rejected.append("deleted damaged snapshot \(candidate.name): \(reason)")
                directory.remove(candidate.name)
            }
        }
        return nil
    }

    /// The offsets of the snapshots of `projection` at `version` in the directory, newest first, by their names
    /// alone (nothing is read or checked).
    func offsets(projection: String, version: UInt32) -> [Int64] {
        let prefix = "\(projection)-v\(version)-"
        let names = (try? directory.names()) ?? []
        return names.filter { $0.hasPrefix(prefix) && $0.hasSuffix(".snap") }
            .compactMap { Int64($0.dropFirst(prefix.count).dropLast(5)) }
            .sorted(by: >)
    }

    /// The snapshot of `projection` at `version` taken at exactly `offset`, read lazily (only the blocks a read
    /// touches); nil when there is none whose header and block table check out. Nothing is deleted here: a damaged
    /// one is left for ``newest(projection:version:atOrBefore:rejected:)`` to report and delete.
    func blocks(projection: String, version: UInt32, at offset: Int64) -> SnapshotFile.Blocks? {
        let name = Self.fileName(projection: projection, version: version, offset: offset)
        guard let file = mapped(name) else { return nil }
        return try? SnapshotFile.Blocks(
            file: file,
            projection: projection,
            version: version,
            offset: offset,
            access: .pieces
        )
    }

    /// The snapshot file `name`, mapped read-only; nil when it cannot be opened (gone since it was listed).
    private func mapped(_ name: String) -> MappedFile? {
        try? MappedFile.open(directory.path(of: name), name: name, writable: false)
    }

    /// Called before an erasure destroys keys: deletes every snapshot and holds new ones back until
    /// ``erasureAppended(at:)``.
    func erasureStarting() {
        state.withLock { erasures in
            erasures.erasuresInFlight += 1
            for name in (try? directory.names()) ?? [] where name.hasSuffix(".snap") { directory.remove(name) }
        }
    }

    /// Called once the erasure's `customer.forgotten` event is in the log at `offset` (nil: the append failed).
    func erasureAppended(at offset: Int64?) {
        state.withLock { erasures in
            erasures.erasuresInFlight -= 1
            if let offset { erasures.lastErasureOffset = max(erasures.lastErasureOffset, offset) }
        }
    }
}
