import EventLog

/// The sorted runs of one index and the MANIFEST that lists them (docs/engine-directory.md, section 2): runs tile
/// the log from offset 0, and are merged so that there are about log2(records / flush size) of them.
///
/// Not thread-safe: the index that owns it serializes access.
final class IndexRuns: @unchecked Sendable {
    private static let manifestName = "MANIFEST"
    private static let manifestMagic = Array("EVCRMMAN".utf8)

    let directory: LogDirectory
    /// Whether runs carry a Bloom filter (worth it when most lookups are for absent keys).
    let bloom: Bool
    /// False for a read-only engine: nothing is written or deleted, entries stay in memory.
    let writable: Bool
    private(set) var runs: [SortedRun]

    /// Every indexed record below this offset is in a run.
    var coveredThrough: Int64 { runs.last?.descriptor.endOffset ?? 0 }

    private init(directory: LogDirectory, bloom: Bool, writable: Bool, runs: [SortedRun]) {
        self.directory = directory
        self.bloom = bloom
        self.writable = writable
        self.runs = runs
    }

    /// Opens the runs in `path`, creating the directory when needed. Runs that cannot be trusted are deleted and
    /// the reason returned, so that the caller rebuilds them from the log and says so.
    static func open(
        path: String,
        bloom: Bool,
        logNextOffset: Int64,
        writable: Bool
    ) throws(EventLogError) -> (runs: IndexRuns, discarded: String?) {
        let directory = LogDirectory(path: path)
        if writable {
            try directory.create()
            try directory.removeTemporaryFiles()
        }
        var runs = [SortedRun]()
        var discarded: String?
        do throws(EventLogError) {
            if let manifest = try directory.readFile(manifestName) {
                for descriptor in try parseManifest(manifest) {
                    runs.append(try SortedRun.open(descriptor, in: directory))
                }
            }
            var expected: Int64 = 0
            for run in runs {
                guard run.descriptor.firstOffset == expected else {
                    throw EventLogError(.corruptSegment, "runs leave a gap at offset \(expected)", file: manifestName)
                }
                expected = run.descriptor.endOffset
            }
            if expected > logNextOffset {
                throw EventLogError(
                    .corruptSegment,
                    "the index covers offsets up to \(expected) but the log ends at \(logNextOffset)",
                    file: manifestName
                )
            }
        } catch {
            discarded = error.description
            runs = []
        }
        if writable {
            let kept = Set(runs.map(\.descriptor.fileName))
            for name in try directory.names() where name.hasPrefix("run-") && !kept.contains(name) {
                directory.remove(name)
            }
            if discarded != nil { directory.remove(manifestName) }
        }
        return (IndexRuns(directory: directory, bloom: bloom, writable: writable, runs: runs), discarded)
    }

    private static func parseManifest(_ bytes: [UInt8]) throws(EventLogError) -> [RunDescriptor] {
        try bytes.withBytes { raw throws(EventLogError) -> [RunDescriptor] in
            guard raw.count >= 24, Array(raw[0..<8]) == manifestMagic,
                CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<raw.count - 4]))
                    == raw.le(raw.count - 4, as: UInt32.self)
            else {
                throw EventLogError(.corruptSegment, "damaged (bad header or CRC)", file: manifestName)
            }
            guard raw[8] == 1, raw[9] == 0 else {
                throw EventLogError(.unsupportedFormat, "version \(raw[8]) is unknown", file: manifestName)
            }
            let count = Int(raw.le(16, as: UInt32.self))
            guard raw.count == 20 + count * 24 + 4 else {
                throw EventLogError(.corruptSegment, "size does not match its run count", file: manifestName)
            }
            return (0..<count).map { number in
                let base = 20 + number * 24
                return RunDescriptor(
                    firstOffset: raw.le(base),
                    endOffset: raw.le(base + 8),
                    entryCount: Int(raw.le(base + 16, as: UInt64.self))
                )
            }
        }
    }

    private func writeManifest() throws(EventLogError) {
        var bytes = Self.manifestMagic + [1, 0] + [UInt8](repeating: 0, count: 6)
        bytes.appendLE(UInt32(runs.count))
        for run in runs {
            bytes.appendLE(run.descriptor.firstOffset)
            bytes.appendLE(run.descriptor.endOffset)
            bytes.appendLE(UInt64(run.descriptor.entryCount))
        }
        bytes.appendLE(CRC32C.checksum(bytes))
        try directory.replaceFile(Self.manifestName, with: bytes)
    }

    /// Adds a run holding `entries` (sorted) for the records in `coveredThrough..<endOffset`, then merges.
    func add(sortedEntries entries: [RunEntry], through endOffset: Int64) throws(EventLogError) {
        let descriptor = try SortedRun.write(
            entries,
            count: entries.count,
            firstOffset: coveredThrough,
            endOffset: endOffset,
            bloom: bloom,
            in: directory
        )
        runs.append(try SortedRun.open(descriptor, in: directory))
        try writeManifest()
        while runs.count >= 2,
            runs[runs.count - 2].descriptor.entryCount <= 2 * runs[runs.count - 1].descriptor.entryCount
        {
            let older = runs[runs.count - 2]
            let newer = runs[runs.count - 1]
            let merged = try SortedRun.write(
                MergedRunEntries(first: older.entries, second: newer.entries),
                count: older.descriptor.entryCount + newer.descriptor.entryCount,
                firstOffset: older.descriptor.firstOffset,
                endOffset: newer.descriptor.endOffset,
                bloom: bloom,
                in: directory
            )
            runs.removeLast(2)
            runs.append(try SortedRun.open(merged, in: directory))
            try writeManifest()
            directory.remove(older.descriptor.fileName)
            directory.remove(newer.descriptor.fileName)
        }
    }

    /// Calls `body` with the value of every entry of `key` in every run, oldest run first.
    func forEachValue(ofKey key: UInt64, _ body: (UInt64) throws -> Void) rethrows {
        for run in runs where run.mayContain(key) {
            try run.forEachValue(ofKey: key, body)
        }
    }

    /// The file name of every run whose CRC does not match.
    func damagedRuns() -> [String] {
        runs.filter { !$0.checksumMatches() }.map(\.descriptor.fileName)
    }

    /// The number of entries in all runs.
    var entryCount: Int { runs.reduce(0) { $0 + $1.descriptor.entryCount } }
}
