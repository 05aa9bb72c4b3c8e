import CRMModel

/// A customer's membership changes, in the order they were made, packed (docs/projections.md, section 4): read in
/// place out of the customer's ``TimedFacts`` buffer, where they come before the facts, or out of a buffer of their
/// own (memberships read out of a snapshot).
///
/// Every customer keeps a few changes for as long as the state lives. As an array they took 24 bytes each plus
/// unused capacity and a header, about 190 bytes per customer at 1M customers. Packed, a change takes about 10 bytes:
/// its time as a zigzag varint from the change before it (the first from 0), its generation and node as varints, its
/// event type and its flags as bytes, then, when the flags say so, the two ids of a merge as optional strings. The
/// canonical encoding writes these bytes as they are (since `customer-profiles` version 7), after their byte count.
public struct MembershipHistory: Sendable, Sequence, Equatable {
    private let bytes: [UInt8]
    private let range: Range<Int>

    public init() {
        bytes = []
        range = 0..<0
    }

    /// The changes given, in their order, in a buffer of their exact size.
    init(_ changes: some Sequence<MembershipChange>) {
        var packed = [UInt8]()
        Self.pack(changes, into: &packed)
        bytes = Array(packed)
        range = bytes.indices
    }

    /// The changes in `reader` as ``write(into:)`` writes them: their byte count, then their packed bytes, each
    /// change checked (``MembershipChange/check(reading:after:)``) and the bytes copied as they are.
    init(reading reader: inout BinaryReader) throws(EventDecodingError) {
        let packed = try reader.byteCountedBytes("bytes of membership changes")
        _ = try Self.lastTime(checking: packed)
        bytes = Array(packed)
        range = bytes.indices
    }

    /// Writes the changes in canonical form: their byte count, then their packed bytes, as they are.
    func write(into writer: inout BinaryWriter) {
        writer.byteCounted(bytes[range])
    }

    /// The changes packed at `range` in `bytes`.
    init(in bytes: [UInt8], at range: Range<Int>) {
        self.bytes = bytes
        self.range = range
    }

    public var isEmpty: Bool { range.isEmpty }

    /// Counted by reading the changes.
    public var count: Int { reduce(0) { count, _ in count + 1 } }

    /// The packed bytes (for a buffer that takes them in).
    var packed: ArraySlice<UInt8> { bytes[range] }

    /// Calls `body` with the packed bytes in place.
    func withPackedBytes<Result, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try bytes.withUnsafeBufferPointer { buffer throws(Failure) in
            try body(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: buffer[range])))
        }
    }

    /// The time the next change is packed after: the last change's (0 for none).
    var lastTime: Int64 {
        // The buffer's own bytes, written by `pack`: they decode.
        withPackedBytes { packed in try! Self.lastTime(checking: packed) }
    }

    /// Checks packed changes one by one (``MembershipChange/check(reading:after:)``); returns the last one's time (0
    /// for none).
    private static func lastTime(checking packed: UnsafeRawBufferPointer) throws(EventDecodingError) -> Int64 {
        var reader = BinaryReader(packed)
        var time: Int64 = 0
        while !reader.isAtEnd { time = try MembershipChange.check(reading: &reader, after: time) }
        return time
    }

    public static func == (a: Self, b: Self) -> Bool { a.packed.elementsEqual(b.packed) }

    /// Appends the packed `changes` to `packed`, the first after `previous` (the time of the change before it).
    static func pack(_ changes: some Sequence<MembershipChange>, into packed: inout [UInt8], after previous: Int64 = 0)
    {
        var writer = BinaryWriter()
        // Moved into the writer and back, not copied.
        swap(&writer.bytes, &packed)
        var previous = previous
        for change in changes {
            change.pack(into: &writer, after: previous)
            previous = change.at.microseconds
        }
        swap(&writer.bytes, &packed)
    }

    public func makeIterator() -> Iterator { Iterator(bytes: bytes, range: range) }

    /// Decodes one change at a time.
    public struct Iterator: IteratorProtocol {
        fileprivate let bytes: [UInt8]
        private var position: Int
        private let end: Int
        private var previous: Int64 = 0

        fileprivate init(bytes: [UInt8], range: Range<Int>) {
            self.bytes = bytes
            position = range.lowerBound
            end = range.upperBound
        }

        public mutating func next() -> MembershipChange? {
            guard position < end else { return nil }
            let (change, read) = bytes.withUnsafeBytes { raw in
                var reader = BinaryReader(UnsafeRawBufferPointer(rebasing: raw[position..<end]))
                // The buffer's own bytes, written by `pack`: they decode.
                let change = try! MembershipChange(unpacking: &reader, after: previous)
                return (change, reader.bytesRead)
            }
            position += read
            previous = change.at.microseconds
            return change
        }
    }
}
