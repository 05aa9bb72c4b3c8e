/// Why bytes are not a valid binary event (docs/event-codec.md).
public struct EventDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }

    public init(reason: String) {
        self.reason = reason
    }
}

/// Reads the primitives of the binary event codec, refusing anything that runs past the end. Also reads projection
/// states back.
///
/// The primitives are `@inlinable`: projection states are read from other modules (a restore reads hundreds of
/// millions of varints), where a call per byte showed.
public struct BinaryReader {
    @usableFromInline let bytes: UnsafeRawBufferPointer
    @usableFromInline var position = 0
    /// A reader of a personal part that was erased: every optional field reads as absent, every object as empty.
    @usableFromInline let redacted: Bool

    public init(_ bytes: UnsafeRawBufferPointer, redacted: Bool = false) {
        self.bytes = bytes
        self.redacted = redacted
    }

    public var isAtEnd: Bool { position == bytes.count }

    /// How many bytes the reader has read (where the next value starts).
    public var bytesRead: Int { position }

    /// The bytes not read yet, in place (valid while the reader's bytes are); reading them does not move the reader.
    public var remainingBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[position...]) }

    static let maximumDepth = 64

    /// An error for `reason`, naming the byte the reader is at.
    @usableFromInline func failure(_ reason: String) -> EventDecodingError {
        EventDecodingError(reason: "\(reason) at byte \(position)")
    }

    @inlinable public mutating func byte() throws(EventDecodingError) -> UInt8 {
        guard position < bytes.count else { throw failure("value ends early") }
        defer { position += 1 }
        return bytes[position]
    }

    @inlinable @inline(__always) public mutating func varint() throws(EventDecodingError) -> UInt64 {
        // Most numbers of a state (counts, small values, markers) take one byte: read where they are asked for. The
        // rest is a call (the whole function was too large to inline, and every varint was a call: a ninth of a
        // restore's samples).
        if position < bytes.count, bytes[position] < 0x80 {
            position += 1
            return UInt64(bytes[position - 1])
        }
        return try longVarint()
    }

    /// A varint of more than one byte, or at the end of the bytes.
    @inlinable @inline(never) mutating func longVarint() throws(EventDecodingError) -> UInt64 {
        // A varint that ends within the next eight bytes (every time of a fact or an event does: they take seven or
        // eight) is read as one word: its length from the first byte without the continuation bit, its 7-bit groups
        // joined by three shift-and-mask steps, instead of a loop with a branch per byte.
        if bytes.count - position >= 8, let base = bytes.baseAddress {
            let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: position, as: UInt64.self))
            let last = ~word & 0x8080_8080_8080_8080
            if last != 0 {
                let length = (last.trailingZeroBitCount &+ 1) &>> 3
                var value = word & (UInt64.max &>> UInt64(64 &- 8 &* length)) & 0x7F7F_7F7F_7F7F_7F7F
                value = (value & 0x007F_007F_007F_007F) | (value & 0x7F00_7F00_7F00_7F00) &>> 1
                value = (value & 0x0000_3FFF_0000_3FFF) | (value & 0x3FFF_0000_3FFF_0000) &>> 2
                value = (value & 0x0000_0000_0FFF_FFFF) | (value & 0x0FFF_FFFF_0000_0000) &>> 4
                position += length
                return value
            }
        }
        // With room for the longest varint (10 bytes) and one more left, the bytes are read without a bounds check
        // each: times take 8 bytes, and a restore reads tens of millions of them. Errors are those of the loop below.
        if bytes.count - position > 10, let base = bytes.baseAddress {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            var next = position
            while shift < 64 {
                let byte = base.load(fromByteOffset: next, as: UInt8.self)
                next += 1
                result |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 {
                    position = next
                    return result
                }
                shift += 7
            }
            // The loop below reads an 11th byte before it refuses.
            position = next + 1
            throw failure("varint too long")
        }
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let next = try byte()
            guard shift < 64 else { throw failure("varint too long") }
            result |= UInt64(next & 0x7F) << shift
            if next & 0x80 == 0 { return result }
            shift += 7
        }
    }

    @inlinable public mutating func zigzag() throws(EventDecodingError) -> Int64 {
        let raw = try varint()
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    @inlinable public mutating func count(_ what: String) throws(EventDecodingError) -> Int {
        let value = try varint()
        guard value <= UInt64(bytes.count - position) else { throw failure("\(what) count \(value) is too large") }
        return Int(value)
    }

    /// The next `length` bytes, in place (valid while the reader's buffer is), which the reader then skips.
    @inlinable public mutating func rawBytes(_ length: Int) throws(EventDecodingError) -> UnsafeRawBufferPointer {
        guard length <= bytes.count - position else { throw failure("bytes run past the end") }
        defer { position += length }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<position + length])
    }

    /// The bytes that `read` steps over, in place (valid while the reader's buffer is): for a state that keeps part
    /// of itself as its canonical bytes, checked once as they are read.
    @inlinable public mutating func bytes(
        readBy read: (inout BinaryReader) throws(EventDecodingError) -> Void
    ) throws(EventDecodingError) -> UnsafeRawBufferPointer {
        let start = position
        try read(&self)
        return UnsafeRawBufferPointer(rebasing: bytes[start..<position])
    }

    @inlinable mutating func utf8(_ length: Int) throws(EventDecodingError) -> String {
        guard length <= bytes.count - position else { throw failure("string runs past the end") }
        let text = try text(of: UnsafeRawBufferPointer(rebasing: bytes[position..<position + length]))
        position += length
        return text
    }

    /// `raw` as text, refused with the reader's position when it is not UTF-8.
    @inlinable public func text(of raw: UnsafeRawBufferPointer) throws(EventDecodingError) -> String {
        guard let text = String(validatingUTF8Bytes: raw) else { throw failure("string is not valid UTF-8") }
        return text
    }

    @inlinable public mutating func string() throws(EventDecodingError) -> String {
        try utf8(try count("string"))
    }

    @inlinable public mutating func optionalString() throws(EventDecodingError) -> String? {
        if redacted { return nil }
        let marker = try varint()
        guard marker > 0 else { return nil }
        guard marker - 1 <= UInt64(bytes.count - position) else { throw failure("string runs past the end") }
        return try utf8(Int(marker - 1))
    }

    /// ``optionalString()``, or, unless `reading`, the string stepped over as ``checkOptionalString()`` checks it
    /// (no `String` made) and nil.
    @inlinable public mutating func optionalString(reading: Bool) throws(EventDecodingError) -> String? {
        if reading { return try optionalString() }
        try checkOptionalString()
        return nil
    }

    @inlinable public mutating func bool() throws(EventDecodingError) -> Bool {
        switch try byte() {
        case 0: false
        case 1: true
        default: throw failure("boolean is not 0 or 1")
        }
    }

    public mutating func optionalSmall() throws(EventDecodingError) -> Int? {
        let marker = try varint()
        guard marker > 0 else { return nil }
        guard marker <= UInt64(Int.max) else { throw failure("integer out of range") }
        return Int(marker - 1)
    }

    public mutating func money() throws(EventDecodingError) -> Money {
        let minor = try zigzag()
        guard bytes.count - position >= 3 else { throw failure("currency runs past the end") }
        let letters = UnsafeRawBufferPointer(rebasing: bytes[position..<position + 3])
        guard letters.allSatisfy({ $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) else {
            throw failure("not a currency code")
        }
        position += 3
        return Money(minorUnits: minor, currency: Currency(uppercaseLetters: letters))
    }

    public mutating func optionalMoney() throws(EventDecodingError) -> Money? {
        try bool() ? try money() : nil
    }

    public mutating func object(depth: Int = 0) throws(EventDecodingError) -> JSONObject {
        if redacted { return JSONObject() }
        let count = try count("object member")
        var members = [(key: String, value: JSONValue)](reservingCapacity: count)
        for _ in 0..<count {
            members.append((try string(), try json(depth: depth + 1)))
        }
        return JSONObject(members)
    }

    public mutating func json(depth: Int = 0) throws(EventDecodingError) -> JSONValue {
        guard depth <= Self.maximumDepth else { throw failure("JSON nested too deep") }
        switch try byte() {
        case 0: return .null
        case 1: return .bool(false)
        case 2: return .bool(true)
        case 3: return .number(try string())
        case 4: return .string(try string())
        case 5:
            let count = try count("array element")
            var values = [JSONValue](reservingCapacity: count)
            for _ in 0..<count { values.append(try json(depth: depth + 1)) }
            return .array(values)
        case 6: return .object(try object(depth: depth + 1).members)
        case let tag: throw failure("unknown JSON tag \(tag)")
        }
    }
}

