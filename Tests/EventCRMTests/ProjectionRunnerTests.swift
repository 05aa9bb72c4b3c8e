import CRMModel
import CRMProjections
import EventCRM
import Testing
import _EventLogTestSupport

@Suite("Projection runtime: determinism")
struct ProjectionRunnerTests {
    @Test(
        "Rebuilt on one core, on several, live, or restored from serialized state and caught up: the same bytes",
        arguments: [UInt64(1), 2, 3]
    )
    func determinism(seed: UInt64) async throws {
        let directory = TemporaryDirectory("projections")
        let crm = try CRMEngine.open(at: directory.path)
        let live = ProjectionRunner<CustomerProfiles>(engine: crm)
        var restored: ProjectionRunner<CustomerProfiles>?
        // Generated shop data: merges, erasures, late events, every type.
        let events = Array(SyntheticData(.init(customers: 300, seed: seed)))
        for (number, chunk) in stride(from: 0, to: events.count, by: 500).enumerated() {
            try await crm.append(contentsOf: Array(events[chunk..<min(chunk + 500, events.count)]))
            try live.catchUp()
            if number == 3 {
                let bytes = live.read { state, _ in state.serialized }
                restored = ProjectionRunner(
                    engine: crm,
                    state: try CustomerProfiles.State(serialized: bytes),
                    offset: live.nextOffset
                )
            }
        }
        try restored!.catchUp()
        let expected = live.read { state, _ in state.serialized }
        #expect(restored!.read { state, _ in state.serialized } == expected)
        for workers in [1, 2, 3] {
            let rebuilt = try ProjectionRunner<CustomerProfiles>.rebuild(engine: crm, workers: workers)
            #expect(rebuilt.nextOffset == crm.nextOffset)
            #expect(rebuilt.read { state, _ in state.serialized } == expected, "rebuild with \(workers) workers")
        }
        // Merges really happened, so identity groups and shards were exercised.
        let merged = live.read { state, _ in state.identities.aliases.count }
        #expect(merged > 0)
        await crm.close()
    }

    @Test("A rebuild up to an offset equals a live fold stopped there")
    func rebuildUpToOffset() async throws {
        let directory = TemporaryDirectory("projections")
        let crm = try CRMEngine.open(at: directory.path)
        try await crm.append(contentsOf: Array(SyntheticData(.init(customers: 100, seed: 9))))
        let live = ProjectionRunner<CustomerProfiles>(engine: crm)
        try live.catchUp(to: 700)
        let rebuilt = try ProjectionRunner<CustomerProfiles>.rebuild(engine: crm, upTo: 700, workers: 2)
        #expect(rebuilt.nextOffset == 700 && live.nextOffset == 700)
        #expect(rebuilt.read { state, _ in state.serialized } == live.read { state, _ in state.serialized })
        await crm.close()
    }
}
