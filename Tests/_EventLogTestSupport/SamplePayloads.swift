import CRMModel
public import EventLog

/// Realistic CRM event payloads (JSON of about 140 bytes, valid events of docs/events.md) for examples, tests and benchmarks: touchpoints,
/// messages, orders and tickets of a few hundred thousand customers, in event-time order with some jitter.
public struct SamplePayloads: Sendable {
    /// One generated event: its key (the customer), type tag, event time and JSON bytes.
    public struct Event: Sendable {
        public var key: String
        public var typeTag: UInt16
        public var eventTime: Int64
        public var json: [UInt8]
    }

    private var random: SplitMix64
    private var clock: Int64
    private let customers: Int

    private static let channels = ["email", "sms", "paid_search", "organic_search", "social", "display", "direct"]
    private static let campaigns = ["spring-sale", "black-friday", "welcome-series", "winback-q3", "new-arrivals"]
    private static let types = ["touchpoint", "message.opened", "order.placed", "ticket.opened", "message.clicked"]

    public init(seed: UInt64, customers: Int = 200_000, startTime: Int64 = 1_709_251_200_000_000) {
        random = SplitMix64(seed: seed)
        clock = startTime
        self.customers = customers
    }

    public mutating func next() -> Event {
        clock += Int64(random.next() % 2_000_000)
        // A few late events, as real producers deliver them.
        let late = random.next() % 50 == 0 ? Int64(random.next() % 86_400_000_000) : 0
        let time = clock - late
        let customer = "c-\(random.next() % UInt64(customers))"
        let kind = Int(random.next() % UInt64(Self.types.count))
        let channel = Self.channels[Int(random.next() % UInt64(Self.channels.count))]
        let campaign = Self.campaigns[Int(random.next() % UInt64(Self.campaigns.count))]
        let id = random.next() % 1_000_000_000
        var json = "{\"id\":\"e\(id)\",\"type\":\"\(Self.types[kind])\",\"at\":\"\(Self.rfc3339(time))\","
        json += "\"customer\":\"\(customer)\",\"channel\":\"\(channel)\","
        if kind == 2 {
            json +=
                "\"order\":\"o-\(id % 10_000_000)\",\"total\":\(random.next() % 50_000 / 100).\(random.next() % 90 + 10)}"
        } else if kind == 3 {
            json += "\"ticket\":\"t-\(id % 1_000_000)\",\"priority\":\"normal\"}"
        } else {
            json += "\"campaign\":\"\(campaign)\"}"
        }
        return Event(key: customer, typeTag: UInt16(kind + 1), eventTime: time, json: Array(json.utf8))
    }

    /// Fills `batch` with `count` events.
    public mutating func fill(_ batch: inout RecordBatch, count: Int) {
        for _ in 0..<count { batch.append(sample: next()) }
    }

    static func rfc3339(_ micros: Int64) -> String {
        // Whole seconds, as many producers write them.
        EventTime(microseconds: micros / 1_000_000 * 1_000_000).rfc3339
    }
}

extension RecordBatch {
    /// Adds a sample event as a record (schema version 1). Sample events always fit a batch's limits.
    public mutating func append(sample event: SamplePayloads.Event) {
        try! append(
            key: event.key,
            typeTag: event.typeTag,
            schemaVersion: 1,
            eventTime: event.eventTime,
            value: event.json
        )
    }
}
