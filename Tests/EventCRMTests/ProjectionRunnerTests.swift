import CRMModel
import CRMProjections
import EventCRM
import Testing
import _EventLogTestSupport

@Suite("Projection runtime: determinism")
struct ProjectionRunnerTests {
    /// Appends generated shop data (merges, erasures, late events, every type) in chunks, following it live, and
    /// checks that a state restored from bytes midway and caught up, and rebuilds on 1, 2 and 3 workers, all give
    /// the live state's bytes. Returns the live runner (the engine stays open).
    static func checkDeterminism<P: Projection>(
        _ projection: P.Type,
        seed: UInt64,
        directory: TemporaryDirectory
    ) async throws -> (ProjectionRunner<P>, CRMEngine) {
        // Small segment files: a rebuild on several cores reads the merges of each file on a core of its own.
        var options = CRMEngine.Options()
        options.segmentBytes = 64 << 10
        let crm = try CRMEngine.open(at: directory.path, options: options)
        let live = ProjectionRunner<P>(engine: crm)
        var restored: ProjectionRunner<P>?
        let events = Array(SyntheticData(.init(customers: 300, seed: seed)))
        for (number, chunk) in stride(from: 0, to: events.count, by: 500).enumerated() {
            try await crm.append(contentsOf: Array(events[chunk..<min(chunk + 500, events.count)]))
            try live.catchUp()
            if number == 3 {
                let bytes = live.read { state, _ in state.serialized }
                restored = ProjectionRunner(engine: crm, state: try P.State(serialized: bytes), offset: live.nextOffset)
            }
        }
        try restored!.catchUp()
        #expect(try crm.statistics().segments > 2)
        let expected = live.read { state, _ in state.serialized }
        #expect(restored!.read { state, _ in state.serialized } == expected, "\(P.name) restored")
        for workers in [1, 2, 3] {
            let rebuilt = try ProjectionRunner<P>.rebuild(engine: crm, workers: workers)
            #expect(rebuilt.nextOffset == crm.nextOffset)
            let same = rebuilt.read { state, _ in state.serialized } == expected
            #expect(same, "\(P.name) rebuilt with \(workers) workers")
        }
        return (live, crm)
    }

    @Test(
        "Rebuilt on one core, on several, live, or restored from serialized state and caught up: the same bytes",
        arguments: [UInt64(1), 2, 3]
    )
    func determinism(seed: UInt64) async throws {
        let directory = TemporaryDirectory("projections")
        let (live, crm) = try await Self.checkDeterminism(CustomerProfiles.self, seed: seed, directory: directory)
        // Merges really happened, so identity groups and shards were exercised; so did segment changes (windows
        // included) and monthly RFM rescorings.
        let merged = live.read { state, _ in state.identities.aliases.count }
        #expect(merged > 0)
        let changes = live.read { state, _ in state.profiles.all.flatMap(\.standing.changes) }
        #expect(changes.contains { $0.trigger == .window } && changes.contains { $0.trigger == .event })
        #expect(changes.contains { $0.trigger == .removed })
        #expect(live.read { state, _ in state.profiles.all.contains { $0.standing.rfmGroupName != nil } })
        await crm.close()
    }

    @Test("Customer journeys: rebuilt, live and restored give the same bytes", arguments: [UInt64(4), 5])
    func journeysDeterminism(seed: UInt64) async throws {
        let directory = TemporaryDirectory("projections")
        let (live, crm) = try await Self.checkDeterminism(CustomerJourneys.self, seed: seed, directory: directory)
        // Merges and returns happened, so journeys were joined and conversions revalued.
        #expect(live.read { state, _ in state.identities.aliases.count } > 0)
        let (paths, _) = live.read { state, _ in state.paths(PathOptions()) }
        #expect(paths.contains { $0.conversion != nil } && paths.contains { $0.conversion == nil })
        await crm.close()
    }

    @Test("Shop analytics: rebuilt, live and restored give the same bytes", arguments: [UInt64(6), 7])
    func analyticsDeterminism(seed: UInt64) async throws {
        let directory = TemporaryDirectory("projections")
        let (live, crm) = try await Self.checkDeterminism(ShopAnalytics.self, seed: seed, directory: directory)
        // Orders, tickets, campaigns and launches were all folded.
        let counts = live.read { state, _ in
            [state.orders.count, state.tickets.count, state.campaignRows().count, state.launches.count]
        }
        #expect(counts.allSatisfy { $0 > 0 }, "\(counts)")
        await crm.close()
    }

