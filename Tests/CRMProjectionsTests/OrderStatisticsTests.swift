import Testing
import _EventLogTestSupport

@testable import CRMProjections

/// Selecting ranks without sorting gives what sorting gives, whatever the order of the values and however many are
/// equal; the RFM edges are the nearest-rank quintiles.
@Suite("Order statistics")
struct OrderStatisticsTests {
    /// Value lists of every shape the monthly RFM step meets: few and many, ascending, descending, all equal, a
    /// handful of distinct values (order counts), wide spreads (times, amounts), and an adversarial organ pipe.
    static func lists() -> [[Double]] {
        var random = SplitMix64(seed: 21)
        var lists = [[Double]]()
        for count in [1, 2, 3, 5, 16, 17, 31, 100, 1_000, 20_000] {
            lists.append((0..<count).map { _ in Double(random.next() % 1_000_000) })
            lists.append((0..<count).map { _ in Double(random.next() % 4 + 1) })
            lists.append((0..<count).map(Double.init))
            lists.append((0..<count).reversed().map(Double.init))
            lists.append([Double](repeating: 7, count: count))
            lists.append((0..<count).map { Double(min($0, count - $0)) })
        }
        return lists
    }

    @Test("the values at any ranks are those a sort places there")
    func selectsAsSortingDoes() {
        var random = SplitMix64(seed: 22)
        for list in Self.lists() {
            let sorted = list.sorted()
            let picks = (0..<6).map { _ in Int(random.next() % UInt64(list.count)) }.sorted()
            for ranks in [[0], [list.count - 1], picks, [0, 0, list.count - 1]] {
                var values = list
                let found = OrderStatistics.select(&values, ranks: ranks)
                #expect(found == ranks.map { sorted[$0] }, "\(list.count) values, ranks \(ranks)")
                // Reordered, not changed.
                #expect(values.sorted() == sorted)
            }
        }
    }

    @Test("the RFM edges are the 20th to 80th nearest-rank percentiles")
    func rfmEdges() {
        for list in Self.lists() {
            let sorted = list.sorted()
            var values = list
            let expected = [20, 40, 60, 80].map { percent in sorted[max(0, (percent * sorted.count + 99) / 100 - 1)] }
            #expect(RFM.edges(of: &values) == expected)
        }
        var ten = (1...10).reversed().map(Double.init)
        // Ranks 2, 4, 6 and 8 of ten values: 2, 4, 6, 8.
        #expect(RFM.edges(of: &ten) == [2, 4, 6, 8])
        var none = [Double]()
        #expect(RFM.edges(of: &none).isEmpty)
    }
}
