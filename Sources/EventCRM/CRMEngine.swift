public import CRMModel
public import EventLog
import Locking

/// The engine: one directory holding the event log, the customer keys and the indexes derived from the log
/// (docs/engine-directory.md).
///
/// ```swift
/// let crm = try CRMEngine.open(at: "/var/lib/shop/crm")
/// try await crm.append(Event(id: "e1", at: now, customer: "c-42", payload: .consentChanged(channel: "email", granted: true)))
/// for stored in try crm.history(of: "c-42") { print(stored.offset, stored.event.type) }
/// await crm.close()
/// ```
///
/// One process may open a directory for writing; others may open it with ``Options/readOnly``. All methods are
/// safe to call from any thread or task.
public final class CRMEngine: Sendable {
    /// How to open an engine.
    public struct Options: Sendable {
        /// When appends return: `EventLog.Durability.groupCommit` (the default) returns once the events are on
        /// disk, sharing one `fdatasync` between concurrent appends.
        public var durability: EventLog.Durability = .groupCommit
        /// The currency of amounts that come without one in ingested JSON. Default USD.
        public var defaultCurrency: Currency = .usd
        /// The size at which the log starts a new segment file. Default 128 MiB.
        public var segmentBytes: Int = 128 << 20
        /// Open without taking the writer's lock: read, never write, while another process appends.
        public var readOnly = false
        /// Index entries kept in memory before they are written to a run (docs/engine-directory.md): about 48 MiB
        /// at the default 2^20. Tests lower it to exercise flushes and merges with few events.
        public var _indexFlushEntries = 1 << 20

        public init() {}
    }

    /// The engine's directory.
    public let path: String
    /// The options the engine was opened with.
    public let options: Options

    let log: EventLog
    let keys: CustomerKeyStore
    let indexes: Locked<IndexState>
    let codec: EventJSONCodec
    /// Saved projection states (docs/projections.md, section 4).
    let snapshots: SnapshotStore
    private let openingNotices: [String]

    private init(
        path: String,
        options: Options,
        log: EventLog,
        keys: CustomerKeyStore,
        indexes: IndexState,
        notices: [String]
    ) {
        self.path = path
        self.options = options
        self.log = log
        self.keys = keys
        self.indexes = Locked(indexes)
        self.codec = EventJSONCodec(defaultCurrency: options.defaultCurrency)
        self.snapshots = SnapshotStore(path: path + "/snapshots", readOnly: options.readOnly)
        self.openingNotices = notices
    }

    /// Opens the engine in `path`, creating the directory (readable by its owner only) when it does not exist.
    ///
    /// Opening recovers the log's tail (docs/on-disk-format.md) and brings the indexes up to the log's head,
    /// rebuilding any that is missing or damaged; what it did is in ``notices``.
    public static func open(at path: String, options: Options = Options()) throws(CRMError) -> CRMEngine {
        var configuration = EventLog.Configuration()
        configuration.durability = options.durability
        configuration.segmentBytes = options.segmentBytes
        let log: EventLog
        do {
            log = try EventLog.open(
                at: path,
                configuration: configuration,
                mode: options.readOnly ? .readOnly : .readWrite
            )
        } catch {
            throw .storage(error)
        }
        let keys: CustomerKeyStore
        do {
            keys = try CustomerKeyStore.open(directory: path + "/keys", readOnly: options.readOnly)
        } catch {
            throw .keyStore(error)
        }
        var notices = log.notices.map(\.description)
        let state: IndexState
        do {
            state = try IndexState.open(
                indexDirectory: path + "/index",
                log: log,
                writable: !options.readOnly,
                flushEntries: max(1, options._indexFlushEntries),
                notices: &notices
            )
        } catch {
            throw .storage(error)
        }
        return CRMEngine(path: path, options: options, log: log, keys: keys, indexes: state, notices: notices)
    }

    /// What the engine did on its own when it opened: torn tails cut, indexes rebuilt.
    public var notices: [String] { openingNotices }

    /// The offset the next event will get: the number of events in the log.
    public var nextOffset: Int64 { log.nextOffset }

    /// The log's head hash. Keep it elsewhere; ``verify(checkpoint:)`` later proves the log up to it was not altered.
    public var headHash: ChainHash { log.headHash }

    /// Writes the indexes' waiting entries (so that the next open need not re-read them from the log), finishes
    /// the queued appends and closes the files. Appends after this throw.
    public func close() async {
        _ = try? indexes.withLock { state throws(EventLogError) in try state.flush() }
        let runSets = indexes.withLock { $0.runSets }
        // Merges may take a while on a large index.
        await runBlocking { for runs in runSets { runs.waitForMerges() } }
        await log.close()
    }

    /// For a read-only engine: sees what the writing process has appended since, and the keys it has made or
    /// destroyed.
    public func refresh() throws(CRMError) {
        do {
            try log.refresh()
            try indexes.withLock { state throws(EventLogError) in try state.catchUp(with: log) }
        } catch {
            throw .storage(error)
        }
        // After the log: the writer syncs a key before the first event sealed with it, so every event seen has
        // its key in the file by now.
        do {
            try keys.refresh()
        } catch {
            throw .keyStore(error)
        }
    }

    func requireWritable() throws(CRMError) {
        guard !options.readOnly else { throw CRMError(.notWritable, "the engine was opened read-only") }
    }
}
