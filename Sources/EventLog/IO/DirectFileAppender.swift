#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a new file from start to end around the page cache (Linux's `O_DIRECT`), for files of hundreds of
/// megabytes written once and read back rarely: snapshots.
///
/// Written through the page cache, each byte was copied by the kernel into pages it first had to find and map:
/// on these machines about 0.4 GB/s of one core, against 2 GB/s for the disk written directly, and the pages pushed
/// out of the cache what the service reads (the log). Direct writes need their memory, their position in the file
/// and their length aligned to the disk's block, so the bytes are gathered in an aligned buffer and written a
/// whole buffer at a time; ``finish()`` writes what remains, the last part of a block through the page cache.
///
/// Where the file system refuses direct writes (tmpfs, some network file systems, another block size), the
/// appender writes the same buffers through the page cache instead: the file's bytes are the same either way, and
/// the caller syncs the file as before (a direct write is not durable until the file is synced either).
package final class DirectFileAppender {
    /// Alignment of direct writes: 4 KiB covers disks of 512-byte and of 4 KiB blocks.
    package static let alignment = 4096

    private let file: PosixFile
    /// What the lengths and positions of direct writes are multiples of.
    private let alignment: Int
    /// Aligned, a multiple of ``alignment`` long.
    private let buffer: UnsafeMutableRawBufferPointer
    private var buffered = 0
    /// Where the buffer's first byte goes in the file: aligned while writing directly.
    private var position: Int64 = 0
    /// Whether the descriptor has `O_DIRECT` set.
    private var isDirect: Bool
    /// The bytes written around the page cache so far.
    package private(set) var directlyWritten: Int64 = 0

    /// An appender to `file`, new and empty, through a buffer of `bufferBytes` (rounded up to `alignment`).
    /// `alignment` other than ``alignment`` is for tests, which make the kernel refuse direct writes with it.
    package init(file: PosixFile, bufferBytes: Int = 8 << 20, alignment: Int = DirectFileAppender.alignment) {
        self.file = file
        self.alignment = alignment
        let size = (max(bufferBytes, 1) + alignment - 1) / alignment * alignment
        buffer = .allocate(byteCount: size, alignment: Self.alignment)
        isDirect = Self.setDirect(true, on: file.descriptor)
    }

    deinit { buffer.deallocate() }

    /// The bytes appended so far.
    package var count: Int64 { position + Int64(buffered) }

    /// Appends `bytes`; a full buffer is written at once.
    package func append(_ bytes: UnsafeRawBufferPointer) throws(EventLogError) {
        buffered = try fill(buffer, holding: buffered, with: bytes) { () throws(EventLogError) -> Int in
            buffered = buffer.count
            try writeBuffered(count: buffered)
            return buffered
        }
    }

    /// Writes what is still buffered: the whole blocks directly, the rest through the page cache. The file is then
    /// complete but not yet durable: the caller syncs it.
    package func finish() throws(EventLogError) {
        let whole = buffered / alignment * alignment
        if whole > 0 { try writeBuffered(count: whole) }
        if buffered > 0 {
            if isDirect { isDirect = !Self.setDirect(false, on: file.descriptor) }
            try writeBuffered(count: buffered)
        }
    }

    /// Writes the buffer's first `count` bytes at ``position`` and moves what follows them to its start.
    private func writeBuffered(count: Int) throws(EventLogError) {
        let bytes = UnsafeRawBufferPointer(rebasing: buffer[..<count])
        if isDirect, count % alignment == 0 {
            if try writeDirectly(bytes) {
                directlyWritten += Int64(count)
                advance(by: count)
                return
            }
            // Refused (EINVAL: the file system or its block size does not allow it): through the page cache from
            // here on, starting again with the same bytes.
            isDirect = !Self.setDirect(false, on: file.descriptor)
        }
        try file.write(bytes, at: position)
        file.startWriteback(from: position, count: count)
        advance(by: count)
    }

    /// One direct write of all of `bytes`; false when the kernel refuses direct writes here.
    private func writeDirectly(_ bytes: UnsafeRawBufferPointer) throws(EventLogError) -> Bool {
        while true {
            let written = pwrite(file.descriptor, bytes.baseAddress, bytes.count, off_t(position))
            if written == bytes.count { return true }
            if written >= 0 {
                // A short direct write (the disk is full, say) leaves an unaligned rest: write it all again
                // through the page cache, which reports the real error if there is one.
                return false
            }
            if errno == EINTR { continue }
            if errno == EINVAL { return false }
            throw EventLogError(
                .ioFailure,
                "write of \(bytes.count) bytes failed",
                file: file.name,
                position: position,
                systemError: errno
            )
        }
    }

    private func advance(by count: Int) {
        position += Int64(count)
        let rest = buffered - count
        if rest > 0 {
            UnsafeMutableRawBufferPointer(rebasing: buffer[..<rest])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[count..<buffered]))
        }
        buffered = rest
    }

    /// Sets or clears `O_DIRECT` on `descriptor`; whether that succeeded.
    private static func setDirect(_ direct: Bool, on descriptor: Int32) -> Bool {
        guard let flag = directFlag else { return false }
        let flags = fcntl(descriptor, F_GETFL)
        guard flags >= 0 else { return false }
        return fcntl(descriptor, F_SETFL, direct ? flags | flag : flags & ~flag) == 0
    }

    /// `O_DIRECT`, which the Glibc module leaves out (<fcntl.h> defines it only under _GNU_SOURCE); its value
    /// depends on the architecture. Nil where direct writes are not used.
    private static var directFlag: Int32? {
        #if os(Linux) && arch(x86_64)
        return 0o40000
        #elseif os(Linux) && arch(arm64)
        return 0o200000
        #else
        return nil
        #endif
    }
}
