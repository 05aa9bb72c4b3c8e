import EventLog

#if canImport(Glibc)
import Glibc
#endif

/// One index entry: 16 bytes on disk, ordered by key then value (docs/engine-directory.md, section 2).
struct RunEntry: Comparable, Sendable {
    var key: UInt64
    var value: UInt64

    static func < (left: RunEntry, right: RunEntry) -> Bool {
        left.key != right.key ? left.key < right.key : left.value < right.value
    }
}

/// What a run holds: every indexed record of the log in `firstOffset..<endOffset`.
struct RunDescriptor: Equatable, Sendable {
    var firstOffset: Int64
    var endOffset: Int64
    var entryCount: Int

    var fileName: String { "run-\(firstOffset)-\(endOffset).run" }
}

/// An immutable, sorted, checksummed run of index entries, memory-mapped; optionally with a blocked Bloom filter
/// so that looking up a key that is absent (the common case for new event ids) rarely touches the entries.
final class SortedRun: @unchecked Sendable {
    static let headerSize = 64
    private static let magic = Array("EVCRMRUN".utf8)
    private static let bloomBlockBytes = 64
    private static let bloomBitsPerEntry = 10

    let descriptor: RunDescriptor
    private let map: MappedFile
    private let bloomBlocks: Int

    private var entriesStart: UnsafeRawPointer { UnsafeRawPointer(map.bytes.baseAddress!) + Self.headerSize }
    private var bloomStart: UnsafeRawPointer { entriesStart + descriptor.entryCount * 16 }

    private init(descriptor: RunDescriptor, map: MappedFile, bloomBlocks: Int) {
        self.descriptor = descriptor
        self.map = map
        self.bloomBlocks = bloomBlocks
    }

    private static func bloomBlockCount(entries: Int) -> Int {
        max(1, (entries * bloomBitsPerEntry + bloomBlockBytes * 8 - 1) / (bloomBlockBytes * 8))
    }

    /// The block of a key, and seven bit positions inside it (512 bits: 9 bits each).
    @inline(__always)
    private static func bloomProbe(_ key: UInt64, blocks: Int, _ body: (Int, Int) -> Void) {
        let block = Int((key >> 32) &* UInt64(blocks) >> 32)
        var bits = key &* 0x9E37_79B9_7F4A_7C15
        for _ in 0..<7 {
            body(block, Int(bits & 511))
            bits >>= 9
        }
    }

    /// Writes a run of `entries` (sorted; `count` of them) crash-safely into `directory`.
    static func write(
        _ entries: some Sequence<RunEntry>,
        count: Int,
        firstOffset: Int64,
        endOffset: Int64,
        bloom: Bool,
        in directory: LogDirectory
    ) throws(EventLogError) -> RunDescriptor {
        let descriptor = RunDescriptor(firstOffset: firstOffset, endOffset: endOffset, entryCount: count)
        let blocks = bloom ? bloomBlockCount(entries: count) : 0
        var filter = [UInt8](repeating: 0, count: blocks * bloomBlockBytes)
        var header = magic + [1, 0] + [UInt8](repeating: 0, count: 6)
        header.appendLE(firstOffset)
        header.appendLE(endOffset)
        header.appendLE(UInt64(count))
        header.appendLE(UInt64(blocks))
        header += [UInt8](repeating: 0, count: headerSize - header.count)
        try directory.replaceFile(descriptor.fileName) { file throws(EventLogError) in
            var crc = CRC32C.checksum(header)
            try file.write(header, at: 0)
            var position = Int64(headerSize)
            // Entries are gathered as words and written in chunks of 1 MiB.
            var words = [UInt64]()
            words.reserveCapacity(1 << 17)
            var written = 0
            var previous: RunEntry?
            for entry in entries {
                precondition(previous == nil || previous! <= entry, "run entries must be sorted")
                previous = entry
                words.append(entry.key.littleEndian)
                words.append(entry.value.littleEndian)
                written += 1
                if blocks > 0 {
                    bloomProbe(entry.key, blocks: blocks) { block, bit in
                        filter[block * bloomBlockBytes + bit >> 3] |= UInt8(1) << (bit & 7)
                    }
                }
                if words.count >= 1 << 17 {
                    crc = words.withUnsafeBytes { CRC32C.checksum($0, continuing: crc) }
                    try words.withBytes { raw throws(EventLogError) in try file.write(raw, at: position) }
                    position += Int64(words.count * 8)
                    words.removeAll(keepingCapacity: true)
                }
            }
            precondition(written == count, "run entry count \(written) differs from the announced \(count)")
            var tail = words.withUnsafeBytes { [UInt8]($0) } + filter
            crc = tail.withUnsafeBytes { CRC32C.checksum($0, continuing: crc) }
            tail.appendLE(crc)
            try file.write(tail, at: position)
        }
        return descriptor
    }

