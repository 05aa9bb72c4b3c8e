import Benchmark
import BenchmarkSupport
import CRMModel
import CRMProjections
import EventCRM
import EventLog

// How fast decoding could be without making events (docs/fold-layout.md, section 3, item 4), measured before the
// projections are changed to take such values. On one core, over the ~10M-event log, three passes over the same
// records, each reading and decompressing every frame:
// - the log walk: records visited, nothing decoded (the floor every decoding pays);
// - events: what a rebuild of the customer projection decodes today (the codec with its detail, a sealed personal
//   part read as absent, then the `ProjectedEvent` with its customer hash and vocabulary numbers), each event freed;
// - plain values: the same fields checked as the codec checks them (bounds, UTF-8, ranges), no string made; ids and
//   words hashed from their bytes, words given a number from a table keyed by their hash (collisions not handled:
//   a bound, not a decoder).
// Neither pass opens sealed parts (registrations' contact fields): both leave them, so the key store is not timed.
// For scale, the same run also times the decoding reference of the rebuild benchmarks on one core (the runner's
// decoding: the sealed parts opened, the events kept in chunk arrays and freed by the next chunk's tasks); its
// "time against decoding reference" is the events pass's time as a percentage of the reference's.

extension BenchmarkMetric {
    static let walkEventsPerSecond = BenchmarkMetric.custom(
        "log walk, events/s",
        polarity: .prefersLarger,
        useScalingFactor: false
    )
    static let plainEventsPerSecond = BenchmarkMetric.custom(
        "decoded as plain values, events/s",
        polarity: .prefersLarger,
        useScalingFactor: false
    )
    static let plainAgainstEvents = BenchmarkMetric.custom(
        "plain values' time against events' (%)",
        useScalingFactor: false
    )
}

func plainDecodingBoundBenchmark() {
    Benchmark(
        "projections-decoding-plain-values-bound-10M-events-1-core",
        configuration: slowConfiguration(
            [
                .walkEventsPerSecond, .eventsPerSecond, .plainEventsPerSecond, .plainAgainstEvents,
                .referenceEventsPerSecond, .againstReference,
            ],
            iterations: 3
        )
    ) { benchmark in
        let path = try await GeneratedData.engine(customers: historyCustomers)
        let log = try EventLog.open(at: path, mode: .readOnly)
        var walked = (events: 0, sum: 0)
        let walk = try ContinuousClock().measure { walked = try PlainDecodingBound.walk(log) { _ in 1 } }
        var decoded = (events: 0, sum: 0)
        let events = try ContinuousClock().measure {
            decoded = try PlainDecodingBound.walk(log, PlainDecodingBound.event)
        }
        var words = PlainDecodingBound.Words()
        var plain = (events: 0, sum: 0)
        let plainTime = try ContinuousClock().measure {
            plain = try PlainDecodingBound.walk(log) { try PlainDecodingBound.plain($0, words: &words) }
        }
        await log.close()
        let engine = try CRMEngine.open(at: path)
        // The key store builds its table at the first key it is asked for: asked here, so that the reference is
        // timed as it is after the rebuild in the rebuild benchmarks.
        for stored in try engine.events(personalData: .reveal) where stored.personalData == .revealed { break }
        try DecodingReference<CustomerProfiles>.report(against: events, engine: engine, workers: 1, to: benchmark)
        await engine.close()
        precondition(walked.events == decoded.events && decoded.events == plain.events && plain.sum != 0)
        benchmark.measurement(.walkEventsPerSecond, Int(Double(walked.events) / seconds(walk)))
        benchmark.measurement(.eventsPerSecond, Int(Double(decoded.events) / seconds(events)))
        benchmark.measurement(.plainEventsPerSecond, Int(Double(plain.events) / seconds(plainTime)))
        benchmark.measurement(.plainAgainstEvents, Int((100 * seconds(plainTime) / seconds(events)).rounded()))
    }
}

enum PlainDecodingBound {
    /// Visits every record of `log` with `body`; returns the count and the sum of what `body` returned (kept, so
    /// that no work is left out as unused).
    static func walk(
        _ log: EventLog,
        _ body: (RecordView) throws -> Int
    ) throws -> (events: Int, sum: Int) {
        let reader = try log.reader(from: 0)
        var events = 0
        var sum = 0
        while let batch = try reader.nextBatch() {
            try batch.forEachRecord { record in
                events += 1
                sum &+= try body(record)
            }
        }
        return (events, sum)
    }

    /// The record decoded as a rebuild of the customer projection decodes it.
    static func event(_ record: RecordView) throws -> Int {
        let header = EncodedEvent(
            key: String(decoding: record.key, as: UTF8.self),
            typeTag: record.typeTag,
            schemaVersion: record.schemaVersion,
            eventTime: record.eventTime,
            producerID: nil,
            value: []
        )
        let sealed = record.value.first == ValueLayout.sealed
        let event = try EventBinaryCodec.decode(
            header,
            value: record.value,
            personalPart: sealed ? .absent : .asStored,
            detail: CustomerProfiles.eventDetail
        )
        let projected = ProjectedEvent(offset: record.offset, event: event)
        return projected.customerHash &+ Int(truncatingIfNeeded: projected.clock.microseconds)
    }

    /// What a field of the public part is to a plain decoder.
    enum Field {
        /// An id (order, ticket, customer, sku): checked and hashed.
        case id, optionalID
        /// A word the projections number (channel, campaign, country, city, category): checked, hashed, numbered.
        case word, optionalWord
        /// Text no projection of the fold reads: checked only.
        case optionalText, text
        case money, optionalMoney, bool, small, items, object
    }

