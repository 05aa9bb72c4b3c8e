import CRMModel
import Foundation
import Locking
import Testing
import _EventLogTestSupport

@testable import EventCRM

@Suite("Merges index")
struct MergeIndexTests {
    /// The (survivor, merged id) customer hashes of the merges before `end`, as a scan of the log finds them.
    private func scanned(_ engine: CRMEngine, below end: Int64) throws -> [[UInt64]] {
        try IdentityGroups.mergedIDs(engine: engine, from: 0, to: end).map {
            [StableHash.customer($0.customer), StableHash.customer($0.from)]
        }
    }

    /// The same pairs as the merges index gives them, and the offset it says it covers.
    private func indexed(_ engine: CRMEngine, below end: Int64) -> (pairs: [[UInt64]], through: Int64) {
        let (pairs, through) = engine.indexes.withLock { $0.merges.merges(below: end) }
        return (pairs.map { [$0.survivor, $0.merged] }, through)
    }

    /// Every cut of the log at a merge, at its end and past it: the index gives what a scan gives.
    private func expectSameAsScan(_ engine: CRMEngine) throws {
        let head = engine.nextOffset
        let merges = try IdentityGroups.mergedIDs(engine: engine, from: 0, to: head)
        #expect(merges.count >= 3, "the synthetic log merges ids")
        var offsets = [Int64]()
        let reader = try engine.events(personalData: .withhold)
        for stored in reader where stored.event.type == .customerMerged { offsets.append(stored.offset) }
        #expect(reader.error == nil)
        for end in offsets + [offsets[offsets.count / 2] + 1, head, head + 10] {
            let (pairs, through) = indexed(engine, below: end)
            #expect(pairs == (try scanned(engine, below: end)), "below \(end)")
            #expect(through == min(end, head))
        }
    }

    @Test("Lists each merge's two ids as a scan of the log finds them: in memory, after close, rebuilt when deleted")
    func listsEveryMerge() async throws {
        let directory = TemporaryDirectory("merges")
        let engine = try await syntheticEngine(in: directory, customers: 400, seed: 11)
        try expectSameAsScan(engine)
        await engine.close()

        // Written to a run at close: read back without a notice.
        let reopened = try CRMEngine.open(at: directory.path)
        #expect(reopened.notices.isEmpty, "\(reopened.notices)")
        #expect(
            FileManager.default.fileExists(atPath: directory.path("index/merges/MANIFEST"))
        )
        try expectSameAsScan(reopened)
        await reopened.close()

        try FileManager.default.removeItem(atPath: directory.path("index/merges"))
        let rebuilt = try CRMEngine.open(at: directory.path)
        #expect(rebuilt.notices == ["rebuilding index/merges from the log: it was missing"])
        try expectSameAsScan(rebuilt)
        await rebuilt.close()
    }
}
