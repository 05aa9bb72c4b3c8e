/// Reads the fields of one JSON event object with precise errors, and keeps what no field claimed as the
/// event's custom properties (in their order).
public struct FieldReader {
    private var members: [(key: String, value: JSONValue)]
    /// Which members a field took, by position (a set of names would hash every key).
    private var claimed: [Bool]
    /// Where ``take(_:)`` looks first.
    private var nextGuess = 0
    /// The currency used when an event gives none.
    public let defaultCurrency: Currency

    public init(object members: [(key: String, value: JSONValue)], defaultCurrency: Currency) {
        self.members = members
        self.claimed = [Bool](repeating: false, count: members.count)
        self.defaultCurrency = defaultCurrency
    }

    /// The members no field claimed, in their order.
    public var unclaimed: [(key: String, value: JSONValue)] {
        zip(members, claimed).compactMap { member, taken in taken ? nil : member }
    }

    private mutating func take(_ name: String) -> JSONValue? {
        // From the member after the last one taken, then from the start: readers take fields in the order the codec
        // writes them, so a line it wrote finds each at the first look. (From the start every time, comparing names
        // was about 5 % of an ingest's CPU.)
        guard
            let index = members[nextGuess...].firstIndex(where: { $0.key == name })
                ?? members[..<nextGuess].firstIndex(where: { $0.key == name })
        else { return nil }
        claimed[index] = true
        nextGuess = index + 1
        return members[index].value
    }

    static func wrongType(_ name: String, expected: String, got value: JSONValue) -> ValidationError {
        ValidationError(field: name, reason: "must be \(expected), not \(value.typeName)")
    }

    /// A string of 1…`maxBytes` UTF-8 bytes in canonical form (``Swift/String/canonicalForm``, docs/events.md: "Ids
    /// and words are text"), the form the length is checked in; nil when absent or null and not required.
    /// `asGiven`: for a string that its reader refuses unless it is ASCII (a type's name, a time), which is canonical
    /// then. (The check costs some 30 ns a string; for the other fields, about 1 % of an ingest's CPU.)
    public mutating func string(
        _ name: String,
        required: Bool = false,
        maxBytes: Int = 256,
        asGiven: Bool = false
    ) throws(ValidationError)
        -> String?
    {
        switch take(name) {
        case nil, .null?:
            if required { throw ValidationError(field: name, reason: "is required") }
            return nil
        case .string(let given)?:
            let text = asGiven ? given : given.canonicalForm
            guard !text.isEmpty, text.utf8.count <= maxBytes else {
                throw ValidationError(field: name, reason: "must be 1 to \(maxBytes) bytes long")
            }
            return text
        case let value?:
            throw Self.wrongType(name, expected: "a string", got: value)
        }
    }

    /// A string from a closed set of values.
    public mutating func choice(
        _ name: String,
        _ allowed: [String],
        required: Bool = false
    ) throws(ValidationError)
        -> String?
    {
        guard let text = try string(name, required: required) else { return nil }
        guard allowed.contains(text) else {
            throw ValidationError(field: name, reason: "must be one of \(allowed.joined(separator: ", "))")
        }
        return text
    }

    /// A boolean.
    public mutating func bool(_ name: String, required: Bool = false) throws(ValidationError) -> Bool? {
        switch take(name) {
        case nil, .null?:
            if required { throw ValidationError(field: name, reason: "is required") }
            return nil
        case .bool(let flag)?: return flag
        case let value?: throw Self.wrongType(name, expected: "true or false", got: value)
        }
    }

    /// An integer within `range`.
    public mutating func integer(
        _ name: String,
        in range: ClosedRange<Int>,
        required: Bool = false
    )
        throws(ValidationError) -> Int?
    {
        switch take(name) {
        case nil, .null?:
            if required { throw ValidationError(field: name, reason: "is required") }
            return nil
        case .number(let text)?:
            guard let value = Int(text), range.contains(value) else {
                throw ValidationError(
                    field: name,
                    reason: "must be an integer from \(range.lowerBound) to \(range.upperBound)"
                )
            }
            return value
        case let value?: throw Self.wrongType(name, expected: "an integer", got: value)
        }
    }

    /// The event's currency: its `currency` field, or the default.
    public mutating func currency() throws(ValidationError) -> Currency {
        guard let code = try string("currency", maxBytes: 3) else { return defaultCurrency }
        guard let currency = Currency(code) else {
            throw ValidationError(field: "currency", reason: "must be an ISO 4217 code of three letters")
        }
        return currency
    }

    /// An amount of money in major units, exact. `positive` requires > 0, otherwise ≥ 0.
    public mutating func money(
        _ name: String,
        currency: Currency,
        required: Bool = false,
        positive: Bool = false
    )
        throws(ValidationError) -> Money?
    {
        switch take(name) {
        case nil, .null?:
            if required { throw ValidationError(field: name, reason: "is required") }
            return nil
        case .number(let text)?:
            return try Self.money(text, field: name, currency: currency, positive: positive)
        case let value?:
            throw Self.wrongType(name, expected: "a number", got: value)
        }
    }

    static func money(
        _ text: String,
        field: String,
        currency: Currency,
        positive: Bool
    ) throws(ValidationError)
        -> Money
    {
        let money: Money
        do {
            money = try Money(parsing: text, currency: currency)
        } catch .tooPrecise(let digits) {
            throw ValidationError(field: field, reason: "has more than \(digits) decimal digits for \(currency)")
        } catch {
            throw ValidationError(field: field, reason: "is out of range")
        }
        guard positive ? money.minorUnits > 0 : money.minorUnits >= 0 else {
            throw ValidationError(field: field, reason: positive ? "must be greater than 0" : "must not be negative")
        }
        return money
    }

    /// Whether the member is present (even as `null`).
    public func has(_ name: String) -> Bool {
        members.contains { $0.key == name }
    }

    /// A JSON object, kept as it came.
    public mutating func object(
        _ name: String,
        required: Bool = false
    ) throws(ValidationError)
        -> [(key: String, value: JSONValue)]?
    {
        switch take(name) {
        case nil, .null?:
            if required { throw ValidationError(field: name, reason: "is required") }
            return nil
        case .object(let members)?: return members
        case let value?: throw Self.wrongType(name, expected: "an object", got: value)
        }
    }

    /// A JSON array, kept as it came.
    public mutating func array(_ name: String) throws(ValidationError) -> [JSONValue]? {
        switch take(name) {
        case nil, .null?: return nil
        case .array(let values)?: return values
        case let value?: throw Self.wrongType(name, expected: "an array", got: value)
        }
    }
}
