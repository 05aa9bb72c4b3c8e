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
        for _ in 0..<count {
            let event = next()
            try! batch.append(
                key: event.key,
                typeTag: event.typeTag,
                schemaVersion: 1,
                eventTime: event.eventTime,
                value: event.json
            )
        }
    }

    static func rfc3339(_ micros: Int64) -> String {
        let seconds = micros / 1_000_000
        let days = seconds / 86_400
        let secondOfDay = seconds % 86_400
        // Civil date from days since 1970 (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(two(month))-\(two(day))T\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):"
            + "\(two(secondOfDay % 60))Z"
    }
}
