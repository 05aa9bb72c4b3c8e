import CRMModel
import EventLog
import Foundation
import Locking

#if canImport(Glibc)
import Glibc
#endif

/// Per-customer AES-256 keys kept outside the log (docs/key-store.md): forgetting a customer destroys its key.
///
/// Thread-safe. Every change is on disk before the call returns. File handling (crash-safe replacement, fsync,
/// errors that name the file) is the log's own, shared through `package` access.
public final class CustomerKeyStore: @unchecked Sendable {
    /// Why the key store cannot be used.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var file: String
        public var reason: String
        public var description: String { "\(file): \(reason)" }
    }

    private static let fileName = "customer-keys"
    private static let header = Array("EVCRMKEY".utf8) + [1, 0] + [UInt8](repeating: 0, count: 6)

    private let directory: LogDirectory
    /// Writers change the file, the table or `forgotten`; readers only look keys up (``existingKey(for:)``).
    private let lock = ReadWriteLock()
    private var file: PosixFile
    private var end: Int64
    /// The live keys, their bytes held inline (``CustomerKey``): a `SymmetricKey` per customer was a heap object to
    /// make at open and to free at close, which was most of opening an engine (0.9 of 1.3 s for 710,000 customers).
    /// Built from `unread` the first time a key is needed: a query that reads no personal field never builds it
    /// (0.24 s of opening an engine of 710,000 customers).
    private var table: CustomerKeyTable?
    /// The file's bytes as read at open, until the table is built from them.
    private var unread: [UInt8]
    private var forgotten: Set<String>
    /// Whether the live file still holds the bytes of a key that was destroyed.
    private var compactionNeeded = false
    /// Opened by a reader: never written, and refreshed from what the writer appends.
    public let readOnly: Bool

    private var path: String { directory.path(of: Self.fileName) }

    /// Runs `body`, turning a file error into a ``Failure`` that names the key store's file.
    private static func files<Result>(
        _ directory: LogDirectory,
        _ body: () throws(EventLogError) -> Result
    )
        throws(Failure) -> Result
    {
        do {
            return try body()
        } catch {
            throw Failure(file: error.file.map(directory.path(of:)) ?? directory.path, reason: error.description)
        }
    }

    /// Opens (or creates) the key store in `directory` (created with mode 0700). `readOnly`: for a reader while
    /// another process writes (docs/key-store.md, "Readers"): the file must exist, and is never written.
    public static func open(directory path: String, readOnly: Bool = false) throws(Failure) -> CustomerKeyStore {
        let directory = LogDirectory(path: path)
        let filePath = directory.path(of: fileName)
        if readOnly {
            let (file, contents) = try files(directory) { () throws(EventLogError) -> (PosixFile, [UInt8]) in
                let file = try PosixFile.open(filePath, name: fileName, flags: O_RDONLY)
                return (file, try file.read(count: Int(try file.size()), at: 0))
            }
            // Neither a torn tail (perhaps a record being written) nor an undone compaction is this reader's to mend.
            let scanned = try Scan(contents, path: filePath)
            return CustomerKeyStore(directory: directory, file: file, scanned: scanned, readOnly: true)
        }
        let contents = try files(directory) { () throws(EventLogError) -> [UInt8] in
            try directory.create()
            let contents = try directory.readFile(fileName) ?? []
            // Empty or missing, or a header cut short by a crash while the store was being created: start afresh.
            if contents.count < header.count && contents == Array(header.prefix(contents.count)) {
                try directory.replaceFile(fileName, with: header)
                return header
            }
            return contents
        }
        let scanned = try Scan(contents, path: filePath)
        let file = try files(directory) { () throws(EventLogError) -> PosixFile in
            let file = try PosixFile.open(filePath, name: fileName, flags: O_RDWR)
            if scanned.validEnd < (try file.size()) {
                // A record that never finished: its key was never used (keys are synced before use). Cut it.
                try file.truncate(to: Int64(scanned.validEnd))
                try file.syncData()
            }
            return file
        }
        let store = CustomerKeyStore(directory: directory, file: file, scanned: scanned, readOnly: false)
        // A crash after a `forgotten` record but before the compaction left a destroyed key's bytes: finish it.
        store.compactionNeeded = scanned.destroyedKeyInFile
        try store.compactIfNeeded()
        return store
    }

    /// What open learns from the file's bytes, checking each record once.
    private struct Scan {
        /// Where the whole records end.
        var validEnd: Int
        /// The whole records, without a torn tail: read again (by the table's build) without checking.
        var records: [UInt8]
        var forgotten = Set<String>()
        /// Whether a key is followed by a `forgotten` record of the same customer: its bytes are still in the
        /// file (a crash came between that record's sync and the compaction).
        var destroyedKeyInFile = false

        init(_ contents: [UInt8], path: String) throws(Failure) {
            guard contents.count >= header.count, contents[0..<8] == header[0..<8] else {
                throw Failure(file: path, reason: "not a key store (bad header)")
            }
            guard contents[8] == 1, contents[9] == 0 else {
                throw Failure(file: path, reason: "key store version \(contents[8]) is newer than this library's 1")
            }
            var forgotten = Set<String>()
            // Where the last `forgotten` record of each forgotten customer starts.
            var lastForgotten = [String: Int]()
            // The fingerprints of every id with a `forgotten` record: the ids of key records, nearly all of
            // customers never forgotten, are then neither made into strings nor hashed.
            var forgottenPrints = Set<UInt64>()
            validEnd = parse(contents) { record in
                if record.kind == 1 {
                    // A key after a `forgotten` record of its customer (not written by this store, which makes no
                    // key for a forgotten customer) makes it live again, as the table does.
                    if forgottenPrints.contains(record.fingerprint) { forgotten.remove(record.customer) }
                } else {
                    forgotten.insert(record.customer)
                    forgottenPrints.insert(record.fingerprint)
                    lastForgotten[record.customer] = record.position
                }
            }
            records = validEnd < contents.count ? Array(contents[..<validEnd]) : contents
            self.forgotten = forgotten
            // Looked for without building the table.
            var destroyedKeyInFile = false
            if !lastForgotten.isEmpty {
                _ = parse(records, verifying: false) { record in
                    if record.kind == 1, forgottenPrints.contains(record.fingerprint),
                        let forgottenAt = lastForgotten[record.customer], forgottenAt > record.position
                    {
                        destroyedKeyInFile = true
                    }
                }
            }
            self.destroyedKeyInFile = destroyedKeyInFile
        }
    }

    private init(directory: LogDirectory, file: PosixFile, scanned: Scan, readOnly: Bool) {
        self.directory = directory
        self.file = file
        self.end = Int64(scanned.validEnd)
        self.unread = scanned.records
        self.forgotten = scanned.forgotten
        self.readOnly = readOnly
    }

    /// The live keys (`table`), built on first use; only under the lock.
    private var keys: CustomerKeyTable {
        _read {
            buildTable()
            yield table!
        }
        _modify {
            buildTable()
            yield &table!
        }
    }

    /// Replays the records read at open into the table: each key, each destroyed by a later `forgotten` record.
    private func buildTable() {
        guard table == nil else { return }
        var keys = CustomerKeyTable()
        // A key record takes about 45 bytes: room reserved once, rather than growing the table as it doubles.
        keys.reserveCapacity(unread.count / 45)
        Self.replay(unread, into: &keys)
        table = keys
        unread = []
    }

    /// Applies checked records to a table of keys, in file order.
    private static func replay(
        _ records: [UInt8],
        from start: Int = header.count,
        into keys: inout CustomerKeyTable
    ) {
        _ = parse(records, from: start, verifying: false) { record in
            if record.kind == 1 {
                keys.set(CustomerKey(bytes: record.key), for: record.customer)
            } else {
                _ = keys.destroyKey(of: record.customer)
            }
        }
    }

    deinit { file.close() }

    /// One whole record of the file, read in place.
    private struct Record {
        var kind: UInt8
        var id: UnsafeRawBufferPointer
        var key: UnsafeRawBufferPointer
        /// Where the record starts in the file.
        var position: Int

        /// The customer id (its UTF-8 was checked by `parse`).
        var customer: String { String(decoding: id, as: UTF8.self) }

        /// FNV-1a of the id's bytes: equal ids have equal fingerprints.
        var fingerprint: UInt64 {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in id { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            return hash
        }
    }

    /// Calls `record` with each whole record from `start`; returns where the valid records end. `verifying`
    /// false: the records were checked at open, and are read again without checking their CRCs and ids.
    private static func parse(
        _ bytes: [UInt8],
        from start: Int = header.count,
        verifying: Bool = true,
        _ record: (Record) -> Void
    ) -> Int {
        // Read in place: the store holds a record per customer ever seen, and the generic slice operations
        // (validating a slice, reversing the CRC's bytes, copying each key out) were most of opening one.
        bytes.withUnsafeBytes { raw in
            var position = start
            while position + 3 <= raw.count {
                let kind = raw[position]
                let length = Int(raw.le(position + 1, as: UInt16.self))
                guard kind == 1 || kind == 2, (1...256).contains(length) else { break }
                let keyLength = kind == 1 ? 32 : 0
                let total = 3 + length + keyLength + 4
                guard position + total <= raw.count else { break }
                let id = UnsafeRawBufferPointer(rebasing: raw[(position + 3)..<(position + 3 + length)])
                if verifying {
                    guard
                        CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[position..<position + total - 4]))
                            == raw.le(position + total - 4, as: UInt32.self),
                        id.isValidUTF8
                    else { break }
                }
                record(
                    Record(
                        kind: kind,
                        id: id,
                        key: UnsafeRawBufferPointer(rebasing: raw[(position + 3 + length)..<(position + total - 4)]),
                        position: position
                    )
                )
                position += total
            }
            return position
        }
    }

    private static func encode(kind: UInt8, customer: String, key: CustomerKey?) -> [UInt8] {
        var bytes: [UInt8] = [kind, UInt8(customer.utf8.count & 0xFF), UInt8(customer.utf8.count >> 8)]
        bytes.append(contentsOf: customer.utf8)
        if let key { key.withUnsafeBytes { bytes.append(contentsOf: $0) } }
        let crc = CRC32C.checksum(bytes)
        withUnsafeBytes(of: crc.littleEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// Appends a record and syncs it (docs/key-store.md, protocol steps 2 and 3).
    private func append(_ record: [UInt8]) throws(Failure) {
        guard !readOnly else {
            throw Failure(file: path, reason: "the key store was opened read-only: no key can be made or destroyed")
        }
        try Self.files(directory) { () throws(EventLogError) in
            try file.write(record, at: end)
            try file.syncData()
        }
        end += Int64(record.count)
    }

    private func locked<Result>(_ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        try lock.withWriteLock(body)
    }

    /// The customer's key, created (and synced to disk) on first use. Nil once the customer was forgotten.
    public func key(for customer: String) throws(Failure) -> CustomerKey? {
        try keys(for: [customer])[customer]
    }

    /// The keys of `customers`, creating the missing ones with one write and one sync for all of them. Forgotten
    /// customers are absent from the result.
    public func keys(for customers: some Sequence<String>) throws(Failure) -> [String: CustomerKey] {
        try locked { () throws(Failure) -> [String: CustomerKey] in
            var found = [String: CustomerKey]()
            var created = [String: CustomerKey]()
            var records = [UInt8]()
            // `found` holds the created keys too.
            for customer in customers where found[customer] == nil {
                if let key = keys[customer] {
                    found[customer] = key
                } else if !forgotten.contains(customer) {
                    guard (1...256).contains(customer.utf8.count) else {
                        throw Failure(file: path, reason: "customer ids are 1 to 256 bytes long")
                    }
                    let key = RandomPool.shared.key()
                    records += Self.encode(kind: 1, customer: customer, key: key)
                    created[customer] = key
                    found[customer] = key
                }
            }
            if !records.isEmpty {
                try append(records)
                for (customer, key) in created { keys.set(key, for: customer) }
            }
            return found
        }
    }

    /// The customer's key if it exists, without creating one.
    public func existingKey(for customer: String) -> CustomerKey? {
        // On the read side once the table is built: a rebuild's decoding threads each look up the key of every
        // registration they open, and under one mutex they waited for each other (futex calls were 3 % of a
        // 2-core rebuild's samples, and a waiting core idles).
        let found: CustomerKey?? = lock.withReadLock { table == nil ? nil : .some(table![customer]) }
        if let found { return found }
        return lock.withWriteLock { keys[customer] }
    }

    /// The number of forgotten customers.
    public var forgottenCount: Int {
        lock.withReadLock { forgotten.count }
    }

    /// Whether the customer was forgotten.
    public func isForgotten(_ customer: String) -> Bool {
        lock.withReadLock { forgotten.contains(customer) }
    }

    /// Destroys the customer's key durably (docs/key-store.md, protocol step 3).
    public func forget(_ customer: String) throws(Failure) {
        try forget(contentsOf: [customer])
    }

    /// Destroys the keys of `customers` durably, with one sync and one compaction for all of them.
    ///
    /// With `deferringCompaction`, the keys are unusable when this returns (their `forgotten` record is synced)
    /// but their bytes stay in the file until ``compactIfNeeded()`` (or the next open): for bulk ingests, which
    /// would otherwise rewrite the file for every batch.
    public func forget(contentsOf customers: [String], deferringCompaction: Bool = false) throws(Failure) {
        guard !customers.isEmpty else { return }
        try locked { () throws(Failure) in
            var records = [UInt8]()
            for customer in customers {
                guard (1...256).contains(customer.utf8.count) else {
                    throw Failure(file: path, reason: "customer ids are 1 to 256 bytes long")
                }
                records += Self.encode(kind: 2, customer: customer, key: nil)
            }
            try append(records)
            for customer in customers {
                if keys.destroyKey(of: customer) { compactionNeeded = true }
                forgotten.insert(customer)
            }
            if !deferringCompaction { try compact() }
        }
    }

    /// For a reader: reads the records the writer has appended since open or the last refresh, and the whole
    /// file again when the writer has compacted it (docs/key-store.md, "Readers"). Does nothing for the writer.
    public func refresh() throws(Failure) {
        guard readOnly else { return }
        try locked { () throws(Failure) in
            // A compaction can come between reading and looking: looked at again after each read.
            var replacement = try replacedFile()
            repeat {
                if let replacement {
                    let contents = try Self.files(directory) { () throws(EventLogError) -> [UInt8] in
                        try replacement.read(count: Int(try replacement.size()), at: 0)
                    }
                    let scanned = try Scan(contents, path: path)
                    file.close()
                    file = replacement
                    end = Int64(scanned.validEnd)
                    unread = scanned.records
                    forgotten = scanned.forgotten
                    table = nil
                } else {
                    try readAppended()
                }
                replacement = try replacedFile()
            } while replacement != nil
        }
    }

    /// The file now at the store's path, opened, when it is not the one this reader has open.
    private func replacedFile() throws(Failure) -> PosixFile? {
        try Self.files(directory) { () throws(EventLogError) -> PosixFile? in
            let now = try PosixFile.open(path, name: Self.fileName, flags: O_RDONLY)
            if try now.identity() == file.identity() {
                now.close()
                return nil
            }
            return now
        }
    }

    /// Reads the whole records after `end` into the store, as open would have.
    private func readAppended() throws(Failure) {
        let tail = try Self.files(directory) { () throws(EventLogError) -> [UInt8] in
            let size = try file.size()
            return size > end ? try file.read(count: Int(size - end), at: end) : []
        }
        guard !tail.isEmpty else { return }
        let wholeEnd = Self.parse(tail, from: 0) { record in
            if record.kind == 1 { forgotten.remove(record.customer) } else { forgotten.insert(record.customer) }
        }
        guard wholeEnd > 0 else { return }
        let records = Array(tail[..<wholeEnd])
        if table == nil {
            unread += records
        } else {
            Self.replay(records, from: 0, into: &table!)
        }
        end += Int64(wholeEnd)
    }

    /// Rewrites the file if it still holds the bytes of a destroyed key.
    public func compactIfNeeded() throws(Failure) {
        try locked { () throws(Failure) in try compact() }
    }

    /// Rewrites the file with only the live keys and the forgotten list, so destroyed keys leave the live file.
    private func compact() throws(Failure) {
        guard compactionNeeded else { return }
        var contents = Self.header
        // Named by its type: `keys` alone may also be the method `keys(for:)`.
        let live: CustomerKeyTable = keys
        contents.reserveCapacity(Self.header.count + live.count * 80 + forgotten.count * 40)
        live.visitKeys { customer, key in contents += Self.encode(kind: 1, customer: customer, key: key) }
        for customer in forgotten { contents += Self.encode(kind: 2, customer: customer, key: nil) }
        let reopened = try Self.files(directory) { () throws(EventLogError) -> PosixFile in
            try directory.replaceFile(Self.fileName, with: contents)
            return try PosixFile.open(path, name: Self.fileName, flags: O_RDWR)
        }
        file.close()
        file = reopened
        end = Int64(contents.count)
        compactionNeeded = false
    }
}
