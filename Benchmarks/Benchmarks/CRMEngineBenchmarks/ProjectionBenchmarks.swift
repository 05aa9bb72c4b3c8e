import Benchmark
import BenchmarkSupport
import CRMModel
import CRMProjections
import EventCRM
import Foundation

// Projections (issue 4), on the ~10M-event log of the history benchmark with 11 segment definitions: the customer
// projection (profiles, segments, RFM groups) rebuilt on both cores and on one, followed live, snapshotted and
// restored, and asked about a day before the head.

extension BenchmarkMetric {
    static let bytesPerCustomer = BenchmarkMetric.custom("RSS bytes/customer", useScalingFactor: false)
    static let snapshotMilliseconds = BenchmarkMetric.custom("snapshot write (ms)", useScalingFactor: false)
    static let restoreMilliseconds = BenchmarkMetric.custom("snapshot restore (ms)", useScalingFactor: false)
    static let snapshotMegabytes = BenchmarkMetric.custom("snapshot (MB)", useScalingFactor: false)
    static let profileMilliseconds = BenchmarkMetric.custom("profile as of (ms)", useScalingFactor: false)
    static let coldProfileMilliseconds = BenchmarkMetric.custom(
        "profile and segments as of, cold (ms)",
        useScalingFactor: false
    )
    static let membersMilliseconds = BenchmarkMetric.custom("members as of, cold (ms)", useScalingFactor: false)
    static let sectionMembersMilliseconds = BenchmarkMetric.custom(
        "members as of, cold, memberships section (ms)",
        useScalingFactor: false
    )
    static let liveMembersMilliseconds = BenchmarkMetric.custom("members as of, live (ms)", useScalingFactor: false)
    static let replayMilliseconds = BenchmarkMetric.custom("state as of, replayed (ms)", useScalingFactor: false)
}

