/// The first-order Markov chain of a set of paths and its removal effects, solved exactly (docs/attribution.md,
/// section 4).
public struct MarkovChain: Sendable {
    /// The channel (or campaign) states, in name order.
    public let states: [String]
    /// Transition counts: `start` is row `states.count`; columns are the states, then `conversion`, then `null`.
    private var counts: [[Double]]

    /// The chain of `paths`; paths without touches are left out (they have no transition).
    public init(paths: [AttributionPath]) {
        self.init(IndexedPaths(paths))
    }

    init(_ paths: IndexedPaths) {
        states = paths.keys
        let start = states.count
        let conversion = states.count
        let null = states.count + 1
        // Counted flat, row by row, then split into rows.
        let width = states.count + 2
        var flat = [Double](repeating: 0, count: (states.count + 1) * width)
        for path in 0..<paths.pathCount {
            let touches = paths.touches(of: path)
            guard !touches.isEmpty else { continue }
            var from = start
            for touch in touches {
                let to = Int(paths.touchKeys[touch])
                flat[from * width + to] += 1
                from = to
            }
            flat[from * width + (paths.converts(path) ? conversion : null)] += 1
        }
        counts = (0...states.count).map { Array(flat[($0 * width)..<(($0 + 1) * width)]) }
    }

    /// The probability of reaching `conversion` from `start`, with the state `removed` (if any) leading to `null`.
    public func conversionProbability(removing removed: Int? = nil) -> Double {
        let n = states.count
        guard n > 0 else { return 0 }
        // x = Q x + r over the channel states, i.e. (I − Q) x = r; then P = start's row · (x, 1 for conversion).
        var matrix = [[Double]](repeating: [Double](repeating: 0, count: n + 1), count: n)
        for row in 0..<n {
            matrix[row][row] = 1
            let total = counts[row].reduce(0, +)
            guard row != removed, total > 0 else { continue }
            for column in 0..<n where column != removed { matrix[row][column] -= counts[row][column] / total }
            matrix[row][n] = counts[row][n] / total
        }
        let x = Self.solve(&matrix)
        let total = counts[n].reduce(0, +)
        guard total > 0 else { return 0 }
        var probability = 0.0
        for column in 0..<n where column != removed { probability += counts[n][column] / total * x[column] }
        return probability
    }

    /// The removal effect of each state (same order as `states`): `1 − P(without it) / P`; all 0 when P is 0.
    public func removalEffects() -> [Double] {
        let probability = conversionProbability()
        guard probability > 0 else { return states.map { _ in 0 } }
        return states.indices.map { max(0, 1 - conversionProbability(removing: $0) / probability) }
    }

    /// Gaussian elimination with partial pivoting on an augmented `n × (n + 1)` matrix.
    private static func solve(_ matrix: inout [[Double]]) -> [Double] {
        let n = matrix.count
        for column in 0..<n {
            var pivot = column
            for row in (column + 1)..<max(column + 1, n) where abs(matrix[row][column]) > abs(matrix[pivot][column]) {
                pivot = row
            }
            matrix.swapAt(column, pivot)
            let divisor = matrix[column][column]
            guard divisor != 0 else { continue }
            for row in 0..<n where row != column && matrix[row][column] != 0 {
                let factor = matrix[row][column] / divisor
                for entry in column...n { matrix[row][entry] -= factor * matrix[column][entry] }
            }
        }
        return (0..<n).map { matrix[$0][$0] == 0 ? 0 : matrix[$0][n] / matrix[$0][$0] }
    }
}
