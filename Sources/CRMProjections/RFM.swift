public import CRMModel

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

    /// The scores of every customer with at least one order in `window` before `time` (inclusive), scored by
    /// quintiles among the customers of the same currency (a customer's currency is that of its latest order in
    /// the window; its orders in other currencies do not count).
    public static func scores(
        _ state: CustomerProfiles.State,
        at time: EventTime,
        window: SegmentWindow = SegmentWindow("365d")!
    ) -> [Score] {
        let start = time.microseconds - window.microseconds
        var facts = [(customer: String, last: EventTime, frequency: Int, monetary: Money)]()
        for (id, profile) in state.profiles {
            let orders = profile.orders.values.filter {
                !$0.cancelled && $0.at.microseconds > start && $0.at <= time
            }
            guard let latest = orders.max(by: { ($0.at, $0.total.currency.code) < ($1.at, $1.total.currency.code) })
            else { continue }
            let currency = latest.total.currency
            let same = orders.filter { $0.total.currency == currency }
            let total = same.reduce(0) { $0 + $1.total.minorUnits }
            facts.append((id, latest.at, same.count, Money(minorUnits: total, currency: currency)))
        }
        var scores = [Score]()
        for currency in Set(facts.map(\.monetary.currency.code)).sorted() {
            let group = facts.filter { $0.monetary.currency.code == currency }.sorted { $0.customer < $1.customer }
            let recency = quintiles(group.map { Double($0.last.microseconds) })
            let frequency = quintiles(group.map { Double($0.frequency) })
            let monetary = quintiles(group.map { Double($0.monetary.minorUnits) })
            for (number, fact) in group.enumerated() {
                let r = recency[number]
                let fm = (frequency[number] + monetary[number] + 1) / 2
                scores.append(
                    Score(
                        customer: fact.customer,
                        recencyDays: Double(time.microseconds - fact.last.microseconds) / 86_400_000_000,
                        frequency: fact.frequency,
                        monetary: fact.monetary,
                        recency: r,
                        frequencyScore: frequency[number],
                        monetaryScore: monetary[number],
                        group: Self.group(recency: r, frequencyMonetary: fm)
                    )
                )
            }
        }
        return scores.sorted { $0.customer < $1.customer }
    }

    /// Scores 1–5 where larger values are better: the edges are the 20th, 40th, 60th and 80th percentiles
    /// (nearest rank); a value scores 1 plus the number of edges it exceeds (five distinct values score 1 to 5;
    /// a value equal to an edge stays below it).
    static func quintiles(_ values: [Double]) -> [Int] {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return [] }
        let edges = [20, 40, 60, 80].map { percent -> Double in
            let rank = (percent * sorted.count + 99) / 100
            return sorted[max(0, rank - 1)]
        }
        return values.map { value in 1 + edges.count { value > $0 } }
    }

    /// The named group of a recency score and the combined frequency-monetary score (docs/segments.md).
    public static func group(recency r: Int, frequencyMonetary fm: Int) -> String {
        switch (r, fm) {
        case (5, 4...5): "Champions"
        case (3...4, 4...5): "Loyal"
        case (4...5, 2...3): "Potential loyalists"
        case (5, 1): "New"
        case (4, 1): "Promising"
        case (3, 2...3): "Need attention"
        case (1...2, 3...4): "At risk"
        case (1...2, 5): "Can't lose"
        case (2, 1...2), (3, 1): "Hibernating"
        default: "Lost"
        }
    }
}
