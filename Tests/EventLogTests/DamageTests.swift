import Foundation
import Testing
import _EventLogTestSupport

@testable import EventLog

/// Damage on purpose: torn tails, flipped bits, lost indexes, zeros. The log cuts a torn tail or reports the
/// damage with its place; it never crashes and never returns wrong data.
@Suite("Damaged files")
struct DamageTests {
    /// A log with sealed segments and an active one; returns the directory and the records' identities.
    static func makeLog(
        lastAppend: Int = 1,
        lastPayload: Int = 50,
        segmentBytes: Int = 32 << 10
    ) async throws -> (TemporaryDirectory, [CheckedRecords.Identity]) {
        let directory = TemporaryDirectory("damage")
        let log = try EventLog.open(at: directory.path, configuration: smallSegments(segmentBytes))
        var identities = try await appendChecked(log, appends: 60, maxCount: 10, maxPayload: 600)
        // The last frame, whose bytes the tests cut.
        try await log.append(CheckedRecords.batch(appendID: 0xABCD, count: lastAppend, maxPayload: lastPayload))
        for index in 0..<lastAppend {
            identities.append(.init(appendID: 0xABCD, index: UInt32(index), count: UInt32(lastAppend)))
        }
        await log.close()
        return (directory, identities)
    }

    /// Reads everything; every record returned must be the expected one at its offset.
    static func readChecked(_ log: EventLog, _ identities: [CheckedRecords.Identity]) throws -> Int {
        let records = try readAll(log)
        for record in records {
            #expect(CheckedRecords.check(record) == identities[Int(record.offset)], "wrong data at \(record.offset)")
        }
        return records.count
    }

    /// The position of the last frame of the active segment.
    static func lastFramePosition(_ segment: String) throws -> Int64 {
        let file = try PosixFile.open(segment, name: "s", flags: O_RDONLY)
        defer { file.close() }
        var cursor = FrameCursor(file: file, position: Int64(SegmentHeader.size), limit: try file.size())
        var last: Int64 = -1
        while case .frame(_, _, let position) = try cursor.next() { last = position }
        return last
    }