func projectionBenchmarks() {
    // As `crm` does: glibc's thread arenas otherwise grow 128 KiB at a time, one mprotect each.
    growAllocatorHeapsInLargeSteps()
    // A first rebuild on the ~10M-event log, on both cores and on one; and, since the memory target is per
    // customer at 1M customers, on the 1M-customer log (about 14M events: a table and a queue over more customers
    // can cross a doubling that 710,000 did not).
    let rebuilds = [
        ("10M-events-2-cores", historyCustomers, 2, 2), ("10M-events-1-cores", historyCustomers, 1, 2),
        ("1M-customers-2-cores", 1_000_000, 2, 1),
    ]
    for (label, customers, workers, iterations) in rebuilds {
        Benchmark(
            "projections-rebuild-profiles-segments-rfm-\(label)",
            configuration: slowConfiguration(
                [.eventsPerSecond, .bytesPerCustomer, .referenceEventsPerSecond, .againstReference],
                iterations: iterations
            )
        ) { benchmark in
            let path = try await GeneratedData.engine(customers: customers)
            let engine = try CRMEngine.open(at: path)
            // On a machine without the log yet, the process has just generated and ingested it: that memory, free
            // but still resident, would be reused by the rebuild and not counted (0 bytes per customer was reported).
            releaseFreeMemoryToSystem()
            let before = residentBytes()
            var runner: ProjectionRunner<CustomerProfiles>?
            let elapsed = try ContinuousClock().measure {
                runner = try ProjectionRunner<CustomerProfiles>.rebuild(engine: engine, workers: workers)
            }
            let (customers, segments) = runner!.read { state, _ in (state.profiles.count, state.segments.live.count) }
            precondition(segments >= 10, "the benchmark log defines at least 10 segments")
            benchmark.measurement(.eventsPerSecond, Int(Double(engine.nextOffset) / seconds(elapsed)))
            // Only the first iteration's figure counts: a second one reuses the memory the first one freed.
            benchmark.measurement(.bytesPerCustomer, max(0, residentBytes() - before) / max(1, customers))
            // After the memory is measured, the profiles freed first: the reference's memory, freed, would otherwise
            // be reused by the rebuild.
            runner = nil
            try DecodingReference<CustomerProfiles>.report(
                against: elapsed,
                engine: engine,
                workers: workers,
                to: benchmark
            )
            await engine.close()
        }
    }

    // Live apply: the runner following the log from its start, one event after another in log order (what
    // `catchUp` does after appends), decoding included.
    Benchmark(
        "projections-live-apply-10M-events",
        configuration: slowConfiguration([.eventsPerSecond], iterations: 1)
    ) { benchmark in
        let path = try await GeneratedData.engine(customers: historyCustomers)
        let engine = try CRMEngine.open(at: path)
        let runner = ProjectionRunner<CustomerProfiles>(engine: engine)
        let elapsed = try ContinuousClock().measure { try runner.catchUp() }
        benchmark.measurement(.eventsPerSecond, Int(Double(engine.nextOffset) / seconds(elapsed)))
        await engine.close()
    }

    // Rebuilt once for every iteration: the figures are the write and the restore, not the rebuild before them. At
    // the 10M-event log's 710,000 customers, and at the 1M customers of the target (about 14M events).
    for (customers, label) in [(historyCustomers, "10M-events"), (1_000_000, "1M-customers")] {
        let rebuilt = RebuiltOnce(customers: customers)
        Benchmark(
            "projections-snapshot-profiles-segments-\(label)",
            configuration: slowConfiguration(
                [.snapshotMilliseconds, .restoreMilliseconds, .snapshotMegabytes],
                iterations: 3
            )
        ) { benchmark in
            let (engine, runner) = try await rebuilt.engineAndRunner()
            let write = try ContinuousClock().measure { _ = try runner.saveSnapshot() }
            var notices = [String]()
            // Kept past the measurement: freeing the profiles is not part of restoring them.
            var restored: ProjectionRunner<CustomerProfiles>?
            let restore = try ContinuousClock().measure {
                restored = try ProjectionRunner<CustomerProfiles>.restore(engine: engine, notices: &notices)
            }
            precondition(notices.isEmpty, "\(notices)")
            precondition(
                restored!.read { state, _ in state.profiles.count } == runner.read { state, _ in state.profiles.count }
            )
            restored = nil
            // The largest snapshot of this version: a snapshot of an earlier version, from a run of an earlier
            // build on the same cached log, stays in the directory.
            let directory = engine.path + "/snapshots"
            let version = "\(CustomerProfiles.name)-v\(CustomerProfiles.version)-"
            let bytes =
                (try? FileManager.default.contentsOfDirectory(atPath: directory))?.filter { $0.hasPrefix(version) }
                .compactMap {
                    (try? FileManager.default.attributesOfItem(atPath: directory + "/" + $0)[.size] as? NSNumber)?
                        .intValue
                }.max() ?? 0
            benchmark.measurement(.snapshotMilliseconds, Int(seconds(write) * 1000))
            benchmark.measurement(.restoreMilliseconds, Int(seconds(restore) * 1000))
            benchmark.measurement(.snapshotMegabytes, bytes / 1_000_000)
        }
    }

    // As-of queries one day before the last event: a profile folded from the identity group's histories; the same
    // with the customer's segments read out of the snapshot at the head, cold (`crm profile --as-of`); a segment's
    // members from the changes recorded up to that time, on the state a service embedding the engine keeps live,
    // cold with the newest snapshot restored first, and cold from its memberships section alone (what `crm segment
    // members --as-of` reads when a snapshot was taken at the head); and, for
    // comparison, the whole state replayed from the nearest snapshot before that time.
    Benchmark(
        "projections-as-of-one-day-before-head-10M-events",
        configuration: slowConfiguration(
            [
                .profileMilliseconds, .coldProfileMilliseconds, .liveMembersMilliseconds, .membersMilliseconds,
                .sectionMembersMilliseconds, .replayMilliseconds,
            ],
            iterations: 2
        )
    ) { benchmark in
        let path = try await GeneratedData.engine(customers: historyCustomers)
        let engine = try CRMEngine.open(at: path)
        let head = try ProjectionRunner<CustomerProfiles>.rebuild(engine: engine)
        try head.saveSnapshot()
        let last = head.read { state, _ in state.clock! }
        let time = EventTime(microseconds: last.microseconds - 86_400_000_000)
        let customers = GeneratedData.sampleCustomers(20, of: historyCustomers)
        let profile = try ContinuousClock().measure {
            let end = try engine.offset(after: time)
            for customer in customers {
                _ = try head.profile(of: customer, group: try engine.identityGroup(of: customer), before: end)
            }
        }
        // As `crm profile --as-of` answers cold: the customer's entry read out of the snapshot at the head (its
        // segment changes), its identity group from that state, and the profile folded from the group's histories.
        var segmentRows = 0
        let coldProfile = try ContinuousClock().measure {
            let end = try engine.offset(after: time)
            for customer in customers {
                let one = ProjectionRunner<CustomerProfiles>.stateOfOneCustomer(customer, engine: engine)!
                _ = try head.profile(of: customer, group: one.identities.group(of: customer), before: end)
                segmentRows += one.segmentHistory(of: customer, asOf: time).count
            }
        }
        precondition(segmentRows > 0, "the sampled customers have segment changes")
        var liveMembers = 0
        let liveQuery = ContinuousClock().measure {
            liveMembers = head.read { state, _ in state.members(of: "repeat-buyers", asOf: time).count }
        }
        var members = 0
        let query = try ContinuousClock().measure {
            var notices = [String]()
            let state = try ProjectionRunner<CustomerProfiles>.restore(engine: engine, notices: &notices)
                .read { state, _ in state }
            members = state.members(of: "repeat-buyers", asOf: time).count
        }
        precondition(members > 0 && members == liveMembers)
        // As `crm segment members --as-of` answers when a snapshot was taken at the head: the memberships section
        // alone, read out of it (no profile restored).
        var sectionMembers = 0
        let sectionQuery = ContinuousClock().measure {
            let memberships = ProjectionRunner<CustomerProfiles>.segmentMemberships(engine: engine)!
            sectionMembers = memberships.members(of: "repeat-buyers", asOf: time).count
        }
        precondition(sectionMembers == liveMembers)
        let replay = try ContinuousClock().measure {
            _ = try ProjectionRunner<CustomerProfiles>.state(engine: engine, asOf: time)
        }
        benchmark.measurement(.profileMilliseconds, Int(seconds(profile) * 1000 / Double(customers.count)))
        benchmark.measurement(.coldProfileMilliseconds, Int(seconds(coldProfile) * 1000 / Double(customers.count)))
        benchmark.measurement(.liveMembersMilliseconds, Int(seconds(liveQuery) * 1000))
        benchmark.measurement(.membersMilliseconds, Int(seconds(query) * 1000))
        benchmark.measurement(.sectionMembersMilliseconds, Int(seconds(sectionQuery) * 1000))
        benchmark.measurement(.replayMilliseconds, Int(seconds(replay) * 1000))
        await engine.close()
    }
}

/// The customer projection of the benchmark log, rebuilt by the first caller and kept for the others (iterations
/// run one after another).
final class RebuiltOnce: @unchecked Sendable {
    private let customers: Int
    private var built: (CRMEngine, ProjectionRunner<CustomerProfiles>)?

    init(customers: Int = historyCustomers) { self.customers = customers }

    func engineAndRunner() async throws -> (CRMEngine, ProjectionRunner<CustomerProfiles>) {
        if let built { return built }
        let engine = try CRMEngine.open(at: try await GeneratedData.engine(customers: customers))
        let runner = try ProjectionRunner<CustomerProfiles>.rebuild(engine: engine)
        built = (engine, runner)
        return (engine, runner)
    }
}
