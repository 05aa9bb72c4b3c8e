import CRMModel

/// Shapley values of channels over converting paths (docs/attribution.md, section 5).
public enum ShapleyAttribution {
    /// Each converting path's set of distinct keys, with the conversions and the value (per currency, minor units)
    /// of the paths that have exactly that set.
    public struct PathSet: Sendable, Equatable {
        public var keys: [String]
        public var conversions: Double
        public var value: [String: Double]
    }

    /// The converting paths grouped by their set of distinct keys, in a fixed order (by the keys).
    public static func pathSets(_ paths: [AttributionPath]) -> [PathSet] {
        let indexed = IndexedPaths(paths)
        return pathSets(indexed).map { set in
            PathSet(
                keys: set.keys.map { indexed.keys[Int($0)] },
                conversions: set.conversions,
                value: Dictionary(
                    uniqueKeysWithValues: set.value.enumerated().filter { $0.element != 0 }.map {
                        (indexed.currencies[$0.offset], $0.element)
                    }
                )
            )
        }
    }

    /// ``pathSets(_:)`` by key and currency numbers: `value` per currency number. `asBits` (tests): whether key
    /// sets are held as bits, which needs at most 64 keys (default: whenever there are).
    static func pathSets(
        _ paths: IndexedPaths,
        asBits: Bool? = nil
    ) -> [(keys: [Int32], conversions: Double, value: [Double])] {
        // Up to 64 keys (channels, most campaign lists), a set is the bits of its keys: nothing is allocated or
        // hashed but one integer per path (an array per path was most of `--compare`'s Shapley).
        if asBits ?? (paths.keys.count <= 64) {
            precondition(paths.keys.count <= 64, "key sets as bits hold up to 64 keys")
            return pathSets(paths) { touches in
                var bits: UInt64 = 0
                for touch in touches { bits |= 1 << UInt64(paths.touchKeys[touch]) }
                return bits
            } keys: { bits in
                (0..<64).filter { bits & (1 << UInt64($0)) != 0 }.map(Int32.init)
            }
        }
        var keys = [Int32]()
        return pathSets(paths) { touches in
            keys.removeAll(keepingCapacity: true)
            for touch in touches { keys.append(paths.touchKeys[touch]) }
            keys.sort()
            var distinct = [Int32]()
            distinct.reserveCapacity(keys.count)
            for key in keys where distinct.last != key { distinct.append(key) }
            return distinct
        } keys: { distinct in
            distinct
        }
    }

    /// The converting paths grouped by `set` (a path's distinct keys, in a form that hashes), added up in path
    /// order, then listed by their keys (`keys` of a set: its key numbers, ascending) in lexicographic order.
    private static func pathSets<KeySet: Hashable>(
        _ paths: IndexedPaths,
        set: (Range<Int>) -> KeySet,
        keys: (KeySet) -> [Int32]
    ) -> [(keys: [Int32], conversions: Double, value: [Double])] {
        var places = [KeySet: Int]()
        var sets = [(keys: [Int32], conversions: Double, value: [Double])]()
        for path in 0..<paths.pathCount where paths.converts(path) {
            let touches = paths.touches(of: path)
            guard !touches.isEmpty else { continue }
            let key = set(touches)
            let (place, isNew) = places.denseNumber(of: key)
            if isNew { sets.append((keys(key), 0, [Double](repeating: 0, count: paths.currencies.count))) }
            sets[place].conversions += 1
            sets[place].value[Int(paths.conversionCurrencies[path])] += Double(paths.conversionValues[path])
        }
        return sets.sorted { $0.keys.lexicographicallyPrecedes($1.keys) }
    }

    /// Each key's Shapley value of `v(S) = Σ c(T), T ⊆ S`, by the closed form of a sum of unanimity games: each set
    /// `T` gives `c(T) / |T|` to each of its keys. Conversions, and value per currency. The same computation as
    /// the reports' (``closedForm(_:keys:currencies:)``), on sets named rather than numbered.
    public static func values(_ sets: [PathSet]) -> [String: (conversions: Double, value: [String: Double])] {
        let keys = Set(sets.flatMap(\.keys)).sorted()
        let currencies = Set(sets.flatMap(\.value.keys)).sorted()
        let keyNumbers = Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($1, Int32($0)) })
        let numbered = sets.map { set in
            (
                keys: set.keys.map { keyNumbers[$0]! }, conversions: set.conversions,
                value: currencies.map { set.value[$0] ?? 0 }
            )
        }
        let credits = closedForm(numbered, keys: keys.count, currencies: currencies.count)
        var values = [String: (conversions: Double, value: [String: Double])]()
        for (number, key) in keys.enumerated() {
            let value = currencies.indices.filter { credits.value[number][$0] != 0 }.map {
                (currencies[$0], credits.value[number][$0])
            }
            values[key] = (credits.conversions[number], Dictionary(uniqueKeysWithValues: value))
        }
        return values
    }

    /// ``values(_:)`` of the reports, by key and currency numbers.
    static func credits(_ paths: IndexedPaths) -> Credits {
        closedForm(pathSets(paths), keys: paths.keys.count, currencies: paths.currencies.count)
    }

    /// The closed form over numbered path sets.
    private static func closedForm(
        _ sets: [(keys: [Int32], conversions: Double, value: [Double])],
        keys: Int,
        currencies: Int
    ) -> Credits {
        var credits = Credits(keys: keys, currencies: currencies)
        for set in sets {
            let size = Double(set.keys.count)
            for key in set.keys.map(Int.init) {
                credits.conversions[key] += set.conversions / size
                for currency in set.value.indices { credits.value[key][currency] += set.value[currency] / size }
            }
        }
        return credits
    }

    /// The Shapley value of conversions by its definition: each key's marginal contributions over all `2^n`
    /// coalitions, weighted `|S|! (n − |S| − 1)! / n!`. Exponential: for checking ``values(_:)``, up to 15 keys.
    public static func valuesByDefinition(_ sets: [PathSet]) -> [String: Double] {
        let keys = Set(sets.flatMap(\.keys)).sorted()
        let n = keys.count
        precondition(n <= 15, "the definition is for checking, up to 15 keys")
        var bit = [String: Int]()
        for (number, key) in keys.enumerated() { bit[key] = 1 << number }
        // v over every coalition: the conversions of the sets it contains (a sum over subsets, by the zeta transform).
        var v = [Double](repeating: 0, count: 1 << n)
        for set in sets { v[set.keys.reduce(0) { $0 | bit[$1]! }] += set.conversions }
        for number in 0..<n {
            for coalition in 0..<(1 << n) where coalition & (1 << number) != 0 {
                v[coalition] += v[coalition ^ (1 << number)]
            }
        }
        var factorial = [1.0]
        for k in 1...max(1, n) { factorial.append(factorial[k - 1] * Double(k)) }
        var result = [String: Double]()
        for (number, key) in keys.enumerated() {
            var value = 0.0
            for coalition in 0..<(1 << n) where coalition & (1 << number) == 0 {
                let size = coalition.nonzeroBitCount
                let weight = factorial[size] * factorial[n - size - 1] / factorial[n]
                value += weight * (v[coalition | (1 << number)] - v[coalition])
            }
            result[key] = value
        }
        return result
    }
}