    @Test("Cutting the last batch at every byte: the torn tail is cut and reported, the rest is intact")
    func tornSmallBatch() async throws {
        let (directory, identities) = try await Self.makeLog()
        let active = directory.path(Files.segmentNames(directory.path).last!)
        let frameStart = try Self.lastFramePosition(active)
        let fileEnd = Files.size(active)
        #expect(fileEnd - frameStart < 300)
        for cut in frameStart..<fileEnd {
            let copy = Files.copy(directory.path)
            let segment = copy.path(Files.segmentNames(copy.path).last!)
            Files.truncate(segment, to: cut)
            let log = try EventLog.open(at: copy.path, configuration: smallSegments(32 << 10))
            #expect(log.nextOffset == Int64(identities.count - 1))
            if cut > frameStart {
                #expect(
                    log.notices == [
                        .tornTailTruncated(
                            segment: (segment as NSString).lastPathComponent,
                            position: frameStart,
                            bytes: cut - frameStart
                        )
                    ]
                )
            } else {
                #expect(log.notices.isEmpty)
            }
            #expect(try Self.readChecked(log, identities) == identities.count - 1)
            #expect(Files.size(segment) == frameStart)
            try await log.append(CheckedRecords.batch(appendID: 7, count: 2))
            #expect(try log.verify().isValid)
            await log.close()
        }
    }

    @Test("Cutting a large last batch at random points")
    func tornLargeBatch() async throws {
        let (directory, identities) = try await Self.makeLog(lastAppend: 300, lastPayload: 400, segmentBytes: 1 << 20)
        let active = directory.path(Files.segmentNames(directory.path).last!)
        let frameStart = try Self.lastFramePosition(active)
        let fileEnd = Files.size(active)
        #expect(fileEnd - frameStart > 30_000)
        var random = SplitMix64(seed: 5)
        for _ in 0..<40 {
            let cut = frameStart + 1 + Int64(random.next() % UInt64(fileEnd - frameStart - 1))
            let copy = Files.copy(directory.path)
            Files.truncate(copy.path(Files.segmentNames(copy.path).last!), to: cut)
            let log = try EventLog.open(at: copy.path, configuration: smallSegments(1 << 20))
            #expect(log.nextOffset == Int64(identities.count - 300))
            #expect(log.notices.count == 1)
            #expect(try Self.readChecked(log, identities) == identities.count - 300)
            await log.close()
        }
    }

    @Test("Zeros after the last batch (a file system that extended the file) are cut")
    func zeroFilledTail() async throws {
        let (directory, identities) = try await Self.makeLog()
        let active = directory.path(Files.segmentNames(directory.path).last!)
        let before = Files.size(active)
        Files.write(active, Files.read(active) + [UInt8](repeating: 0, count: 8192))
        let log = try EventLog.open(at: directory.path, configuration: smallSegments(32 << 10))
        #expect(log.notices.count == 1)
        #expect(Files.size(active) == before)
        #expect(try Self.readChecked(log, identities) == identities.count)
        await log.close()
    }

    @Test("Damage in the scanned tail with good batches after it is refused at open, not cut")
    func holeInActiveTail() async throws {
        let (directory, _) = try await Self.makeLog(lastAppend: 5, segmentBytes: 1 << 20)
        let active = directory.path(Files.segmentNames(directory.path).last!)
        // Only the first frame has an index hint, so opening scans the whole segment.
        Files.truncate(directory.path(String(Files.segmentNames(directory.path).last!.dropLast(3)) + "index"), to: 48)
        let size = Files.size(active)
        Files.flipBit(active, at: Int(size / 2), bit: 3)
        let error = #expect(throws: EventLogError.self) {
            try EventLog.open(at: directory.path, configuration: smallSegments(1 << 20))
        }
        #expect(error?.code == .corruptSegment)
        #expect(error?.file == (active as NSString).lastPathComponent)
        #expect(error?.position != nil)
        #expect(Files.size(active) == size, "nothing was cut")
    }

    @Test("Damage in the active segment before the scanned tail is raised when read, with its position")
    func holeBeforeActiveTail() async throws {
        let (directory, identities) = try await Self.makeLog(lastAppend: 5, segmentBytes: 1 << 20)
        let name = Files.segmentNames(directory.path).last!
        let active = directory.path(name)
        Files.flipBit(active, at: 200, bit: 0)
        let log = try EventLog.open(at: directory.path, configuration: smallSegments(1 << 20))
        #expect(log.nextOffset == Int64(identities.count), "opening reads only the tail")
        let error = #expect(throws: EventLogError.self) { try Self.readChecked(log, identities) }
        #expect(error?.code == .corruptSegment && error?.file == name && error?.position == Int64(SegmentHeader.size))
        #expect(try log.verify().firstProblem?.file == name)
        await log.close()
    }

    @Test("A flipped bit anywhere in a sealed segment is reported with its segment and position, never returned")
    func bitFlipsInSealedSegments() async throws {
        let (directory, identities) = try await Self.makeLog()
        let segments = Files.segmentNames(directory.path)
        #expect(segments.count >= 3)
        var random = SplitMix64(seed: 17)
        for _ in 0..<60 {
            let copy = Files.copy(directory.path)
            let name = segments[Int(random.next() % UInt64(segments.count - 1))]
            let path = copy.path(name)
            let position = Int(random.next() % UInt64(Files.size(path)))
            Files.flipBit(path, at: position, bit: Int(random.next() % 8))
            let log = try EventLog.open(at: copy.path, configuration: smallSegments(32 << 10))
            let report = try log.verify()
            #expect(!report.isValid)
            #expect(report.firstProblem?.file == name, "\(report)")
            do {
                _ = try Self.readChecked(log, identities)
                // Only the segment header is not read by readers; its damage is for verify to find.
                #expect(position < SegmentHeader.size, "damage at \(position) of \(name) was read without an error")
            } catch let error as EventLogError {
                #expect(error.code == .corruptSegment)
                #expect(error.file == name)
                #expect(error.position != nil)
            }
            await log.close()
        }
    }

    @Test(
        "Damaged or missing indexes of sealed segments are rebuilt and reported",
        arguments: ["delete", "flip", "truncate"]
    )
    func damagedIndexes(damage: String) async throws {
        let (directory, identities) = try await Self.makeLog()
        let sealed = Files.segmentNames(directory.path).dropLast()
        var random = SplitMix64(seed: 23)
        for name in sealed {
            for ext in ["index", "timeindex"] where random.next() % 2 == 0 || name == sealed.first {
                let path = directory.path(String(name.dropLast(3)) + ext)
                switch damage {
                case "delete": try FileManager.default.removeItem(atPath: path)
                case "flip": Files.flipBit(path, at: Int(random.next() % UInt64(Files.size(path))), bit: 1)
                default: Files.truncate(path, to: Files.size(path) - 5)
                }
            }
        }
        let log = try EventLog.open(at: directory.path, configuration: smallSegments(32 << 10))
        #expect(!(try log.verify().isValid), "verify reports the damaged index")
        #expect(try Self.readChecked(log, identities) == identities.count)
        #expect(log.notices.contains { if case .indexRebuilt = $0 { true } else { false } })
        #expect(try log.verify().isValid, "the writer wrote the rebuilt indexes back")
        await log.close()
    }
}
