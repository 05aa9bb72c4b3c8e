import CRMModel
import CRMProjections
import Dispatch
import EventLog
import Locking
import Synchronization

/// The bytes of one snapshot file (docs/projections.md, section 4): a header, the state's canonical bytes in blocks
/// of at most 1 MiB, each LZ4-compressed and checksummed on its own so that both cores compress, check and
/// decompress them, then the block table and a checksummed trailer, which a writer knows only once the whole state
/// has streamed by.
enum SnapshotFile {
    static let magic = Array("EVCRMSNP".utf8)
    static let formatVersion: UInt16 = 4
    /// Uncompressed bytes no block exceeds: what bytes taken as they are are cut into (a block before prepared
    /// bytes, and the last one, hold the rest).
    static let blockSize = 1 << 20
    /// The bytes of one block's entry in the block table: stored length, uncompressed length, CRC.
    static let tableEntryCount = 12
    /// Set in a block's stored length when the block is stored as it is (LZ4 did not make it smaller).
    static let storedUncompressed: UInt32 = 1 << 31
    /// LZ4's acceleration for blocks: a state's varints compress to about 60 % of their size, and on the 1M-customer
    /// state 2 compressed in 0.80 to 0.86 s on one core where 1 took 1.08 to 1.62 s, for a file 4 % larger
    /// (docs/projections.md, section 4). Decompressing is the same either way.
    static let compressionAcceleration: Int32 = 2
    /// The fixed part of the header, before the projection's name.
    static let fixedHeaderCount = 38
    /// The trailer: the state's byte count, the block count and the CRC.
    static let trailerCount = 16

    /// What a file holds, once read.
    enum Contents {
        /// The state's canonical bytes.
        case state([UInt8])
        /// A snapshot in another format version (older or newer than this build): not loaded, left alone.
        case otherFormat(UInt16)
        /// Not a whole snapshot of the projection asked for: the reason.
        case damaged(String)
    }

    /// Blocks compressed together, one round after another, into buffers reused from round to round.
    static let blocksPerRound = 8

    /// Writes a snapshot file as the state's bytes arrive (a ``BinaryWriter`` streams into it): the header first,
    /// then the blocks, compressed and checksummed into buffers the writer lends, as pieces handed in order to a
    /// writing queue, which appends them while the next bytes are serialized; ``finish()`` writes the last blocks,
    /// the block table and the trailer. Bytes serialized on every core (the chunks of a large map) are compressed
    /// where they were serialized, by ``prepare(_:)``, and queued by ``take(prepared:)``; bytes taken as they are
    /// wait in `pending` until a round of ``blocksPerRound`` blocks is full, then are compressed on every core, a
    /// piece per core. Every buffer is reused, so a state of hundreds of megabytes
    /// costs a few of them, not its size (as the state and then its blocks, which touched as much new memory as the
    /// state, page fault by page fault).
    ///
    /// A failed write is kept and thrown by ``finish()``; nothing is written after it. Used from one thread.
    final class Writer: BinaryStreamSink, @unchecked Sendable {
        typealias Write = (UnsafeRawBufferPointer, _ at: Int64) throws(EventLogError) -> Void

        private let write: Write
        /// The header's bytes, which the trailer's CRC covers with the table.
        private let header: [UInt8]
        /// Where the next stored bytes go in the file (the writing queue's).
        private var position: Int64 = 0
        /// Uncompressed bytes waiting for their round: `blocksPerRound` blocks.
        private let pending: UnsafeMutableRawBufferPointer
        private var pendingCount = 0
        /// The room for one block in a buffer lent to ``prepare(_:)``.
        private static let storedCapacity = LZ4.compressBound(SnapshotFile.blockSize)
        private var table = [BlockEntry]()
        /// Buffers lent to ``prepare(_:)`` and given back once their piece is written.
        private let lent = LentBuffers()
        /// Prepared pieces queued and not yet written: a serializing thread that gets ahead of the disk waits for
        /// them (each holds a buffer) instead of lending more buffers.
        private let piecesInFlight = DispatchSemaphore(value: Writer.largestPiecesInFlight)
        private static let largestPiecesInFlight = 4
        private let piecesWritten = DispatchGroup()
        private var stateCount = 0
        /// The first failed write (the writing queue's; read after ``waitForWrites()``).
        private var failure: EventLogError?
        /// Appends stored rounds to the file, one after another, while the caller serializes the next round: a
        /// write copies into the page cache on one core, which the serializing cores would otherwise wait for.
        private let writing = DispatchQueue(label: "snapshot-writer")

