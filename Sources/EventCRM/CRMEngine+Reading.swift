public import CRMModel
import EventLog

/// An event read back from the log, with where it is.
public struct StoredEvent: Sendable, Hashable {
    /// Its offset in the log.
    public var offset: Int64
    /// The event, its personal fields as ``personalData`` says.
    public var event: Event
    /// What became of its personal fields on the way out.
    public var personalData: PersonalData

    /// What a reader sees of an event's personal fields.
    public enum PersonalData: Sendable, Hashable {
        /// The event has no personal field.
        case none
        /// Unsealed with the customer's key: the fields are as they were ingested.
        case revealed
        /// The customer was forgotten (its key is gone): the fields read as absent.
        case erased
        /// Left sealed because the reader asked for ``PersonalDataAccess/withhold``: the fields read as absent.
        case withheld
    }
}

extension EventJSONCodec {
    /// The canonical JSON of a stored event: an erased customer's personal fields are written as `null`
    /// (docs/engine-directory.md, section 4).
    public func encode(_ stored: StoredEvent) -> JSONValue {
        stored.personalData == .erased ? encode(erased: stored.event) : encode(stored.event)
    }
}

/// Whether reading unseals personal fields.
public enum PersonalDataAccess: Sendable {
    /// Unseal with the customer's key when it exists (history, export).
    case reveal
    /// Never unseal: personal fields read as absent (analytics, audits that must not see them). Faster.
    case withhold
    /// Unseal events of these types only (those whose personal fields a projection reads); withhold the others.
    case revealOnly(Set<EventType>)

    /// Whether events of the type with this tag are unsealed.
    func reveals(typeTag: UInt16) -> Bool {
        switch self {
        case .reveal: true
        case .withhold: false
        case .revealOnly(let types): EventType(tag: typeTag).map(types.contains) ?? false
        }
    }
}

extension CRMEngine {
    /// The events from `offset` on, in log order (0: all of them).
    public func events(
        from offset: Int64 = 0,
        personalData: PersonalDataAccess = .reveal
    ) throws(CRMError)
        -> EventReader
    {
        do {
            return EventReader(engine: self, reader: try log.reader(from: offset), access: personalData)
        } catch {
            throw .storage(error)
        }
    }

    /// The events in log order from the first one whose event time is at least `time`.
    public func events(
        fromTime time: EventTime,
        personalData: PersonalDataAccess = .reveal
    ) throws(CRMError)
        -> EventReader
    {
        do {
            let reader = try log.reader(fromEventTime: time.microseconds) ?? log.reader(from: log.nextOffset)
            return EventReader(engine: self, reader: reader, access: personalData)
        } catch {
            throw .storage(error)
        }
    }

    /// The offset of the first event (in log order) whose event time is after `time`, or the head: the number
    /// of events the log held "at" that time.
    public func offset(after time: EventTime) throws(CRMError) -> Int64 {
        do {
            return try log.firstOffset(atOrAfterEventTime: time.microseconds + 1) ?? log.nextOffset
        } catch {
            throw .storage(error)
        }
    }

    /// Every event from `offset` on, then each new one as it is appended, until the engine closes or the task is
    /// cancelled: `for try await stored in crm.tail(from: crm.nextOffset) { … }`.
    public func tail(from offset: Int64, personalData: PersonalDataAccess = .reveal) -> EventTail {
        EventTail(engine: self, batches: log.tail(from: offset), access: personalData)
    }

