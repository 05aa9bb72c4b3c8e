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
    /// - Parameter halfLife: the time-decay half-life, in microseconds.
    public init(
        paths: [AttributionPath],
        untouched: [AttributionPath.Conversion] = [],
        model: AttributionModel,
        halfLife: Int64 = 7 * 86_400_000_000
    ) {
        self.model = model
        var rows = [String: Row]()
        for path in paths {
            if let conversion = path.conversion {
                convertingPaths += 1
                conversions += 1
                value[conversion.value.currency.code, default: 0] += conversion.value.minorUnits
            } else {
                nonConvertingPaths += 1
            }
            var seen = Set<String>()
            for touch in path.touches {
                rows[touch.key, default: Row(key: touch.key)].touches += 1
                guard seen.insert(touch.key).inserted else { continue }
                rows[touch.key]!.paths += 1
                if path.conversion != nil { rows[touch.key]!.convertingPaths += 1 }
            }
        }
        for conversion in untouched {
            untouchedConversions += 1
            conversions += 1
            value[conversion.value.currency.code, default: 0] += conversion.value.minorUnits
        }
        let chain = MarkovChain(paths: paths)
        let effects = chain.removalEffects()
        for (index, key) in chain.states.enumerated() { rows[key]!.removalEffect = effects[index] }
        for (key, credit) in Self.credit(
            paths,
            model: model,
            halfLife: halfLife,
            removalEffects: (chain.states, effects)
        ) {
            rows[key]!.conversions = credit.conversions
            rows[key]!.value = credit.value
        }
        self.rows = rows.values.sorted { ($1.conversions, $0.key) < ($0.conversions, $1.key) }
    }

    /// The conversions (and value) each key gets under `model`.
    static func credit(
        _ paths: [AttributionPath],
        model: AttributionModel,
        halfLife: Int64,
        removalEffects: (states: [String], effects: [Double])
    ) -> [String: (conversions: Double, value: [String: Double])] {
        var credit = [String: (conversions: Double, value: [String: Double])]()
        switch model {
        case .markov:
            let total = removalEffects.effects.reduce(0, +)
            guard total > 0 else { return [:] }
            var conversions = 0.0
            var value = [String: Double]()
            for path in paths where !path.touches.isEmpty {
                guard let conversion = path.conversion else { continue }
                conversions += 1
                value[conversion.value.currency.code, default: 0] += Double(conversion.value.minorUnits)
            }
            for (index, key) in removalEffects.states.enumerated() {
                let share = removalEffects.effects[index] / total
                credit[key] = (conversions * share, value.mapValues { $0 * share })
            }
        case .shapley:
            credit = ShapleyAttribution.values(ShapleyAttribution.pathSets(paths))
        default:
            for path in paths {
                guard let conversion = path.conversion else { continue }
                let currency = conversion.value.currency.code
                let amount = Double(conversion.value.minorUnits)
                for (touch, share) in zip(path.touches, model.shares(of: path, halfLife: halfLife)) where share > 0 {
                    credit[touch.key, default: (0, [:])].conversions += share
                    credit[touch.key]!.value[currency, default: 0] += amount * share
                }
            }
        }
        return credit
    }

    /// The conversions every model credits to each key, side by side: key → model → conversions.
    public static func compare(
        _ paths: [AttributionPath],
        halfLife: Int64 = 7 * 86_400_000_000
    ) -> [String: [AttributionModel: Double]] {
        let chain = MarkovChain(paths: paths)
        let effects = (chain.states, chain.removalEffects())
        var table = [String: [AttributionModel: Double]]()
        for path in paths { for touch in path.touches { table[touch.key, default: [:]] = [:] } }
        for model in AttributionModel.allCases {
            let credit = credit(paths, model: model, halfLife: halfLife, removalEffects: effects)
            for key in table.keys { table[key]![model] = credit[key]?.conversions ?? 0 }
        }
        return table
    }

    /// The path table: one row per distinct path, most frequent first (ties by path).
    public static func pathTable(_ paths: [AttributionPath]) -> [PathRow] {
        var rows = [String: PathRow]()
        for path in paths where !path.touches.isEmpty {
            let text = path.text
            if let conversion = path.conversion {
                rows[text, default: PathRow(path: text)].conversions += 1
                rows[text]!.value[conversion.value.currency.code, default: 0] += conversion.value.minorUnits
            } else {
                rows[text, default: PathRow(path: text)].withoutConversion += 1
            }
        }
        return rows.values.sorted {
            ($1.conversions + $1.withoutConversion, $0.path) < ($0.conversions + $0.withoutConversion, $1.path)
        }
    }
}