        /// A writer of the snapshot of `projection` at `version` after the events before `offset`; writes the
        /// header at once.
        init(projection: String, version: UInt32, offset: Int64, write: @escaping Write) {
            self.write = write
            var header = magic
            header.appendLE(formatVersion)
            header += [UInt8](repeating: 0, count: 6)
            header.appendLE(version)
            header.appendLE(UInt32(0))
            header.appendLE(offset)
            header.appendLE(UInt32(blockSize))
            header.appendLE(UInt16(projection.utf8.count))
            header += projection.utf8
            self.header = header
            pending = .allocate(byteCount: blocksPerRound * blockSize, alignment: 64)
            header.withUnsafeBytes { store($0) }
        }

        deinit {
            waitForWrites()
            pending.deallocate()
        }

        func take(_ bytes: UnsafeRawBufferPointer) {
            stateCount += bytes.count
            pendingCount = fill(pending, holding: pendingCount, with: bytes) {
                pendingCount = pending.count
                writeRound()
                return pendingCount
            }
        }

        /// Writes what is pending, the block table and the trailer; throws the first failed write.
        func finish() throws(EventLogError) {
            writeRound()
            var tail = [UInt8]()
            tail.reserveCapacity(table.count * tableEntryCount + trailerCount)
            for block in table {
                tail.appendLE(block.stored)
                tail.appendLE(block.uncompressed)
                tail.appendLE(block.crc)
            }
            tail.appendLE(UInt64(stateCount))
            tail.appendLE(UInt32(table.count))
            tail.appendLE(tail.withUnsafeBytes { CRC32C.checksum($0, continuing: CRC32C.checksum(header)) })
            waitForWrites()
            tail.withUnsafeBytes { store($0) }
            if let failure { throw failure }
        }

        /// Compresses and checksums the pending blocks on every core, as pieces of ``blocksPerPiece`` blocks
        /// (``compress(_:)``), queues them in order and empties `pending`, which the pieces no longer read.
        private func writeRound() {
            guard pendingCount > 0 else { return }
            let perPiece = Self.blocksPerPiece * blockSize
            let pieces = (pendingCount + perPiece - 1) / perPiece
            nonisolated(unsafe) let input = UnsafeRawBufferPointer(rebasing: pending[..<pendingCount])
            let compressed = concurrentMap(pieces, parallel: pieces > 1) { [self] index in
                compress(
                    UnsafeRawBufferPointer(rebasing: input[index * perPiece..<min(input.count, (index + 1) * perPiece)])
                )
            }
            pendingCount = 0
            for piece in compressed { queue(piece) }
        }

        /// The blocks of a round compressed together by one core: a full round is one piece per core on two.
        private static let blocksPerPiece = blocksPerRound / 2

        /// Cuts `bytes` into blocks and compresses and checksums them into a buffer lent by the writer, on the
        /// calling thread (any thread, several at once).
        func prepare(_ bytes: UnsafeRawBufferPointer) -> (any PreparedStreamBytes)? {
            compress(bytes)
        }

        /// ``prepare(_:)``, typed.
        private func compress(_ bytes: UnsafeRawBufferPointer) -> CompressedPiece {
            let blocks = (bytes.count + blockSize - 1) / blockSize
            let buffer = lent.lend(atLeast: blocks * Self.storedCapacity)
            var entries = [BlockEntry]()
            entries.reserveCapacity(blocks)
            var used = 0
            for index in 0..<blocks {
                let block = UnsafeRawBufferPointer(rebasing: bytes[range(of: index, in: bytes.count)])
                let entry = pack(block, into: UnsafeMutableRawBufferPointer(rebasing: buffer[used...]))
                entries.append(entry)
                used += entry.storedCount
            }
            return CompressedPiece(buffer: buffer, entries: entries, lender: lent)
        }

        /// Queues a piece ``prepare(_:)`` compressed, after the bytes taken before it (those pending are cut into
        /// blocks first, the last one short).
        func take(prepared: any PreparedStreamBytes) {
            guard let piece = prepared as? CompressedPiece, piece.lender === lent else {
                preconditionFailure("a snapshot writer takes only the pieces it prepared")
            }
            stateCount += piece.entries.reduce(0) { $0 + Int($1.uncompressed) }
            writeRound()
            queue(piece)
        }