    /// Decodes one record into its event, unsealing or withholding its personal fields. The value is read in
    /// place; only a sealed one is copied, since unsealing or redacting rewrites it (copying every value into an
    /// array first was an allocation per event of a rebuild).
    func decode(
        key: String,
        typeTag: UInt16,
        schemaVersion: UInt16,
        eventTime: Int64,
        producerID: String?,
        value: UnsafeRawBufferPointer,
        offset: Int64,
        access: PersonalDataAccess,
        detail: EventDetail = .complete
    ) throws(CRMError) -> StoredEvent {
        let header = EncodedEvent(
            key: key,
            typeTag: typeTag,
            schemaVersion: schemaVersion,
            eventTime: eventTime,
            producerID: producerID,
            value: []
        )
        do {
            let flags = value.first ?? ValueLayout.plain
            let reveals = flags == ValueLayout.sealed && access.reveals(typeTag: typeTag)
            // Opened where the value lies: copying it, then unsealing the copy into a third array, cost two
            // allocations per sealed event.
            if reveals, let customerKey = keys.existingKey(for: key) {
                // The header reached through a pointer: captured by the closure, it was copied into the closure's
                // context (a retain of each of its strings and of its array) for every sealed event.
                let event = try withUnsafePointer(to: header) { header throws(PersonalDataSealer.Failure) in
                    try PersonalDataSealer.withOpenedPersonalPart(
                        of: value,
                        customer: key,
                        with: customerKey
                    ) { plain throws(EventDecodingError) in
                        try EventBinaryCodec.decode(
                            header.pointee,
                            value: value,
                            personalPart: .opened(plain),
                            detail: detail
                        )
                    }
                }
                return StoredEvent(offset: offset, event: event, personalData: .revealed)
            }
            let personalData: StoredEvent.PersonalData =
                switch flags {
                case ValueLayout.sealed: reveals ? .erased : .withheld
                case ValueLayout.redacted: .erased
                default: .none
                }
            return StoredEvent(
                offset: offset,
                event: try Self.withheldEvent(header, value: value, detail: detail),
                personalData: personalData
            )
        } catch {
            throw Self.undecodable(at: offset, error)
        }
    }

    /// The event of a record as a reader without the key store sees it: a sealed personal part reads as absent, a
    /// plain or redacted one as it is stored. How the engine decodes where it does not reveal personal data, and how
    /// the merges index reads a merge.
    static func withheldEvent(
        _ header: EncodedEvent,
        value: UnsafeRawBufferPointer,
        detail: EventDetail = .complete
    ) throws(EventDecodingError) -> Event {
        let part: EventBinaryCodec.PersonalPart = value.first == ValueLayout.sealed ? .absent : .asStored
        return try EventBinaryCodec.decode(header, value: value, personalPart: part, detail: detail)
    }

    /// The error of a record that does not decode, naming its offset.
    static func undecodable(at offset: Int64, _ error: some Error) -> CRMError {
        CRMError(.undecodableRecord, "the record at offset \(offset) does not decode: \(error)")
    }

    func decode(_ record: LogRecord, access: PersonalDataAccess) throws(CRMError) -> StoredEvent {
        var result: Result<StoredEvent, CRMError>!
        record.value.withUnsafeBytes { value in
            result = Result { () throws(CRMError) in
                try decode(
                    key: record.keyString,
                    typeTag: record.typeTag,
                    schemaVersion: record.schemaVersion,
                    eventTime: record.eventTime,
                    producerID: record.producerID.map { String(decoding: $0, as: UTF8.self) },
                    value: value,
                    offset: record.offset,
                    access: access
                )
            }
        }
        return try result.get()
    }

    /// The event of a record read in place; the producer id is left out unless `detail` is complete.
    func decode(
        _ record: RecordView,
        access: PersonalDataAccess,
        detail: EventDetail = .complete
    ) throws(CRMError) -> StoredEvent {
        try decode(
            key: String(decoding: record.key, as: UTF8.self),
            typeTag: record.typeTag,
            schemaVersion: record.schemaVersion,
            eventTime: record.eventTime,
            producerID: record.producerID.isEmpty || !detail.readsDescriptions
                ? nil : String(decoding: record.producerID, as: UTF8.self),
            value: record.value,
            offset: record.offset,
            access: access,
            detail: detail
        )
    }

    /// The events of one log batch.
    func decode(_ batch: LogBatch, access: PersonalDataAccess) throws(CRMError) -> [StoredEvent] {
        try decode(batch, access: access) { $0 }
    }