    /// Maps a run the manifest names, checking its header and its size (not its CRC: see ``checksumMatches()``).
    static func open(_ descriptor: RunDescriptor, in directory: LogDirectory) throws(EventLogError) -> SortedRun {
        let name = descriptor.fileName
        let map = try MappedFile.open(directory.path(of: name), name: name, writable: false)
        let raw = UnsafeRawBufferPointer(map.bytes)
        guard raw.count >= headerSize + 4, Array(raw[0..<8]) == magic else {
            throw EventLogError(.corruptSegment, "not an index run (bad header)", file: name)
        }
        guard raw[8] == 1, raw[9] == 0 else {
            throw EventLogError(.unsupportedFormat, "index run version \(raw[8]) is unknown", file: name)
        }
        let blocks = Int(raw.le(40, as: UInt64.self))
        guard raw.le(16, as: Int64.self) == descriptor.firstOffset, raw.le(24, as: Int64.self) == descriptor.endOffset,
            raw.le(32, as: UInt64.self) == UInt64(descriptor.entryCount),
            raw.count == headerSize + descriptor.entryCount * 16 + blocks * bloomBlockBytes + 4
        else {
            throw EventLogError(.corruptSegment, "index run does not match its manifest entry", file: name)
        }
        map.adviseRandomAccess()
        return SortedRun(descriptor: descriptor, map: map, bloomBlocks: blocks)
    }

    /// Whether the file's CRC32C matches its contents.
    func checksumMatches() -> Bool {
        let raw = UnsafeRawBufferPointer(map.bytes)
        let stored = raw.le(raw.count - 4, as: UInt32.self)
        return CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<raw.count - 4])) == stored
    }

    subscript(index: Int) -> RunEntry {
        let base = entriesStart + index * 16
        return RunEntry(
            key: UInt64(littleEndian: base.loadUnaligned(as: UInt64.self)),
            value: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        )
    }

    /// Whether `key` may be in the run (always true without a Bloom filter).
    func mayContain(_ key: UInt64) -> Bool {
        guard bloomBlocks > 0 else { return true }
        var present = true
        let filter = bloomStart
        Self.bloomProbe(key, blocks: bloomBlocks) { block, bit in
            if filter.load(fromByteOffset: block * Self.bloomBlockBytes + bit >> 3, as: UInt8.self) & (1 << (bit & 7))
                == 0
            {
                present = false
            }
        }
        return present
    }

    /// Calls `body` with the value of every entry whose key is `key`, in value order.
    func forEachValue(ofKey key: UInt64, _ body: (UInt64) -> Void) {
        var low = 0
        var high = descriptor.entryCount
        while low < high {
            let middle = (low + high) / 2
            if self[middle].key < key { low = middle + 1 } else { high = middle }
        }
        while low < descriptor.entryCount {
            let entry = self[low]
            guard entry.key == key else { break }
            body(entry.value)
            low += 1
        }
    }

    /// The entries in order.
    var entries: some Sequence<RunEntry> {
        (0..<descriptor.entryCount).lazy.map { self[$0] }
    }
}

/// Two sorted sequences merged into one sorted sequence.
struct MergedRunEntries<First: Sequence<RunEntry>, Second: Sequence<RunEntry>>: Sequence {
    let first: First
    let second: Second

    struct Iterator: IteratorProtocol {
        var first: First.Iterator
        var second: Second.Iterator
        var nextFirst: RunEntry?
        var nextSecond: RunEntry?

        mutating func next() -> RunEntry? {
            if let entry = nextFirst, nextSecond == nil || entry <= nextSecond! {
                nextFirst = first.next()
                return entry
            }
            guard let entry = nextSecond else { return nil }
            nextSecond = second.next()
            return entry
        }
    }

    func makeIterator() -> Iterator {
        var first = first.makeIterator()
        var second = second.makeIterator()
        let nextFirst = first.next()
        let nextSecond = second.next()
        return Iterator(first: first, second: second, nextFirst: nextFirst, nextSecond: nextSecond)
    }
}
