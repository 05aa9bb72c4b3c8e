import CRMModel

/// A customer's membership changes, in the order they were made, packed in one byte buffer (docs/projections.md,
/// section 4).
///
/// Every customer keeps a few changes for as long as the state lives. As an array they took 24 bytes each plus
/// unused capacity and a header, about 190 bytes per customer at 1M customers. Packed, a change takes about 10 bytes:
/// its time as a zigzag varint from the change before it (the first from 0), its generation and node as varints, its
/// event type and its flags as bytes, then, when the flags say so, the two ids of a merge as optional strings. This
/// is memory only: the canonical encoding of the changes is unchanged (``MembershipChange``).
public struct MembershipHistory: Sendable, Sequence, Equatable {
    private var bytes: [UInt8] = []

    public init() {}

    /// The changes given, in their order, in a buffer of their exact size (a restored customer gets no spare
    /// capacity).
    init(_ changes: some Sequence<MembershipChange>) {
        var writer = BinaryWriter()
        var previous: Int64 = 0
        for change in changes {
            change.pack(into: &writer, after: previous)
            previous = change.at.microseconds
        }
        bytes = Array(writer.bytes)
    }

    public var isEmpty: Bool { bytes.isEmpty }

    /// Counted by reading the changes.
    public var count: Int { reduce(0) { count, _ in count + 1 } }

    /// Adds `change` after the others.
    mutating func append(_ change: MembershipChange) {
        // The time of the last change, which the new one is packed after. Changes are few and appended rarely
        // (a customer's membership changes a few times in its life): reading them costs less than keeping it.
        let previous = reduce(Int64(0)) { _, change in change.at.microseconds }
        var writer = BinaryWriter()
        change.pack(into: &writer, after: previous)
        // Into a buffer of the exact size, not grown in place: an array grown by doubling kept a third of its
        // capacity unused, and the copy is a few dozen bytes, a few times in a customer's life.
        var grown = [UInt8]()
        grown.reserveCapacity(bytes.count + writer.bytes.count)
        grown += bytes
        grown += writer.bytes
        bytes = grown
    }

    mutating func append(contentsOf changes: some Sequence<MembershipChange>) {
        for change in changes { append(change) }
    }

    public func makeIterator() -> Iterator { Iterator(bytes: bytes) }

    /// Decodes one change at a time.
    public struct Iterator: IteratorProtocol {
        fileprivate let bytes: [UInt8]
        private var position = 0
        private var previous: Int64 = 0

        fileprivate init(bytes: [UInt8]) { self.bytes = bytes }

        public mutating func next() -> MembershipChange? {
            guard position < bytes.count else { return nil }
            let (change, read) = bytes.withUnsafeBytes { raw in
                var reader = BinaryReader(UnsafeRawBufferPointer(rebasing: raw[position...]))
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
