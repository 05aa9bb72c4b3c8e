/// A segment definition's rule (docs/segments.md, section 2), parsed from the `definition` of `segment.defined`.
public indirect enum SegmentRule: Sendable, Hashable {
    case all([SegmentRule])
    case any([SegmentRule])
    case not(SegmentRule)
    /// The number of the customer's events of a type in the window compares with `value`.
    case count(EventType, window: SegmentWindow, comparison: Comparison, value: Int64)
    /// The sum of a metric over the window, in a currency, compares with `value` (whose currency it is).
    case sum(SumMetric, window: SegmentWindow, comparison: Comparison, value: Money)
    case consent(channel: String)
    case country([String])
    case city([String])
    case touchedChannel(String, window: SegmentWindow?)
    case touchedCampaign(String, window: SegmentWindow?)
    /// `category:NAME` or `sku:SKU`.
    case subscribed(String)
    case rfm([String])
    case inSegment(String)

    /// How a count or a sum compares with the rule's value.
    public enum Comparison: String, Sendable, Hashable, CaseIterable {
        case less = "<"
        case lessOrEqual = "<="
        case equal = "=="
        case notEqual = "!="
        case greaterOrEqual = ">="
        case greater = ">"

        public func holds<T: Comparable>(_ left: T, _ right: T) -> Bool {
            switch self {
            case .less: left < right
            case .lessOrEqual: left <= right
            case .equal: left == right
            case .notEqual: left != right
            case .greaterOrEqual: left >= right
            case .greater: left > right
            }
        }
    }

    /// What a `sum` rule adds up.
    public enum SumMetric: String, Sendable, Hashable, CaseIterable {
        case netRevenue = "net_revenue"
        case grossRevenue = "gross_revenue"
        case refunds
    }

    /// The ten RFM group names (docs/segments.md, section 5).
    public static let rfmGroups = [
        "Champions", "Loyal", "Potential loyalists", "New", "Promising", "Need attention", "At risk", "Can't lose",
        "Hibernating", "Lost",
    ]

    /// Parses a rule object; errors name the JSON path (`definition.all[2].window`) and the reason.
    public init(
        parsing object: JSONObject,
        path: String = "definition",
        defaultCurrency: Currency
    ) throws(ValidationError) {
        let keys = Set(object.members.map(\.key))
        let kinds = keys.intersection(Self.kinds)
        guard kinds.count == 1, let kind = kinds.first else {
            throw ValidationError(
                field: path,
                reason: kinds.isEmpty
                    ? "needs one of \(Self.kinds.sorted().joined(separator: ", "))"
                    : "has more than one rule: \(kinds.sorted().joined(separator: ", "))"
            )
        }
        let allowed: Set<String> =
            switch kind {
            case "count": ["count", "window", "op", "value"]
            case "sum": ["sum", "currency", "window", "op", "value"]
            case "touched_channel", "touched_campaign": [kind, "window"]
            default: [kind]
            }
        if let unknown = keys.subtracting(allowed).sorted().first {
            throw ValidationError(field: path + "." + unknown, reason: "is not a member of a \(kind) rule")
        }
        var fields = FieldReader(object: object.members, defaultCurrency: defaultCurrency)
        func scoped<T>(_ body: (inout FieldReader) throws(ValidationError) -> T) throws(ValidationError) -> T {
            do {
                return try body(&fields)
            } catch {
                throw ValidationError(field: path + (error.field.map { "." + $0 } ?? ""), reason: error.reason)
            }
        }
        func rules(_ name: String) throws(ValidationError) -> [SegmentRule] {
            let values = try scoped { fields throws(ValidationError) in try fields.array(name) } ?? []
            guard !values.isEmpty else { throw ValidationError(field: "\(path).\(name)", reason: "must not be empty") }
            var parsed = [SegmentRule]()
            for (number, value) in values.enumerated() {
                parsed.append(
                    try Self.rule(value, path: "\(path).\(name)[\(number)]", defaultCurrency: defaultCurrency)
                )
            }
            return parsed
        }
        func strings(_ name: String) throws(ValidationError) -> [String] {
            let values = try scoped { fields throws(ValidationError) in try fields.array(name) } ?? []
            guard !values.isEmpty else { throw ValidationError(field: "\(path).\(name)", reason: "must not be empty") }
            var texts = [String]()
            for (number, value) in values.enumerated() {
                guard case .string(let text) = value, !text.isEmpty else {
                    throw ValidationError(field: "\(path).\(name)[\(number)]", reason: "must be a non-empty string")
                }
                texts.append(text)
            }
            return texts
        }
        func text(_ name: String) throws(ValidationError) -> String {
            try scoped { fields throws(ValidationError) in try fields.string(name, required: true, maxBytes: 256)! }
        }
        func window(required: Bool) throws(ValidationError) -> SegmentWindow? {
            guard
                let text = try scoped({ fields throws(ValidationError) in
                    try fields.string("window", required: required)
                })
            else { return nil }
            guard let window = SegmentWindow(text) else {
                throw ValidationError(
                    field: path + ".window",
                    reason: "must be a number of days or hours (90d, 12h), at most 3650d"
                )
            }
            return window
        }
        func comparison() throws(ValidationError) -> Comparison {
            let text = try text("op")
            guard let comparison = Comparison(rawValue: text) else {
                throw ValidationError(field: path + ".op", reason: "must be one of < <= == != >= >")
            }
            return comparison
        }
        switch kind {
        case "all": self = .all(try rules("all"))
        case "any": self = .any(try rules("any"))
        case "not":
            let value = try scoped { fields throws(ValidationError) in try fields.object("not", required: true)! }
            self = .not(
                try SegmentRule(parsing: JSONObject(value), path: path + ".not", defaultCurrency: defaultCurrency)
            )
        case "count":
            let name = try text("count")
            guard let type = EventType(rawValue: name) else {
                throw ValidationError(field: path + ".count", reason: "is not an event type")
            }
            let window = try window(required: true)!
            let comparison = try comparison()
            let value = try scoped { fields throws(ValidationError) in
                try fields.integer("value", in: 0...1_000_000_000, required: true)!
            }
            self = .count(type, window: window, comparison: comparison, value: Int64(value))
        case "sum":
            guard let metric = SumMetric(rawValue: try text("sum")) else {
                throw ValidationError(field: path + ".sum", reason: "must be net_revenue, gross_revenue or refunds")
            }
            let currency = try scoped { fields throws(ValidationError) in try fields.currency() }
            let window = try window(required: true)!
            let comparison = try comparison()
            let value = try scoped { fields throws(ValidationError) in
                try fields.money("value", currency: currency, required: true)!
            }
            self = .sum(metric, window: window, comparison: comparison, value: value)
        case "consent": self = .consent(channel: try text("consent"))
        case "country": self = .country(try strings("country"))
        case "city": self = .city(try strings("city"))
        case "touched_channel": self = .touchedChannel(try text("touched_channel"), window: try window(required: false))
        case "touched_campaign":
            self = .touchedCampaign(try text("touched_campaign"), window: try window(required: false))
        case "subscribed":
            let target = try text("subscribed")
            guard target.hasPrefix("category:") || target.hasPrefix("sku:") else {
                throw ValidationError(field: path + ".subscribed", reason: "must be category:NAME or sku:SKU")
            }
            self = .subscribed(target)
        case "rfm":
            let groups = try strings("rfm")
            if let unknown = groups.first(where: { !Self.rfmGroups.contains($0) }) {
                throw ValidationError(field: path + ".rfm", reason: "\(unknown) is not an RFM group")
            }
            self = .rfm(groups)
        default:
            self = .inSegment(try text("in_segment"))
        }
        let nodeCount = nodes.count
        guard nodeCount <= Self.maximumNodes else {
            throw ValidationError(
                field: path,
                reason: "has \(nodeCount) rules; at most \(Self.maximumNodes) are allowed"
            )
        }
    }

    /// The most rules one definition may hold, counting every `all`, `any` and `not` (docs/segments.md).
    public static let maximumNodes = 1_000

    private static let kinds: Set<String> = [
        "all", "any", "not", "count", "sum", "consent", "country", "city", "touched_channel", "touched_campaign",
        "subscribed", "rfm", "in_segment",
    ]

    private static func rule(
        _ value: JSONValue,
        path: String,
        defaultCurrency: Currency
    ) throws(ValidationError)
        -> SegmentRule
    {
        guard case .object(let members) = value else {
            throw ValidationError(field: path, reason: "must be an object, not \(value.typeName)")
        }
        return try SegmentRule(parsing: JSONObject(members), path: path, defaultCurrency: defaultCurrency)
    }

    /// The definition with the currency of every `sum` rule written out (the default one where it was left out),
    /// so that a stored definition means the same whatever the log's default currency is later.
    public static func withExplicitCurrencies(_ definition: JSONObject, default currency: Currency) -> JSONObject {
        func normalized(_ value: JSONValue) -> JSONValue {
            switch value {
            case .object(let members): .object(withExplicitCurrencies(JSONObject(members), default: currency).members)
            case .array(let values): .array(values.map(normalized))
            default: value
            }
        }
        var members = definition.members.map { (key: $0.key, value: normalized($0.value)) }
        if definition["sum"] != nil, definition["currency"] == nil {
            members.append((key: "currency", value: .string(currency.code)))
        }
        return JSONObject(members)
    }

    /// The segments this rule refers to with `in_segment`.
    public var referencedSegments: Set<String> {
        switch self {
        case .all(let rules), .any(let rules): rules.reduce(into: Set()) { $0.formUnion($1.referencedSegments) }
        case .not(let rule): rule.referencedSegments
        case .inSegment(let name): [name]
        default: []
        }
    }
}

