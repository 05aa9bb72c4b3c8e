public import CRMModel
import Crypto
import EventLog

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
        for (number, event) in events.enumerated() {
            do {
                try codec.validate(event)
            } catch {
                throw CRMError(
                    .invalidEvent,
                    "event \(number) (\(event.type.rawValue)): \(error)",
                    validation: error
                )
            }
        }
        return try await appendEncoded(try seal(events.map(EventBinaryCodec.encode)))
    }

    /// Seals the personal part of each event with its customer's key, creating missing keys with one sync.
    /// Events of forgotten customers keep no personal data.
    func seal(_ encoded: [EncodedEvent]) throws(CRMError) -> [EncodedEvent] {
        let customers = encoded.lazy.filter(\.hasPersonalPart).map(\.key)
        let customerKeys: [String: SymmetricKey]
        do {
            customerKeys = try keys.keys(for: customers)
        } catch {
            throw .keyStore(error)
        }
        var sealed = [EncodedEvent]()
        sealed.reserveCapacity(encoded.count)
        for event in encoded {
            guard event.hasPersonalPart else {
                sealed.append(event)
                continue
            }
            do {
                if let key = customerKeys[event.key] {
                    sealed.append(try PersonalDataSealer.seal(event, with: key))
                } else {
                    sealed.append(try PersonalDataSealer.redact(event))
                }
            } catch {
                throw CRMError(.invalidEvent, "cannot seal the personal fields of a \(event.typeTag) event: \(error)")
            }
        }
        return sealed
    }

    /// Appends sealed events as one batch, skipping those whose id is in the log or in an append in flight.
    func appendEncoded(_ events: [EncodedEvent]) async throws(CRMError) -> AppendResult {
        var offsets = [Int64?](repeating: nil, count: events.count)
        var kept = [Int]()
        var hashes = [EventIDHash?]()
        kept.reserveCapacity(events.count)
        hashes.reserveCapacity(events.count)
        let candidates = events.map { $0.producerID.map(StableHash.eventID) }
        indexes.withLock { state in
            for (number, hash) in candidates.enumerated() {
                if let hash {
                    guard !state.pendingIDs.contains(hash), !state.ids.contains(hash) else { continue }
                    state.pendingIDs.insert(hash)
                }
                kept.append(number)
                hashes.append(hash)
            }
        }
        guard !kept.isEmpty else { return AppendResult(offsets: offsets) }
        var batch = RecordBatch(reservingBytes: kept.count * 128)
        do {
            for number in kept {
                let event = events[number]
                try batch.append(
                    key: event.key,
                    typeTag: event.typeTag,
                    schemaVersion: event.schemaVersion,
                    eventTime: event.eventTime,
                    producerID: event.producerID,
                    value: event.value
                )
            }
        } catch {
            release(hashes)
            throw CRMError(.invalidEvent, error.message, storage: error)
        }
        let range: Range<Int64>
        do {
            range = try await log.append(batch)
        } catch {
            release(hashes)
            throw .storage(error)
        }
        do {
            try indexes.withLock { state throws(EventLogError) in
                try state.recordAppended(batch, at: range, idHashes: hashes)
            }
        } catch {
            // The events are in the log; an index that failed to flush is rebuilt from the log at the next open.
            throw CRMError(.storage, "appended, but writing an index failed: \(error)", storage: error)
        }
        for (position, number) in kept.enumerated() { offsets[number] = range.lowerBound + Int64(position) }
        return AppendResult(offsets: offsets)
    }

    private func release(_ hashes: [EventIDHash?]) {
        indexes.withLock { state in
            for case let hash? in hashes { state.pendingIDs.remove(hash) }
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
