/// Where a streaming ``BinaryWriter`` hands its bytes, in order: a snapshot file's writer, which compresses and
/// writes them as they come, so that a state of hundreds of megabytes is never whole in memory.
///
/// Called from one thread at a time (the one that serializes), never concurrently.
public protocol BinaryStreamSink: AnyObject, Sendable {
    /// Takes the next bytes of the stream; they are valid only during the call.
    func take(_ bytes: UnsafeRawBufferPointer)
    /// Does the sink's own work on `bytes` (a snapshot writer compresses and checksums them) on the calling thread,
    /// which may be any thread, several at once, so that a large part written on every core is also prepared there
    /// while still in that core's cache. The result is handed back to ``take(prepared:)`` in stream order; nil: the
    /// sink has no such work (the default), and the bytes go to ``take(_:)``. `bytes` are valid only during the
    /// call.
    func prepare(_ bytes: UnsafeRawBufferPointer) -> (any PreparedStreamBytes)?
    /// Takes bytes ``prepare(_:)`` returned, as the next bytes of the stream.
    func take(prepared: any PreparedStreamBytes)
}

/// What ``BinaryStreamSink/prepare(_:)`` made of some bytes, owned by the sink that made it.
public protocol PreparedStreamBytes: Sendable {}

extension BinaryStreamSink {
    public func prepare(_ bytes: UnsafeRawBufferPointer) -> (any PreparedStreamBytes)? { nil }

    public func take(prepared: any PreparedStreamBytes) {
        preconditionFailure("\(Self.self) prepares nothing, so it takes nothing prepared")
    }
}

/// Appends the primitives of the binary event codec (docs/event-codec.md) to a byte array. Also the canonical
/// encoding of projection states (docs/projections.md). The primitives are `@inlinable`: states are written from
/// other modules, millions of numbers at a time.
///
/// A writer made with ``init(streamingTo:)`` passes its bytes on to a sink whenever ``flush()`` is called (writers
/// of large parts call it between pieces): ``bytes`` then holds only what was written since the last flush.
public struct BinaryWriter: Sendable {
    public var bytes: [UInt8] = []
    /// Where ``flush()`` hands the bytes; nil: they stay in ``bytes``.
    public let sink: (any BinaryStreamSink)?

    public init() { sink = nil }

    /// A writer whose bytes go to `sink` on each ``flush()``; the caller flushes once more at the end.
    public init(streamingTo sink: any BinaryStreamSink) { self.sink = sink }

    /// Hands the bytes written since the last flush to the sink and empties ``bytes`` (keeping its capacity). Does
    /// nothing without a sink.
    public mutating func flush() {
        guard let sink, !bytes.isEmpty else { return }
        bytes.withUnsafeBytes { sink.take($0) }
        bytes.removeAll(keepingCapacity: true)
    }

    /// Appends a large run of bytes already encoded elsewhere; when streaming, passes it to the sink as it is
    /// instead of copying it into ``bytes``.
    public mutating func append(encoded other: [UInt8]) {
        append(encoded: other[...])
    }

    /// ``append(encoded:)`` of part of an array.
    public mutating func append(encoded other: ArraySlice<UInt8>) {
        guard let sink else {
            bytes += other
            return
        }
        flush()
        other.withUnsafeBytes { sink.take($0) }
    }

    /// Appends bytes the sink prepared (``BinaryStreamSink/prepare(_:)``) after what was written before them.
    public mutating func append(prepared: any PreparedStreamBytes) {
        guard let sink else { preconditionFailure("bytes prepared by a sink are appended to a streaming writer") }
        flush()
        sink.take(prepared: prepared)
    }

    @inlinable @inline(__always) public mutating func varint(_ value: UInt64) {
        // A one-byte varint is written where it is asked for, longer ones by a call: as in the reader, the whole
        // function was not inlined, and every varint was a call.
        guard value >= 0x80 else { return bytes.append(UInt8(value)) }
        longVarint(value)
    }

    /// A varint of more than one byte.
    @inlinable @inline(never) mutating func longVarint(_ value: UInt64) {
        // Encoded in a local buffer and appended at once: one capacity check instead of one per byte (times take
        // eight bytes, and a snapshot holds millions of them).
        var encoded: (UInt64, UInt16) = (0, 0)
        withUnsafeMutableBytes(of: &encoded) { buffer in
            var value = value
            var count = 0
            while value >= 0x80 {
                buffer[count] = UInt8(truncatingIfNeeded: value) | 0x80
                value >>= 7
                count += 1
            }
            buffer[count] = UInt8(value)
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[...count]))
        }
    }

    @inlinable public mutating func zigzag(_ value: Int64) {
        varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    @inlinable public mutating func string(_ text: String) {
        varint(UInt64(text.utf8.count))
        bytes.append(contentsOf: text.utf8)
    }

    @inlinable public mutating func optionalString(_ text: String?) {
        guard let text else { return varint(0) }
        varint(UInt64(text.utf8.count) + 1)
        bytes.append(contentsOf: text.utf8)
    }

    @inlinable public mutating func bool(_ flag: Bool) { bytes.append(flag ? 1 : 0) }

    public mutating func optionalSmall(_ value: Int?) { varint(value.map { UInt64($0) + 1 } ?? 0) }

    public mutating func money(_ money: Money) {
        zigzag(money.minorUnits)
        bytes.append(contentsOf: money.currency.code.utf8)
    }

    public mutating func optionalMoney(_ money: Money?) {
        guard let money else { return bytes.append(0) }
        bytes.append(1)
        self.money(money)
    }

    public mutating func object(_ object: JSONObject) {
        varint(UInt64(object.members.count))
        for member in object.members {
            string(member.key)
            json(member.value)
        }
    }

    public mutating func json(_ value: JSONValue) {
        switch value {
        case .null: bytes.append(0)
        case .bool(let flag): bytes.append(flag ? 2 : 1)
        case .number(let text):
            bytes.append(3)
            string(text)
        case .string(let text):
            bytes.append(4)
            string(text)
        case .array(let values):
            bytes.append(5)
            varint(UInt64(values.count))
            for element in values { json(element) }
        case .object(let members):
            bytes.append(6)
            object(JSONObject(members))
        }
    }
}
