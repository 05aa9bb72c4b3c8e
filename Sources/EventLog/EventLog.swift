import Foundation
import Locking
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A compressed, segmented, append-only log of opaque records, with a tamper-evident hash chain.
///
/// Open one writer per directory with ``open(at:configuration:mode:)``; any number of readers, in this process or
/// others, may read at the same time. The on-disk format and the crash protocol are in `docs/on-disk-format.md`.
///
/// ```swift
/// let log = try EventLog.open(at: "/var/lib/crm/log")
/// var batch = RecordBatch()
/// try batch.append(key: "c-42", typeTag: 1, schemaVersion: 1, eventTime: now, value: bytes)
/// let offsets = try await log.append(batch)          // durable when it returns
/// for batch in try log.reader(from: 0) { for record in batch { print(record.offset, record.keyString) } }
/// await log.close()
/// ```
public final class EventLog: Sendable {
    /// The directory holding the log's files.
    public let path: String
    /// The settings the log was opened with.
    public let configuration: Configuration
    /// Whether this instance may append.
    public let accessMode: AccessMode

    let directory: LogDirectory
    let catalog: LogCatalog
    private let writer: LogWriter?
    private let lockFile: PosixFile?
    private let noticeList: Locked<[Notice]>
    private let closed = Atomic<Bool>(false)

    private init(
        path: String,
        configuration: Configuration,
        accessMode: AccessMode,
        catalog: LogCatalog,
        writer: LogWriter?,
        lockFile: PosixFile?,
        notices: [Notice]
    ) {
        self.path = path
        self.configuration = configuration
        self.accessMode = accessMode
        self.directory = LogDirectory(path: path)
        self.catalog = catalog
        self.writer = writer
        self.lockFile = lockFile
        self.noticeList = Locked(notices)
    }

    deinit {
        // Without close(): finish the queued appends and release the lock (once; the descriptor number may be
        // reused by then if close() ran).
        guard !closed.load(ordering: .acquiring) else { return }
        writer?.stop()
        lockFile?.close()
    }

    /// Opens the log in `path`, creating it when `mode` is ``AccessMode/readWrite`` and it does not exist.
    ///
    /// Opening for writing takes the directory's lock, removes unfinished temporary files and checks the tail of
    /// the active segment only: a torn last write is cut (see ``notices``), other damage is an error.
    public static func open(
        at path: String,
        configuration: Configuration = Configuration(),
        mode: AccessMode = .readWrite
    ) throws(EventLogError) -> EventLog {
        let configuration = try configuration.validated()
        let directory = LogDirectory(path: path)
        let writable = mode == .readWrite
        var lockFile: PosixFile?
        if writable {
            try directory.create()
            let lock = try PosixFile.open(directory.path(of: "LOCK"), name: "LOCK", flags: O_RDWR | O_CREAT)
            guard try lock.tryLockExclusive() else {
                lock.close()
                throw EventLogError(
                    .logLocked,
                    "another writer has this log open (the LOCK file is held); open it read-only to read",
                    file: path
                )
            }
            lockFile = lock
        }
        do throws(EventLogError) {
            if writable { try directory.removeTemporaryFiles() }
            var bases = try directory.segmentBaseOffsets()
            if bases.isEmpty {
                guard writable else {
                    throw EventLogError(.ioFailure, "no log in this directory", file: path, systemError: ENOENT)
                }
                try createSegment(in: directory, header: SegmentHeader(baseOffset: 0, previousChainHash: .zero))
                    .close()
                bases = [0]
            }
            let outcome = try Recovery.openActive(
                directory: directory,
                baseOffset: bases.last!,
                writable: writable,
                indexIntervalBytes: configuration.indexIntervalBytes
            )
            let catalog = LogCatalog(segmentBases: bases, active: outcome.active)
            var writer: LogWriter?
            if writable {
                writer = LogWriter(
                    directory: directory,
                    configuration: configuration,
                    catalog: catalog,
                    active: outcome.active
                )
                writer?.start()
            } else {
                outcome.active.file.close()
            }
            return EventLog(
                path: path,
                configuration: configuration,
                accessMode: mode,
                catalog: catalog,
                writer: writer,
                lockFile: lockFile,
                notices: outcome.notices
            )
        } catch {
            lockFile?.close()
            throw error
        }
    }

