/// An ISO 4217 currency code and how many minor units its major unit has.
///
/// Held in 4 bytes, the code's three letters and the digits, where a string and an integer took 24: every order a
/// profile keeps holds one, and every amount of money an event carries.
public struct Currency: Hashable, Sendable, CustomStringConvertible {
    /// The code's letters in the low three bytes, first letter lowest; the minor unit digits in the high byte.
    private let packed: UInt32

    /// The three upper-case letters, e.g. "USD".
    public var code: String {
        String(unsafeUninitializedCapacity: 3) { buffer in
            for index in 0..<3 { buffer[index] = UInt8(truncatingIfNeeded: packed >> (8 * UInt32(index))) }
            return 3
        }
    }
    /// Digits after the decimal point: 2 for USD, 0 for JPY, 3 for KWD.
    public var minorUnitDigits: Int { Int(packed >> 24) }

    /// Currencies whose minor unit is not 1/100 (ISO 4217); every other valid code has two digits.
    static let exceptions: [String: Int] = [
        "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0, "RWF": 0,
        "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
        "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3, "CLF": 4, "UYW": 4,
    ]

    /// ``exceptions`` by their packed letters: looked up with a few comparisons, where the dictionary hashed a
    /// string made for the purpose (for every amount the binary codec reads).
    private static let exceptionLetters: [(letters: UInt32, digits: UInt32)] = exceptions.map { code, digits in
        (packedLetters(code.utf8), UInt32(digits))
    }

    /// The currency of `code` (three ASCII letters, any case), or nil when it is not a code.
    public init?(_ code: String) {
        let upper = code.uppercased()
        guard upper.utf8.count == 3, upper.utf8.allSatisfy({ $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") })
        else { return nil }
        self.init(uppercaseLetters: upper.utf8)
    }

    /// A code whose letters are known to be three upper-case ASCII letters (the binary codec's fast path).
    init(uppercaseLetters letters: some Collection<UInt8>) {
        let packedLetters = Self.packedLetters(letters)
        var digits: UInt32 = 2
        for exception in Self.exceptionLetters where exception.letters == packedLetters { digits = exception.digits }
        packed = digits << 24 | packedLetters
    }

    private static func packedLetters(_ letters: some Collection<UInt8>) -> UInt32 {
        var packed: UInt32 = 0
        for (index, letter) in letters.prefix(3).enumerated() { packed |= UInt32(letter) << (8 * UInt32(index)) }
        return packed
    }

    public var description: String { code }

    /// The default currency of a log unless configured otherwise.
    public static let usd = Currency("USD")!
}

/// An exact amount of money: integer minor units and a currency. Never a binary float.
public struct Money: Hashable, Sendable, CustomStringConvertible {
    /// The amount in minor units (cents for USD).
    public var minorUnits: Int64
    public var currency: Currency

    public init(minorUnits: Int64, currency: Currency) {
        self.minorUnits = minorUnits
        self.currency = currency
    }

    /// Why a JSON number is not an amount of money in a currency.
    public enum ParseError: Error, Equatable, Sendable {
        case notANumber
        case tooPrecise(digits: Int)
        case outOfRange
    }

    /// Parses a JSON number in major units exactly ("59.90" USD is 5990 cents). Refuses more fraction digits
    /// than the currency has (unless they are zeros) and amounts that do not fit in 64 bits.
    public init(parsing text: String, currency: Currency) throws(ParseError) {
        var digits = Array(text.utf8)
        var negative = false
        if digits.first == UInt8(ascii: "-") {
            negative = true
            digits.removeFirst()
        }
        var exponent = 0
        if let e = digits.firstIndex(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
            guard let value = Int(String(decoding: digits[(e + 1)...], as: UTF8.self)), abs(value) < 40 else {
                throw .notANumber
            }
            exponent = value
            digits.removeSubrange(e...)
        }
        var fraction: [UInt8] = []
        if let dot = digits.firstIndex(of: UInt8(ascii: ".")) {
            fraction = Array(digits[(dot + 1)...])
            digits.removeSubrange(dot...)
        }
        guard !digits.isEmpty, (digits + fraction).allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { throw .notANumber }
        // value = digits.fraction × 10^exponent, in minor units: shift by minorUnitDigits + exponent.
        var all = digits + fraction
        var scale = currency.minorUnitDigits + exponent - fraction.count
        while scale < 0 {
            guard all.last == UInt8(ascii: "0") else { throw .tooPrecise(digits: currency.minorUnitDigits) }
            all.removeLast()
            scale += 1
        }
        var value: Int64 = 0
        for digit in all + [UInt8](repeating: UInt8(ascii: "0"), count: scale) {
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = times10.addingReportingOverflow(Int64(digit - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { throw .outOfRange }
            value = next
        }
        self.minorUnits = negative ? -value : value
        self.currency = currency
    }

    /// The amount in major units as JSON number text, with exactly the currency's minor digits ("59.90").
    public var jsonNumber: String {
        let magnitude = minorUnits.magnitude
        let sign = minorUnits < 0 ? "-" : ""
        guard currency.minorUnitDigits > 0 else { return sign + String(magnitude) }
        var scale: UInt64 = 1
        for _ in 0..<currency.minorUnitDigits { scale *= 10 }
        let fraction = String(magnitude % scale)
        let padded = String(repeating: "0", count: currency.minorUnitDigits - fraction.count) + fraction
        return "\(sign)\(magnitude / scale).\(padded)"
    }

    public var description: String { "\(jsonNumber) \(currency)" }
}
