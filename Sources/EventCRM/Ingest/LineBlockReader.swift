import EventLog

#if canImport(Glibc)
import Glibc
#endif

/// Reads a file or a pipe in blocks that end at a line end, numbering the lines.
final class LineBlockReader {
    /// A block of whole lines.
    struct Block: Sendable {
        /// The bytes of the lines, each ending in `\n` (the last may not, at the end of the input).
        let bytes: [UInt8]
        /// The number of the block's first line (1-based).
        let firstLine: Int
        /// The byte ranges of the lines, without the line end (`\n` or `\r\n`); found once, when the block is made.
        let lineRanges: [Range<Int>]

        init(bytes: [UInt8], firstLine: Int) {
            self.bytes = bytes
            self.firstLine = firstLine
            var ranges = [Range<Int>]()
            ranges.reserveCapacity(bytes.count / 100)
            bytes.withUnsafeBufferPointer { raw in
                var start = 0
                while start < raw.count {
                    var end = start
                    if let base = raw.baseAddress,
                        let found = memchr(base + start, 0x0A, raw.count - start)
                    {
                        end = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
                    } else {
                        end = raw.count
                    }
                    let next = end + 1
                    if end > start && raw[end - 1] == 0x0D { end -= 1 }
                    ranges.append(start..<end)
                    start = next
                }
            }
            lineRanges = ranges
        }
    }

    private let file: PosixFile
    private let closeWhenDone: Bool
    private let blockSize: Int
    private var carry: [UInt8] = []
    private var nextLine = 1
    private var finished = false
    private let scratch: UnsafeMutableRawBufferPointer
    /// Bytes read so far.
    private(set) var bytesRead: Int64 = 0
    /// The input's size when it is a regular file.
    let totalBytes: Int64?

    init(file: PosixFile, closeWhenDone: Bool, blockSize: Int = 4 << 20) {
        self.file = file
        self.closeWhenDone = closeWhenDone
        self.blockSize = blockSize
        self.scratch = .allocate(byteCount: blockSize, alignment: 16)
        var status = stat()
        totalBytes =
            fstat(file.descriptor, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG
            ? Int64(status.st_size) : nil
    }

    deinit {
        scratch.deallocate()
        if closeWhenDone { file.close() }
    }

    /// The next block, or nil at the end of the input.
    func next() throws(EventLogError) -> Block? {
        while !finished {
            let count = try fill(scratch)
            if count == 0 {
                finished = true
                break
            }
            bytesRead += Int64(count)
            let chunk = [UInt8](UnsafeRawBufferPointer(rebasing: scratch[0..<count]))
            guard let lastNewline = chunk.lastIndex(of: 0x0A) else {
                carry += chunk
                continue
            }
            var bytes = carry
            bytes += chunk[...lastNewline]
            carry = Array(chunk[(lastNewline + 1)...])
            return makeBlock(bytes)
        }
        guard !carry.isEmpty else { return nil }
        let bytes = carry
        carry = []
        return makeBlock(bytes)
    }

    private func makeBlock(_ bytes: [UInt8]) -> Block {
        let block = Block(bytes: bytes, firstLine: nextLine)
        nextLine += block.lineRanges.count
        return block
    }

    /// Reads until `buffer` is full or the input ends (a pipe returns less than asked at each read).
    private func fill(_ buffer: UnsafeMutableRawBufferPointer) throws(EventLogError) -> Int {
        var done = 0
        while done < buffer.count {
            let count = read(file.descriptor, buffer.baseAddress! + done, buffer.count - done)
            if count == 0 { break }
            if count > 0 {
                done += count
                continue
            }
            if errno == EINTR { continue }
            throw EventLogError(.ioFailure, "cannot read the input", file: file.name, systemError: errno)
        }
        return done
    }
}
