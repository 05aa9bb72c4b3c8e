import EventLog
import Foundation
import Locking

/// The sorted runs of one index and the MANIFEST that lists them (docs/engine-directory.md, section 2): runs tile
/// the log from offset 0, and are merged so that there are about log2(records / flush size) of them.
///
/// New runs are added by the index that owns this (which serializes its calls); merges run on a background
/// thread, so that rewriting large runs never holds up appends. The list of runs is guarded by its own lock:
/// lookups take a snapshot of it, and a run replaced by a merge stays mapped until the last lookup using it ends.
final class IndexRuns: @unchecked Sendable {
    private static let manifestName = "MANIFEST"
    private static let manifestMagic = Array("EVCRMMAN".utf8)
    /// 2 since the hashes runs hold are of ids' canonical bytes (docs/engine-directory.md); a version-1 index hashed
    /// raw bytes and is rebuilt, as a damaged one is.
    private static let manifestVersion: UInt8 = 2

    let directory: LogDirectory
    /// Whether runs carry a Bloom filter (worth it when most lookups are for absent keys).
    let bloom: Bool
    /// False for a read-only engine: nothing is written or deleted, entries stay in memory.
    let writable: Bool

    private struct State {
        var runs: [SortedRun]
        /// Whether the background merger is running.
        var merging = false
        /// Why the last background merge failed; reported by the next ``add(sortedEntries:through:)``.
        var mergeFailure: EventLogError?
    }

    private let state: Locked<State>
    private let merges = DispatchGroup()

    /// The runs, oldest first.
    var runs: [SortedRun] { state.withLock { $0.runs } }

    /// Every indexed record below this offset is in a run.
    var coveredThrough: Int64 { runs.last?.descriptor.endOffset ?? 0 }

    private init(directory: LogDirectory, bloom: Bool, writable: Bool, runs: [SortedRun]) {
        self.directory = directory
        self.bloom = bloom
        self.writable = writable
        self.state = Locked(State(runs: runs))
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
            guard raw[8] == manifestVersion, raw[9] == 0 else {
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

    /// Replaces the MANIFEST with one listing `runs` (called with the state locked, so writes do not interleave).
    private func writeManifest(_ runs: [SortedRun]) throws(EventLogError) {
        var bytes = Self.manifestMagic + [Self.manifestVersion, 0] + [UInt8](repeating: 0, count: 6)
        bytes.appendLE(UInt32(runs.count))
        for run in runs {
            bytes.appendLE(run.descriptor.firstOffset)
            bytes.appendLE(run.descriptor.endOffset)
            bytes.appendLE(UInt64(run.descriptor.entryCount))
        }
        bytes.appendLE(CRC32C.checksum(bytes))
        try directory.replaceFile(Self.manifestName, with: bytes)
    }

    /// Adds a run holding `entries` (sorted) for the records in `coveredThrough..<endOffset`, then starts the
    /// background merger if runs should be merged.
    func add(sortedEntries entries: [RunEntry], through endOffset: Int64) throws(EventLogError) {
        if let failure = state.withLock({ $0.mergeFailure }) { throw failure }
        let descriptor = try SortedRun.write(
            entries,
            count: entries.count,
            firstOffset: coveredThrough,
            endOffset: endOffset,
            bloom: bloom,
            in: directory
        )
        let run = try SortedRun.open(descriptor, in: directory)
        try state.withLock { state throws(EventLogError) in
            state.runs.append(run)
            try writeManifest(state.runs)
        }
        startMerging()
    }

    /// The adjacent pair to merge next, the newest first: a run holding at most twice as many entries as the run
    /// after it. Merging such pairs keeps about log2(records / flush size) runs.
    private static func nextMerge(in runs: [SortedRun]) -> (older: SortedRun, newer: SortedRun)? {
        guard runs.count >= 2 else { return nil }
        for newer in stride(from: runs.count - 1, through: 1, by: -1)
        where runs[newer - 1].descriptor.entryCount <= 2 * runs[newer].descriptor.entryCount {
            return (runs[newer - 1], runs[newer])
        }
        return nil
    }

    private func startMerging() {
        let start = state.withLock { state -> Bool in
            guard !state.merging, Self.nextMerge(in: state.runs) != nil else { return false }
            state.merging = true
            return true
        }
        guard start else { return }
        merges.enter()
        Thread.detachNewThread { [self] in
            mergeWhileNeeded()
            merges.leave()
        }
    }

    /// The background merger: merges pairs until none is due. The state is locked only to pick a pair and to
    /// install the result, never while a run is written.
    private func mergeWhileNeeded() {
        while true {
            let pair = state.withLock { state -> (older: SortedRun, newer: SortedRun)? in
                if let pair = Self.nextMerge(in: state.runs) { return pair }
                state.merging = false
                return nil
            }
            guard let (older, newer) = pair else { return }
            do throws(EventLogError) {
                let descriptor = try SortedRun.write(
                    MergedRunEntries(first: older.entries, second: newer.entries),
                    count: older.descriptor.entryCount + newer.descriptor.entryCount,
                    firstOffset: older.descriptor.firstOffset,
                    endOffset: newer.descriptor.endOffset,
                    bloom: bloom,
                    in: directory
                )
                let merged = try SortedRun.open(descriptor, in: directory)
                try state.withLock { state throws(EventLogError) in
                    // Only the merger removes runs, so the pair is still there and still adjacent.
                    let position = state.runs.firstIndex { $0 === older }!
                    precondition(state.runs[position + 1] === newer, "merged runs must be adjacent")
                    state.runs.replaceSubrange(position...position + 1, with: [merged])
                    try writeManifest(state.runs)
                }
                directory.remove(older.descriptor.fileName)
                directory.remove(newer.descriptor.fileName)
            } catch {
                state.withLock { state in
                    state.mergeFailure = error
                    state.merging = false
                }
                return
            }
        }
    }

    /// Waits until the background merger has nothing left to do.
    func waitForMerges() {
        merges.wait()
    }

    /// Calls `body` with the value of every entry of `key` in every run, oldest run first. `body` runs with the
    /// run list locked (searching a run is quick; copying the list for each of many lookups was not).
    func forEachValue(ofKey key: UInt64, _ body: (UInt64) -> Void) {
        state.withLock { state in
            for run in state.runs where run.mayContain(key) {
                run.forEachValue(ofKey: key, body)
            }
        }
    }

    /// Calls `body` with every entry of every run, oldest run first, each run's in order (with the run list
    /// locked, as ``forEachValue(ofKey:_:)``).
    func forEachEntry(_ body: (RunEntry) -> Void) {
        state.withLock { state in
            for run in state.runs {
                for entry in run.entries { body(entry) }
            }
        }
    }

    /// The file name of every run whose CRC does not match.
    func damagedRuns() -> [String] {
        runs.filter { !$0.checksumMatches() }.map(\.descriptor.fileName)
    }
}
