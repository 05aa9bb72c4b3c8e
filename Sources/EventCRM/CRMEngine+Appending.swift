public import CRMModel
import EventLog
import Locking

extension CRMEngine {
    /// What an append did.
    public struct AppendResult: Sendable, Equatable {
        /// The log offset of each event given, in order; nil for an event skipped as a duplicate.
        public var offsets: [Int64?]
        /// The number of events appended.
        public var appended: Int { offsets.count - duplicates }
        /// The number of events skipped because an event with the same `id` is in the log (or earlier in the
        /// same append).
        public var duplicates: Int { offsets.count { $0 == nil } }
    }

    /// Appends one event; see ``append(contentsOf:)``.
    @discardableResult
    public func append(_ event: Event) async throws(CRMError) -> AppendResult {
        try await append(contentsOf: [event])
    }

    /// Appends events atomically: when this returns they are all in the log, in order, as durable as
    /// ``Options/durability`` promises; when it throws, none is.
    ///
    /// Each event is first checked against the rules of the event format (docs/events.md). An event whose `id` is
    /// already in the log is skipped and counted, so re-delivering events is harmless. Personal fields are sealed
    /// with the customer's key (created on first use) before anything is written.
    @discardableResult
    public func append(contentsOf events: [Event]) async throws(CRMError) -> AppendResult {
        try requireWritable()
        var stored = [Event]()
        stored.reserveCapacity(events.count)
        for (number, event) in events.enumerated() {
            do {
                stored.append(try codec.validated(event))
            } catch {
                throw CRMError(
                    .invalidEvent,
                    "event \(number) (\(event.type.rawValue)): \(error)",
                    validation: error
                )
            }
        }
        return try await appendEncoded(try seal(stored.map(EventBinaryCodec.encode)))
    }

    /// Seals the personal part of each event with its customer's key, creating missing keys with one sync.
    /// Events of forgotten customers keep no personal data.
    func seal(_ encoded: [EncodedEvent]) throws(CRMError) -> [EncodedEvent] {
        let customerKeys = try customerKeys(for: encoded.lazy.filter(\.hasPersonalPart).map(\.key))
        var sealed = [EncodedEvent]()
        sealed.reserveCapacity(encoded.count)
        for event in encoded { sealed.append(try Self.seal(event, keys: customerKeys)) }
        return sealed
    }

    /// The keys of `customers`, created with one sync when missing; forgotten customers are absent.
    func customerKeys(for customers: some Sequence<String>) throws(CRMError) -> [String: CustomerKey] {
        do {
            return try keys.keys(for: customers)
        } catch {
            throw .keyStore(error)
        }
    }

    /// One event sealed with its customer's key from `keys`, or without its personal data when the customer has
    /// no key (forgotten). `hasPersonalPart` saves reading the value's layout again when the caller knows it.
    /// Safe to call from several threads.
    static func seal(
        _ event: EncodedEvent,
        hasPersonalPart: Bool? = nil,
        keys: [String: CustomerKey]
    ) throws(CRMError) -> EncodedEvent {
        guard hasPersonalPart ?? event.hasPersonalPart else { return event }
        do {
            if let key = keys[event.key] {
                return try PersonalDataSealer.seal(event, with: key)
            }
            return try PersonalDataSealer.redact(event)
        } catch {
            throw CRMError(.invalidEvent, "cannot seal the personal fields of a \(event.typeTag) event: \(error)")
        }
    }

    /// Appends sealed events as one batch, skipping those whose id is in the log or in an append in flight.
    func appendEncoded(_ events: [EncodedEvent]) async throws(CRMError) -> AppendResult {
        var batch = RecordBatch(reservingBytes: events.count * 128)
        for event in events { try batch.append(event) }
        return AppendResult(offsets: try await appendDeduplicated(batch))
    }

    /// Appends the records of `batch` whose id is neither in the log nor in an append in flight, atomically, and
    /// indexes them. Returns each record's offset, nil for those skipped.
    func appendDeduplicated(_ batch: RecordBatch) async throws(CRMError) -> [Int64?] {
        try await appendDeduplicated([batch])[0]
    }

