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

    /// The file's bytes for `state`, as pieces to write one after another: the header with the block table, then
    /// each block.
    static func encode(state: [UInt8], projection: String, version: UInt32, offset: Int64) -> [[UInt8]] {
        let blockCount = (state.count + blockSize - 1) / blockSize
        // Each block compressed and checksummed on the core that has it.
        let blocks = concurrentMap(blockCount) { block -> (stored: [UInt8], length: UInt32, crc: UInt32) in
            state.withUnsafeBytes { raw in
                let range = block * blockSize..<min(raw.count, (block + 1) * blockSize)
                let input = UnsafeRawBufferPointer(rebasing: raw[range])
                let compressed = [UInt8](unsafeUninitializedCapacity: LZ4.compressBound(input.count)) {
                    buffer,
                    initialized in
                    initialized = LZ4.compress(input, into: UnsafeMutableRawBufferPointer(buffer))
                }
                if compressed.isEmpty || compressed.count >= input.count {
                    return (Array(input), UInt32(input.count) | storedUncompressed, CRC32C.checksum(input))
                }
                return (compressed, UInt32(compressed.count), CRC32C.checksum(compressed))
            }
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
        for block in blocks {
            header.appendLE(block.length)
            header.appendLE(block.crc)
        }
        header.appendLE(CRC32C.checksum(header))
        return [header] + blocks.map(\.stored)
    }

    /// Reads a snapshot file expected to hold `projection` at `version` after the events before `offset`,
    /// checking and decompressing its blocks on every core.
    static func decode(_ file: [UInt8], projection: String, version: UInt32, offset: Int64) -> Contents {
        file.withUnsafeBytes { raw -> Contents in
            guard raw.count >= fixedHeaderCount, Array(raw[0..<8]) == magic else {
                return .damaged("not a snapshot file")
            }
            let format = raw.le(8, as: UInt16.self)
            guard format == formatVersion else { return .otherFormat(format) }
            let nameCount = Int(raw.le(48, as: UInt16.self))
            let blockCount = Int(raw.le(44, as: UInt32.self))
            let tableStart = fixedHeaderCount + nameCount
            let dataStart = tableStart + blockCount * 8 + 4
            guard raw.count >= dataStart,
                CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<dataStart - 4]))
                    == raw.le(dataStart - 4, as: UInt32.self)
            else { return .damaged("its header does not match its checksum") }
            guard raw.le(16, as: UInt32.self) == version, raw.le(24, as: Int64.self) == offset,
                String(decoding: raw[fixedHeaderCount..<tableStart], as: UTF8.self) == projection
            else { return .damaged("its header names another projection, version or offset than its file name") }
            let stateCount = Int(raw.le(32, as: UInt64.self))
            let blockSize = Int(raw.le(40, as: UInt32.self))
            guard blockSize > 0, blockCount == (stateCount + blockSize - 1) / blockSize else {
                return .damaged("its block table does not cover its \(stateCount) bytes")
            }
            // Where each block's stored bytes start, and whether they are compressed.
            var blockStarts = [Int]()
            blockStarts.reserveCapacity(blockCount + 1)
            var position = dataStart
            for block in 0..<blockCount {
                blockStarts.append(position)
                position += Int(raw.le(tableStart + block * 8, as: UInt32.self) & ~storedUncompressed)
            }
            blockStarts.append(position)
            let starts = blockStarts
            guard position == raw.count else {
                return .damaged("it is \(raw.count) bytes long, its block table lists \(position)")
            }
            let failedBlock = Atomic<Int>(-1)
            nonisolated(unsafe) let input = raw
            let state = [UInt8](unsafeUninitializedCapacity: stateCount) { buffer, initialized in
                nonisolated(unsafe) let output = UnsafeMutableRawBufferPointer(buffer)
                concurrentForEach(blockCount) { block in
                    let stored = UnsafeRawBufferPointer(rebasing: input[starts[block]..<starts[block + 1]])
                    let entry = tableStart + block * 8
                    let isCompressed = input.le(entry, as: UInt32.self) & storedUncompressed == 0
                    let target = UnsafeMutableRawBufferPointer(
                        rebasing: output[block * blockSize..<min(stateCount, (block + 1) * blockSize)]
                    )
                    guard CRC32C.checksum(stored) == input.le(entry + 4, as: UInt32.self) else {
                        return failedBlock.store(block, ordering: .relaxed)
                    }
                    if isCompressed {
                        if !LZ4.decompress(stored, into: target) { failedBlock.store(block, ordering: .relaxed) }
                    } else if stored.count == target.count {
                        target.copyMemory(from: stored)
                    } else {
                        failedBlock.store(block, ordering: .relaxed)
                    }
                }
                initialized = stateCount
            }
            let failed = failedBlock.load(ordering: .relaxed)
            guard failed < 0 else {
                return .damaged("block \(failed) at byte \(starts[failed]) does not match its checksum or size")
            }
            return .state(state)
        }
    }
}
