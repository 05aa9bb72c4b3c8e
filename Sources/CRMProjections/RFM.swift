public import CRMModel
import OrderedCollections

/// Recency, frequency and monetary scores and the named groups of docs/segments.md, section 5, computed from the
/// customer profiles at an evaluation time. Pure: the same profiles, time and window give the same scores.
public enum RFM {
    /// One customer's scores.
    public struct Score: Sendable, Equatable {
        public var customer: String
        /// Days from the last order in the window to the evaluation time.
        public var recencyDays: Double
        /// Orders placed in the window (cancelled ones excluded).
        public var frequency: Int
        /// The totals of those orders, in ``currency``.
        public var monetary: Money
        public var recency: Int
        public var frequencyScore: Int
        public var monetaryScore: Int
        public var group: String

        public var currency: Currency { monetary.currency }
    }

    /// What RFM reads of one customer at an evaluation time.
    public struct Facts: Sendable {
        public var customer: String
        /// The time of the latest order in the window.
        public var last: EventTime
        /// Orders placed in the window in ``monetary``'s currency, cancelled ones excluded.
        public var frequency: Int
        public var monetary: Money
    }

    /// The customer's facts over `window` before `time` (inclusive), nil without an order in it. Its currency is
    /// that of its latest order in the window; its orders in other currencies do not count.
    public static func facts(of profile: CustomerProfile, at time: EventTime, window: SegmentWindow) -> Facts? {
        facts(customer: profile.id, orders: profile.orders, at: time, window: window)
    }

    /// ``facts(of:at:window:)`` from the parts of a profile it reads (no copy of the whole profile).
    static func facts(
        customer: String,
        orders: SortedMap<CustomerProfile.Order>,
        at time: EventTime,
        window: SegmentWindow
    ) -> Facts? {
        guard !orders.isEmpty else { return nil }
        let start = time.microseconds - window.microseconds
        var latest: CustomerProfile.Order?
        for (_, order) in orders where !order.cancelled && order.at.microseconds > start && order.at <= time {
            if let current = latest,
                (current.at, current.total.currency.code) >= (order.at, order.total.currency.code)
            {
                continue
            }
            latest = order
        }
        guard let latest else { return nil }
        let currency = latest.total.currency
        var frequency = 0
        var total: Int64 = 0
        for (_, order) in orders
        where !order.cancelled && order.at.microseconds > start && order.at <= time && order.total.currency == currency
        {
            frequency += 1
            total += order.total.minorUnits
        }
        return Facts(
            customer: customer,
            last: latest.at,
            frequency: frequency,
            monetary: Money(minorUnits: total, currency: currency)
        )
    }

    /// The quintile edges of one currency's customers: a customer's scores depend only on its facts and these.
    public struct Edges: Sendable, Equatable {
        var recency: [Double]
        var frequency: [Double]
        var monetary: [Double]

        /// One customer's recency, frequency and monetary scores.
        private func scores(_ facts: Facts) -> (recency: Int, frequency: Int, monetary: Int) {
            (
                RFM.score(Double(facts.last.microseconds), edges: recency),
                RFM.score(Double(facts.frequency), edges: frequency),
                RFM.score(Double(facts.monetary.minorUnits), edges: monetary)
            )
        }

        /// The group of one customer, by its place in `SegmentRule.rfmGroups` (what ``score(_:at:)`` names).
        func groupNumber(_ facts: Facts) -> Int {
            let (r, f, m) = scores(facts)
            return RFM.groupNumber(recency: r, frequencyMonetary: (f + m + 1) / 2)
        }

        /// The scores and the group of one customer.
        public func score(_ facts: Facts, at time: EventTime) -> Score {
            let (r, f, m) = scores(facts)
            return Score(
                customer: facts.customer,
                recencyDays: Double(time.microseconds - facts.last.microseconds) / 86_400_000_000,
                frequency: facts.frequency,
                monetary: facts.monetary,
                recency: r,
                frequencyScore: f,
                monetaryScore: m,
                group: RFM.group(recency: r, frequencyMonetary: (f + m + 1) / 2)
            )
        }
    }

