public import EventLog

/// Self-checking records for crash and damage tests: each value says which append it belongs to, its place in
/// that append and the append's size, followed by bytes derived from those numbers. A reader can then tell an
/// intact record from a damaged one, and a whole append from a partial one, without any other record.
public enum CheckedRecords {
    /// What a checked value says about itself.
    public struct Identity: Hashable, Sendable {
        public var appendID: UInt64
        public var index: UInt32
        public var count: UInt32

        public init(appendID: UInt64, index: UInt32, count: UInt32) {
            self.appendID = appendID
            self.index = index
            self.count = count
        }
    }

    /// Builds an append of `count` checked records with payloads of up to `maxPayload` bytes.
    public static func batch(appendID: UInt64, count: Int, maxPayload: Int = 400) -> RecordBatch {
        var batch = RecordBatch()
        var random = SplitMix64(seed: appendID)
        for index in 0..<count {
            let length = Int(random.next() % UInt64(maxPayload + 1))
            let value = self.value(appendID: appendID, index: UInt32(index), count: UInt32(count), length: length)
            try! batch.append(
                key: "k\(appendID % 97)",
                typeTag: UInt16(index % 7),
                schemaVersion: 1,
                eventTime: Int64(appendID) * 1000 + Int64(index),
                value: value
            )
        }
        return batch
    }

    static func value(appendID: UInt64, index: UInt32, count: UInt32, length: Int) -> [UInt8] {
        var bytes = [UInt8]()
        bytes.appendLittleEndian(appendID)
        bytes.appendLittleEndian(index)
        bytes.appendLittleEndian(count)
        bytes.appendLittleEndian(UInt32(length))
        var random = SplitMix64(seed: appendID &* 31 &+ UInt64(index))
        for _ in 0..<length { bytes.append(UInt8(truncatingIfNeeded: random.next())) }
        return bytes
    }

    /// The identity of an intact checked record, or nil when its bytes are not what its header says.
    public static func check(_ record: LogRecord) -> Identity? {
        let value = Array(record.value)
        guard value.count >= 20 else { return nil }
        func load<T: FixedWidthInteger>(_ at: Int, _: T.Type) -> T {
            value.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: T.self)) }
        }
        let identity = Identity(
            appendID: load(0, UInt64.self),
            index: load(8, UInt32.self),
            count: load(12, UInt32.self)
        )
        let length = Int(load(16, UInt32.self))
        guard
            value
                == Self.value(appendID: identity.appendID, index: identity.index, count: identity.count, length: length),
            record.keyString == "k\(identity.appendID % 97)",
            record.eventTime == Int64(identity.appendID) * 1000 + Int64(identity.index)
        else { return nil }
        return identity
    }
}

extension Array where Element == UInt8 {
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}