    /// The public part's fields of each type, in the codec's order (docs/event-codec.md), before the custom members.
    static func fields(of type: EventType, version: UInt16) -> [Field] {
        switch type {
        case .customerRegistered: [.optionalWord, .optionalWord]
        case .customerUpdated, .customerForgotten: []
        case .customerMerged, .orderDelivered, .campaignLaunched, .campaignEnded, .segmentRemoved: [.id]
        case .consentChanged: [.word, .bool]
        case .touchpoint: [.word, .optionalWord, .optionalText, .optionalText, .optionalText, .optionalText]
        case .messageSent, .messageOpened, .messageClicked, .messageBounced, .messageUnsubscribed: [.word, .word]
        case .interaction: [.word, .word]
        case .ticketOpened: [.id, .optionalWord, .optionalWord]
        case .ticketReplied: [.id, .optionalText]
        case .ticketResolved: [.id, .small]
        case .orderPlaced:
            version >= 2
                ? [.id, .money, .items, .optionalWord, .optionalWord, .optionalText, .optionalWord]
                : [.id, .money, .optionalWord, .optionalWord, .optionalText, .optionalWord]
        case .orderPaid: [.id, .optionalMoney]
        case .orderShipped: [.id, .optionalText, .optionalText]
        case .orderCancelled: [.id, .optionalText]
        case .orderReturned, .orderRefunded: [.id, .money]
        case .productLaunched: [.id, .optionalText, .optionalWord]
        case .productSubscribed, .productUnsubscribed: [.optionalWord, .optionalWord]
        case .campaignCreated: [.id, .text, .word, .optionalWord]
        case .segmentDefined: [.id, .object, .optionalText]
        }
    }

    /// Each type's fields by tag, then by schema version (from 1): looked up by index, as a decoder's switch would.
    static let fieldsByTag: [[[Field]]] = {
        var table = [[[Field]]](repeating: [], count: Int(EventType.allCases.map(\.tag).max()!) + 1)
        for type in EventType.allCases {
            table[Int(type.tag)] = (1...EventBinaryCodec.currentVersion(of: type)).map { fields(of: type, version: $0) }
        }
        return table
    }()

    /// Words numbered by the hash of their bytes, in an open-addressed table.
    struct Words {
        var hashes = [UInt64](repeating: 0, count: 1 << 16)
        var count: UInt32 = 0

        mutating func number(_ hash: UInt64) -> UInt32 {
            var slot = Int(truncatingIfNeeded: hash) & (hashes.count - 1)
            while hashes[slot] != 0 {
                if hashes[slot] == hash { return UInt32(truncatingIfNeeded: slot) }
                slot = (slot + 1) & (hashes.count - 1)
            }
            hashes[slot] = hash
            count += 1
            return UInt32(truncatingIfNeeded: slot)
        }
    }

    /// The engine's id hash of these bytes (``IDHash``); a longer or non-ASCII id (the engine hashes those as a
    /// `String`, from their canonical form) by the standard library's hasher over its bytes, which the generated ids
    /// never need. Never 0, the table's empty slot.
    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        let hash =
            IDHash.of(shortUTF8: bytes)
            ?? {
                var hasher = Hasher()
                hasher.combine(bytes: bytes)
                return hasher.finalize()
            }()
        return UInt64(bitPattern: Int64(hash)) | 1
    }

    /// The record read as plain values: every field checked, ids and words hashed, words numbered.
    static func plain(_ record: RecordView, words: inout Words) throws -> Int {
        let tag = Int(record.typeTag)
        let version = Int(record.schemaVersion)
        guard tag < fieldsByTag.count, version >= 1, version <= fieldsByTag[tag].count else {
            throw EventDecodingError(reason: "unknown type tag or version")
        }
        let fields = fieldsByTag[tag][version - 1]
        let layout = try ValueLayout(record.value)
        var open = BinaryReader(UnsafeRawBufferPointer(rebasing: record.value[layout.public]))
        var sum = Int(truncatingIfNeeded: hash(record.key)) &+ Int(truncatingIfNeeded: record.eventTime)
        for field in fields {
            switch field {
            case .id, .word, .text:
                let bytes = try open.rawBytes(try open.count("string"))
                guard bytes.isValidUTF8 else { throw EventDecodingError(reason: "not UTF-8") }
                let hashed = hash(bytes)
                sum &+= field == .word ? Int(words.number(hashed)) : Int(truncatingIfNeeded: hashed)
            case .optionalID, .optionalWord, .optionalText:
                let marker = try open.varint()
                guard marker > 0 else { continue }
                let bytes = try open.rawBytes(Int(marker - 1))
                guard bytes.isValidUTF8 else { throw EventDecodingError(reason: "not UTF-8") }
                if field == .optionalText { continue }
                let hashed = hash(bytes)
                sum &+= field == .optionalWord ? Int(words.number(hashed)) : Int(truncatingIfNeeded: hashed)
            case .money: sum &+= Int(truncatingIfNeeded: try open.money().minorUnits)
            case .optionalMoney: sum &+= Int(truncatingIfNeeded: try open.optionalMoney()?.minorUnits ?? 0)
            case .bool: sum &+= try open.bool() ? 1 : 0
            case .small: sum &+= try open.optionalSmall() ?? 0
            case .items:
                let marker = try open.varint()
                for _ in 0..<max(0, Int(marker) - 1) {
                    try open.checkString()
                    _ = try open.varint()
                    _ = try open.money()
                    try open.checkOptionalString()
                    try open.checkObject()
                }
            case .object: try open.checkObject()
            }
        }
        try open.checkObject()
        guard open.isAtEnd else { throw EventDecodingError(reason: "bytes left over") }
        return sum
    }
}