// MARK: - Reading a rule

extension SegmentRule: CustomStringConvertible {
    /// The rule in a short form for reasons and listings: `count(order.placed, 90d) >= 2`.
    public var description: String {
        switch self {
        case .all(let rules): "all(" + rules.map(\.description).joined(separator: ", ") + ")"
        case .any(let rules): "any(" + rules.map(\.description).joined(separator: ", ") + ")"
        case .not(let rule): "not(\(rule))"
        case .count(let type, let window, let comparison, let value):
            "count(\(type.rawValue), \(window)) \(comparison.rawValue) \(value)"
        case .sum(let metric, let window, let comparison, let value):
            "sum(\(metric.rawValue), \(window)) \(comparison.rawValue) \(value.jsonNumber) \(value.currency.code)"
        case .consent(let channel): "consent(\(channel))"
        case .country(let codes): "country in [\(codes.joined(separator: ", "))]"
        case .city(let names): "city in [\(names.joined(separator: ", "))]"
        case .touchedChannel(let channel, let window): "touched_channel(\(channel)\(window.map { ", \($0)" } ?? ""))"
        case .touchedCampaign(let campaign, let window):
            "touched_campaign(\(campaign)\(window.map { ", \($0)" } ?? ""))"
        case .subscribed(let target): "subscribed(\(target))"
        case .rfm(let groups): "rfm in [\(groups.joined(separator: ", "))]"
        case .inSegment(let name): "in_segment(\(name))"
        }
    }

    /// The rule's nodes in preorder: a node's number in this list names it in a membership change's reason.
    public var nodes: [SegmentRule] {
        var nodes = [SegmentRule]()
        func visit(_ rule: SegmentRule) {
            nodes.append(rule)
            switch rule {
            case .all(let rules), .any(let rules): rules.forEach(visit)
            case .not(let inner): visit(inner)
            default: break
            }
        }
        visit(self)
        return nodes
    }
}

/// A rolling window of event time (docs/segments.md): `90d` or `12h`, at most 3650 days.
public struct SegmentWindow: Sendable, Hashable, CustomStringConvertible {
    public var microseconds: Int64

    public var description: String {
        let hours = microseconds / 3_600_000_000
        return hours % 24 == 0 ? "\(hours / 24)d" : "\(hours)h"
    }

    public init?(_ text: String) {
        guard let unit = text.last, let count = Int64(text.dropLast()), count > 0 else { return nil }
        let hour: Int64 = 3_600_000_000
        switch unit {
        case "d": microseconds = count * 24 * hour
        case "h": microseconds = count * hour
        default: return nil
        }
        guard microseconds <= 3650 * 24 * hour else { return nil }
    }
}
