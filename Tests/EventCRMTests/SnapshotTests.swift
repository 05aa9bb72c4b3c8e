import CRMModel
import CRMProjections
import EventCRM
import Foundation
import Testing
import _EventLogTestSupport

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

    @Test("A damaged snapshot is deleted and reported; a snapshot of another version is never loaded")
    func damagedAndStale() async throws {
        let directory = TemporaryDirectory("snapshots")
        let crm = try CRMEngine.open(at: directory.path)
        try await crm.append(contentsOf: Array(SyntheticData(.init(customers: 30, seed: 5))))
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
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
        bytes[bytes.count / 2] ^= 0x10
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        notices = []
        let restored = try ProjectionRunner<CustomerProfiles>.restore(engine: crm, notices: &notices)
        #expect(notices.count == 1 && notices[0].contains("damaged"), "\(notices)")
        #expect(!FileManager.default.fileExists(atPath: file))
        let rebuilt = try ProjectionRunner<CustomerProfiles>.rebuild(engine: crm)
        #expect(restored.read { state, _ in state.serialized } == rebuilt.read { state, _ in state.serialized })
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
        #expect(try filesContaining("ana@example.com", under: directory.path).count == 1, "the snapshot holds it")
        try await crm.forget("c-42")
        #expect(Self.snapshotFiles(directory.path).isEmpty, "erasure deleted the snapshot")
        #expect(try live.saveSnapshot() == false, "the runner has not applied the erasure yet")
        try live.catchUp()
        #expect(try live.saveSnapshot())
        #expect(try filesContaining("ana@example.com", under: directory.path).isEmpty)
        #expect(live.read { state, _ in state.profile(of: "c-42")?.forgotten } == true)
        await crm.close()
    }
}
