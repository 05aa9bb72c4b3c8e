import CRMModel
import CRMProjections
import EventLog
import Synchronization

/// The bytes of one snapshot file (docs/projections.md, section 4): a checksummed header and block table, then
/// the state's canonical bytes in blocks of 1 MiB, each LZ4-compressed and checksummed on its own so that both
/// cores compress, check and decompress them.
enum SnapshotFile {
    static let magic = Array("EVCRMSNP".utf8)
    static let formatVersion: UInt16 = 2
    /// Uncompressed bytes per block (the last block holds the rest).
    static let blockSize = 1 << 20
    /// Set in a block's stored length when the block is stored as it is (LZ4 did not make it smaller).
    static let storedUncompressed: UInt32 = 1 << 31
    /// The fixed part of the header, before the projection's name.
    static let fixedHeaderCount = 50

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

    /// Writes the file for `state` through `write` (bytes, and where in the file they go): the blocks, a round of
    /// ``blocksPerRound`` compressed and checksummed on every core, then written, the next round reusing the same
    /// buffers; then the header with the block table at the start, whose size is known before any block is.
    /// Compressing every block into a fresh array first touched as much new memory as the file is large (page
    /// faults) and held all of it until the last write.
    static func write<Failure: Error>(
        state: [UInt8],
        projection: String,
        version: UInt32,
        offset: Int64,
        to write: (UnsafeRawBufferPointer, _ at: Int64) throws(Failure) -> Void
    ) throws(Failure) {
        let blockCount = (state.count + blockSize - 1) / blockSize
        let headerCount = fixedHeaderCount + projection.utf8.count + 8 * blockCount + 4
        let table = try state.withBytes { raw throws(Failure) in
            try writeBlocks(of: raw, count: blockCount, from: Int64(headerCount), write)
        }
        var header = magic
        header.appendLE(formatVersion)
        header += [UInt8](repeating: 0, count: 6)
        header.appendLE(version)
        header.appendLE(UInt32(0))
        header.appendLE(offset)
        header.appendLE(UInt64(state.count))
        header.appendLE(UInt32(blockSize))
        header.appendLE(UInt32(blockCount))
        header.appendLE(UInt16(projection.utf8.count))
        header += projection.utf8
        for block in table {
            header.appendLE(block.length)
            header.appendLE(block.crc)
        }
        header.appendLE(CRC32C.checksum(header))
        precondition(header.count == headerCount, "the header's size is known before the blocks are written")
        try header.withBytes { raw throws(Failure) in try write(raw, 0) }
    }

    /// The blocks of `state` written from `position` on, a round at a time; their lengths and checksums.
    private static func writeBlocks<Failure: Error>(
        of state: UnsafeRawBufferPointer,
        count blockCount: Int,
        from position: Int64,
        _ write: (UnsafeRawBufferPointer, _ at: Int64) throws(Failure) -> Void
    ) throws(Failure) -> [(length: UInt32, crc: UInt32)] {
        let capacity = LZ4.compressBound(blockSize)
        let buffers = UnsafeMutableRawBufferPointer.allocate(byteCount: blocksPerRound * capacity, alignment: 64)
        defer { buffers.deallocate() }
        // Each block of a round is compressed into its own part of `buffers`, on the core that has it; the state is
        // only read.
        nonisolated(unsafe) let parts = buffers
        nonisolated(unsafe) let input = state
        var table = [(length: UInt32, crc: UInt32)]()
        table.reserveCapacity(blockCount)
        var position = position
        for first in stride(from: 0, to: blockCount, by: blocksPerRound) {
            let round = first..<min(blockCount, first + blocksPerRound)
            // Compressed and checksummed on every core: each block's table entry (stored length and CRC).
            let entries = concurrentMap(round.count) { index -> (length: UInt32, crc: UInt32) in
                let block = UnsafeRawBufferPointer(rebasing: input[range(of: first + index, in: input.count)])
                let part = UnsafeMutableRawBufferPointer(rebasing: parts[index * capacity..<(index + 1) * capacity])
                let length = LZ4.compress(block, into: part)
                if length == 0 || length >= block.count {
                    return (UInt32(block.count) | storedUncompressed, CRC32C.checksum(block))
                }
                return (UInt32(length), CRC32C.checksum(UnsafeRawBufferPointer(rebasing: part[..<length])))
            }
            for (index, entry) in entries.enumerated() {
                // What is stored: the compressed bytes, or the block itself when LZ4 did not make it smaller.
                let stored =
                    entry.length & storedUncompressed != 0
                    ? UnsafeRawBufferPointer(rebasing: state[range(of: first + index, in: state.count)])
                    : UnsafeRawBufferPointer(rebasing: buffers[index * capacity..<index * capacity + Int(entry.length)])
                table.append(entry)
                try write(stored, position)
                position += Int64(stored.count)
            }
        }
        return table
    }

