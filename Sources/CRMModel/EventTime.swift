#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// When something happened: microseconds since 1970-01-01T00:00:00Z, parsed from and written as RFC 3339.
public struct EventTime: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Microseconds since the Unix epoch (negative before 1970).
    public var microseconds: Int64

    public init(microseconds: Int64) {
        self.microseconds = microseconds
    }

    public static func < (lhs: EventTime, rhs: EventTime) -> Bool { lhs.microseconds < rhs.microseconds }

    /// The current time of the system clock (for events the engine writes itself; projections never use it).
    public static var now: EventTime {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return EventTime(microseconds: Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1000)
    }

    /// Why a text is not an RFC 3339 time with a zone.
    public struct ParseError: Error, Equatable, Sendable {
        public var reason: String
    }

    /// Parses `2024-05-01T12:00:00Z` or `2024-05-01T09:00:00.250-03:00`. The zone is required; at most six
    /// fraction digits are kept (more are refused unless they are zeros, so that nothing is silently rounded).
    public init(rfc3339 text: String) throws(ParseError) {
        let bytes = Array(text.utf8)
        var position = 0
        func number(_ count: Int, _ what: String) throws(ParseError) -> Int {
            guard position + count <= bytes.count else { throw ParseError(reason: "\(what) is missing") }
            var value = 0
            for byte in bytes[position..<position + count] {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else {
                    throw ParseError(reason: "\(what) must be \(count) digits")
                }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            position += count
            return value
        }
        func separator(_ allowed: [UInt8], _ what: String) throws(ParseError) {
            guard position < bytes.count, allowed.contains(bytes[position]) else {
                throw ParseError(reason: "expected \(what) at character \(position + 1)")
            }
            position += 1
        }
        let year = try number(4, "year")
        try separator([UInt8(ascii: "-")], "'-'")
        let month = try number(2, "month")
        try separator([UInt8(ascii: "-")], "'-'")
        let day = try number(2, "day")
        try separator([UInt8(ascii: "T"), UInt8(ascii: "t")], "'T'")
        let hour = try number(2, "hour")
        try separator([UInt8(ascii: ":")], "':'")
        let minute = try number(2, "minute")
        try separator([UInt8(ascii: ":")], "':'")
        let second = try number(2, "second")
        var micros = 0
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            var digits = 0
            while position < bytes.count, bytes[position] >= UInt8(ascii: "0"), bytes[position] <= UInt8(ascii: "9") {
                let digit = Int(bytes[position] - UInt8(ascii: "0"))
                if digits < 6 {
                    micros = micros * 10 + digit
                } else if digit != 0 {
                    throw ParseError(reason: "more precise than a microsecond")
                }
                digits += 1
                position += 1
            }
            guard digits > 0 else { throw ParseError(reason: "a fraction needs digits") }
            for _ in digits..<max(digits, 6) { micros *= 10 }
        }
        guard position < bytes.count else { throw ParseError(reason: "the time zone is missing (Z or ±hh:mm)") }
        var offsetMinutes = 0
        switch bytes[position] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            position += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let sign = bytes[position] == UInt8(ascii: "-") ? -1 : 1
            position += 1
            let zoneHours = try number(2, "zone hours")
            try separator([UInt8(ascii: ":")], "':' in the zone")
            let zoneMinutes = try number(2, "zone minutes")
            guard zoneHours < 24, zoneMinutes < 60 else { throw ParseError(reason: "zone offset out of range") }
            offsetMinutes = sign * (zoneHours * 60 + zoneMinutes)
        default:
            throw ParseError(reason: "the time zone is missing (Z or ±hh:mm)")
        }
        guard position == bytes.count else { throw ParseError(reason: "unexpected text after the time") }
        guard (1...12).contains(month), day >= 1, day <= Self.daysIn(month: month, year: year) else {
            throw ParseError(reason: "no such date")
        }
        guard hour < 24, minute < 60, second < 60 else { throw ParseError(reason: "no such time of day") }
        let days = Self.daysSinceEpoch(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetMinutes * 60)
        microseconds = seconds * 1_000_000 + Int64(micros)
    }

    /// The time in UTC as RFC 3339, with only the fraction digits needed (`2024-05-01T12:00:00.25Z`).
    public var rfc3339: String {
        let seconds = microseconds >= 0 ? microseconds / 1_000_000 : (microseconds - 999_999) / 1_000_000
        let micros = Int(microseconds - seconds * 1_000_000)
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = Int(seconds - days * 86_400)
        let (year, month, day) = Self.civilDate(daysSinceEpoch: Int(days))
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        var text = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):"
        text += "\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2))"
        if micros > 0 {
            var fraction = pad(micros, 6)
            while fraction.hasSuffix("0") { fraction.removeLast() }
            text += "." + fraction
        }
        return text + "Z"
    }

    public var description: String { rfc3339 }

    /// The UTC day holding this time, counted from 1970-01-01 (floored: a time before 1970 is on a negative day).
    public var daysSinceEpoch: Int {
        Int((microseconds >= 0 ? microseconds : microseconds - 86_399_999_999) / 86_400_000_000)
    }

    /// The UTC year and month holding this time.
    public var yearAndMonth: (year: Int, month: Int) {
        let date = Self.civilDate(daysSinceEpoch: daysSinceEpoch)
        return (date.year, date.month)
    }

    /// 00:00:00 UTC of the first day of the month after the one holding this time.
    public var startOfNextMonth: EventTime {
        let date = yearAndMonth
        let next = date.month == 12 ? (date.year + 1, 1) : (date.year, date.month + 1)
        return EventTime(microseconds: Int64(Self.daysSinceEpoch(year: next.0, month: next.1, day: 1)) * 86_400_000_000)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 to a civil date (proleptic Gregorian; H. Hinnant's algorithm).
    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The civil date of a day count from 1970-01-01 (the inverse of `daysSinceEpoch`).
    static func civilDate(daysSinceEpoch days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
