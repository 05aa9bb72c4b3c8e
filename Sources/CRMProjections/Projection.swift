public import CRMModel

/// An event as projections see it: decoded, with its place in the log.
public struct ProjectedEvent: Sendable {
    /// The event's offset in the log.
    public var offset: Int64
    /// The event; personal fields are present only while the customer's key exists.
    public let event: Event
    /// The hash of the event's customer id (``IDHash``, seeded per process: never saved), worked out where the event
    /// is decoded, on another core in a rebuild or a catch-up, so that the fold finds the customer without hashing
    /// its id again (``IdentifiedTable/update(customer:hash:identities:default:passing:applying:)``); 0 for an event
    /// without a customer.
    public let customerHash: Int
    /// The projection's clock when the event is applied: the latest event time of the log up to and including
    /// this event (a late event does not move it back). Time-window rules are evaluated at the clock.
    public var clock: EventTime
    /// The vocabulary numbers of the words the event's facts name, looked up where the event is decoded, like
    /// ``customerHash``: the applying core of a live catch-up is the one that limits it, and the customer and
    /// journey projections each looked the same words up again.
    @usableFromInline let words: EventWords

    // Inlinable: called across modules where a rebuild decodes, the initializer moved the event into the value it
    // returned, which the caller moved again (a memcpy of about 200 bytes each, a tenth of decoding's).
    @inlinable
    public init(offset: Int64, event: consuming Event, clock: EventTime? = nil) {
        self.offset = offset
        self.customerHash = event.customer.map(IDHash.of) ?? 0
        self.clock = max(clock ?? event.at, event.at)
        self.words = EventWords(event)
        // Moved in last: stored first, the event was copied (each of its strings retained) to be read after.
        self.event = event
    }
}

/// The words of an event that projections keep as ``Vocabulary`` numbers: the channel and campaign of a touchpoint
/// (no campaign: ``Vocabulary/none``) or of a message sent, opened or clicked, the currency of an order placed or
/// refunded (the amounts segment rules sum); ``Vocabulary/none`` for the others. And the event's type tag, which
/// the customer projection's facts and rules name types by: worked out from the payload's case on the decoding
/// core too (on the folding core of a live catch-up, 1.1 % of its samples).
@usableFromInline
struct EventWords: Sendable {
    var channel = Vocabulary.none
    var campaign = Vocabulary.none
    var currency = Vocabulary.none
    /// ``EventType/tag`` of the event's type (every tag fits in a byte: the catalog has fewer than 256 types).
    let typeTag: UInt8

    /// Borrowed: an initializer takes its arguments owned, so an event passed by value would be copied (each of its
    /// strings retained) beside the one the projected event keeps.
    @usableFromInline
    init(_ event: borrowing Event) {
        typeTag = UInt8(event.type.tag)
        switch event.payload {
        case .touchpoint(let channel, let campaign, _, _, _, _):
            self.channel = Vocabulary.number(of: channel)
            self.campaign = campaign.map(Vocabulary.number(of:)) ?? Vocabulary.none
        // The kinds that are touches (journeys take sent, opened and clicked; profiles opened and clicked).
        case .message(let kind, let campaign, let channel) where kind == .sent || kind == .opened || kind == .clicked:
            self.channel = Vocabulary.number(of: channel)
            self.campaign = Vocabulary.number(of: campaign)
        case .orderPlaced(_, let money, _, _, _, _, _), .orderRefunded(_, let money):
            currency = Vocabulary.number(of: money.currency.code)
        default:
            break
        }
    }
}

/// An event of a parallel rebuild with the shard that folds it (docs/projections.md, section 3).
public struct RoutedEvent: Sendable {
    /// The shard of events without a customer: every shard folds them.
    public static let everyShard = -1

    public var event: ProjectedEvent
    public var shard: Int

