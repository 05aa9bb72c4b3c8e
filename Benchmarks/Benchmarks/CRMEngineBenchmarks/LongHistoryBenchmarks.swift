import Benchmark
import BenchmarkSupport
import CRMGenerator
import CRMModel
import CRMProjections
import EventCRM
import Foundation

// Customers with years of history: 3,000 customers acting every two days or so for four years (about 2.2M events,
// some 720 a customer), with windowed segments of 30 days to a year. The generated log of the other benchmarks
// has about 14 events a customer within one year, where reading a customer's facts from the first one costs
// little; here a rule or a due instant that did so would cost each re-evaluation the whole history. The figure
// to compare is this rebuild's events/s against the 10M-event log's in the same run.

enum LongHistories {
    static let customers = 3_000
    static let days: Int64 = 1_460
    static let day: Int64 = 86_400_000_000

    /// The windowed definitions besides the demo's (scripts/segments.json).
    static let definitions = #"""
        [
          {"segment": "repeat-buyers", "definition": {"count": "order.placed", "window": "90d", "op": ">=", "value": 2}},
          {"segment": "lapsed", "definition": {"all": [{"count": "order.placed", "window": "365d", "op": ">=", "value": 1},
            {"count": "order.placed", "window": "180d", "op": "==", "value": 0}]}},
          {"segment": "spenders-30d", "definition": {"sum": "net_revenue", "currency": "USD", "window": "30d", "op": ">", "value": 200}}
        ]
        """#

    /// The events, in time order: each customer registers, grants email consent, then acts every 1 hour to 4 days:
    /// an order (8 %), a ticket (2 %) or a touchpoint by email, social or direct for one of three campaigns.
    static func events() -> [Event] {
        var random = SplitMix64(seed: 7)
        let start = try! EventTime(rfc3339: "2024-01-01T00:00:00Z").microseconds
        var events: [Event] = []
        for number in 0..<customers {
            let customer = "c-\(number)"
            var at = start + Int64(random.next() % UInt64(5 * day))
            var sequence = 0
            func add(_ payload: EventPayload) {
                events.append(
                    Event(
                        id: "\(customer)-\(sequence)",
                        at: EventTime(microseconds: at),
                        customer: customer,
                        payload: payload
                    )
                )
                sequence += 1
            }
            add(
                .customerRegistered(
                    email: nil,
                    name: nil,
                    phone: nil,
                    country: ["US", "BR", "FR"][Int(random.next() % 3)],
                    city: nil,
                    channel: "email",
                    traits: .init()
                )
            )
            at += 60_000_000
            add(.consentChanged(channel: "email", granted: true))
            while true {
                at += 3_600_000_000 + Int64(random.next() % UInt64(4 * day))
                guard at < start + days * day else { break }
                let draw = random.next() % 100
                if draw < 8 {
                    let total = Money(minorUnits: 1_000 + Int64(random.next() % 29_000), currency: Currency("USD")!)
                    add(
                        .orderPlaced(
                            order: "o-\(customer)-\(sequence)",
                            total: total,
                            items: nil,
                            channel: nil,
                            country: nil,
                            region: nil,
                            city: nil
                        )
                    )
                } else if draw < 10 {
                    add(
                        .ticketOpened(
                            ticket: "t-\(customer)-\(sequence)",
                            subject: nil,
                            channel: "email",
                            priority: "low"
                        )
                    )
                } else {
                    add(
                        .touchpoint(
                            channel: ["email", "social", "direct"][Int(random.next() % 3)],
                            campaign: ["cmp-1", "cmp-2", "cmp-3"][Int(random.next() % 3)],
                            source: nil,
                            medium: nil,
                            kind: nil,
                            url: nil
                        )
                    )
                }
            }
        }
        events.sort { $0.at < $1.at }
        return events
    }

    /// An engine holding the definitions and the events, built once and kept between runs (the NDJSON it is
    /// ingested from is removed once it is).
    static func engine() async throws -> String {
        let input = benchmarkRoot + "/long-histories.ndjson"
        let path = try await GeneratedData.builtOnce(
            at: benchmarkRoot + "/engine-long-histories",
            defining: [definitions]
        ) {
            _ = try GeneratedData.write(events(), to: input)
            return input
        }
        try? FileManager.default.removeItem(atPath: input)
        return path
    }
}

func longHistoryBenchmarks() {
    for workers in [1, 2] {
        Benchmark(
            "projections-rebuild-long-histories-\(workers)-cores",
            configuration: slowConfiguration([.eventsPerSecond], iterations: 2)
        ) { benchmark in
            let engine = try CRMEngine.open(at: try await LongHistories.engine())
            var runner: ProjectionRunner<CustomerProfiles>?
            let elapsed = try ContinuousClock().measure {
                runner = try ProjectionRunner<CustomerProfiles>.rebuild(engine: engine, workers: workers)
            }
            let (customers, segments) = runner!.read { state, _ in (state.profiles.count, state.segments.live.count) }
            precondition(customers == LongHistories.customers && segments >= 9, "the long-history log as built")
            benchmark.measurement(.eventsPerSecond, Int(Double(engine.nextOffset) / seconds(elapsed)))
            await engine.close()
        }
    }
}
