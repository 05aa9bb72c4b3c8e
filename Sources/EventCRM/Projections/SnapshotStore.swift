import CRMModel
import EventLog

/// Projection states saved at log offsets (docs/projections.md, section 4), in `DIR/snapshots/`.
///
/// A snapshot can hold personal fields, so erasure and snapshots are coordinated: an erasure deletes every
/// snapshot before its `customer.forgotten` event is appended, and no snapshot is written while an erasure is in
/// flight or at an offset that does not include the last completed erasure's event.
final class SnapshotStore: Sendable {
    private static let magic = Array("EVCRMSNP".utf8)

    private struct State {
        /// Erasures whose keys are destroyed but whose event is not yet in the log.
        var erasuresInFlight = 0
        /// A snapshot must start after this offset: the last `customer.forgotten` event appended.
        var lastErasureOffset: Int64 = -1
    }

    let directory: LogDirectory
    private let state = Locked(State())

    init(path: String) {
        directory = LogDirectory(path: path)
    }

    static func fileName(projection: String, version: UInt32, offset: Int64) -> String {
        "\(projection)-v\(version)-" + LogDirectory.paddedOffset(offset) + ".snap"
    }

    /// Writes a snapshot of `state` (canonical bytes) taken after the events before `offset`, unless an erasure
    /// makes it unsafe; returns whether it was written.
    func write(projection: String, version: UInt32, offset: Int64, state bytes: [UInt8]) throws(EventLogError) -> Bool {
        var contents = Self.magic + [1, 0] + [UInt8](repeating: 0, count: 6)
        contents.appendLE(version)
        contents.appendLE(UInt32(0))
        contents.appendLE(offset)
        contents.appendLE(UInt64(bytes.count))
        contents.appendLE(UInt16(projection.utf8.count))
        contents += projection.utf8
        contents += bytes
        contents.appendLE(CRC32C.checksum(contents))
        let name = Self.fileName(projection: projection, version: version, offset: offset)
        return try state.withLock { erasures throws(EventLogError) -> Bool in
            guard erasures.erasuresInFlight == 0, offset > erasures.lastErasureOffset else { return false }
            try directory.create()
            try directory.replaceFile(name, with: contents)
            return true
        }
    }

    /// A snapshot read back: the whole file, and where the state's bytes are in it (not copied out: a state can
    /// be hundreds of megabytes).
    struct Loaded {
        var offset: Int64
        var file: [UInt8]
        var state: Range<Int>

        /// Reads the state's bytes in place.
        func withState<Result>(
            _ body: (UnsafeRawBufferPointer) throws(EventDecodingError) -> Result
        )
            throws(EventDecodingError) -> Result
        {
            var result: Swift.Result<Result, EventDecodingError>!
            file.withUnsafeBytes { raw in
                result = Swift.Result { () throws(EventDecodingError) in
                    try body(UnsafeRawBufferPointer(rebasing: raw[state]))
                }
            }
            return try result.get()
        }
    }

    /// The newest valid snapshot of `projection` at `version` taken at or before `offset`. Damaged snapshots are
    /// deleted and reported in `rejected`; snapshots of other versions are left alone (another build may use
    /// them) and never loaded.
    func newest(
        projection: String,
        version: UInt32,
        atOrBefore offset: Int64,
        rejected: inout [String]
    ) -> Loaded? {
        let prefix = "\(projection)-v\(version)-"
        guard let names = try? directory.names() else { return nil }
        let candidates = names.filter { $0.hasPrefix(prefix) && $0.hasSuffix(".snap") }.compactMap {
            name -> (name: String, offset: Int64)? in
            Int64(name.dropFirst(prefix.count).dropLast(5)).map { (name, $0) }
        }.filter { $0.offset <= offset }.sorted { $0.offset > $1.offset }
        for candidate in candidates {
            guard let bytes = try? directory.readFile(candidate.name) else { continue }
            if let state = Self.parse(bytes, projection: projection, version: version, offset: candidate.offset) {
                return Loaded(offset: candidate.offset, file: bytes, state: state)
            }
            rejected.append("deleted damaged snapshot \(candidate.name)")
            directory.remove(candidate.name)
        }
        return nil
    }

    /// Where the state's bytes are in a snapshot file, if the file is whole and is the one asked for.
    private static func parse(_ bytes: [UInt8], projection: String, version: UInt32, offset: Int64) -> Range<Int>? {
        bytes.withUnsafeBytes { raw -> Range<Int>? in
            guard raw.count >= 42, Array(raw[0..<8]) == magic, raw[8] == 1,
                CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<raw.count - 4]))
                    == raw.le(raw.count - 4, as: UInt32.self),
                raw.le(16, as: UInt32.self) == version, raw.le(24, as: Int64.self) == offset
            else { return nil }
            let stateCount = Int(raw.le(32, as: UInt64.self))
            let nameCount = Int(raw.le(40, as: UInt16.self))
            guard raw.count == 42 + nameCount + stateCount + 4,
                String(decoding: raw[42..<42 + nameCount], as: UTF8.self) == projection
            else { return nil }
            return 42 + nameCount..<42 + nameCount + stateCount
        }
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
