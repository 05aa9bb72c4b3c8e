import Benchmark
import BenchmarkSupport
import CRMModel
import CRMProjections
import EventCRM

// A same-process reference for the rebuild benchmarks. Wall figures of one binary on these shared machines moved by a
// third within minutes (docs/benchmark-history.md, twenty-eighth session), so a rebuild's events/s alone cannot tell
// a change of a few percent from the machine's hour. Each rebuild benchmark also rebuilds this projection right after,
// on the same log with the same workers: it decodes what the measured projection decodes (the same personal fields,
// the same detail) and folds nothing but a count. The rebuild's time against it is the fold's cost in units of this
// minute's decoding; compare it between builds whose change is in the fold (a change to decoding moves both).

extension BenchmarkMetric {
    static let referenceEventsPerSecond = BenchmarkMetric.custom(
        "decoding reference, events/s",
        polarity: .prefersLarger,
        useScalingFactor: false
    )
    static let againstReference = BenchmarkMetric.custom(
        "time against decoding reference (%)",
        useScalingFactor: false
    )
}

/// Decodes events as `Decoded` does and counts them.
enum DecodingReference<Decoded: Projection>: Projection {
    static var name: String { "decoding-reference-" + Decoded.name }
    static var version: UInt32 { 1 }
    static var personalFieldsRead: Set<EventType> { Decoded.personalFieldsRead }
    static var eventDetail: EventDetail { Decoded.eventDetail }

    struct State: ProjectionState {
        var count: Int64 = 0
        init() {}
        func serialize(into writer: inout BinaryWriter) { writer.int(count) }
        init(deserializing reader: inout BinaryReader) throws(EventDecodingError) { count = try reader.int() }
        mutating func absorb(_ shard: State) { count += shard.count }
    }

    static func makeState() -> State { State() }
    static func apply(_ event: ProjectedEvent, to state: inout State) { state.count += 1 }

    /// Rebuilds the reference on `engine` with `workers`, and reports its events/s and `measured` (the rebuild of
    /// `Decoded` the benchmark timed) as a percentage of its time.
    static func report(against measured: Duration, engine: CRMEngine, workers: Int, to benchmark: Benchmark) throws {
        var counted: Int64 = 0
        let elapsed = try ContinuousClock().measure {
            counted = try ProjectionRunner<Self>.rebuild(engine: engine, workers: workers).read { state, _ in
                state.count
            }
        }
        precondition(counted > 0, "the reference folded no event")
        benchmark.measurement(.referenceEventsPerSecond, Int(Double(engine.nextOffset) / seconds(elapsed)))
        benchmark.measurement(.againstReference, Int((100 * seconds(measured) / seconds(elapsed)).rounded()))
    }
}
