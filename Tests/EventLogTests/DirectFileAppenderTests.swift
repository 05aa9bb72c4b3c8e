import Foundation
import Testing
import _EventLogTestSupport

@testable import EventLog

@Suite("Writing around the page cache")
struct DirectFileAppenderTests {
    /// Appends `total` random bytes in pieces of random sizes (some empty, some larger than the buffer) through a
    /// buffer of three blocks of `alignment`; returns the bytes appended, the file's, and how many were written
    /// directly.
    private func appendRandomPieces(
        in directory: String,
        total: Int,
        seed: UInt64,
        alignment: Int = DirectFileAppender.alignment
    ) throws -> (expected: [UInt8], file: [UInt8], directlyWritten: Int64) {
        var random = SplitMix64(seed: seed)
        let expected = (0..<total).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        let path = directory + "/appended"
        let file = try PosixFile.open(path, name: "appended", flags: O_WRONLY | O_CREAT | O_TRUNC)
        defer { file.close() }
        let appender = DirectFileAppender(file: file, bufferBytes: 3 * alignment, alignment: alignment)
        var start = 0
        while start < total {
            let count = min(total - start, Int(random.next() % UInt64(5 * alignment)))
            try expected[start..<start + count].withUnsafeBytes { try appender.append($0) }
            start += count
            #expect(appender.count == Int64(start))
        }
        try appender.finish()
        try file.syncAll()
        #expect(appender.directlyWritten % Int64(alignment) == 0 && appender.directlyWritten <= Int64(total))
        return (expected, Files.read(path), appender.directlyWritten)
    }

    @Test(
        "The file holds exactly the bytes appended, whatever the pieces and the length",
        arguments: [0, 1, 4095, 4096, 4097, 12_288, 100_000, 1 << 20]
    )
    func roundTrip(total: Int) throws {
        let directory = TemporaryDirectory("direct")
        let written = try appendRandomPieces(in: directory.path, total: total, seed: UInt64(total) + 7)
        #expect(written.file.count == total)
        #expect(written.file == written.expected)
    }

    @Test("Where direct writes are refused, the same bytes go through the page cache")
    func refusedFallsBack() throws {
        let directory = TemporaryDirectory("direct")
        // Writes of 300 bytes are not a whole number of any disk's blocks: a disk file system refuses them
        // directly (EINVAL) and the appender writes them through the page cache (tmpfs may take them directly).
        let written = try appendRandomPieces(in: directory.path, total: 50_000, seed: 11, alignment: 100)
        #expect(written.file == written.expected)
    }

    @Test("A failed write is reported with the file's name")
    func failureNamesTheFile() throws {
        let directory = TemporaryDirectory("direct")
        let path = directory.path("read-only")
        Files.write(path, [])
        // Opened for reading only: every write fails with EBADF, direct or not.
        let file = try PosixFile.open(path, name: "read-only", flags: O_RDONLY)
        defer { file.close() }
        let appender = DirectFileAppender(file: file, bufferBytes: DirectFileAppender.alignment)
        let bytes = [UInt8](repeating: 1, count: 3 * DirectFileAppender.alignment)
        let error = #expect(throws: EventLogError.self) {
            try bytes.withUnsafeBytes { try appender.append($0) }
        }
        #expect(error?.description.contains("read-only") == true)
    }
}