    /// ``appendDeduplicated(_:)`` for several batches, each atomic on its own, landing in the order given.
    /// `deferringKeyCompaction`: the caller compacts the key store itself when it is done (bulk ingest).
    /// `idHashes`: the hashes of the records' ids, when already computed (by a staging ingest).
    func appendDeduplicated(
        _ batches: [RecordBatch],
        idHashes: [[EventIDHash?]]? = nil,
        deferringKeyCompaction: Bool = false
    ) async throws(CRMError) -> [[Int64?]] {
        let submitted = try submitDeduplicated(
            batches,
            idHashes: idHashes,
            deferringKeyCompaction: deferringKeyCompaction
        )
        return try await complete(submitted)
    }

    /// Batches checked for duplicates and handed to the log, waiting to be written and indexed.
    struct SubmittedAppend {
        fileprivate var plans: [(kept: RecordBatch, keep: [Bool], hashes: [EventIDHash?])]
        fileprivate var nonEmpty: [Int]
        fileprivate var ticket: AppendTicket
        /// Whether the batches erase customers (snapshots are held back until they are in the log).
        fileprivate var erases: Bool
    }

    /// The first half of ``appendDeduplicated(_:idHashes:deferringKeyCompaction:)``: drops duplicates, destroys
    /// the keys of forgotten customers and queues the batches in the log, without waiting. A caller may prepare
    /// and submit the next batches before calling ``complete(_:)``: they land after these, and the ids of these
    /// stay in flight, so duplicates across the two are still caught.
    func submitDeduplicated(
        _ batches: [RecordBatch],
        idHashes: [[EventIDHash?]]? = nil,
        deferringKeyCompaction: Bool = false
    ) throws(CRMError) -> SubmittedAppend {
        var plans = [(kept: RecordBatch, keep: [Bool], hashes: [EventIDHash?])]()
        var pending = [EventIDHash?]()
        do throws(CRMError) {
            for (number, batch) in batches.enumerated() {
                let plan = try deduplicate(batch, idHashes: idHashes?[number])
                pending += plan.hashes
                plans.append(plan)
            }
        } catch {
            release(pending)
            throw error
        }
        let nonEmpty = plans.indices.filter { !plans[$0].kept.isEmpty }
        let erases: Bool
        do {
            erases = try destroyKeysOfForgottenCustomers(
                in: nonEmpty.map { plans[$0].kept },
                deferringCompaction: deferringKeyCompaction
            )
        } catch {
            release(pending)
            throw error
        }
        let ticket = log.submit(contentsOf: nonEmpty.map { plans[$0].kept })
        return SubmittedAppend(plans: plans, nonEmpty: nonEmpty, ticket: ticket, erases: erases)
    }

    /// The second half: waits until the submitted batches are written, indexes them, and returns each record's
    /// offset (nil for duplicates).
    func complete(_ submitted: SubmittedAppend) async throws(CRMError) -> [[Int64?]] {
        let plans = submitted.plans
        let outcomes = await submitted.ticket.results()
        if submitted.erases {
            let ends = outcomes.compactMap { try? $0.get().upperBound }
            snapshots.erasureAppended(at: ends.count == outcomes.count ? ends.max().map { $0 - 1 } : nil)
        }
        var results = plans.map { [Int64?](repeating: nil, count: $0.keep.count) }
        var failure: CRMError?
        for (outcome, number) in zip(outcomes, submitted.nonEmpty) {
            let plan = plans[number]
            switch outcome {
            case .failure(let error):
                release(plan.hashes)
                failure = failure ?? .storage(error)
            case .success(let range):
                do {
                    try indexes.withLock { state throws(EventLogError) in
                        try state.recordAppended(plan.kept, at: range, idHashes: plan.hashes)
                    }
                } catch {
                    // The events are in the log; an index that failed to flush is rebuilt from the log at open.
                    failure =
                        failure ?? CRMError(.storage, "appended, but writing an index failed: \(error)", storage: error)
                }
                var next = range.lowerBound
                for position in plan.keep.indices where plan.keep[position] {
                    results[number][position] = next
                    next += 1
                }
            }
        }
        if let failure { throw failure }
        return results
    }

