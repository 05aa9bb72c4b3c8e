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
    /// Transition counts, row per state then `start` (row `histories.count`); columns are the states, then
    /// `conversion`, then `null`.
    private var counts: [[Double]] = []

    /// The chain of `paths`; paths without touches are left out (they have no transition).
    public init(paths: [AttributionPath], order: Int = 1) {
        self.init(IndexedPaths(paths), order: order)
    }

    init(_ paths: IndexedPaths, order: Int = 1) {
        precondition(Self.orders.contains(order), "Markov order \(order) is not one of \(Self.orders)")
        keys = paths.keys
        self.order = order
        // A history as one number: a key `k` alone is `k`; a pair `(p, k)` is `n + p × n + k` (n keys). Counted
        // through these numbers, not through arrays of keys, which hashed an array per touch.
        let n = keys.count
        func code(previous: Int?, key: Int) -> Int { order == 1 || previous == nil ? key : n + previous! * n + key }
        func history(_ code: Int) -> [Int] { code < n ? [code] : [(code - n) / n, (code - n) % n] }
        func forEachStep(_ body: (_ from: Int?, _ to: Int?, _ converts: Bool) -> Void) {
            for path in 0..<paths.pathCount {
                let touches = paths.touches(of: path)
                guard !touches.isEmpty else { continue }
                var previous: Int?
                var from: Int?
                for touch in touches {
                    let key = Int(paths.touchKeys[touch])
                    let to = code(previous: previous, key: key)
                    body(from, to, false)
                    previous = key
                    from = to
                }
                body(from, nil, paths.converts(path))
            }
        }
        // First the states that occur, marked in a table over every history number (n for order 1, n + n² for
        // order 2; the dense solve below limits n far more than this table does), then numbered in history order
        // (keys are in name order) whatever order the paths came in: elimination always pivots the same way, and
        // order 1 is the chain of keys in name order. Then the transitions, counted by those numbers.
        var number = [Int](repeating: -1, count: order == 1 ? n : n + n * n)
        forEachStep { _, to, _ in if let to { number[to] = 0 } }
        let codes = number.indices.filter { number[$0] == 0 }
            .sorted { history($0).lexicographicallyPrecedes(history($1)) }
        for (index, code) in codes.enumerated() { number[code] = index }
        histories = codes.map(history)
        let states = codes.count
        let width = states + 2
        var flat = [Double](repeating: 0, count: (states + 1) * width)
        forEachStep { from, to, converts in
            let row = from.map { number[$0] } ?? states
            let column = to.map { number[$0] } ?? (converts ? states : states + 1)
            flat[row * width + column] += 1
        }
        counts = (0...states).map { Array(flat[($0 * width)..<(($0 + 1) * width)]) }
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
            let total = counts[row].reduce(0, +)
            guard !isRemoved[row], total > 0 else { continue }
            for column in 0..<n where !isRemoved[column] { matrix[row][column] -= counts[row][column] / total }
            matrix[row][n] = counts[row][n] / total
        }
        let x = Self.solve(&matrix)
        let total = counts[n].reduce(0, +)
        guard total > 0 else { return 0 }
        var probability = 0.0
        for column in 0..<n where !isRemoved[column] { probability += counts[n][column] / total * x[column] }
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
