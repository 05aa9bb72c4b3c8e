/// The Markov chain of a set of paths, of order 1 or 2, and its removal effects, solved exactly
/// (docs/attribution.md, section 4).
public struct MarkovChain: Sendable {
    /// The orders solved: a chain of order `k` over `n` keys has up to `n + n² + … + nᵏ` states, and each removal
    /// effect is a dense linear solve over them; order 3 over ten channels would take seconds per solve.
    public static let orders = 1...2

    /// The channels (or campaigns), in name order.
    public let keys: [String]
    public let order: Int
    /// The chain's states: the last `order` keys of a path so far (fewer at its start), as key numbers. The key a
    /// state stands for, when its key is removed, is its last.
    private var histories: [[Int]] = []
    /// Transition counts, row per state then `start` (row `histories.count`); columns are states, then
    /// `conversion`, then `null`.
    private var counts: [[Int: Double]] = []

    /// The chain of `paths`; paths without touches are left out (they have no transition).
    public init(paths: [AttributionPath], order: Int = 1) {
        self.init(IndexedPaths(paths), order: order)
    }

    init(_ paths: IndexedPaths, order: Int = 1) {
        precondition(Self.orders.contains(order), "Markov order \(order) is not one of \(Self.orders)")
        keys = paths.keys
        self.order = order
        var numbers = [[Int]: Int]()
        var histories = [[Int]]()
        func state(_ history: ArraySlice<Int>) -> Int {
            let history = Array(history)
            if let number = numbers[history] { return number }
            numbers[history] = histories.count
            histories.append(history)
            return histories.count - 1
        }
        // States are numbered as paths first reach them, then renumbered below.
        var startRow = [Int: Double]()
        var transitions = [(from: Int, to: Int)]()
        var ends = [(from: Int, converts: Bool)]()
        var history = [Int]()
        for path in 0..<paths.pathCount {
            let touches = paths.touches(of: path)
            guard !touches.isEmpty else { continue }
            history.removeAll(keepingCapacity: true)
            var from = -1
            for touch in touches {
                history.append(Int(paths.touchKeys[touch]))
                let to = state(history.suffix(order))
                if from < 0 { startRow[to, default: 0] += 1 } else { transitions.append((from, to)) }
                from = to
            }
            ends.append((from, paths.converts(path)))
        }
        // Renumbered in history order (keys are in name order), whatever order the paths came in: elimination
        // then always pivots the same way, and order 1 is the chain of keys in name order.
        let sorted = histories.indices.sorted { histories[$0].lexicographicallyPrecedes(histories[$1]) }
        var renumbered = [Int](repeating: 0, count: sorted.count)
        for (number, old) in sorted.enumerated() { renumbered[old] = number }
        self.histories = sorted.map { histories[$0] }
        let conversion = histories.count
        var rows = histories.map { _ in [Int: Double]() }
        for (from, to) in transitions { rows[renumbered[from]][renumbered[to], default: 0] += 1 }
        for (from, converts) in ends {
            rows[renumbered[from]][converts ? conversion : conversion + 1, default: 0] += 1
        }
        var start = [Int: Double]()
        for (to, count) in startRow { start[renumbered[to]] = count }
        counts = rows + [start]
    }

    /// The number of states besides start, conversion and null.
    public var stateCount: Int { histories.count }

    /// The probability of reaching `conversion` from `start`, with every state of the key `removed` (if any)
    /// leading to `null`.
    public func conversionProbability(removing removed: Int? = nil) -> Double {
        let n = histories.count
        guard n > 0 else { return 0 }
        let isRemoved = histories.map { $0.last == removed }
        // x = Q x + r over the states, i.e. (I − Q) x = r; then P = start's row · (x, 1 for conversion).
        var matrix = [[Double]](repeating: [Double](repeating: 0, count: n + 1), count: n)
        for row in 0..<n {
            matrix[row][row] = 1
            let total = counts[row].values.reduce(0, +)
            guard !isRemoved[row], total > 0 else { continue }
            for (column, count) in counts[row] where column < n && !isRemoved[column] {
                matrix[row][column] -= count / total
            }
            matrix[row][n] = (counts[row][n] ?? 0) / total
        }
        let x = Self.solve(&matrix)
        let total = counts[n].values.reduce(0, +)
        guard total > 0 else { return 0 }
        // Summed in state order, not in the dictionary's: the same paths always give the same last digit.
        var probability = 0.0
        for column in 0..<n where !isRemoved[column] {
            probability += (counts[n][column] ?? 0) / total * x[column]
        }
        return probability
    }

    /// The removal effect of each key (same order as `keys`): `1 − P(without it) / P`; all 0 when P is 0.
    public func removalEffects() -> [Double] {
        let probability = conversionProbability()
        guard probability > 0 else { return keys.map { _ in 0 } }
        return keys.indices.map { max(0, 1 - conversionProbability(removing: $0) / probability) }
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
