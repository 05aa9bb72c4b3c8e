public import CRMModel

/// An event as projections see it: decoded, with its place in the log.
public struct ProjectedEvent: Sendable {
    /// The event's offset in the log.
    public var offset: Int64
    /// The event; personal fields are present only while the customer's key exists.
    public var event: Event

    public init(offset: Int64, event: Event) {
        self.offset = offset
        self.event = event
    }
}

/// A view of customers rebuilt from the log: a pure fold over events (docs/projections.md).
///
/// `apply` must read only the event and the state, never the clock or anything random, so that a rebuild, a live
/// fold and a fold continued from a snapshot give the same state.
public protocol Projection: Sendable {
    associatedtype State: ProjectionState
    /// A stable name; snapshot files carry it.
    static var name: String { get }
    /// Bumped whenever the fold or the state's layout changes: a snapshot of another version is never loaded.
    static var version: UInt32 { get }
    /// The state before any event.
    static func makeState() -> State
    /// Folds one event into the state.
    static func apply(_ event: ProjectedEvent, to state: inout State)
}

/// The state of a projection: serializable to canonical bytes, and made of per-customer parts that shards of a
/// parallel rebuild can combine.
public protocol ProjectionState: Sendable {
    /// Writes the state's canonical bytes: equal states give equal bytes (maps are written sorted by key).
    func serialize(into writer: inout BinaryWriter)
    /// Reads a state written by ``serialize(into:)``.
    init(deserializing reader: inout BinaryReader) throws(EventDecodingError)
    /// Adds the state of another shard of a parallel rebuild. Shards hold disjoint customers; parts that do not
    /// belong to a customer are the same in every shard.
    mutating func absorb(_ shard: Self)
}

extension ProjectionState {
    /// The canonical bytes of the state.
    public var serialized: [UInt8] {
        var writer = BinaryWriter()
        serialize(into: &writer)
        return writer.bytes
    }

    /// Reads a state from its canonical bytes, refusing trailing bytes.
    public init(serialized bytes: [UInt8]) throws(EventDecodingError) {
        var result: Result<Self, EventDecodingError>!
        bytes.withUnsafeBytes { raw in
            result = Result { () throws(EventDecodingError) -> Self in
                var reader = BinaryReader(raw)
                let state = try Self(deserializing: &reader)
                guard reader.isAtEnd else { throw EventDecodingError(reason: "bytes follow the state") }
                return state
            }
        }
        self = try result.get()
    }
}
