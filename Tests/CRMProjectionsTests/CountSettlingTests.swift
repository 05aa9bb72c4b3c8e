import CRMModel
import Testing

@testable import CRMProjections

/// A `count` rule stops reading a customer's facts once its comparison is settled: what it says then must be what
/// it says for every larger count, or a customer would be decided on part of its facts.
@Suite("A count rule's comparison settles only when no larger count changes it")
struct CountSettlingTests {
    @Test("Every comparison, counts 0 to 8 against values -1 to 5", arguments: SegmentRule.Comparison.allCases)
    func settledMeansUnchangedForLargerCounts(comparison: SegmentRule.Comparison) {
        for value in Int64(-1)...5 {
            var settledAt: Int64?
            for count in Int64(0)...8 {
                let settled = comparison.isSettled(counting: count, against: value)
                if settled {
                    let outcome = comparison.holds(count, value)
                    for larger in count...(count + 8) {
                        #expect(
                            comparison.holds(larger, value) == outcome,
                            "\(comparison.rawValue) \(value): settled at \(count), changes at \(larger)"
                        )
                    }
                    settledAt = settledAt ?? count
                } else {
                    #expect(settledAt == nil, "\(comparison.rawValue) \(value): unsettled again at \(count)")
                }
            }
            // It settles as soon as it can: one past the value at the latest, so a rule reads no fact it need not.
            #expect(settledAt != nil && settledAt! <= max(0, value + 1), "\(comparison.rawValue) \(value)")
        }
    }
}