// MARK: - Checking without making values

extension BinaryReader {
    /// Steps over `raw`'s string, refusing it if it is not UTF-8, without making a `String` of ASCII.
    @inlinable mutating func checkUTF8(_ length: Int) throws(EventDecodingError) {
        let raw = try rawBytes(length)
        guard raw.isValidUTF8 else {
            position -= length
            throw failure("string is not valid UTF-8")
        }
    }

    /// Steps over a string, checking it as ``string()`` would read it.
    @inlinable public mutating func checkString() throws(EventDecodingError) {
        try checkUTF8(try count("string"))
    }

    /// Steps over an optional string, checking it as ``optionalString()`` would read it.
    @inlinable public mutating func checkOptionalString() throws(EventDecodingError) {
        if redacted { return }
        let marker = try varint()
        guard marker > 0 else { return }
        guard marker - 1 <= UInt64(bytes.count - position) else { throw failure("string runs past the end") }
        try checkUTF8(Int(marker - 1))
    }

    /// Steps over an object, checking it as ``object(depth:)`` would read it: the bytes of a state that keeps
    /// them encoded are checked once, when they are read, without allocating what they hold.
    public mutating func checkObject(depth: Int = 0) throws(EventDecodingError) {
        if redacted { return }
        for _ in 0..<(try count("object member")) {
            try checkString()
            try checkJSON(depth: depth + 1)
        }
    }

