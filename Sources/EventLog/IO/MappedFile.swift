#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped into memory, for indexes that are looked up at random and should not live on the heap.
///
/// The pages belong to the operating system's cache: the process's own memory does not grow with the file.
package final class MappedFile: @unchecked Sendable {
    package let file: PosixFile
    /// The file's bytes; writable when the file was opened with `writable`.
    package let bytes: UnsafeMutableRawBufferPointer

    private init(file: PosixFile, bytes: UnsafeMutableRawBufferPointer) {
        self.file = file
        self.bytes = bytes
    }

    deinit {
        if let base = bytes.baseAddress { munmap(base, bytes.count) }
        file.close()
    }

    /// Maps `path`, after setting its size to `size` when one is given (the file is created when missing).
    package static func open(
        _ path: String,
        name: String,
        writable: Bool,
        size: Int64? = nil
    ) throws(EventLogError) -> MappedFile {
        let flags = writable ? O_RDWR | (size != nil ? O_CREAT : 0) : O_RDONLY
        let file = try PosixFile.open(path, name: name, flags: flags)
        do throws(EventLogError) {
            if let size { try file.truncate(to: size) }
            let length = Int(try file.size())
            guard length > 0 else { return MappedFile(file: file, bytes: .init(start: nil, count: 0)) }
            let protection = writable ? PROT_READ | PROT_WRITE : PROT_READ
            guard let base = mmap(nil, length, protection, MAP_SHARED, file.descriptor, 0), base != MAP_FAILED else {
                throw EventLogError(.ioFailure, "cannot map the file into memory", file: name, systemError: errno)
            }
            return MappedFile(file: file, bytes: UnsafeMutableRawBufferPointer(start: base, count: length))
        } catch {
            file.close()
            throw error
        }
    }

    /// Writes the changed pages of `range` (all by default) to disk and waits for them.
    package func sync(_ range: Range<Int>? = nil) throws(EventLogError) {
        guard let base = bytes.baseAddress else { return }
        let range = range ?? 0..<bytes.count
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = range.lowerBound / pageSize * pageSize
        guard msync(base + start, range.upperBound - start, MS_SYNC) == 0 else {
            throw EventLogError(.ioFailure, "cannot write mapped pages to disk", file: file.name, systemError: errno)
        }
    }

    /// Tells the system the pages will be read at random, so it does not read ahead.
    package func adviseRandomAccess() {
        guard let base = bytes.baseAddress else { return }
        madvise(base, bytes.count, MADV_RANDOM)
    }

    /// Asks the kernel to start reading `range` of the file now (it is about to be read): with random access
    /// advised, each page would otherwise be read from the disk on its own, when first touched. Asked for 2 MiB at
    /// a time: Linux reads ahead at most its read-ahead window per call (8 MiB on these machines), and drops the
    /// rest of a larger range.
    package func adviseWillNeed(_ range: Range<Int>) {
        guard let base = bytes.baseAddress, !range.isEmpty else { return }
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let end = min(bytes.count, range.upperBound)
        let step = 2 << 20
        for start in stride(from: range.lowerBound / pageSize * pageSize, to: end, by: step) {
            madvise(base + start, min(end - start, step), MADV_WILLNEED)
        }
    }

    /// Tells the kernel this mapping is done with the pages of `range` (`MADV_DONTNEED`; whole pages around it): they
    /// leave the process's resident memory and stay in the page cache (the mapping is shared, so nothing is lost),
    /// where a later read finds them. For a mapping read once from start to end (a restore's snapshot), whose pages
    /// otherwise stay counted with the process until it is unmapped.
    package func adviseDone(_ range: Range<Int>) {
        guard let base = bytes.baseAddress, !range.isEmpty else { return }
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = range.lowerBound / pageSize * pageSize
        let end = min(bytes.count, (range.upperBound + pageSize - 1) / pageSize * pageSize)
        madvise(base + start, end - start, MADV_DONTNEED)
    }

    /// Tells the kernel the mapping is about to be read whole, from start to end (read ahead, in large steps).
    package func adviseSequentialAccess() {
        guard let base = bytes.baseAddress else { return }
        madvise(base, bytes.count, MADV_SEQUENTIAL)
        madvise(base, bytes.count, MADV_WILLNEED)
    }
}