    /// What `transform` makes of each event of one log batch (nil: nothing), in order:
    /// ``decode(_:access:detail:initializing:)`` with the value moved into its place.
    func decode<Transformed>(
        _ batch: LogBatch,
        access: PersonalDataAccess,
        detail: EventDetail = .complete,
        _ transform: (consuming StoredEvent) -> Transformed?
    ) throws(CRMError) -> [Transformed] {
        try decode(batch, access: access, detail: detail) { stored, place in
            guard let value = transform(stored) else { return false }
            place.initialize(to: value)
            return true
        }
    }

    /// Each event of one log batch, in order, given to `transform` with the place where the array keeps what it
    /// makes of it: `transform` initializes that place (and returns true) or leaves it uninitialized (false). Each
    /// event goes from the decoder straight into `transform`: decoding the batch into stored events first and mapping
    /// them after built, and then freed, an array of them per batch, and moved every event once more (a projection
    /// rebuild's decoding); a value returned as an optional was moved into a temporary, then into the array.
    func decode<Transformed>(
        _ batch: LogBatch,
        access: PersonalDataAccess,
        detail: EventDetail = .complete,
        initializing transform: (consuming StoredEvent, UnsafeMutablePointer<Transformed>) -> Bool
    ) throws(CRMError) -> [Transformed] {
        var failure: CRMError?
        let capacity = batch.count
        let transformed = [Transformed](unsafeUninitializedCapacity: capacity) { buffer, count in
            batch.forEachRecord { record in
                guard failure == nil else { return }
                precondition(count < capacity, "a batch holds no more records than its count")
                do throws(CRMError) {
                    if transform(try decode(record, access: access, detail: detail), buffer.baseAddress! + count) {
                        count += 1
                    }
                } catch {
                    failure = error
                }
            }
        }
        if let failure { throw failure }
        return transformed
    }
}

/// A cursor over stored events in log order. Iterate it with `for … in` and check ``error`` after the loop, or
/// call ``nextEvent()``, which throws.
public final class EventReader: Sequence, IteratorProtocol {
    private let engine: CRMEngine
    private let reader: LogReader
    private let access: PersonalDataAccess
    private var buffered: [StoredEvent] = []
    private var position = 0
    /// The first error met while iterating with `for … in`.
    public private(set) var error: CRMError?

    init(engine: CRMEngine, reader: LogReader, access: PersonalDataAccess) {
        self.engine = engine
        self.reader = reader
        self.access = access
    }

    /// The next event, or nil at the head of the log.
    public func nextEvent() throws(CRMError) -> StoredEvent? {
        while position == buffered.count {
            let batch: LogBatch?
            do {
                batch = try reader.nextBatch()
            } catch {
                throw .storage(error)
            }
            guard let batch else { return nil }
            buffered = try engine.decode(batch, access: access)
            position = 0
        }
        position += 1
        return buffered[position - 1]
    }

    public func next() -> StoredEvent? {
        guard error == nil else { return nil }
        do {
            return try nextEvent()
        } catch {
            self.error = error
            return nil
        }
    }
}

/// Stored events from an offset on, then each new one as it is appended.
public struct EventTail: AsyncSequence, Sendable {
    public typealias Element = StoredEvent
    public typealias Failure = any Error

    let engine: CRMEngine
    let batches: LogTail
    let access: PersonalDataAccess

    public struct AsyncIterator: AsyncIteratorProtocol {
        let engine: CRMEngine
        var batches: LogTail.AsyncIterator
        let access: PersonalDataAccess
        var buffered: [StoredEvent] = []
        var position = 0

        public mutating func next() async throws -> StoredEvent? {
            while position == buffered.count {
                guard let batch = try await batches.next() else { return nil }
                buffered = try engine.decode(batch, access: access)
                position = 0
            }
            position += 1
            return buffered[position - 1]
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(engine: engine, batches: batches.makeAsyncIterator(), access: access)
    }
}