        /// Hands `piece` to the writing queue, after every piece before it; waits while
        /// ``largestPiecesInFlight`` are queued and not yet written.
        private func queue(_ piece: CompressedPiece) {
            table += piece.entries
            piecesInFlight.wait()
            writing.async(group: piecesWritten) { [self] in
                var start = 0
                for entry in piece.entries {
                    store(UnsafeRawBufferPointer(rebasing: piece.buffer[start..<start + entry.storedCount]))
                    start += entry.storedCount
                }
                piecesInFlight.signal()
            }
        }

        /// Waits until every piece handed to the writing queue is written.
        private func waitForWrites() {
            piecesWritten.wait()
        }

        /// Appends `bytes` to the file, unless a write failed before. On the writing queue, or with it idle.
        private func store(_ bytes: UnsafeRawBufferPointer) {
            guard failure == nil else { return }
            do {
                try write(bytes, position)
                position += Int64(bytes.count)
            } catch {
                failure = error
            }
        }
    }

    /// A block's entry in the block table.
    struct BlockEntry: Sendable {
        /// The stored byte count, with ``SnapshotFile/storedUncompressed`` set when stored as it is.
        var stored: UInt32
        var uncompressed: UInt32
        /// CRC32C of the stored bytes.
        var crc: UInt32

        var storedCount: Int { Int(stored & ~SnapshotFile.storedUncompressed) }
    }

    /// Compresses `block` into the start of `target` (room for ``LZ4/compressBound(_:)`` of it), or copies it there
    /// when LZ4 does not make it smaller, and checksums what is stored: ``unpack(_:of:layout:into:)`` undoes it.
    private static func pack(_ block: UnsafeRawBufferPointer, into target: UnsafeMutableRawBufferPointer) -> BlockEntry
    {
        let length = LZ4.compress(block, into: target, acceleration: compressionAcceleration)
        if length == 0 || length >= block.count {
            UnsafeMutableRawBufferPointer(rebasing: target[..<block.count]).copyMemory(from: block)
            return BlockEntry(
                stored: UInt32(block.count) | storedUncompressed,
                uncompressed: UInt32(block.count),
                crc: CRC32C.checksum(block)
            )
        }
        return BlockEntry(
            stored: UInt32(length),
            uncompressed: UInt32(block.count),
            crc: CRC32C.checksum(UnsafeRawBufferPointer(rebasing: target[..<length]))
        )
    }

    /// Blocks ``Writer/prepare(_:)`` stored in a lent buffer, which goes back to its lender when the piece is gone
    /// (written, or dropped).
    private final class CompressedPiece: PreparedStreamBytes, @unchecked Sendable {
        // Written once by the thread that prepared the piece, then only read.
        let buffer: UnsafeMutableRawBufferPointer
        /// The blocks' entries, in order; their stored bytes follow one another from the buffer's start.
        let entries: [BlockEntry]
        let lender: LentBuffers

        init(buffer: UnsafeMutableRawBufferPointer, entries: [BlockEntry], lender: LentBuffers) {
            self.buffer = buffer
            self.entries = entries
            self.lender = lender
        }

        deinit { lender.giveBack(buffer) }
    }

    /// The buffers a writer lends to the threads that compress pieces, kept once given back: a save touches the
    /// pages of a few buffers, not a new buffer's per chunk. Freed with the last piece or writer holding them.
    private final class LentBuffers: Sendable {
        private let spare = Locked([UnsafeMutableRawBufferPointer]())

        deinit { spare.withLock { buffers in for buffer in buffers { buffer.deallocate() } } }

        /// The smallest spare buffer of at least `count` bytes, or a new one (replacing the largest spare, too small):
        /// reads of two sizes at once on every core (a restore's chunk of profiles and its chunk of memberships) each
        /// find a buffer of their size again instead of taking the other's.
        func lend(atLeast count: Int) -> UnsafeMutableRawBufferPointer {
            let (fitting, tooSmall) = spare.withLock { buffers in
                let fits = buffers.indices.filter { buffers[$0].count >= count }
                if let best = fits.min(by: { buffers[$0].count < buffers[$1].count }) {
                    return (Optional(buffers.remove(at: best)), UnsafeMutableRawBufferPointer?.none)
                }
                let largest = buffers.indices.max(by: { buffers[$0].count < buffers[$1].count })
                return (nil, largest.map { buffers.remove(at: $0) })
            }
            if let fitting { return fitting }
            tooSmall?.deallocate()
            return .allocate(byteCount: max(count, 1), alignment: 64)
        }

