internal import CCRC32C
public import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Per-customer AES-256 keys kept outside the log (docs/key-store.md): forgetting a customer destroys its key.
///
/// Thread-safe. Every change is on disk before the call returns.
public final class CustomerKeyStore: @unchecked Sendable {
    /// Why the key store cannot be used.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var file: String
        public var reason: String
        public var description: String { "\(file): \(reason)" }
    }

    private static let magic = Array("EVCRMKEY".utf8)
    private static let headerSize = 16

    private let directory: String
    private let path: String
    private let lock = NSLock()
    private var descriptor: Int32
    private var end: Int64
    private var keys: [String: SymmetricKey]
    private var forgotten: Set<String>

    /// Opens (or creates) the key store in `directory` (created with mode 0700).
    public static func open(directory: String) throws(Failure) -> CustomerKeyStore {
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw Failure(file: directory, reason: "cannot create: \(String(cString: strerror(errno)))")
        }
        let path = directory + "/customer-keys"
        let descriptor = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw Failure(file: path, reason: "cannot open: \(String(cString: strerror(errno)))")
        }
        do throws(Failure) {
            var contents = [UInt8](repeating: 0, count: Int(lseek(descriptor, 0, SEEK_END)))
            _ = contents.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
            let header = magic + [1, 0] + [UInt8](repeating: 0, count: 6)
            // Empty, or a header cut short by a crash while the store was being created: start it afresh.
            if contents.count < headerSize && contents == Array(header.prefix(contents.count)) {
                contents = header
                try write(contents, to: descriptor, at: 0, path: path)
                try sync(descriptor, path: path)
                try syncDirectory(directory)
            }
            guard contents.count >= headerSize, Array(contents[0..<8]) == magic else {
                throw Failure(file: path, reason: "not a key store (bad header)")
            }
            guard contents[8] == 1, contents[9] == 0 else {
                throw Failure(file: path, reason: "key store version \(contents[8]) is newer than this library's 1")
            }
            var keys = [String: SymmetricKey]()
            var forgotten = Set<String>()
            let validEnd = parse(contents) { kind, customer, key in
                if kind == 1 {
                    keys[customer] = SymmetricKey(data: key)
                    forgotten.remove(customer)
                } else {
                    keys[customer] = nil
                    forgotten.insert(customer)
                }
            }
            if validEnd < contents.count {
                // A record that never finished: its key was never used (keys are synced before use). Cut it.
                guard ftruncate(descriptor, off_t(validEnd)) == 0 else {
                    throw Failure(file: path, reason: "cannot cut a torn record: \(String(cString: strerror(errno)))")
                }
                try sync(descriptor, path: path)
            }
            return CustomerKeyStore(
                directory: directory,
                path: path,
                descriptor: descriptor,
                end: Int64(validEnd),
                keys: keys,
                forgotten: forgotten
            )
        } catch {
            close(descriptor)
            throw error
        }
    }

    private init(
        directory: String,
        path: String,
        descriptor: Int32,
        end: Int64,
        keys: [String: SymmetricKey],
        forgotten: Set<String>
    ) {
        self.directory = directory
        self.path = path
        self.descriptor = descriptor
        self.end = end
        self.keys = keys
        self.forgotten = forgotten
    }

    deinit { close(descriptor) }

    /// Calls `record` for each whole record; returns where the valid records end.
    private static func parse(_ bytes: [UInt8], _ record: (UInt8, String, [UInt8]) -> Void) -> Int {
        var position = headerSize
        while position + 3 <= bytes.count {
            let kind = bytes[position]
            let length = Int(bytes[position + 1]) | Int(bytes[position + 2]) << 8
            guard kind == 1 || kind == 2, (1...256).contains(length) else { break }
            let keyLength = kind == 1 ? 32 : 0
            let total = 3 + length + keyLength + 4
            guard position + total <= bytes.count else { break }
            let crc = bytes.withUnsafeBytes { raw in
                eventcrm_crc32c(0, raw.baseAddress! + position, total - 4)
            }
            let stored = bytes[(position + total - 4)..<(position + total)].reversed().reduce(UInt32(0)) {
                $0 << 8 | UInt32($1)
            }
            guard crc == stored,
                let customer = String(validating: bytes[(position + 3)..<(position + 3 + length)], as: UTF8.self)
            else { break }
            record(kind, customer, Array(bytes[(position + 3 + length)..<(position + 3 + length + keyLength)]))
            position += total
        }
        return position
    }

    private static func encode(kind: UInt8, customer: String, key: SymmetricKey?) -> [UInt8] {
        var bytes: [UInt8] = [kind, UInt8(customer.utf8.count & 0xFF), UInt8(customer.utf8.count >> 8)]
        bytes.append(contentsOf: customer.utf8)
        if let key { key.withUnsafeBytes { bytes.append(contentsOf: $0) } }
        let crc = bytes.withUnsafeBytes { eventcrm_crc32c(0, $0.baseAddress!, $0.count) }
        withUnsafeBytes(of: crc.littleEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }

    private static func write(_ bytes: [UInt8], to descriptor: Int32, at position: Int64, path: String) throws(Failure)
    {
        let written = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, off_t(position)) }
        guard written == bytes.count else {
            throw Failure(file: path, reason: "write failed: \(String(cString: strerror(errno)))")
        }
    }

    private static func sync(_ descriptor: Int32, path: String) throws(Failure) {
        guard fsync(descriptor) == 0 else {
            throw Failure(file: path, reason: "fsync failed: \(String(cString: strerror(errno)))")
        }
    }

    private static func syncDirectory(_ directory: String) throws(Failure) {
        let descriptor = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw Failure(file: directory, reason: "cannot open the directory") }
        defer { close(descriptor) }
        try sync(descriptor, path: directory)
    }

    private func append(_ record: [UInt8]) throws(Failure) {
        try Self.write(record, to: descriptor, at: end, path: path)
        try Self.sync(descriptor, path: path)
        end += Int64(record.count)
    }

    private func locked<Result>(_ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// The customer's key, created (and synced to disk) on first use. Nil once the customer was forgotten.
    public func key(for customer: String) throws(Failure) -> SymmetricKey? {
        try locked { () throws(Failure) -> SymmetricKey? in
            if let key = keys[customer] { return key }
            if forgotten.contains(customer) { return nil }
            guard (1...256).contains(customer.utf8.count) else {
                throw Failure(file: path, reason: "customer ids are 1 to 256 bytes long")
            }
            let key = SymmetricKey(size: .bits256)
            try append(Self.encode(kind: 1, customer: customer, key: key))
            keys[customer] = key
            return key
        }
    }

    /// The customer's key if it exists, without creating one.
    public func existingKey(for customer: String) -> SymmetricKey? {
        lock.lock()
        defer { lock.unlock() }
        return keys[customer]
    }

    /// Whether the customer was forgotten.
    public func isForgotten(_ customer: String) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return forgotten.contains(customer)
    }

    /// Destroys the customer's key durably (docs/key-store.md, protocol step 3).
    public func forget(_ customer: String) throws(Failure) {
        try locked { () throws(Failure) in
            try append(Self.encode(kind: 2, customer: customer, key: nil))
            keys[customer] = nil
            forgotten.insert(customer)
            try compact()
        }
    }

    /// Rewrites the file with only the live keys and the forgotten list, so destroyed keys leave the live file.
    private func compact() throws(Failure) {
        var contents = Self.magic + [1, 0] + [UInt8](repeating: 0, count: 6)
        for (customer, key) in keys.sorted(by: { $0.key < $1.key }) {
            contents += Self.encode(kind: 1, customer: customer, key: key)
        }
        for customer in forgotten.sorted() { contents += Self.encode(kind: 2, customer: customer, key: nil) }
        let temporary = path + ".tmp"
        let file = Glibc.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard file >= 0 else {
            throw Failure(file: temporary, reason: "cannot create: \(String(cString: strerror(errno)))")
        }
        do throws(Failure) {
            try Self.write(contents, to: file, at: 0, path: temporary)
            try Self.sync(file, path: temporary)
        } catch {
            close(file)
            unlink(temporary)
            throw error
        }
        close(file)
        guard rename(temporary, path) == 0 else {
            throw Failure(file: path, reason: "cannot replace: \(String(cString: strerror(errno)))")
        }
        try Self.syncDirectory(directory)
        let reopened = Glibc.open(path, O_RDWR | O_CLOEXEC)
        guard reopened >= 0 else {
            throw Failure(file: path, reason: "cannot reopen: \(String(cString: strerror(errno)))")
        }
        close(descriptor)
        descriptor = reopened
        end = Int64(contents.count)
    }
}
