#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The log directory: file names, listing, and crash-safe file replacement (docs/on-disk-format.md, 1 and 7).
package struct LogDirectory: Sendable {
    package let path: String

    package init(path: String) {
        self.path = path
    }

    static func segmentName(_ baseOffset: Int64) -> String {
        paddedOffset(baseOffset) + ".log"
    }

    /// An offset as 20 digits, so that file names sort in offset order.
    package static func paddedOffset(_ offset: Int64) -> String {
        let digits = String(offset)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }

    static func indexName(_ baseOffset: Int64, _ kind: IndexFile.Kind) -> String {
        let segment = segmentName(baseOffset)
        return segment.dropLast(3) + kind.fileExtension
    }

    package func path(of name: String) -> String { path + "/" + name }

    /// Opens the segment file of `baseOffset` (read-only unless `flags` say otherwise).
    func openSegment(_ baseOffset: Int64, flags: Int32 = O_RDONLY) throws(EventLogError) -> PosixFile {
        let name = Self.segmentName(baseOffset)
        return try PosixFile.open(path(of: name), name: name, flags: flags)
    }

    /// Creates the directory (owner-only) when it does not exist.
    package func create() throws(EventLogError) {
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw EventLogError(.ioFailure, "cannot create the log directory", file: path, systemError: errno)
        }
    }

    package func names() throws(EventLogError) -> [String] {
        guard let stream = opendir(path) else {
            throw EventLogError(.ioFailure, "cannot list the log directory", file: path, systemError: errno)
        }
        defer { closedir(stream) }
        var names = [String]()
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// The base offsets of the segments, ascending.
    func segmentBaseOffsets() throws(EventLogError) -> [Int64] {
        try names().compactMap { name -> Int64? in
            guard name.utf8.count == 24, name.hasSuffix(".log") else { return nil }
            let digits = name.prefix(20)
            guard digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
            return Int64(digits)
        }.sorted()
    }

    package func removeTemporaryFiles() throws(EventLogError) {
        for name in try names() where name.hasSuffix(".tmp") {
            unlink(path(of: name))
        }
    }

    package func remove(_ name: String) {
        unlink(path(of: name))
    }

    func sync() throws(EventLogError) {
        let directory = try PosixFile.open(path, name: ".", flags: O_RDONLY | O_DIRECTORY)
        defer { directory.close() }
        try directory.syncAll()
    }

    /// Replaces `name` with `bytes` so that a crash leaves the old file or the new one: write `name.tmp`, fsync it,
    /// rename it over `name`, fsync the directory. With `durable: false` nothing is fsynced (for hint files).
    package func replaceFile(_ name: String, with bytes: [UInt8], durable: Bool = true) throws(EventLogError) {
        try replaceFile(name, durable: durable) { file throws(EventLogError) in try file.write(bytes, at: 0) }
    }

    /// Replaces `name` crash-safely like ``replaceFile(_:with:durable:)``, with the contents that `write` writes
    /// into the new file (for files too large to build in memory first).
    package func replaceFile(
        _ name: String,
        durable: Bool = true,
        writing write: (PosixFile) throws(EventLogError) -> Void
    ) throws(EventLogError) {
        let temporary = name + ".tmp"
        let file = try PosixFile.open(path(of: temporary), name: temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
        do throws(EventLogError) {
            try write(file)
            if durable { try file.syncAll() }
            file.close()
        } catch {
            file.close()
            remove(temporary)
            throw error
        }
        guard rename(path(of: temporary), path(of: name)) == 0 else {
            let code = errno
            remove(temporary)
            throw EventLogError(.ioFailure, "cannot rename \(temporary)", file: name, systemError: code)
        }
        if durable { try sync() }
    }

    /// Reads a whole file; nil when it does not exist.
    package func readFile(_ name: String) throws(EventLogError) -> [UInt8]? {
        let descriptor = Glibc.open(path(of: name), O_RDONLY | O_CLOEXEC)
        if descriptor < 0 {
            if errno == ENOENT { return nil }
            throw EventLogError(.ioFailure, "cannot open", file: name, systemError: errno)
        }
        let file = PosixFile(descriptor: descriptor, name: name)
        defer { file.close() }
        return try file.read(count: Int(try file.size()), at: 0)
    }
}
