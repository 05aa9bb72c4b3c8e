import CRMModel
import CRMProjections
import Testing

/// Hand-computed RFM cases (docs/segments.md, section 5).
@Suite("RFM")
struct RFMTests {
    @Test("Five customers with distinct recency, frequency and money score 1 to 5; groups follow the map")
    func fiveCustomers() throws {
        // c-k orders k times, the last one (10 − 2k) days before the evaluation; each order is worth k × 10.
        var events = [(Int64, String, EventPayload)]()
        for k in 1...5 {
            for n in 0..<k {
                events.append(
                    (
                        100 - Int64(2 * k) - Int64(n), "c-\(k)",
                        CustomerProfilesTests.order("o\(k)-\(n)", Int64(k) * 1_000)
                    )
                )
            }
        }
        events.append((50, "c-1", CustomerProfilesTests.order("cancelled", 99_000)))
        events.append((51, "c-1", .orderCancelled(order: "cancelled", reason: nil)))
        let state = CustomerProfilesTests.fold(events)
        let scores = RFM.scores(state, at: CustomerProfilesTests.at(100), window: SegmentWindow("365d")!)
        #expect(scores.map(\.customer) == ["c-1", "c-2", "c-3", "c-4", "c-5"])
        // The most recent (c-1, 2 days) scores R 5; c-5 (10 days) R 1. F and M grow with k.
        #expect(scores.map(\.recency) == [5, 4, 3, 2, 1])
        #expect(scores.map(\.frequencyScore) == [1, 2, 3, 4, 5])
        #expect(scores.map(\.monetaryScore) == [1, 2, 3, 4, 5])
        #expect(
            scores[0].frequency == 1 && scores[0].monetary.minorUnits == 1_000,
            "the cancelled order does not count"
        )
        #expect(scores[4].recencyDays == 10)
        // FM = (F + M + 1) / 2 = 1, 2, 3, 4, 5 → New, Potential loyalists, Need attention, At risk, Can't lose.
        #expect(scores.map(\.group) == ["New", "Potential loyalists", "Need attention", "At risk", "Can't lose"])
    }

    @Test("Orders outside the window do not count; a customer with none has no score")
    func window() {
        let state = CustomerProfilesTests.fold([
            (0, "old", CustomerProfilesTests.order("o1", 1_000)),
            (95, "new", CustomerProfilesTests.order("o2", 1_000)),
        ])
        let scores = RFM.scores(state, at: CustomerProfilesTests.at(100), window: SegmentWindow("30d")!)
        #expect(scores.map(\.customer) == ["new"])
    }

    @Test("Every (R, FM) pair has exactly the group of the documented map")
    func groupMap() {
        let expected: [[String]] = [
            // FM:  1             2               3                     4                     5
            ["Lost", "Lost", "At risk", "At risk", "Can't lose"],  // R 1
            ["Hibernating", "Hibernating", "At risk", "At risk", "Can't lose"],  // R 2
            ["Hibernating", "Need attention", "Need attention", "Loyal", "Loyal"],  // R 3
            ["Promising", "Potential loyalists", "Potential loyalists", "Loyal", "Loyal"],  // R 4
            ["New", "Potential loyalists", "Potential loyalists", "Champions", "Champions"],  // R 5
        ]
        for r in 1...5 {
            for fm in 1...5 {
                #expect(RFM.group(recency: r, frequencyMonetary: fm) == expected[r - 1][fm - 1], "R \(r), FM \(fm)")
            }
        }
        #expect(Set(expected.joined()) == Set(SegmentRule.rfmGroups))
    }
}