    /// The records of `batch` to append: those whose id is not in the log nor in flight (now marked in flight).
    private func deduplicate(
        _ batch: RecordBatch,
        idHashes: [EventIDHash?]?
    ) throws(CRMError) -> (
        kept: RecordBatch, keep: [Bool], hashes: [EventIDHash?]
    ) {
        let hashes = idHashes ?? Self.idHashes(of: batch)
        var keep = [Bool](repeating: true, count: batch.count)
        indexes.withLock { state in
            for (number, hash) in hashes.enumerated() {
                guard let hash else { continue }
                if state.pendingIDs.contains(hash) || state.ids.contains(hash) {
                    keep[number] = false
                } else {
                    state.pendingIDs.insert(hash, offset: 0)
                }
            }
        }
        let keptHashes = zip(hashes, keep).filter(\.1).map(\.0)
        guard keptHashes.count < batch.count else { return (batch, keep, keptHashes) }
        var kept = RecordBatch(reservingBytes: batch.encodedByteCount)
        var number = 0
        var failure: EventLogError?
        batch.forEachRecord { record in
            if keep[number] {
                do throws(EventLogError) { try kept.append(record) } catch { failure = error }
            }
            number += 1
        }
        if let failure {
            release(keptHashes)
            throw .storage(failure)
        }
        return (kept, keep, keptHashes)
    }

    /// The hash of each record's id, nil for records without one.
    static func idHashes(of batch: RecordBatch) -> [EventIDHash?] {
        var hashes = [EventIDHash?]()
        hashes.reserveCapacity(batch.count)
        batch.forEachRecord { record in
            hashes.append(record.producerID.isEmpty ? nil : StableHash.eventID(record.producerID))
        }
        return hashes
    }

    /// A `customer.forgotten` event erases: the keys of its customer and of the ids merged into it are destroyed
    /// before the event is appended (docs/engine-directory.md, section 4), whether it comes from ``forget(_:at:)``,
    /// an append or an ingest. Destroying a key twice is harmless, so a crash in between is repaired by retrying.
    /// Returns whether there were any; then snapshots were deleted, and new ones are held back until
    /// `snapshots.erasureAppended(at:)`.
    private func destroyKeysOfForgottenCustomers(
        in batches: [RecordBatch],
        deferringCompaction: Bool
    ) throws(CRMError) -> Bool {
        let forgottenTag = EventType.customerForgotten.tag
        var customers = [String]()
        for batch in batches {
            batch.forEachRecord { record in
                if record.typeTag == forgottenTag { customers.append(String(decoding: record.key, as: UTF8.self)) }
            }
        }
        guard !customers.isEmpty else { return false }
        // Snapshots may hold these customers' personal fields: they go first, and none is written until the
        // erasure's events are in the log.
        snapshots.erasureStarting()
        do throws(CRMError) {
            var ids = [String]()
            for customer in customers { ids += try identities(of: customer) }
            do {
                try keys.forget(contentsOf: ids, deferringCompaction: deferringCompaction)
            } catch {
                throw .keyStore(error)
            }
        } catch {
            snapshots.erasureAppended(at: nil)
            throw error
        }
        return true
    }

    private func release(_ hashes: [EventIDHash?]) {
        indexes.withLock { state in
            for case let hash? in hashes { state.pendingIDs.remove(hash) }
        }
    }
}

extension RecordBatch {
    /// Adds an encoded event as a record (docs/event-codec.md: key, type tag, version, time, id, value).
    mutating func append(_ event: EncodedEvent) throws(CRMError) {
        do {
            try append(
                key: event.key,
                typeTag: event.typeTag,
                schemaVersion: event.schemaVersion,
                eventTime: event.eventTime,
                producerID: event.producerID,
                value: event.value
            )
        } catch {
            throw CRMError(.invalidEvent, "an event does not fit in a record: \(error.message)", storage: error)
        }
    }
}

extension EncodedEvent {
    /// Whether the value has a non-empty plain personal part.
    var hasPersonalPart: Bool {
        value.withUnsafeBytes { raw in
            guard let layout = try? ValueLayout(raw) else { return false }
            return layout.flags == ValueLayout.plain && !layout.personal.isEmpty
        }
    }
}