    @inlinable
    public init(event: consuming ProjectedEvent, shard: Int) {
        self.event = event
        self.shard = shard
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
    /// Folds, in order, the events of `events` routed to `shard` or to every shard: a parallel rebuild's inner
    /// loop. A requirement so that the loop runs specialized for each projection: called per event from a generic
    /// caller in another module, `apply` looked up the metadata of a pair's state before every event. Default:
    /// `apply` on each of them.
    static func apply(_ events: UnsafeBufferPointer<RoutedEvent>, routedTo shard: Int, to state: inout State)
    /// Applies `events` (consecutive events of the log, in order) as ``applyInSequence(offset:event:to:)`` does,
    /// one after the other, setting each one's clock on the way: a live catch-up's inner loop. A requirement so
    /// that it runs specialized for each projection: called per event from a generic caller in another module,
    /// moving the clock looked up metadata each time, and each event was copied to be given its clock.
    static func applyInSequence(_ events: UnsafeMutableBufferPointer<ProjectedEvent>, to state: inout State)
    /// The event types whose personal fields (docs/events.md, marked (P)) the fold reads. The runner unseals
    /// only these; the others reach `apply` with their personal fields absent, which must not change the state.
    /// Default: every type.
    static var personalFieldsRead: Set<EventType> { get }
    /// The optional parts of an event the fold reads (docs/event-codec.md, "Decoding for analytics"): the runner
    /// steps over the others, which reach `apply` absent and must not change the state. `.counted` when the fold
    /// reads none of the fields that only describe an event. Default: `.complete`.
    static var eventDetail: EventDetail { get }

    /// Moves the state's clock forward to `time` without an event (rules over time windows change as time
    /// passes). Default: nothing.
    static func advanceClock(_ state: inout State, to time: EventTime)
    /// The first instant after `clock`, up to and including `time`, at which the projection looks at every
    /// customer together (RFM rescoring); nil when there is none. Default: never.
    static func populationStep(after clock: EventTime, through time: EventTime) -> EventTime?
    /// The step at `instant` over the whole state, given as the shards of a parallel rebuild (one shard
    /// otherwise), every shard's clock already at `instant`. Default: nothing.
    static func takePopulationStep(_ shards: UnsafeMutableBufferPointer<State>, at instant: EventTime, parallel: Bool)
}

extension Projection {
    public static func apply(_ events: UnsafeBufferPointer<RoutedEvent>, routedTo shard: Int, to state: inout State) {
        apply(events, routedTo: shard, to: &state) { _, _ in }
    }

    /// ``apply(_:routedTo:to:)``, calling `readAhead` with each event's index before the event is applied: a
    /// projection's own loop asks there for what the events a few places ahead will read (``ReadAhead``).
    @inline(__always)
    static func apply(
        _ events: UnsafeBufferPointer<RoutedEvent>,
        routedTo shard: Int,
        to state: inout State,
        readingAhead readAhead: (_ index: Int, _ state: inout State) -> Void
    ) {
        // Through the pointer: binding each element, or the buffer's subscript, copied it (a retain of each of its
        // strings), also for the events of other shards, which are skipped.
        guard let first = events.baseAddress.map(UnsafeMutablePointer.init(mutating:)) else { return }
        for index in events.indices {
            ReadAhead.event(at: index, of: UnsafePointer(first), count: events.count, routedTo: shard)
            readAhead(index, &state)
            let routed = first + index
            if routed.pointee.shard == shard {
                apply(inPlace: &routed.pointee.event, to: &state)
            } else if routed.pointee.shard == RoutedEvent.everyShard {
                // Every shard applies it at the same time: each takes its own copy, since two `inout` accesses to
                // one event at once break Swift's exclusivity rule (ThreadSanitizer reports them) even though
                // neither writes. Such events (no customer) are rare.
                var copy = routed.pointee.event
                apply(inPlace: &copy, to: &state)
            }
        }
    }