        func giveBack(_ buffer: UnsafeMutableRawBufferPointer) {
            spare.withLock { $0.append(buffer) }
        }
    }

    /// Writes the file for `state`, already in memory, through `write` (bytes, and where in the file they go).
    static func write(
        state: [UInt8],
        projection: String,
        version: UInt32,
        offset: Int64,
        to write: @escaping Writer.Write
    ) throws(EventLogError) {
        let writer = Writer(projection: projection, version: version, offset: offset, write: write)
        state.withUnsafeBytes { writer.take($0) }
        try writer.finish()
    }

    /// The uncompressed bytes of `block` in a state of `count` bytes.
    private static func range(of block: Int, in count: Int) -> Range<Int> {
        block * blockSize..<min(count, (block + 1) * blockSize)
    }

    /// The whole file for `state`, in memory (for tests and small states).
    static func encode(state: [UInt8], projection: String, version: UInt32, offset: Int64) -> [UInt8] {
        var file = [UInt8]()
        try! write(state: state, projection: projection, version: version, offset: offset) { bytes, at in
            precondition(Int(at) == file.count, "a snapshot is written from start to end")
            file += bytes
        }
        return file
    }

    /// A file's header and block table, checked against each other and against the file's length.
    struct Layout {
        /// The state's uncompressed byte count.
        var stateCount: Int
        /// Where the block table starts.
        var tableStart: Int
        /// Where each block's stored bytes start, and one more: where the last one ends.
        var blockStarts: [Int]
        /// Where each block's bytes start in the state, and one more: the state's byte count.
        var stateStarts: [Int]

        var blockCount: Int { blockStarts.count - 1 }

        /// The uncompressed bytes of `block` within the state.
        func range(of block: Int) -> Range<Int> { stateStarts[block]..<stateStarts[block + 1] }

        /// The blocks holding the state's bytes `range` (not empty).
        func blocks(holding range: Range<Int>) -> ClosedRange<Int> {
            block(holding: range.lowerBound)...block(holding: range.upperBound - 1)
        }

        /// The block holding the state's byte at `position`.
        private func block(holding position: Int) -> Int {
            // The last start at or before `position`.
            var (low, high) = (0, blockCount - 1)
            while low < high {
                let middle = (low + high + 1) / 2
                if stateStarts[middle] <= position { low = middle } else { high = middle - 1 }
            }
            return low
        }
    }

    /// Why a file is not read.
    enum Rejection: Error {
        /// Another format version (older or newer than this build).
        case otherFormat(UInt16)
        /// Not a whole snapshot of the projection asked for: the reason.
        case damaged(String)

        var contents: Contents {
            switch self {
            case .otherFormat(let format): .otherFormat(format)
            case .damaged(let reason): .damaged(reason)
            }
        }
    }