    /// Steps over a JSON value, checking it as ``json(depth:)`` would read it.
    public mutating func checkJSON(depth: Int = 0) throws(EventDecodingError) {
        guard depth <= Self.maximumDepth else { throw failure("JSON nested too deep") }
        switch try byte() {
        case 0, 1, 2: return
        case 3, 4: try checkUTF8(try count("string"))
        case 5: for _ in 0..<(try count("array element")) { try checkJSON(depth: depth + 1) }
        case 6: try checkObject(depth: depth + 1)
        case let tag: throw failure("unknown JSON tag \(tag)")
        }
    }
}

extension UnsafeRawBufferPointer {
    /// Whether the bytes are valid UTF-8. ASCII is checked without making a string; anything else by making one.
    @inlinable public var isValidUTF8: Bool {
        isASCII || String(validating: self, as: UTF8.self) != nil
    }

    /// Whether every byte is below 0x80, checked eight at a time (byte by byte through the buffer's iterator, the
    /// check of the strings an event decodes took as long as making them).
    @inlinable public var isASCII: Bool {
        guard let base = baseAddress else { return true }
        var seen: UInt64 = 0
        var index = 0
        while index &+ 8 <= count {
            seen |= base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            index &+= 8
        }
        while index < count {
            seen |= UInt64(base.load(fromByteOffset: index, as: UInt8.self))
            index &+= 1
        }
        return seen & 0x8080_8080_8080_8080 == 0
    }
}

extension String {
    /// The text of `raw` if it is valid UTF-8, checked once. (Checking for ASCII first and then making the string
    /// with `String(decoding:as:)` checked ASCII twice, since that initializer validates too; `String(validating:as:)`
    /// is a generic, unspecialized library call. The standard library's `_tryFromUTF8`, which Foundation uses for the
    /// same job, validates once with its ASCII fast path: 33 to 34 ns against 39 to 41 ns for a 9-byte id.)
    @inlinable public init?(validatingUTF8Bytes raw: UnsafeRawBufferPointer) {
        guard let text = String._tryFromUTF8(raw.assumingMemoryBound(to: UInt8.self)) else { return nil }
        self = text
    }
}