    /// The uncompressed bytes of `block` in a state of `count` bytes.
    private static func range(of block: Int, in count: Int) -> Range<Int> {
        block * blockSize..<min(count, (block + 1) * blockSize)
    }

    /// The whole file for `state`, in memory (for tests and small states).
    static func encode(state: [UInt8], projection: String, version: UInt32, offset: Int64) -> [UInt8] {
        var file = [UInt8]()
        write(state: state, projection: projection, version: version, offset: offset) { bytes, at in
            let end = Int(at) + bytes.count
            if file.count < end { file += [UInt8](repeating: 0, count: end - file.count) }
            file.withUnsafeMutableBytes {
                UnsafeMutableRawBufferPointer(rebasing: $0[Int(at)..<end]).copyMemory(from: bytes)
            }
        }
        return file
    }

    /// A file's header and block table, checked against each other and against the file's length.
    struct Layout {
        /// The state's uncompressed byte count.
        var stateCount: Int
        var blockSize: Int
        /// Where the block table starts.
        var tableStart: Int
        /// Where each block's stored bytes start, and one more: where the last one ends.
        var blockStarts: [Int]

        var blockCount: Int { blockStarts.count - 1 }

        /// The uncompressed bytes of `block` within the state.
        func range(of block: Int) -> Range<Int> { block * blockSize..<min(stateCount, (block + 1) * blockSize) }
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
        let nameCount = Int(raw.le(48, as: UInt16.self))
        let blockCount = Int(raw.le(44, as: UInt32.self))
        let tableStart = fixedHeaderCount + nameCount
        let dataStart = tableStart + blockCount * 8 + 4
        guard raw.count >= dataStart,
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<dataStart - 4]))
                == raw.le(dataStart - 4, as: UInt32.self)
        else { return .failure(.damaged("its header does not match its checksum")) }
        guard raw.le(16, as: UInt32.self) == version, raw.le(24, as: Int64.self) == offset,
            String(decoding: raw[fixedHeaderCount..<tableStart], as: UTF8.self) == projection
        else { return .failure(.damaged("its header names another projection, version or offset than its file name")) }
        let stateCount = Int(raw.le(32, as: UInt64.self))
        let blockSize = Int(raw.le(40, as: UInt32.self))
        guard blockSize > 0, blockCount == (stateCount + blockSize - 1) / blockSize else {
            return .failure(.damaged("its block table does not cover its \(stateCount) bytes"))
        }
        var blockStarts = [Int]()
        blockStarts.reserveCapacity(blockCount + 1)
        var position = dataStart
        for block in 0..<blockCount {
            blockStarts.append(position)
            position += Int(raw.le(tableStart + block * 8, as: UInt32.self) & ~storedUncompressed)
        }
        blockStarts.append(position)
        guard position == raw.count else {
            return .failure(.damaged("it is \(raw.count) bytes long, its block table lists \(position)"))
        }
        return .success(
            Layout(stateCount: stateCount, blockSize: blockSize, tableStart: tableStart, blockStarts: blockStarts)
        )
    }

    /// Checks `block`'s stored bytes in `raw` (the whole file) against its checksum and unpacks them into `target`,
    /// which is exactly the block's uncompressed size; false when either fails.
    static func unpack(
        _ block: Int,
        of raw: UnsafeRawBufferPointer,
        layout: Layout,
        into target: UnsafeMutableRawBufferPointer
    ) -> Bool {
        let stored = UnsafeRawBufferPointer(rebasing: raw[layout.blockStarts[block]..<layout.blockStarts[block + 1]])
        let entry = layout.tableStart + block * 8
        guard CRC32C.checksum(stored) == raw.le(entry + 4, as: UInt32.self) else { return false }
        if raw.le(entry, as: UInt32.self) & storedUncompressed == 0 { return LZ4.decompress(stored, into: target) }
        guard stored.count == target.count else { return false }
        target.copyMemory(from: stored)
        return true
    }

    /// The reason given for a block that does not unpack.
    static func blockDamage(_ block: Int, layout: Layout) -> String {
        "block \(block) at byte \(layout.blockStarts[block]) does not match its checksum or size"
    }

    /// Reads a snapshot file expected to hold `projection` at `version` after the events before `offset`,
    /// checking and decompressing its blocks on every core.
    static func decode(_ file: [UInt8], projection: String, version: UInt32, offset: Int64) -> Contents {
        file.withUnsafeBytes { raw in decode(raw, projection: projection, version: version, offset: offset) }
    }

    /// ``decode(_:projection:version:offset:)`` of a file's bytes in place (mapped: a read would copy them all).
    static func decode(_ raw: UnsafeRawBufferPointer, projection: String, version: UInt32, offset: Int64) -> Contents {
        let layout: Layout
        switch Self.layout(of: raw, projection: projection, version: version, offset: offset) {
        case .success(let checked): layout = checked
        case .failure(let rejection): return rejection.contents
        }
        let failedBlock = Atomic<Int>(-1)
        nonisolated(unsafe) let input = raw
        let state = [UInt8](unsafeUninitializedCapacity: layout.stateCount) { buffer, initialized in
            nonisolated(unsafe) let output = UnsafeMutableRawBufferPointer(buffer)
            concurrentForEach(layout.blockCount) { block in
                let target = UnsafeMutableRawBufferPointer(rebasing: output[layout.range(of: block)])
                if !unpack(block, of: input, layout: layout, into: target) {
                    failedBlock.store(block, ordering: .relaxed)
                }
            }
            initialized = layout.stateCount
        }
        let failed = failedBlock.load(ordering: .relaxed)
        guard failed < 0 else { return .damaged(blockDamage(failed, layout: layout)) }
        return .state(state)
    }

    /// A snapshot file read lazily: the file is mapped, its header and block table are checked when it is opened,
    /// and a block is checked and decompressed the first time a read touches it (docs/projections.md, section 4,
    /// "One customer out of a snapshot"). Not for use from several threads at once.
    final class Blocks: StateBytes {
        private let file: MappedFile
        private let layout: Layout
        /// The state's bytes, allocated whole; only the pages of unpacked blocks are ever touched.
        private let state: UnsafeMutableRawBufferPointer
        private var unpacked: [Bool]

        /// The snapshot in `file`, expected to hold `projection` at `version` after the events before `offset`.
        init(file: MappedFile, projection: String, version: UInt32, offset: Int64) throws(Rejection) {
            self.file = file
            layout = try SnapshotFile.layout(
                of: UnsafeRawBufferPointer(file.bytes),
                projection: projection,
                version: version,
                offset: offset
            ).get()
            state = .allocate(byteCount: layout.stateCount, alignment: 16)
            unpacked = [Bool](repeating: false, count: layout.blockCount)
            file.adviseRandomAccess()
        }

        deinit { state.deallocate() }

        var count: Int { layout.stateCount }

        func withBytes<Result>(
            in range: Range<Int>,
            _ body: (UnsafeRawBufferPointer) throws(EventDecodingError) -> Result
        ) throws(EventDecodingError) -> Result {
            precondition(range.lowerBound >= 0 && range.upperBound <= count, "a read within the state")
            if !range.isEmpty {
                for block in range.lowerBound / layout.blockSize...(range.upperBound - 1) / layout.blockSize
                where !unpacked[block] {
                    let target = UnsafeMutableRawBufferPointer(rebasing: state[layout.range(of: block)])
                    guard
                        SnapshotFile.unpack(block, of: UnsafeRawBufferPointer(file.bytes), layout: layout, into: target)
                    else { throw EventDecodingError(reason: SnapshotFile.blockDamage(block, layout: layout)) }
                    unpacked[block] = true
                }
            }
            return try body(UnsafeRawBufferPointer(rebasing: state[range]))
        }
    }
}
