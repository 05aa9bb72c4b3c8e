import CRMModel
import CRMProjections
import EventLog
import Foundation
import Locking
import Testing
import _EventLogTestSupport

@testable import EventCRM

/// A projection that counts events, in two versions that fold differently.
enum CountingV1: Projection {
    static let name = "counting"
    static let version: UInt32 = 1
    struct State: ProjectionState, Equatable {
        var count: Int64 = 0
        func serialize(into writer: inout BinaryWriter) { writer.int(count) }
        init() {}
        init(deserializing reader: inout BinaryReader) throws(EventDecodingError) { count = try reader.int() }
        mutating func absorb(_ shard: State) { count += shard.count }
    }
    static func makeState() -> State { State() }
    static func apply(_ event: ProjectedEvent, to state: inout State) { state.count += 1 }
}

enum CountingV2: Projection {
    static let name = "counting"
    static let version: UInt32 = 2
    typealias State = CountingV1.State
    static func makeState() -> State { State() }
    static func apply(_ event: ProjectedEvent, to state: inout State) { state.count += 10 }
}

@Suite("Projection snapshots and as-of")
struct SnapshotTests {
    static func snapshotFiles(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path + "/snapshots")) ?? []).sorted()
    }

    /// The state's canonical bytes in the snapshot file `name` of `directory`, if it is whole (the file's own bytes
    /// are compressed).
    static func stateBytes(directory: String, file name: String) -> [UInt8]? {
        // <projection>-v<version>-<offset>.snap; projection names may hold dashes.
        var parts =
            name.hasSuffix(".snap") ? name.dropLast(5).split(separator: "-", omittingEmptySubsequences: false) : []
        guard parts.count >= 3, let offset = Int64(parts.removeLast()), let versionPart = parts.popLast(),
            versionPart.first == "v", let version = UInt32(versionPart.dropFirst()),
            let file = try? Data(contentsOf: URL(fileURLWithPath: directory + "/" + name)),
            case .state(let state) = SnapshotFile.decode(
                [UInt8](file),
                projection: parts.joined(separator: "-"),
                version: version,
                offset: offset
            )
        else { return nil }
        return state
    }

    /// The files of the engine at `path` holding `text`: in their own bytes, or, for snapshots (compressed), in
    /// the state they hold.
    static func filesHolding(_ text: String, engineAt path: String) throws -> [String] {
        let needle = Array(text.utf8)
        let inSnapshots = snapshotFiles(path).filter { name in
            Self.stateBytes(directory: path + "/snapshots", file: name)?.firstRange(of: needle) != nil
        }
        return Array(Set(try filesContaining(text, under: path) + inSnapshots.map { "snapshots/" + $0 })).sorted()
    }

    /// Flips `mask` in the last block's stored bytes of snapshot `file`, `distance` bytes before the block table.
    static func damageLastBlock(_ file: String, distance: Int, flipping mask: UInt8) throws {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
        let blockCount = (0..<4).reduce(0) { $0 | Int(bytes[bytes.count - 8 + $1]) << (8 * $1) }
        let tableCount = SnapshotFile.tableEntryCount * blockCount
        try damage(file, at: { $0 - SnapshotFile.trailerCount - tableCount - distance }, flipping: mask)
    }

    /// Flips `mask` in the byte of `file` at the position `position` gives for the file's length.
    static func damage(_ file: String, at position: (Int) -> Int, flipping mask: UInt8) throws {
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
        bytes[position(bytes.count)] ^= mask
        try Data(bytes).write(to: URL(fileURLWithPath: file))
    }

    @Test("Restore from the newest snapshot and catch up equals the live fold; as-of offset and time")
    func restoreAndAsOf() async throws {
        let directory = TemporaryDirectory("snapshots")
        let crm = try CRMEngine.open(at: directory.path)
        let events = Array(SyntheticData(.init(customers: 200, seed: 4)))
        try await crm.append(contentsOf: Array(events[..<1000]))
        let live = ProjectionRunner<CustomerProfiles>(engine: crm)
        try live.catchUp()
        #expect(try live.saveSnapshot())
        try await crm.append(contentsOf: Array(events[1000...]))
        try live.catchUp()
        var notices = [String]()
        let restored = try ProjectionRunner<CustomerProfiles>.restore(engine: crm, notices: &notices)
        #expect(notices.isEmpty)
        #expect(restored.read { state, _ in state.serialized } == live.read { state, _ in state.serialized })

        let partial = ProjectionRunner<CustomerProfiles>(engine: crm)
        try partial.catchUp(to: 1500)
        let asOf = try ProjectionRunner<CustomerProfiles>.state(engine: crm, asOfOffset: 1500)
        #expect(asOf.serialized == partial.read { state, _ in state.serialized })
        let early = try ProjectionRunner<CustomerProfiles>.state(engine: crm, asOfOffset: 10)
        let tenth = try crm.events(from: 9).nextEvent()!.event.at
        #expect(
            try ProjectionRunner<CustomerProfiles>.state(engine: crm, asOf: tenth).profiles.count
                >= early.profiles.count
        )
        await crm.close()
    }

    @Test("A damaged snapshot is deleted and reported (by the writer); a snapshot of another version is never loaded")
    func damagedAndStale() async throws {
        let directory = TemporaryDirectory("snapshots")
        let crm = try await syntheticEngine(in: directory, customers: 30, seed: 5)
        let v1 = ProjectionRunner<CountingV1>(engine: crm)
        try v1.catchUp(to: 100)
        #expect(try v1.saveSnapshot())
        var notices = [String]()
        let v2 = try ProjectionRunner<CountingV2>.restore(engine: crm, notices: &notices)
        #expect(v2.read { state, _ in state.count } == crm.nextOffset * 10, "v2 folded everything itself")

        let profiles = ProjectionRunner<CustomerProfiles>(engine: crm)
        try profiles.catchUp(to: 200)
        #expect(try profiles.saveSnapshot())
        let file = directory.path("snapshots/") + Self.snapshotFiles(directory.path).first { $0.hasPrefix("customer") }!
        try Self.damage(file, at: { $0 / 2 }, flipping: 0x10)
        // A reader reports it and leaves it for the writer.
        var readOnly = CRMEngine.Options()
        readOnly.readOnly = true
        let reader = try CRMEngine.open(at: directory.path, options: readOnly)
        _ = try ProjectionRunner<CustomerProfiles>.restore(engine: reader, notices: &notices)
        #expect(notices.count == 1 && notices[0].contains("left for the writer"), "\(notices)")
        #expect(FileManager.default.fileExists(atPath: file))
        await reader.close()
        notices = []
        let restored = try ProjectionRunner<CustomerProfiles>.restore(engine: crm, notices: &notices)
        #expect(notices.count == 1 && notices[0].contains("damaged"), "\(notices)")
        #expect(!FileManager.default.fileExists(atPath: file))
        let rebuilt = try ProjectionRunner<CustomerProfiles>.rebuild(engine: crm)
        #expect(restored.read { state, _ in state.serialized } == rebuilt.read { state, _ in state.serialized })
        await crm.close()
    }

    @Test("A snapshot whose state does not read is deleted and reported, and the next older one is restored")
    func olderSnapshotAfterRefusal() async throws {
        let directory = TemporaryDirectory("snapshots")
        let crm = try await syntheticEngine(in: directory, customers: 20, seed: 8)
        let snapshots = directory.path("snapshots")
        try FileManager.default.createDirectory(atPath: snapshots, withIntermediateDirectories: true)
        // Whole files (their checksums check out): at 150, a count no fold of this log gives; at 200, a state that
        // does not read (bytes follow the count).
        var older = CountingV1.State()
        older.count = 1_000_000
        let files: [(offset: Int64, state: [UInt8])] = [(150, older.serialized), (200, older.serialized + [7])]
        for (offset, state) in files {
            let name = SnapshotStore.fileName(projection: CountingV1.name, version: CountingV1.version, offset: offset)
            let file = SnapshotFile.encode(state: state, projection: CountingV1.name, version: 1, offset: offset)
            try Data(file).write(to: URL(fileURLWithPath: snapshots + "/" + name))
        }
        var notices = [String]()
        let restored = try ProjectionRunner<CountingV1>.restore(engine: crm, notices: &notices)
        #expect(notices.count == 1 && notices[0].contains("does not read"), "\(notices)")
        #expect(notices.first?.contains("deleted damaged snapshot counting-v1-") == true)
        #expect(ProjectionRunner<CountingV1>.snapshotOffsets(engine: crm) == [150])
        #expect(restored.read { state, _ in state.count } == 1_000_000 + crm.nextOffset - 150, "caught up from 150")
        await crm.close()
    }

    @Test("Snapshot files: blocks compressed or stored round trip; damage anywhere is refused and named")
    func snapshotFileFormat() throws {
        // 1.5 MB that compress, then 1.2 MB that do not (xorshift): three blocks, the last stored as it is.
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        let incompressible = (0..<1_200_000).map { _ -> UInt8 in
            seed ^= seed << 13
            seed ^= seed >> 7
            seed ^= seed << 17
            return UInt8(truncatingIfNeeded: seed)
        }
        let state = (0..<1_500_000).map { UInt8($0 / 7 % 251) } + incompressible
        // Written from start to end as it streams in: the header, the three blocks, then the table and trailer.
        var writes = [(at: Int64, count: Int)]()
        try SnapshotFile.write(state: state, projection: "shop-x", version: 3, offset: 77) {
            writes.append(($1, $0.count))
        }
        let file = SnapshotFile.encode(state: state, projection: "shop-x", version: 3, offset: 77)
        let headerCount = SnapshotFile.fixedHeaderCount + 6
        #expect(writes.count == 5 && writes.first?.at == 0 && writes.first?.count == headerCount, "\(writes)")
        let tableCount = 3 * SnapshotFile.tableEntryCount
        #expect(writes.last?.count == tableCount + SnapshotFile.trailerCount, "the table and the trailer last")
        #expect(zip(writes, writes.dropFirst()).allSatisfy { $0.at + Int64($0.count) == $1.at }, "no gap, no overlap")
        #expect(writes.reduce(0) { $0 + $1.count } == file.count)
        #expect(file.count < state.count)
        let tableStart = file.count - SnapshotFile.trailerCount - tableCount
        func tableField(_ block: Int, _ field: Int) -> UInt32 {
            let start = tableStart + block * SnapshotFile.tableEntryCount + field * 4
            return (0..<4).reduce(UInt32(0)) { $0 | UInt32(file[start + $1]) << (8 * $1) }
        }
        let storedLengths = (0..<3).map { tableField($0, 0) }
        #expect((0..<3).map { tableField($0, 1) } == [1 << 20, 1 << 20, UInt32(state.count - 2 << 20)])
        #expect(storedLengths[0] & SnapshotFile.storedUncompressed == 0)
        #expect(storedLengths[2] == UInt32(state.count - 2 << 20) | SnapshotFile.storedUncompressed)
        guard case .state(let back) = SnapshotFile.decode(file, projection: "shop-x", version: 3, offset: 77) else {
            Issue.record("a whole file was refused")
            return
        }
        #expect(back == state)

        func refusal(
            _ bytes: [UInt8],
            projection: String = "shop-x",
            version: UInt32 = 3,
            offset: Int64 = 77
        )
            -> String?
        {
            if case .damaged(let reason) = SnapshotFile.decode(
                bytes,
                projection: projection,
                version: version,
                offset: offset
            ) {
                return reason
            }
            return nil
        }
        func flipped(_ position: Int) -> [UInt8] {
            var bytes = file
            bytes[position] ^= 0x04
            return bytes
        }
        let dataStart = headerCount
        let checksum = "header, block table or trailer does not match its checksum"
        #expect(refusal(flipped(2))?.contains("not a snapshot") == true)
        #expect(refusal(flipped(20))?.contains(checksum) == true)
        #expect(refusal(flipped(tableStart + 9))?.contains(checksum) == true)
        #expect(refusal(flipped(file.count - 16))?.contains(checksum) == true, "the state's byte count")
        #expect(refusal(flipped(file.count - 5))?.contains("blocks, more than the file holds") == true)
        #expect(refusal(file, version: 4)?.contains("another projection, version or offset") == true)
        #expect(refusal(file, offset: 78)?.contains("another projection, version or offset") == true)
        #expect(refusal(file, projection: "shop-y")?.contains("another projection, version or offset") == true)
        #expect(refusal(flipped(dataStart + 100))?.contains("block 0 at byte \(dataStart)") == true)
        #expect(refusal(flipped(tableStart - 1))?.contains("block 2") == true, "a stored block is checked too")
        // Cut or extended, the trailer is read from other bytes.
        #expect(refusal(Array(file.dropLast())) != nil && refusal(file + [0]) != nil)
        #expect(refusal(Array(file.prefix(dataStart + 10)))?.contains("too short") == true)
        for format: UInt8 in [1, 2, 3] {
            var older = file
            older[8] = format
            let contents = SnapshotFile.decode(older, projection: "shop-x", version: 3, offset: 77)
            if case .otherFormat(UInt16(format)) = contents {
            } else {
                Issue.record("a format \(format) file is another format, not damage")
            }
        }
        // More blocks than one round compresses at once: the second round reuses the first one's buffers.
        let blocks = SnapshotFile.blocksPerRound + 2
        let large = (0..<(blocks - 1) << 20 + 5).map { UInt8(truncatingIfNeeded: $0 / 3 &* 2_654_435_761 >> 7) }
        let largeFile = SnapshotFile.encode(state: large, projection: "p", version: 1, offset: 9)
        // Streamed in pieces that straddle blocks and rounds: the same file.
        var streamed = [UInt8]()
        let writer = SnapshotFile.Writer(projection: "p", version: 1, offset: 9) { bytes, at in
            #expect(Int(at) == streamed.count)
            streamed += bytes
        }
        for start in stride(from: 0, to: large.count, by: 333_333) {
            large[start..<min(large.count, start + 333_333)].withUnsafeBytes { writer.take($0) }
        }
        try writer.finish()
        #expect(streamed == largeFile)
        if case .state(let back) = SnapshotFile.decode(largeFile, projection: "p", version: 1, offset: 9) {
            #expect(back == large && largeFile.count < large.count)
        } else {
            Issue.record("a state of \(blocks) blocks was refused")
        }
        let empty = SnapshotFile.encode(state: [], projection: "p", version: 1, offset: 0)
        if case .state(let nothing) = SnapshotFile.decode(empty, projection: "p", version: 1, offset: 0) {
            #expect(nothing.isEmpty)
        } else {
            Issue.record("an empty state was refused")
        }
    }

    @Test("Bytes prepared on several threads at once are stored in stream order, in blocks of their own")
    func preparedPieces() throws {
        // Pieces of 1 byte, 1.5 MiB and 3 MiB, prepared together on every core, between bytes taken as they are.
        let pieces = [1, 3 << 19, 3 << 20].enumerated().map { number, count in
            (0..<count).map { UInt8(truncatingIfNeeded: ($0 / (number + 2)) &* 31) }
        }
        let before = (0..<1_300_000).map { UInt8($0 % 13) }
        let between: [UInt8] = [7, 7, 7]
        var file = [UInt8]()
        let writer = SnapshotFile.Writer(projection: "p", version: 1, offset: 5) { bytes, at in
            #expect(Int(at) == file.count, "written from start to end")
            file += bytes
        }
        let prepared = concurrentMap(pieces.count) { index in pieces[index].withUnsafeBytes { writer.prepare($0)! } }
        before.withUnsafeBytes { writer.take($0) }
        for (index, piece) in prepared.enumerated() {
            writer.take(prepared: piece)
            if index == 0 { between.withUnsafeBytes { writer.take($0) } }
        }
        try writer.finish()
        let state = before + pieces[0] + between + pieces[1] + pieces[2]
        guard case .state(let back) = SnapshotFile.decode(file, projection: "p", version: 1, offset: 5) else {
            Issue.record("a file of prepared pieces was refused")
            return
        }
        #expect(back == state)
        // The block table: what was taken is cut short where a piece follows; each piece has blocks of its own.
        let blocks = 9
        let tableStart = file.count - SnapshotFile.trailerCount - blocks * SnapshotFile.tableEntryCount
        func uncompressed(_ block: Int) -> Int {
            let start = tableStart + block * SnapshotFile.tableEntryCount + 4
            return (0..<4).reduce(0) { $0 | Int(file[start + $1]) << (8 * $1) }
        }
        let expected = [1 << 20, 1_300_000 - 1 << 20, 1, 3, 1 << 20, 1 << 19, 1 << 20, 1 << 20, 1 << 20]
        #expect((0..<blocks).map(uncompressed) == expected)

        // Uncompressed lengths that do not add up to the state's byte count, or past the largest block, are refused,
        // with the CRC over the table made right again.
        func refusal(changingUncompressedLengthOf block: Int) -> String? {
            var changed = file
            changed[tableStart + block * SnapshotFile.tableEntryCount + 4] ^= 0x01
            let header = Array(changed[..<(SnapshotFile.fixedHeaderCount + 1)])
            let crc = Array(changed[tableStart..<file.count - 4]).withUnsafeBytes {
                CRC32C.checksum($0, continuing: CRC32C.checksum(header))
            }
            for byte in 0..<4 { changed[file.count - 4 + byte] = UInt8(truncatingIfNeeded: crc >> (8 * byte)) }
            if case .damaged(let reason) = SnapshotFile.decode(changed, projection: "p", version: 1, offset: 5) {
                return reason
            }
            return nil
        }
        let uncovered = refusal(changingUncompressedLengthOf: 1)
        let covering = "its block table covers \(state.count + 1) bytes"
        #expect(uncovered?.contains(covering) == true, "\(uncovered ?? "read")")
        let oversized = refusal(changingUncompressedLengthOf: 0)
        #expect(oversized?.contains("its block 0 holds 1048577 bytes") == true, "\(oversized ?? "read")")
    }

    @Test("A snapshot read lazily: any range, across blocks, reads the state's bytes; a damaged block only when read")
    func blocksReadLazily() throws {
        let directory = TemporaryDirectory("snapshots")
        let store = SnapshotStore(path: directory.path, readOnly: false)
        var seed: UInt64 = 0x2545_F491_4F6C_DD1D
        // 2.5 MB: two blocks that compress, then about half a block that does not.
        let state =
            (0..<(2 << 20)).map { UInt8($0 / 5 % 241) }
            + (0..<500_000).map { _ -> UInt8 in
                seed ^= seed << 13
                seed ^= seed >> 7
                seed ^= seed << 17
                return UInt8(truncatingIfNeeded: seed)
            }
        // Blocks of four sizes: 700,000 bytes taken as they are, cut short where the prepared bytes follow; those,
        // compressed where they were prepared, a block of 1 MiB and one of the rest; then the last 500,000 bytes.
        #expect(
            try store.write(projection: "lazy", version: 2, offset: 9) { writer in
                writer.append(encoded: state[..<700_000])
                let prepared = state[700_000..<(2 << 20)].withUnsafeBytes { writer.sink!.prepare($0)! }
                writer.append(prepared: prepared)
                writer.append(encoded: state[(2 << 20)...])
            }
        )
        #expect(store.blocks(projection: "lazy", version: 2, at: 8) == nil, "no snapshot at that offset")
        #expect(store.blocks(projection: "lazy", version: 3, at: 9) == nil, "no snapshot of that version")
        let blocks = try #require(store.blocks(projection: "lazy", version: 2, at: 9))
        #expect(blocks.count == state.count)
        let boundaries = [700_000, 700_000 + 1 << 20, 2 << 20]
        let across = boundaries.map { $0 - 7..<$0 + 9 } + [699_999..<(2 << 20) + 1]
        // The first bytes of each block (decompressed only that far) before the whole block, and after it.
        let starts = [0, 700_000, 700_000 + 1 << 20, 2 << 20]
        let firstBytes = starts.map { $0..<$0 + 10 } + starts.map { $0 + 3..<$0 + 4 }
        for range in firstBytes + [0..<10, 2_100_000..<state.count, 5..<5, 0..<state.count] + across + firstBytes {
            #expect(try blocks.withBytes(in: range) { Array($0) } == Array(state[range]), "\(range)")
        }
        // Reads on several threads at once, each into a buffer lent for it, of sizes that come and go.
        let ranges = (0..<96).map { index -> Range<Int> in
            let start = index * 27_361 % state.count
            return start..<min(state.count, start + 1 + index % 7 * 180_001)
        }
        let fresh = try #require(store.blocks(projection: "lazy", version: 2, at: 9))
        let read = Locked([Int: [UInt8]]())
        DispatchQueue.concurrentPerform(iterations: ranges.count) { index in
            let bytes = try? fresh.withBytes(in: ranges[index]) { Array($0) }
            read.withLock { $0[index] = bytes }
        }
        let readInParallel = read.withLock { $0 }
        #expect(ranges.indices.allSatisfy { readInParallel[$0] == Array(state[ranges[$0]]) })
        #expect(fresh.damage == nil)

        let file = directory.path(SnapshotStore.fileName(projection: "lazy", version: 2, offset: 9))
        try Self.damageLastBlock(file, distance: 1, flipping: 0x40)
        let damaged = try #require(store.blocks(projection: "lazy", version: 2, at: 9), "the header still checks out")
        #expect(try damaged.withBytes(in: 0..<100) { Array($0) } == Array(state[0..<100]))
        #expect(damaged.damage == nil)
        #expect {
            try damaged.withBytes(in: state.count - 10..<state.count) { _ in () }
        } throws: { error in
            "\(error)".contains("block 3 at byte")
        }
        #expect(damaged.damage?.contains("block 3 at byte") == true, "the damage is kept for whoever reads next")
        try Self.damage(file, at: { _ in 20 }, flipping: 0x01)
        #expect(store.blocks(projection: "lazy", version: 2, at: 9) == nil, "a damaged header")
    }

    @Test("One customer read out of a snapshot answers as the whole state does; none at that offset, or damaged: nil")
    func oneCustomerFromSnapshot() async throws {
        let directory = TemporaryDirectory("snapshots")
        let crm = try await syntheticEngine(in: directory, customers: 300, seed: 8)
        let live = ProjectionRunner<CustomerProfiles>(engine: crm)
        try live.catchUp()
        #expect(try live.saveSnapshot())
        let whole = live.read { state, _ in state }
        let merged = Array(whole.identities.aliases.keys)
        #expect(!merged.isEmpty, "the synthetic log merges ids")
        // A time some segment changes come after.
        let earlier = EventTime(microseconds: whole.clock!.microseconds - 30 * 86_400_000_000)
        for customer in whole.profiles.all.map(\.id) + merged + ["nobody"] {
            let one = try #require(ProjectionRunner<CustomerProfiles>.stateOfOneCustomer(customer, engine: crm))
            #expect(one.profiles.count == (whole.profile(of: customer) == nil ? 0 : 1))
            #expect(
                one.profile(of: customer)?.rows.map { "\($0)=\($1)" }
                    == whole.profile(of: customer)?.rows.map { "\($0)=\($1)" }
            )
            #expect(one.segments(of: customer) == whole.segments(of: customer))
            #expect(one.segments(of: customer, asOf: earlier) == whole.segments(of: customer, asOf: earlier))
            #expect(one.segmentHistory(of: customer) == whole.segmentHistory(of: customer))
            #expect(one.rfmGroup(of: customer) == whole.rfmGroup(of: customer))
            #expect(one.identities == whole.identities && one.clock == whole.clock)
        }
        #expect(ProjectionRunner<CustomerProfiles>.stateOfOneCustomer("c-1", engine: crm, at: 100) == nil)

        let file = directory.path("snapshots/") + Self.snapshotFiles(directory.path).first { $0.hasPrefix("customer") }!
        try Self.damageLastBlock(file, distance: 3, flipping: 0x10)
        #expect(ProjectionRunner<CustomerProfiles>.stateOfOneCustomer("c-1", engine: crm) == nil)
        #expect(FileManager.default.fileExists(atPath: file), "left for the whole restore to report")
        var notices = [String]()
        _ = try ProjectionRunner<CustomerProfiles>.restore(engine: crm, notices: &notices)
        #expect(notices.count == 1 && notices[0].contains("damaged"), "\(notices)")
        await crm.close()
    }

    @Test("Memberships read out of a snapshot answer segment queries as the whole state does; else or damaged: nil")
    func membershipsFromSnapshot() async throws {
        let directory = TemporaryDirectory("snapshots")
        let crm = try await syntheticEngine(in: directory, customers: 300, seed: 9)
        let live = ProjectionRunner<CustomerProfiles>(engine: crm)
        try live.catchUp()
        #expect(try live.saveSnapshot())
        let whole = live.read { state, _ in state }
        let part = try #require(ProjectionRunner<CustomerProfiles>.segmentMemberships(engine: crm))
        #expect(part.count == whole.profiles.count)
        #expect(part.identities == whole.identities && part.clock == whole.clock)
        let names = Set(whole.segments.generations.map(\.name)).sorted() + ["nobody"]
        #expect(names.contains { !whole.members(of: $0).isEmpty }, "the synthetic log's segments have members")
        let day: Int64 = 86_400_000_000
        let times = [nil] + [0, 30, 90, 365].map { EventTime(microseconds: whole.clock!.microseconds - $0 * day) }
        for time in times {
            let summaries = { (source: any SegmentMembershipSource) in
                source.segmentSummaries(asOf: time).map { "\($0.name) \($0.members) \($0.definedAt)" }
            }
            #expect(summaries(part) == summaries(whole))
            for name in names {
                #expect(part.members(of: name, asOf: time) == whole.members(of: name, asOf: time))
                #expect(
                    part.sizes(of: name, asOf: time).map { "\($0.at) \($0.size)" }
                        == whole.sizes(of: name, asOf: time).map { "\($0.at) \($0.size)" }
                )
            }
        }
        #expect(ProjectionRunner<CustomerProfiles>.segmentMemberships(engine: crm, at: 100) == nil)

        let file = directory.path("snapshots/") + Self.snapshotFiles(directory.path).first { $0.hasPrefix("customer") }!
        try Self.damageLastBlock(file, distance: 3, flipping: 0x10)
        #expect(ProjectionRunner<CustomerProfiles>.segmentMemberships(engine: crm) == nil)
        await crm.close()
    }

    @Test("Erasure deletes snapshots and holds new ones back until the runner has applied it")
    func erasureAndSnapshots() async throws {
        let directory = TemporaryDirectory("snapshots")
        let crm = try CRMEngine.open(at: directory.path)
        try await crm.append(SampleEvents.registered)
        let live = ProjectionRunner<CustomerProfiles>(engine: crm)
        try live.catchUp()
        #expect(try live.saveSnapshot())
        #expect(try Self.filesHolding("ana@example.com", engineAt: directory.path).count == 1, "the snapshot holds it")
        try await crm.forget("c-42")
        #expect(Self.snapshotFiles(directory.path).isEmpty, "erasure deleted the snapshot")
        #expect(try live.saveSnapshot() == false, "the runner has not applied the erasure yet")
        try live.catchUp()
        #expect(try live.saveSnapshot())
        #expect(try Self.filesHolding("ana@example.com", engineAt: directory.path).isEmpty)
        #expect(live.read { state, _ in state.profile(of: "c-42")?.forgotten } == true)
        await crm.close()
    }
}
