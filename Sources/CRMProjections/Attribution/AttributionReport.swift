import CRMModel

/// Attribution of a set of paths by one model, with what each channel (or campaign) did on them
/// (docs/attribution.md, section 6).
public struct AttributionReport: Sendable {
    /// One channel or campaign.
    public struct Row: Sendable, Equatable {
        public var key: String
        /// Conversions the model credits to it.
        public var conversions: Double = 0
        /// Conversion value the model credits to it, per currency, in minor units.
        public var value: [String: Double] = [:]
        /// Its touches on every path, converting or not.
        public var touches = 0
        /// Paths that contain it, and those of them that converted.
        public var paths = 0
        public var convertingPaths = 0
        /// Its Markov removal effect.
        public var removalEffect = 0.0

        /// Converting paths among the paths that contain it.
        public var conversionRate: Double { paths == 0 ? 0 : Double(convertingPaths) / Double(paths) }
    }

    /// One row of the path table.
    public struct PathRow: Sendable, Equatable {
        /// The path's keys joined by ` > `.
        public var path: String
        public var conversions = 0
        /// Per currency, minor units.
        public var value: [String: Int64] = [:]
        public var withoutConversion = 0
    }

    public var model: AttributionModel
    /// By credited conversions, most first (ties by key).
    public var rows: [Row]
    /// Every conversion of the period: on a path, or without a touch in its window.
    public var conversions = 0
    /// Their value, per currency, in minor units.
    public var value: [String: Int64] = [:]
    public var convertingPaths = 0
    public var nonConvertingPaths = 0
    /// Conversions with no touch in their window: counted above, credited to nobody.
    public var untouchedConversions = 0

    /// Attributes the converting `paths` by `model`. `untouched`: the conversions without a touch.
    /// - Parameters:
    ///   - halfLife: the time-decay half-life, in microseconds.
    ///   - markovOrder: the order of the Markov chain behind the removal effects (``MarkovChain/orders``).
    public init(
        paths: [AttributionPath],
        untouched: [AttributionPath.Conversion] = [],
        model: AttributionModel,
        halfLife: Int64 = 7 * 86_400_000_000,
        markovOrder: Int = 1
    ) {
        self.init(
            IndexedPaths(paths, untouched: untouched),
            model: model,
            halfLife: halfLife,
            markovOrder: markovOrder
        )
    }

    init(_ indexed: IndexedPaths, model: AttributionModel, halfLife: Int64, markovOrder: Int = 1) {
        self.model = model
        var rows = indexed.keys.map { Row(key: $0) }
        var seen = [Int](repeating: -1, count: indexed.keys.count)
        var value = [Int64](repeating: 0, count: indexed.currencies.count)
        for path in 0..<indexed.pathCount {
            if indexed.converts(path) {
                convertingPaths += 1
                value[Int(indexed.conversionCurrencies[path])] += indexed.conversionValues[path]
            } else {
                nonConvertingPaths += 1
            }
            for touch in indexed.touches(of: path) {
                let key = Int(indexed.touchKeys[touch])
                rows[key].touches += 1
                guard seen[key] != path else { continue }
                seen[key] = path
                rows[key].paths += 1
                if indexed.converts(path) { rows[key].convertingPaths += 1 }
            }
        }
        for (number, currency) in indexed.currencies.enumerated() { self.value[currency] = value[number] }
        conversions = convertingPaths + indexed.untouched.count
        untouchedConversions = indexed.untouched.count
        for conversion in indexed.untouched {
            self.value[conversion.value.currency.code, default: 0] += conversion.value.minorUnits
        }
        let effects = MarkovChain(indexed, order: markovOrder).removalEffects()
        let credits = Self.credits(indexed, model: model, halfLife: halfLife, removalEffects: effects)
        for key in rows.indices {
            rows[key].removalEffect = effects[key]
            rows[key].conversions = credits.conversions[key]
            for (number, currency) in indexed.currencies.enumerated() where credits.value[key][number] != 0 {
                rows[key].value[currency] = credits.value[key][number]
            }
        }
        self.rows = rows.sorted { ($1.conversions, $0.key) < ($0.conversions, $1.key) }
    }

