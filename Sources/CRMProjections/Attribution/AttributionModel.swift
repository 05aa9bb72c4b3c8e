#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif

/// The attribution models (docs/attribution.md, section 3).
public enum AttributionModel: String, Sendable, CaseIterable {
    case first
    case last
    case lastNonDirect = "last-non-direct"
    case linear
    case position
    case timeDecay = "time-decay"
    case markov
    case shapley

    /// The share of a conversion each touch of `path` gets under a rule-based model; they add up to 1.
    /// - Parameter halfLife: the time-decay half-life, in microseconds.
    public func shares(of path: AttributionPath, halfLife: Int64) -> [Double] {
        var shares = [Double]()
        fillShares(
            &shares,
            count: path.touches.count,
            isDirect: { path.touches[$0].isDirect },
            age: { Double((path.conversion?.at ?? path.touches.last!.at) - path.touches[$0].at) },
            halfLife: halfLife
        )
        return shares
    }

    /// Writes the shares of a path of `count` touches into `shares` (reused between paths): touch `i` is direct
    /// when `isDirect(i)`, and `age(i)` microseconds older than the conversion.
    func fillShares(
        _ shares: inout [Double],
        count: Int,
        isDirect: (Int) -> Bool,
        age: (Int) -> Double,
        halfLife: Int64
    ) {
        shares.removeAll(keepingCapacity: true)
        guard count > 0 else { return }
        shares.append(contentsOf: repeatElement(0, count: count))
        switch self {
        case .first:
            shares[0] = 1
        case .last:
            shares[count - 1] = 1
        case .lastNonDirect:
            var chosen = count - 1
            for index in stride(from: count - 1, through: 0, by: -1) where !isDirect(index) {
                chosen = index
                break
            }
            shares[chosen] = 1
        case .linear:
            for index in 0..<count { shares[index] = 1 / Double(count) }
        case .position:
            switch count {
            case 1: shares[0] = 1
            case 2:
                shares[0] = 0.5
                shares[1] = 0.5
            default:
                shares[0] = 0.4
                shares[count - 1] = 0.4
                for index in 1..<(count - 1) { shares[index] = 0.2 / Double(count - 2) }
            }
        case .timeDecay:
            // Relative to the newest touch, so that no weight underflows: the ratios are the same.
            let newest = age(count - 1)
            var total = 0.0
            for index in 0..<count {
                shares[index] = exp2(-(age(index) - newest) / Double(halfLife))
                total += shares[index]
            }
            for index in 0..<count { shares[index] /= total }
        case .markov, .shapley:
            preconditionFailure("\(rawValue) is not a rule over one path")
        }
    }
}
