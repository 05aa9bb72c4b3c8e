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

    /// Whether the model splits each conversion by a rule over its own path (the others learn from all paths).
    public var isRuleBased: Bool { self != .markov && self != .shapley }

    /// The share of a conversion each touch of `path` gets under a rule-based model; they add up to 1.
    /// - Parameter halfLife: the time-decay half-life, in microseconds.
    public func shares(of path: AttributionPath, halfLife: Int64) -> [Double] {
        let count = path.touches.count
        guard count > 0 else { return [] }
        var shares = [Double](repeating: 0, count: count)
        switch self {
        case .first:
            shares[0] = 1
        case .last:
            shares[count - 1] = 1
        case .lastNonDirect:
            shares[path.touches.lastIndex { !$0.isDirect } ?? count - 1] = 1
        case .linear:
            for index in shares.indices { shares[index] = 1 / Double(count) }
        case .position:
            switch count {
            case 1: shares[0] = 1
            case 2: shares = [0.5, 0.5]
            default:
                shares[0] = 0.4
                shares[count - 1] = 0.4
                for index in 1..<(count - 1) { shares[index] = 0.2 / Double(count - 2) }
            }
        case .timeDecay:
            let end = path.conversion?.at ?? path.touches[count - 1].at
            // Relative to the newest touch, so that no weight underflows: the ratios are the same.
            let newest = path.touches[count - 1].at
            var total = 0.0
            for (index, touch) in path.touches.enumerated() {
                let age = Double(end - touch.at) - Double(end - newest)
                shares[index] = exp2(-age / Double(halfLife))
                total += shares[index]
            }
            for index in shares.indices { shares[index] /= total }
        case .markov, .shapley:
            preconditionFailure("\(rawValue) is not a rule over one path")
        }
        return shares
    }
}