    /// The layout of `raw`, a file expected to hold `projection` at `version` after the events before `offset`.
    static func layout(
        of raw: UnsafeRawBufferPointer,
        projection: String,
        version: UInt32,
        offset: Int64
    ) -> Result<Layout, Rejection> {
        guard raw.count >= fixedHeaderCount, Array(raw[0..<8]) == magic else {
            return .failure(.damaged("not a snapshot file"))
        }
        let format = raw.le(8, as: UInt16.self)
        guard format == formatVersion else { return .failure(.otherFormat(format)) }
        let dataStart = fixedHeaderCount + Int(raw.le(36, as: UInt16.self))
        guard raw.count >= dataStart + trailerCount else {
            return .failure(.damaged("it is \(raw.count) bytes long, too short for its header and trailer"))
        }
        // The trailer first: its block count places the table, which ends where the trailer starts.
        let trailerStart = raw.count - trailerCount
        let blockCount = Int(raw.le(trailerStart + 8, as: UInt32.self))
        let tableStart = trailerStart - tableEntryCount * blockCount
        guard tableStart >= dataStart else {
            return .failure(.damaged("its trailer lists \(blockCount) blocks, more than the file holds"))
        }
        let crc = CRC32C.checksum(
            UnsafeRawBufferPointer(rebasing: raw[tableStart..<raw.count - 4]),
            continuing: CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<dataStart]))
        )
        guard crc == raw.le(raw.count - 4, as: UInt32.self) else {
            return .failure(.damaged("its header, block table or trailer does not match its checksum"))
        }
        guard raw.le(16, as: UInt32.self) == version, raw.le(24, as: Int64.self) == offset,
            String(decoding: raw[fixedHeaderCount..<dataStart], as: UTF8.self) == projection
        else { return .failure(.damaged("its header names another projection, version or offset than its file name")) }
        let stateCount = Int(raw.le(trailerStart, as: UInt64.self))
        let largestBlock = Int(raw.le(32, as: UInt32.self))
        var blockStarts = [Int]()
        var stateStarts = [Int]()
        blockStarts.reserveCapacity(blockCount + 1)
        stateStarts.reserveCapacity(blockCount + 1)
        var (position, statePosition) = (dataStart, 0)
        for block in 0..<blockCount {
            blockStarts.append(position)
            stateStarts.append(statePosition)
            let entry = tableStart + block * tableEntryCount
            position += Int(raw.le(entry, as: UInt32.self) & ~storedUncompressed)
            let uncompressed = Int(raw.le(entry + 4, as: UInt32.self))
            guard (1...largestBlock).contains(uncompressed) else {
                return .failure(.damaged("its block \(block) holds \(uncompressed) bytes, not 1 to \(largestBlock)"))
            }
            statePosition += uncompressed
        }
        blockStarts.append(position)
        stateStarts.append(statePosition)
        guard statePosition == stateCount else {
            return .failure(.damaged("its block table covers \(statePosition) bytes, not its \(stateCount)"))
        }
        guard position == tableStart else {
            let (held, listed) = (tableStart - dataStart, position - dataStart)
            return .failure(.damaged("its blocks take \(held) bytes, its block table lists \(listed)"))
        }
        return .success(
            Layout(stateCount: stateCount, tableStart: tableStart, blockStarts: blockStarts, stateStarts: stateStarts)
        )
    }

    /// Checks `block`'s stored bytes in `raw` (the whole file) against its checksum (unless `checked` already) and
    /// unpacks them into `target`, which is exactly the block's uncompressed size; false when either fails. With
    /// `atLeast`, only the block's first bytes are sure to be unpacked (at least that many).
    static func unpack(
        _ block: Int,
        of raw: UnsafeRawBufferPointer,
        layout: Layout,
        into target: UnsafeMutableRawBufferPointer,
        atLeast needed: Int? = nil,
        checked: Bool = false
    ) -> Bool {
        let stored = UnsafeRawBufferPointer(rebasing: raw[layout.blockStarts[block]..<layout.blockStarts[block + 1]])
        let entry = layout.tableStart + block * tableEntryCount
        guard checked || CRC32C.checksum(stored) == raw.le(entry + 8, as: UInt32.self) else { return false }
        let needed = min(needed ?? target.count, target.count)
        if raw.le(entry, as: UInt32.self) & storedUncompressed == 0 {
            return LZ4.decompress(stored, into: target, atLeast: needed)
        }
        guard stored.count == target.count else { return false }
        UnsafeMutableRawBufferPointer(rebasing: target[..<needed]).copyMemory(
            from: UnsafeRawBufferPointer(rebasing: stored[..<needed])
        )
        return true
    }

    /// The reason given for a block that does not unpack.
    static func blockDamage(_ block: Int, layout: Layout) -> String {
        "block \(block) at byte \(layout.blockStarts[block]) does not match its checksum or size"
    }

    /// Reads a whole snapshot file, in memory, expected to hold `projection` at `version` after the events before
    /// `offset`: every block checked and decompressed, in order, into the state's bytes. What the format's tests read
    /// a file with; restores and queries read one piece by piece (``Blocks``).
    static func decode(_ file: [UInt8], projection: String, version: UInt32, offset: Int64) -> Contents {
        file.withUnsafeBytes { raw in
            let layout: Layout
            switch Self.layout(of: raw, projection: projection, version: version, offset: offset) {
            case .success(let checked): layout = checked
            case .failure(let rejection): return rejection.contents
            }
            var failed: Int?
            // A state of 0 bytes has no blocks (each holds at least one byte).
            let state = [UInt8](filledInPlace: layout.stateCount) { buffer, initialized in
                let output = UnsafeMutableRawBufferPointer(buffer)
                failed = (0..<layout.blockCount).first { block in
                    !unpack(block, of: raw, layout: layout, into: .init(rebasing: output[layout.range(of: block)]))
                }
                initialized = layout.stateCount
            }
            if let failed { return .damaged(blockDamage(failed, layout: layout)) }
            return .state(state)
        }
    }

    /// A snapshot file read piece by piece (docs/projections.md, section 4): the file is mapped, its header and block
    /// table are checked when it is opened, and each read checks the blocks it touches against their checksums (once
    /// per block) and decompresses them into a buffer lent for the read, kept for the next one. A restore reads the
    /// state chunk by chunk on every core, each chunk into memory its core has used before: decompressing a
    /// 1M-customer state whole touched 454 MB of fresh memory, page fault by page fault, before a profile was read.
    /// A query about one customer reads the few blocks it needs. Reads may run on several threads at once.
    final class Blocks: StateBytes {
        /// How the file will be read, which the kernel's read-ahead follows.
        enum Access {
            /// From start to end, as a restore reads it (large read-ahead).
            case whole
            /// A few places (one customer): only the blocks asked for are read from the disk.
            case pieces
        }

        private let file: MappedFile
        private let access: Access
        private let layout: Layout
        /// The blocks whose stored bytes matched their checksum (each is checked by the first read that touches it).
        private let checked: Locked<[Bool]>
        private let buffers = LentBuffers()
        /// The first block found damaged, or -1.
        private let damagedBlock = Atomic<Int>(-1)

        /// The snapshot in `file`, expected to hold `projection` at `version` after the events before `offset`.
        init(
            file: MappedFile,
            projection: String,
            version: UInt32,
            offset: Int64,
            access: Access
        ) throws(Rejection) {
            self.file = file
            self.access = access
            layout = try SnapshotFile.layout(
                of: UnsafeRawBufferPointer(file.bytes),
                projection: projection,
                version: version,
                offset: offset
            ).get()
            checked = Locked([Bool](repeating: false, count: layout.blockCount))
            switch access {
            case .whole: file.adviseSequentialAccess()
            case .pieces: file.adviseRandomAccess()
            }
        }

        var count: Int { layout.stateCount }

        /// Why a read failed on a block of the file (its checksum or size), if one did: the file is damaged.
        var damage: String? {
            let block = damagedBlock.load(ordering: .relaxed)
            return block < 0 ? nil : SnapshotFile.blockDamage(block, layout: layout)
        }

        func withBytes<Result>(
            in range: Range<Int>,
            _ body: (UnsafeRawBufferPointer) throws(EventDecodingError) -> Result
        ) throws(EventDecodingError) -> Result {
            precondition(range.lowerBound >= 0 && range.upperBound <= count, "a read within the state")
            guard !range.isEmpty else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
            let blocks = layout.blocks(holding: range)
            let first = layout.stateStarts[blocks.lowerBound]
            let buffer = buffers.lend(atLeast: layout.stateStarts[blocks.upperBound + 1] - first)
            defer { buffers.giveBack(buffer) }
            let wasChecked = checked.withLock { checked in blocks.map { checked[$0] } }
            // The stored bytes of every block of the read asked for at once: a file written around the page cache
            // is read from the disk, page by page as touched otherwise (when random access is advised).
            if let unchecked = wasChecked.firstIndex(of: false) {
                file.adviseWillNeed(
                    layout.blockStarts[blocks.lowerBound + unchecked]..<layout.blockStarts[blocks.upperBound + 1]
                )
            }
            let raw = UnsafeRawBufferPointer(file.bytes)
            for (index, block) in blocks.enumerated() {
                let blockRange = layout.range(of: block)
                let target = UnsafeMutableRawBufferPointer(
                    rebasing: buffer[blockRange.lowerBound - first..<blockRange.upperBound - first]
                )
                let needed = min(range.upperBound, blockRange.upperBound) - blockRange.lowerBound
                guard
                    SnapshotFile.unpack(
                        block,
                        of: raw,
                        layout: layout,
                        into: target,
                        atLeast: needed,
                        checked: wasChecked[index]
                    )
                else {
                    damagedBlock.store(block, ordering: .relaxed)
                    throw EventDecodingError(reason: SnapshotFile.blockDamage(block, layout: layout))
                }
            }
            if wasChecked.contains(false) {
                checked.withLock { checked in for block in blocks { checked[block] = true } }
            }
            // Read whole, the file's pages are done with once unpacked: otherwise they stayed counted with the
            // process next to everything the restore makes (280 MB at 1M customers).
            if access == .whole {
                file.adviseDone(layout.blockStarts[blocks.lowerBound]..<layout.blockStarts[blocks.upperBound + 1])
            }
            return try body(
                UnsafeRawBufferPointer(rebasing: buffer[range.lowerBound - first..<range.upperBound - first])
            )
        }
    }
}