    @Test("Every projection rebuilt in one pass equals each rebuilt alone", arguments: [1, 2])
    func pairOfProjections(workers: Int) async throws {
        let directory = TemporaryDirectory("projections")
        let crm = try await syntheticEngine(in: directory, customers: 300, seed: 8)
        let together = try ProjectionRunner<EveryProjection>.rebuild(engine: crm, workers: workers).read { state, _ in
            state
        }
        let profiles = try ProjectionRunner<CustomerProfiles>.rebuild(engine: crm, workers: workers)
        let journeys = try ProjectionRunner<CustomerJourneys>.rebuild(engine: crm, workers: workers)
        let analytics = try ProjectionRunner<ShopAnalytics>.rebuild(engine: crm, workers: workers)
        let same = [
            together.first.serialized == profiles.read { state, _ in state.serialized },
            together.second.first.serialized == journeys.read { state, _ in state.serialized },
            together.second.second.serialized == analytics.read { state, _ in state.serialized },
        ]
        #expect(same == [true, true, true])
        // RFM rescorings (the profiles' population steps) happened inside the pair too.
        #expect(together.first.profiles.all.contains { $0.standing.rfmGroupName != nil })
        await crm.close()
    }

    @Test("Members as of a time, from the changes recorded at the head, equal a state rebuilt as of that time")
    func asOfFromRecordedChanges() async throws {
        let directory = TemporaryDirectory("projections")
        let crm = try await syntheticEngine(in: directory, customers: 300, seed: 5)
        let head = try ProjectionRunner<CustomerProfiles>.rebuild(engine: crm, workers: 2).read { state, _ in state }
        let start = try EventTime(rfc3339: "2024-01-01T00:00:00Z").microseconds
        for day in [3, 45, 61, 70, 80, 119, 200, 364] {
            let time = EventTime(microseconds: start + Int64(day) * 86_400_000_000 + 43_200_000_000)
            let replayed = try ProjectionRunner<CustomerProfiles>.state(engine: crm, asOf: time)
            let names = Set(head.segments.generations.map(\.name))
            for name in names.sorted() {
                #expect(head.members(of: name, asOf: time) == replayed.members(of: name), "\(name) on day \(day)")
            }
            #expect(head.segmentSummaries(asOf: time).map(\.name) == replayed.segmentSummaries().map(\.name))
            #expect(replayed.members(of: "email-reachable").count > 0)
        }
        await crm.close()
    }

    // The runner reads and decodes the next chunk in the background while it applies one, frees the chunk before
    // there too, and unseals only registrations and updates.
    @Test("Catching up on a long backlog equals a fold of every event unsealed, one at a time")
    func catchUpOnBacklog() async throws {
        let directory = TemporaryDirectory("projections")
        let crm = try CRMEngine.open(at: directory.path)
        let events = Array(SyntheticData(.init(customers: 400, seed: 11)))
        // Each append is at least one batch: more than two chunks of 96 frames, so that chunks are read in the
        // background after one was applied and freed.
        #expect(events.count / 20 > 2 * 96)
        for start in stride(from: 0, to: events.count, by: 20) {
            try await crm.append(contentsOf: Array(events[start..<min(start + 20, events.count)]))
        }
        let live = ProjectionRunner<CustomerProfiles>(engine: crm)
        try live.catchUp()
        var expected = CustomerProfiles.makeState()
        var revealed = 0
        for stored in try crm.events(personalData: .reveal) {
            if stored.personalData == .revealed { revealed += 1 }
            CustomerProfiles.applyInSequence(offset: stored.offset, event: stored.event, to: &expected)
        }
        #expect(revealed > 0)
        #expect(live.nextOffset == crm.nextOffset)
        let same = live.read { state, _ in state.serialized } == expected.serialized
        #expect(same, "the caught-up state differs from the fold of every event unsealed")
        await crm.close()
    }

    @Test("Every projection, decoded without the fields that only describe events, equals a fold of every field")
    func countedDecodingChangesNoState() async throws {
        #expect(EveryProjection.eventDetail == .counted)
        try await decodingWithLessDetailChangesNoState(EveryProjection.self)
    }

    @Test("The customer projection, decoded without descriptions and items, equals a fold of every field")
    func profilesDecodedWithoutItemsChangeNoState() async throws {
        #expect(CustomerProfiles.eventDetail == [])
        try await decodingWithLessDetailChangesNoState(CustomerProfiles.self)
    }