    /// Creates a segment file crash-safely (docs/on-disk-format.md, section 7, step 4) and opens it for writing.
    static func createSegment(in directory: LogDirectory, header: SegmentHeader) throws(EventLogError) -> PosixFile {
        let name = LogDirectory.segmentName(header.baseOffset)
        try directory.replaceFile(name, with: header.encoded())
        for kind in [IndexFile.Kind.offsets, .times] {
            try directory.replaceFile(
                LogDirectory.indexName(header.baseOffset, kind),
                with: IndexFile.header(kind, baseOffset: header.baseOffset),
                durable: false
            )
        }
        return try directory.openSegment(header.baseOffset, flags: O_RDWR)
    }

    /// Appends the records of `batch` atomically: when this returns they all have consecutive offsets and are as
    /// durable as ``Configuration/durability`` promises; when it throws, none of them is in the log.
    /// - Returns: the offsets given to the records, in order.
    @discardableResult
    public func append(_ batch: RecordBatch) async throws -> Range<Int64> {
        guard let writer else {
            throw EventLogError(.notWritable, "the log was opened read-only", file: path)
        }
        return try await writer.append(batch)
    }

    /// Appends `batches` in order, each atomically on its own, sharing writes and syncs: cheaper than awaiting
    /// one ``append(_:)`` after another, and unlike concurrent appends the batches land in the order given.
    /// - Returns: per batch, its offsets or why it failed. After a failure, the later batches fail too.
    public func append(contentsOf batches: [RecordBatch]) async -> [Result<Range<Int64>, any Error>] {
        await submit(contentsOf: batches).results()
    }

    /// Queues `batches` like ``append(contentsOf:)`` but returns at once, so that the caller can prepare the next
    /// batches while these are written; they land in the order submitted.
    package func submit(contentsOf batches: [RecordBatch]) -> AppendTicket {
        guard let writer else {
            return .failing(
                batches.count,
                with: EventLogError(.notWritable, "the log was opened read-only", file: path)
            )
        }
        return writer.submit(batches)
    }

    /// The offset the next appended record will get: the number of records in the log.
    public var nextOffset: Int64 { catalog.state.withLock { $0.nextOffset } }

    /// The chain hash of the last frame: keep it elsewhere and compare it later to prove the log was not altered.
    public var headHash: ChainHash { catalog.state.withLock { $0.headHash } }

    /// What the log did on its own since it was opened: torn tails cut, indexes rebuilt.
    public var notices: [Notice] { noticeList.withLock { $0 } }

    func report(_ notice: Notice) {
        noticeList.withLock { $0.append(notice) }
    }

    /// The number of segment files.
    public var segmentCount: Int { catalog.state.withLock { $0.segmentBases.count } }

    /// The offset each segment file starts at, in order: places a reader can start from to read the log in parts.
    public var segmentBaseOffsets: [Int64] { catalog.state.withLock { $0.segmentBases } }

    /// Finishes the appends already queued, closes the files and releases the lock. Appends after this throw.
    public func close() async {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        if let writer { await runBlocking { writer.stop() } }
        catalog.close()
        lockFile?.close()
    }

    /// For a read-only log: looks at the files again to see what the writer has added since.
    public func refresh() throws(EventLogError) {
        guard accessMode == .readOnly else { return }
        let bases = try directory.segmentBaseOffsets()
        guard let last = bases.last else { return }
        let outcome = try Recovery.openActive(
            directory: directory,
            baseOffset: last,
            writable: false,
            indexIntervalBytes: configuration.indexIntervalBytes
        )
        outcome.active.file.close()
        catalog.publishRecovered(segmentBases: bases, active: outcome.active)
    }
}