    /// The edges of each currency over these customers' facts.
    public static func edges(_ facts: [Facts]) -> [String: Edges] {
        edges([facts.map(Optional.some)], parallel: false)
    }

    /// The edges of each currency over the facts of every part (nil: a customer without an order in the window),
    /// read where they lie, with the edges of each currency and score selected on every core when `parallel`. The
    /// monthly step of a million customers copied every customer's facts into one array and then into one per
    /// currency, and sorted on one core, while the other waited.
    static func edges(_ parts: [[Facts?]], parallel: Bool) -> [String: Edges] {
        var currencies = [String: Int]()
        // Per currency, by its number: its recency, frequency and monetary values, one after the other.
        var columns = [[Double]]()
        for part in parts {
            for case let facts? in part {
                let (number, isNew) = currencies.denseNumber(of: facts.monetary.currency.code)
                if isNew { columns += [[], [], []] }
                columns[3 * number].append(Double(facts.last.microseconds))
                columns[3 * number + 1].append(Double(facts.frequency))
                columns[3 * number + 2].append(Double(facts.monetary.minorUnits))
            }
        }
        let edges = columns.withUnsafeMutableBufferPointer { columns in
            // Each task reorders its own column only.
            nonisolated(unsafe) let columns = columns
            return concurrentMap(columns.count, parallel: parallel) { Self.edges(of: &columns[$0]) }
        }
        return currencies.mapValues { number in
            Edges(recency: edges[3 * number], frequency: edges[3 * number + 1], monetary: edges[3 * number + 2])
        }
    }

    /// The scores of every customer with at least one order in `window` before `time` (inclusive), scored by
    /// quintiles among the customers of the same currency.
    public static func scores(
        _ state: CustomerProfiles.State,
        at time: EventTime,
        window: SegmentWindow = SegmentWindow("365d")!
    ) -> [Score] {
        // Field by field, by index: a closure over each element copied whole profiles, most of the time spent here.
        let facts = state.profiles.withValues { profiles in
            profiles.indices.compactMap { index in
                Self.facts(customer: profiles[index].id, orders: profiles[index].orders, at: time, window: window)
            }
        }
        let edges = edges(facts)
        return facts.map { edges[$0.monetary.currency.code]!.score($0, at: time) }.sorted { $0.customer < $1.customer }
    }

    /// The 20th, 40th, 60th and 80th percentiles (nearest rank) of `values`, in increasing order; `values` is
    /// left reordered.
    static func edges(of values: inout [Double]) -> [Double] {
        guard !values.isEmpty else { return [] }
        let ranks = [20, 40, 60, 80].map { percent in max(0, (percent * values.count + 99) / 100 - 1) }
        return OrderStatistics.select(&values, ranks: ranks)
    }

    /// 1 plus the number of edges `value` exceeds: five distinct values score 1 to 5, and a value equal to an
    /// edge stays below it.
    static func score(_ value: Double, edges: [Double]) -> Int {
        1 + edges.count { value > $0 }
    }

    /// The named group of a recency score and the combined frequency-monetary score (docs/segments.md).
    public static func group(recency r: Int, frequencyMonetary fm: Int) -> String {
        SegmentRule.rfmGroups[groupNumber(recency: r, frequencyMonetary: fm)]
    }

    /// The place of ``group(recency:frequencyMonetary:)`` in `SegmentRule.rfmGroups`.
    static func groupNumber(recency r: Int, frequencyMonetary fm: Int) -> Int {
        switch (r, fm) {
        case (5, 4...5): 0  // Champions
        case (3...4, 4...5): 1  // Loyal
        case (4...5, 2...3): 2  // Potential loyalists
        case (5, 1): 3  // New
        case (4, 1): 4  // Promising
        case (3, 2...3): 5  // Need attention
        case (1...2, 3...4): 6  // At risk
        case (1...2, 5): 7  // Can't lose
        case (2, 1...2), (3, 1): 8  // Hibernating
        default: 9  // Lost
        }
    }
}
