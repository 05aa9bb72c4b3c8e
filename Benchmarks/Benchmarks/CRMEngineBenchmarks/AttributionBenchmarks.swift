import Benchmark
import BenchmarkSupport
import CRMGenerator
import CRMModel
import CRMProjections
import EventCRM
import Foundation

// Attribution and analytics (issue 5): the data-driven models over 1M paths, every model side by side on the
// journeys of the 10M-event log kept live, and a rebuild of every projection.

extension BenchmarkMetric {
    static let milliseconds = BenchmarkMetric.custom("ms", useScalingFactor: false)
    static let channels = BenchmarkMetric.custom("channels", useScalingFactor: false)
    static let separateEventsPerSecond = BenchmarkMetric.custom("events/s, one pass each", useScalingFactor: false)
}

/// `count` paths over `channels` channels (lengths 1 to 6, two thirds converting), the same on every run.
func syntheticPaths(_ count: Int, channels: Int) -> [AttributionPath] {
    var random = SplitMix64(seed: 7)
    let names = (0..<channels).map { $0 == 0 ? "direct" : "channel-\($0)" }
    return (0..<count).map { _ in
        let length = 1 + Int(random.next() % 6)
        let touches = (0..<length).map { position in
            let channel = Int(random.next() % UInt64(channels))
            return AttributionPath.Touch(
                key: names[channel],
                isDirect: channel == 0,
                at: Int64(position) * 3_600_000_000
            )
        }
        let converts = random.next() % 3 != 0
        let value = Money(minorUnits: Int64(random.next() % 20_000), currency: .usd)
        return AttributionPath(touches: touches, conversion: converts ? .init(at: 86_400_000_000, value: value) : nil)
    }
}

func attributionBenchmarks() {
    for (model, order) in [(AttributionModel.markov, 1), (.markov, 2), (.shapley, 1)] {
        Benchmark(
            "attribution-\(model.rawValue)\(order == 1 ? "" : "-order-\(order)")-1M-paths-10-channels",
            configuration: slowConfiguration([.milliseconds], iterations: 3)
        ) { benchmark in
            let paths = syntheticPaths(1_000_000, channels: 10)
            var credited = 0.0
            let elapsed = ContinuousClock().measure {
                credited = AttributionReport(paths: paths, model: model, markovOrder: order).rows.reduce(0) {
                    $0 + $1.conversions
                }
            }
            precondition(credited > 0)
            benchmark.measurement(.milliseconds, Int(seconds(elapsed) * 1000))
        }
    }

    // What a service embedding the engine does: the journeys projection kept live, then every model side by side
    // (paths cut from the state, then each model), as `crm attribution --compare` prints.
    Benchmark(
        "attribution-compare-live-10M-events",
        configuration: slowConfiguration([.milliseconds, .channels], iterations: 3)
    ) { benchmark in
        let path = try await GeneratedData.engine(customers: historyCustomers)
        let engine = try CRMEngine.open(at: path)
        let runner = try ProjectionRunner<CustomerJourneys>.rebuild(engine: engine)
        var count = 0
        let elapsed = ContinuousClock().measure {
            count = runner.read { state, _ in state.attributionByEveryModel(PathOptions()).count }
        }
        benchmark.measurement(.milliseconds, Int(seconds(elapsed) * 1000))
        precondition(count > 5)
        benchmark.measurement(.channels, count)
        await engine.close()
    }

    // Every projection of issues 4 and 5 rebuilt from the whole log on both cores in one decoding pass (what
    // `crm rebuild` does), then one after the other (each decoding the log itself), for comparison.
    Benchmark(
        "projections-rebuild-every-projection-10M-events-2-cores",
        configuration: slowConfiguration(
            [.eventsPerSecond, .separateEventsPerSecond, .referenceEventsPerSecond, .againstReference],
            iterations: 2
        )
    ) { benchmark in
        let path = try await GeneratedData.engine(customers: historyCustomers)
        let engine = try CRMEngine.open(at: path)
        var offsets = [Int64]()
        let together = try ContinuousClock().measure {
            offsets.append(try ProjectionRunner<EveryProjection>.rebuild(engine: engine, workers: 2).nextOffset)
        }
        let separately = try ContinuousClock().measure {
            offsets.append(try ProjectionRunner<CustomerProfiles>.rebuild(engine: engine, workers: 2).nextOffset)
            offsets.append(try ProjectionRunner<CustomerJourneys>.rebuild(engine: engine, workers: 2).nextOffset)
            offsets.append(try ProjectionRunner<ShopAnalytics>.rebuild(engine: engine, workers: 2).nextOffset)
        }
        precondition(Set(offsets) == [engine.nextOffset])
        benchmark.measurement(.eventsPerSecond, Int(Double(engine.nextOffset) / seconds(together)))
        benchmark.measurement(.separateEventsPerSecond, Int(Double(engine.nextOffset) / seconds(separately)))
        try DecodingReference<EveryProjection>.report(against: together, engine: engine, workers: 2, to: benchmark)
        await engine.close()
    }
}
