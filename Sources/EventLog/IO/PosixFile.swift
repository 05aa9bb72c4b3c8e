import Locking

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An open file descriptor with the few blocking calls the log needs; every failure becomes an
/// ``EventLogError`` naming the file. Not thread-safe by itself: `pread`/`pwrite` take positions, so
/// concurrent readers of one descriptor are fine, and only the writer thread writes.
package struct PosixFile: Sendable {
    package let descriptor: Int32
    /// The name used in errors (the file name inside the log directory).
    package let name: String

    /// Wraps a descriptor that is already open (closing it is the caller's business).
    package init(descriptor: Int32, name: String) {
        self.descriptor = descriptor
        self.name = name
    }

    package static func open(
        _ path: String,
        name: String,
        flags: Int32,
        mode: UInt32 = 0o600
    ) throws(EventLogError)
        -> PosixFile
    {
        let descriptor = Glibc.open(path, flags | O_CLOEXEC, mode_t(mode))
        guard descriptor >= 0 else {
            throw EventLogError(.ioFailure, "cannot open", file: name, systemError: errno)
        }
        return PosixFile(descriptor: descriptor, name: name)
    }

    package func close() {
        _ = Glibc.close(descriptor)
    }

    /// Reads until `buffer` is full or the file ends; returns the number of bytes read.
    package func read(into buffer: UnsafeMutableRawBufferPointer, at position: Int64) throws(EventLogError) -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        var done = 0
        while done < buffer.count {
            let count = pread(descriptor, base + done, buffer.count - done, off_t(position) + off_t(done))
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw EventLogError(.ioFailure, "read failed", file: name, position: position, systemError: errno)
            }
            done += count
        }
        return done
    }

    /// Reads `count` bytes at `position`, fewer when the file ends first.
    package func read(count: Int, at position: Int64) throws(EventLogError) -> [UInt8] {
        var failure: EventLogError?
        let bytes = [UInt8](filledInPlace: count) { buffer, initialized in
            do throws(EventLogError) {
                initialized = try read(into: UnsafeMutableRawBufferPointer(buffer), at: position)
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return bytes
    }

    /// Writes all of `bytes` at `position`.
    package func write(_ bytes: UnsafeRawBufferPointer, at position: Int64) throws(EventLogError) {
        guard let base = bytes.baseAddress else { return }
        var done = 0
        while done < bytes.count {
            let count = pwrite(descriptor, base + done, bytes.count - done, off_t(position) + off_t(done))
            if count < 0 {
                if errno == EINTR { continue }
                throw EventLogError(
                    .ioFailure,
                    "write of \(bytes.count) bytes failed",
                    file: name,
                    position: position + Int64(done),
                    systemError: errno
                )
            }
            done += count
        }
    }

    package func write(_ bytes: [UInt8], at position: Int64) throws(EventLogError) {
        var failure: EventLogError?
        bytes.withUnsafeBytes { raw in
            do throws(EventLogError) { try write(raw, at: position) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Flushes the file's data (and the metadata needed to read it) to stable storage.
    package func syncData() throws(EventLogError) {
        while fdatasync(descriptor) != 0 {
            if errno == EINTR { continue }
            throw EventLogError(.ioFailure, "fdatasync failed", file: name, systemError: errno)
        }
    }

    /// Asks the kernel to start writing `count` bytes from `position` to the disk now, without waiting for it
    /// (Linux's `sync_file_range` with `SYNC_FILE_RANGE_WRITE`): a large file written piece by piece is then mostly
    /// on the disk by the time it is synced, instead of all of it waiting for the final sync. A hint: it makes
    /// nothing durable (``syncData()`` and ``syncAll()`` do), and where it is missing or fails nothing happens.
    package func startWriteback(from position: Int64, count: Int) {
        #if os(Linux)
        guard let start = Self.syncFileRange else { return }
        _ = start(descriptor, position, Int64(count), 2)  // SYNC_FILE_RANGE_WRITE in <fcntl.h>
        #endif
    }

    #if os(Linux)
    /// `sync_file_range`, looked up once: <fcntl.h> declares it only under _GNU_SOURCE, which the Glibc module is
    /// not built with.
    private static let syncFileRange: (@convention(c) (Int32, Int64, Int64, UInt32) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sync_file_range") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32, Int64, Int64, UInt32) -> Int32).self)
    }()
    #endif

    /// Flushes data and all metadata (used for directories and new files).
    package func syncAll() throws(EventLogError) {
        while fsync(descriptor) != 0 {
            if errno == EINTR { continue }
            throw EventLogError(.ioFailure, "fsync failed", file: name, systemError: errno)
        }
    }

    package func truncate(to length: Int64) throws(EventLogError) {
        while ftruncate(descriptor, off_t(length)) != 0 {
            if errno == EINTR { continue }
            throw EventLogError(.ioFailure, "truncate failed", file: name, position: length, systemError: errno)
        }
    }

    package func size() throws(EventLogError) -> Int64 {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw EventLogError(.ioFailure, "fstat failed", file: name, systemError: errno)
        }
        return Int64(status.st_size)
    }

    /// The device and inode of the open file: another file is now at a path when it differs from the identity of
    /// what was opened there (a rename replaced it).
    package func identity() throws(EventLogError) -> FileIdentity {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw EventLogError(.ioFailure, "fstat failed", file: name, systemError: errno)
        }
        return FileIdentity(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
    }

    /// Takes an exclusive advisory lock without waiting; false when someone else holds it.
    func tryLockExclusive() throws(EventLogError) -> Bool {
        if flock(descriptor, LOCK_EX | LOCK_NB) == 0 { return true }
        if errno == EWOULDBLOCK { return false }
        throw EventLogError(.ioFailure, "flock failed", file: name, systemError: errno)
    }
}

/// Which file a descriptor has open, whatever its path is now.
package struct FileIdentity: Equatable, Sendable {
    package var device: UInt64
    package var inode: UInt64
}