    /// Applies an event held in memory the caller reaches through a pointer, without copying it. Read through
    /// `pointee` and passed by value, an event is copied first (360 bytes moved, each of its strings retained
    /// and released), since the compiler cannot prove that nothing writes to that memory during the call; passed
    /// `inout`, it is borrowed in place. Nothing is written to it, but an `inout` access is exclusive: no two
    /// threads may pass the same event at once.
    static func apply(inPlace projected: inout ProjectedEvent, to state: inout State) {
        apply(projected, to: &state)
    }

    public static func applyInSequence(_ events: UnsafeMutableBufferPointer<ProjectedEvent>, to state: inout State) {
        applyInSequence(events, to: &state) { _, _ in }
    }

    /// ``applyInSequence(_:to:)``, calling `readAhead` with each event's index before the event is applied, as
    /// ``apply(_:routedTo:to:readingAhead:)`` does.
    @inline(__always)
    static func applyInSequence(
        _ events: UnsafeMutableBufferPointer<ProjectedEvent>,
        to state: inout State,
        readingAhead readAhead: (_ index: Int, _ state: inout State) -> Void
    ) {
        guard let first = events.baseAddress else { return }
        for index in events.indices {
            ReadAhead.event(at: index, of: UnsafePointer(first), count: events.count)
            readAhead(index, &state)
            applyInSequence(first + index, to: &state)
        }
    }

    public static var personalFieldsRead: Set<EventType> { Set(EventType.allCases) }
    public static var eventDetail: EventDetail { .complete }
    public static func advanceClock(_ state: inout State, to time: EventTime) {}
    public static func populationStep(after clock: EventTime, through time: EventTime) -> EventTime? { nil }
    public static func takePopulationStep(
        _ shards: UnsafeMutableBufferPointer<State>,
        at instant: EventTime,
        parallel: Bool
    ) {}

    /// Moves every shard's clock to `time`, taking the population steps on the way: how every way of running a
    /// projection (live, parallel rebuild, as-of) lets time pass, so that they all agree.
    public static func advance(_ shards: UnsafeMutableBufferPointer<State>, to time: EventTime, parallel: Bool) {
        // A plain loop: this runs before every event that moves the clock, unspecialized when called from another
        // module, where a lazy `compactMap(\.clock).max()` looked up generic metadata on every call and took a
        // third of a live catch-up.
        func latestClock() -> EventTime? {
            var latest: EventTime?
            for shard in shards.indices {
                if let clock = shards[shard].clock { latest = max(latest ?? clock, clock) }
            }
            return latest
        }
        while let clock = latestClock(), let step = populationStep(after: clock, through: time) {
            for shard in shards.indices { advanceClock(&shards[shard], to: step) }
            takePopulationStep(shards, at: step, parallel: parallel)
        }
        for shard in shards.indices { advanceClock(&shards[shard], to: time) }
    }

    /// Moves the state's clock to `time` (live folds, as-of queries). A population step may use every core.
    public static func advance(_ state: inout State, to time: EventTime) {
        withUnsafeMutablePointer(to: &state) {
            advance(UnsafeMutableBufferPointer(start: $0, count: 1), to: time, parallel: true)
        }
    }

    /// Applies the next event of the log to a state that has seen every event before it: the clock moves to the
    /// event's time (unless it came late) first. This is the sequential fold that a parallel rebuild must equal.
    public static func applyInSequence(offset: Int64, event: Event, to state: inout State) {
        var projected = ProjectedEvent(offset: offset, event: event)
        applyInSequence(&projected, to: &state)
    }