    /// Rebuilt on one and two workers and followed live, `P` (decoded with its own `eventDetail`) folds the state
    /// that a fold of every event decoded whole gives.
    private func decodingWithLessDetailChangesNoState<P: Projection>(_: P.Type) async throws {
        let directory = TemporaryDirectory("projections")
        let crm = try CRMEngine.open(at: directory.path)
        // The described fields filled with values that differ from event to event: a projection reading any of
        // them would fold a different state from the complete events than the rebuild does without them.
        var random = SplitMix64(seed: 13)
        func text() -> String { "d-\(random.next() % 1000)" }
        var events = Array(SyntheticData(.init(customers: 300, seed: 12)))
        for index in events.indices {
            switch events[index].payload {
            case .touchpoint(let channel, let campaign, _, _, _, _):
                events[index].payload = .touchpoint(
                    channel: channel,
                    campaign: campaign,
                    source: text(),
                    medium: text(),
                    kind: text(),
                    url: text()
                )
            case .orderPlaced(let order, let total, let items, let channel, let country, _, let city):
                events[index].payload = .orderPlaced(
                    order: order,
                    total: total,
                    items: items,
                    channel: channel,
                    country: country,
                    region: text(),
                    city: city
                )
            case .orderShipped(let order, _, _):
                events[index].payload = .orderShipped(order: order, carrier: text(), tracking: text())
            case .orderCancelled(let order, _):
                events[index].payload = .orderCancelled(order: order, reason: text())
            default: break
            }
        }
        try await crm.append(contentsOf: events)
        var expected = P.makeState()
        var described = 0
        var withItems = 0
        for stored in try crm.events(personalData: .revealOnly(P.personalFieldsRead)) {
            if case .touchpoint(_, _, .some, _, _, _) = stored.event.payload { described += 1 }
            if case .orderPlaced(_, _, .some, _, _, _, _) = stored.event.payload { withItems += 1 }
            P.applyInSequence(offset: stored.offset, event: stored.event, to: &expected)
        }
        #expect(described > 100)
        #expect(withItems > 10)
        for workers in [1, 2] {
            let rebuilt = try ProjectionRunner<P>.rebuild(engine: crm, workers: workers)
            let same = rebuilt.read { state, _ in state.serialized } == expected.serialized
            #expect(same, "rebuilt on \(workers) workers with less detail")
        }
        let live = ProjectionRunner<P>(engine: crm)
        try live.catchUp()
        let liveSame = live.read { state, _ in state.serialized } == expected.serialized
        #expect(liveSame, "followed live with less detail")
        await crm.close()
    }

    @Test("A rebuild up to an offset equals a live fold stopped there")
    func rebuildUpToOffset() async throws {
        let directory = TemporaryDirectory("projections")
        let crm = try await syntheticEngine(in: directory, customers: 100, seed: 9)
        let live = ProjectionRunner<CustomerProfiles>(engine: crm)
        try live.catchUp(to: 700)
        let rebuilt = try ProjectionRunner<CustomerProfiles>.rebuild(engine: crm, upTo: 700, workers: 2)
        #expect(rebuilt.nextOffset == 700 && live.nextOffset == 700)
        #expect(rebuilt.read { state, _ in state.serialized } == live.read { state, _ in state.serialized })
        await crm.close()
    }
}

@Suite("Segment definitions through the runner")
struct SegmentDefinitionTests {
    static func definition(_ name: String, _ json: String) throws -> SegmentDefinition {
        guard case .object(let members) = try JSONParser.parse(json) else { throw CRMError(.invalidArgument, json) }
        return SegmentDefinition(name: name, definition: JSONObject(members))
    }

    @Test("Undefined references, cycles and bad grammar are refused with the reason; nothing is appended")
    func refusals() async throws {
        let directory = TemporaryDirectory("segments")
        let crm = try CRMEngine.open(at: directory.path)
        let runner = ProjectionRunner<CustomerProfiles>(engine: crm)
        let at = try EventTime(rfc3339: "2024-01-01T00:00:00Z")
        try await runner.defineSegments(
            [try Self.definition("buyers", #"{"count":"order.placed","window":"30d","op":">=","value":1}"#)],
            at: at
        )
        let head = crm.nextOffset
        let cases: [([SegmentDefinition], String)] = [
            ([try Self.definition("fans", #"{"in_segment":"missing"}"#)], "refers to missing, which is not defined"),
            (
                [
                    try Self.definition("left", #"{"in_segment":"buyers"}"#),
                    try Self.definition("buyers", #"{"in_segment":"left"}"#),
                ],
                "makes a cycle through buyers"
            ),
            (
                [try Self.definition("bad", #"{"count":"order.placed","window":"9x","op":">=","value":1}"#)],
                "definition.window"
            ),
            ([try Self.definition("Bad Name", #"{"consent":"email"}"#)], "segment"),
        ]
        for (definitions, reason) in cases {
            await #expect {
                try await runner.defineSegments(definitions, at: at)
            } throws: { error in
                guard let error = error as? CRMError else { return false }
                return error.code == .invalidEvent && error.message.contains(reason)
            }
            #expect(crm.nextOffset == head, "nothing appended for \(reason)")
        }
        try await crm.append(
            Event(
                at: at,
                customer: "c-1",
                payload: .orderPlaced(
                    order: "o1",
                    total: Money(minorUnits: 100, currency: .usd),
                    items: nil,
                    channel: nil,
                    country: nil,
                    region: nil,
                    city: nil
                )
            )
        )
        try runner.catchUp()
        #expect(runner.read { state, _ in state.members(of: "buyers") } == ["c-1"])
        try await runner.removeSegment("buyers", at: at)
        #expect(runner.read { state, _ in state.members(of: "buyers") }.isEmpty)
        await crm.close()
    }
}