    /// The conversions (and value) each key gets under `model`; `removalEffects` in key order.
    static func credits(
        _ paths: IndexedPaths,
        model: AttributionModel,
        halfLife: Int64,
        removalEffects: [Double]
    ) -> Credits {
        var credits = Credits(keys: paths.keys.count, currencies: paths.currencies.count)
        switch model {
        case .markov:
            let total = removalEffects.reduce(0, +)
            guard total > 0 else { return credits }
            var conversions = 0.0
            var value = [Double](repeating: 0, count: paths.currencies.count)
            for path in 0..<paths.pathCount where paths.converts(path) && !paths.touches(of: path).isEmpty {
                conversions += 1
                value[Int(paths.conversionCurrencies[path])] += Double(paths.conversionValues[path])
            }
            for key in paths.keys.indices {
                let share = removalEffects[key] / total
                credits.conversions[key] = conversions * share
                credits.value[key] = value.map { $0 * share }
            }
        case .shapley:
            credits = ShapleyAttribution.credits(paths)
        default:
            var shares = [Double]()
            for path in 0..<paths.pathCount where paths.converts(path) {
                let touches = paths.touches(of: path)
                let first = touches.lowerBound
                let end = paths.conversionTimes[path]
                model.fillShares(
                    &shares,
                    count: touches.count,
                    isDirect: { paths.touchIsDirect[first + $0] },
                    age: { Double(end - paths.touchTimes[first + $0]) },
                    halfLife: halfLife
                )
                let currency = Int(paths.conversionCurrencies[path])
                let amount = Double(paths.conversionValues[path])
                for (offset, share) in shares.enumerated() where share > 0 {
                    let key = Int(paths.touchKeys[first + offset])
                    credits.conversions[key] += share
                    credits.value[key][currency] += amount * share
                }
            }
        }
        return credits
    }

    /// The conversions every model credits to each key, side by side: key → model → conversions.
    public static func compare(
        _ paths: [AttributionPath],
        halfLife: Int64 = 7 * 86_400_000_000,
        markovOrder: Int = 1
    ) -> [String: [AttributionModel: Double]] {
        compare(IndexedPaths(paths), halfLife: halfLife, markovOrder: markovOrder)
    }

    static func compare(
        _ indexed: IndexedPaths,
        halfLife: Int64,
        markovOrder: Int = 1
    ) -> [String: [AttributionModel: Double]] {
        let effects = MarkovChain(indexed, order: markovOrder).removalEffects()
        let models = AttributionModel.allCases
        // The models are independent: on every core.
        let credits = concurrentMap(models.count) { number in
            Self.credits(indexed, model: models[number], halfLife: halfLife, removalEffects: effects)
        }
        var table = [String: [AttributionModel: Double]]()
        for (model, credits) in zip(models, credits) {
            for (number, key) in indexed.keys.enumerated() {
                table[key, default: [:]][model] = credits.conversions[number]
            }
        }
        return table
    }

    /// The path table: one row per distinct path, most frequent first (ties by path).
    public static func pathTable(_ paths: [AttributionPath]) -> [PathRow] {
        pathTable(IndexedPaths(paths))
    }

    static func pathTable(_ indexed: IndexedPaths) -> [PathRow] {
        var rows = [String: PathRow]()
        for path in 0..<indexed.pathCount where !indexed.touches(of: path).isEmpty {
            let text = indexed.text(of: path)
            if indexed.converts(path) {
                let currency = indexed.currencies[Int(indexed.conversionCurrencies[path])]
                rows[text, default: PathRow(path: text)].conversions += 1
                rows[text]!.value[currency, default: 0] += indexed.conversionValues[path]
            } else {
                rows[text, default: PathRow(path: text)].withoutConversion += 1
            }
        }
        return rows.values.sorted {
            ($1.conversions + $1.withoutConversion, $0.path) < ($0.conversions + $0.withoutConversion, $1.path)
        }
    }
}
