public import CRMModel
import EventLog
import Locking

extension CRMEngine {
    /// Every event of `customer` and of the ids merged into it by `customer.merged` (transitively), ordered by
    /// event time (then log order), optionally only those with `from <= at < to`.
    ///
    /// Reads the customer history index (docs/engine-directory.md, section 2), never the whole log: the cost
    /// grows with the number of the customer's events, not with the size of the log.
    public func history(
        of customer: String,
        from: EventTime? = nil,
        to: EventTime? = nil,
        personalData: PersonalDataAccess = .reveal
    ) throws(CRMError) -> [StoredEvent] {
        let lower = from?.microseconds ?? .min
        let upper = to?.microseconds ?? .max
        var events = [StoredEvent]()
        for record in try identityRecords(of: customer).records
        where record.eventTime >= lower && record.eventTime < upper {
            events.append(try decode(record, access: personalData))
        }
        events.sort { ($0.event.at, $0.offset) < ($1.event.at, $1.offset) }
        return events
    }

    /// `customer` followed by every id merged into it, directly or through other merged ids.
    public func identities(of customer: String) throws(CRMError) -> [String] {
        try identityRecords(of: customer).ids
    }

    /// `customer` and the ids merged into it (found from its `customer.merged` records), with all their records;
    /// each id's records are read once.
    private func identityRecords(of customer: String) throws(CRMError) -> (ids: [String], records: [LogRecord]) {
        var ids = [customer]
        var seen: Set<String> = [customer]
        var records = [LogRecord]()
        var next = 0
        let mergedTag = EventType.customerMerged.tag
        while next < ids.count {
            let found = try self.records(ofCustomer: ids[next])
            for record in found where record.typeTag == mergedTag {
                guard case .customerMerged(let source) = try decode(record, access: .withhold).event.payload else {
                    continue
                }
                if seen.insert(source).inserted { ids.append(source) }
            }
            records += found
            next += 1
        }
        return (ids, records)
    }

    /// The records whose key is `customer`, in log order: the key as text (docs/events.md), so a record that spells
    /// the id another way is the customer's too. The log keeps keys in canonical form, so the id is put in that form
    /// once and compared by bytes; a string is made only for a key that differs (a hash collision, or a log written
    /// before keys were canonical).
    func records(ofCustomer customer: String) throws(CRMError) -> [LogRecord] {
        let offsets = indexes.withLock { $0.history.offsets(ofCustomer: customer) }
        let key = Array(customer.canonicalForm.utf8)
        do {
            return try log.records(at: offsets).filter {
                $0.key.elementsEqual(key) || String(decoding: $0.key, as: UTF8.self) == customer
            }
        } catch {
            throw .storage(error)
        }
    }
}