    /// Gives the event the state's clock (moved to the event's time first, unless it came late), then applies it.
    private static func applyInSequence(_ projected: UnsafeMutablePointer<ProjectedEvent>, to state: inout State) {
        let at = projected.pointee.event.at
        let clock = max(state.clock ?? at, at)
        if clock > (state.clock ?? clock) { advance(&state, to: clock) }
        projected.pointee.clock = clock
        apply(inPlace: &projected.pointee, to: &state)
    }
}

/// The state of a projection: serializable to canonical bytes, and made of per-customer parts that shards of a
/// parallel rebuild can combine.
public protocol ProjectionState: Sendable {
    /// Writes the state's canonical bytes: equal states give equal bytes (maps are written sorted by key).
    func serialize(into writer: inout BinaryWriter)
    /// Reads a state written by ``serialize(into:)``.
    init(deserializing reader: inout BinaryReader) throws(EventDecodingError)
    /// Reads a state written by ``serialize(into:)`` out of `bytes` from byte `start`, and where it ends. A state
    /// made of large parts reads them piece by piece (a snapshot decompresses each piece where it is read, on the
    /// core that reads it). Default: the bytes from `start` on, at once, read by ``init(deserializing:)``.
    static func read(from bytes: some StateBytes, at start: Int) throws(EventDecodingError) -> (state: Self, end: Int)
    /// Adds the state of another shard of a parallel rebuild. Shards hold disjoint customers; parts that do not
    /// belong to a customer are the same in every shard. The shard is handed over: a state may move its parts in
    /// instead of copying them.
    mutating func absorb(_ shard: consuming Self)
    /// ``absorb(_:)``, allowed to use every core when `parallel` (a rebuild with more than one worker). Default:
    /// ``absorb(_:)``; a state made of independent parts may absorb them side by side.
    mutating func absorb(_ shard: consuming Self, parallel: Bool)
    /// The projection's clock: the latest event time it has applied or been advanced to (nil: no clock).
    var clock: EventTime? { get }
}

extension ProjectionState {
    public var clock: EventTime? { nil }

    public static func read(
        from bytes: some StateBytes,
        at start: Int
    ) throws(EventDecodingError) -> (state: Self, end: Int) {
        try bytes.withBytes(in: start..<bytes.count) { raw throws(EventDecodingError) in
            var reader = BinaryReader(raw)
            let state = try Self(deserializing: &reader)
            return (state, start + reader.bytesRead)
        }
    }

    public mutating func absorb(_ shard: consuming Self, parallel: Bool) { absorb(consume shard) }
}

/// A state that reads its large parts piece by piece: reading it from a ``BinaryReader`` is its
/// ``ProjectionState/read(from:at:)`` of the bytes the reader has left, in place. It implements that function itself
/// (the default reads through ``ProjectionState/init(deserializing:)``, which here reads through it).
public protocol StateReadInPieces: ProjectionState {}

extension StateReadInPieces {
    public init(deserializing reader: inout BinaryReader) throws(EventDecodingError) {
        let (state, end) = try Self.read(from: BorrowedStateBytes(reader.remainingBytes), at: 0)
        _ = try reader.rawBytes(end)
        self = state
    }
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
            result = Result { () throws(EventDecodingError) -> Self in try Self(serialized: raw) }
        }
        self = try result.get()
    }

    /// Reads a state from its canonical bytes in place (a snapshot file's part), refusing trailing bytes.
    public init(serialized raw: UnsafeRawBufferPointer) throws(EventDecodingError) {
        var reader = BinaryReader(raw)
        try self.init(reading: &reader)
    }

    /// Reads a state from the whole of `bytes` (a snapshot's, decompressed as they are read), refusing trailing
    /// bytes.
    public init(restoring bytes: some StateBytes) throws(EventDecodingError) {
        let (state, end) = try Self.read(from: bytes, at: 0)
        guard end == bytes.count else { throw EventDecodingError(reason: "bytes follow the state") }
        self = state
    }

    /// The state `reader` holds, refusing trailing bytes.
    private init(reading reader: inout BinaryReader) throws(EventDecodingError) {
        self = try Self(deserializing: &reader)
        guard reader.isAtEnd else { throw EventDecodingError(reason: "bytes follow the state") }
    }
}
