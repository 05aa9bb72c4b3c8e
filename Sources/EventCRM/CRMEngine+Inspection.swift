public import CRMModel
public import EventLog
import Foundation
import Locking

extension CRMEngine {
    /// What ``verify(checkpoint:)`` found.
    public struct VerificationReport: Sendable, CustomStringConvertible {
        /// The log's own report: checksums, the hash chain, offsets, segment indexes.
        public var log: EventLog.VerificationReport
        /// Index runs whose checksums fail (they are derived data: delete them and reopen to rebuild).
        public var damagedIndexFiles: [String]
        /// The offset after the last event, with ``headHash`` the pair to keep for a later ``verify(checkpoint:)``.
        public var nextOffset: Int64
        /// The chain hash at ``nextOffset``.
        public var headHash: ChainHash { log.headHash }

        /// Whether the log and the indexes passed every check.
        public var isValid: Bool { log.isValid && damagedIndexFiles.isEmpty }

        public var description: String {
            var text = "log: \(log)"
            if !damagedIndexFiles.isEmpty {
                text += "; damaged index files: \(damagedIndexFiles.joined(separator: ", "))"
            }
            return text
        }
    }

    /// Reads the whole log and checks every batch's checksum, the hash chain, offsets and segment indexes, then
    /// the index runs' checksums. With a `checkpoint` (an earlier ``nextOffset`` and ``headHash``), also proves
    /// that the log up to it is what it was then.
    public func verify(checkpoint: (offset: Int64, hash: ChainHash)? = nil) throws(CRMError) -> VerificationReport {
        let report: EventLog.VerificationReport
        do {
            report = try log.verify(checkpoint: checkpoint)
        } catch {
            throw .storage(error)
        }
        let damaged = indexes.withLock { state in
            state.ids.damagedFiles().map { "index/event-ids/" + $0 }
                + state.history.damagedFiles().map { "index/history/" + $0 }
                + state.merges.damagedFiles().map { "index/merges/" + $0 }
        }
        return VerificationReport(log: report, damagedIndexFiles: damaged, nextOffset: report.records)
    }

    /// Counts and sizes of the engine.
    public struct Statistics: Sendable {
        /// The number of events.
        public var events: Int64 = 0
        /// Events per type, for the types present.
        public var eventsByType: [EventType: Int64] = [:]
        /// Distinct customer ids in the log (merged ids count on their own).
        public var customers = 0
        /// Customers whose personal data was erased.
        public var forgottenCustomers = 0
        /// The sum of `order.placed` totals per currency, forgotten customers' orders included.
        public var orderTotals: [Currency: Money] = [:]
        /// The earliest and latest event times.
        public var firstEventTime: EventTime?
        public var lastEventTime: EventTime?
        /// Bytes of the log's segment files.
        public var segmentBytes: Int64 = 0
        /// Bytes of the events before compression, as records.
        public var uncompressedBytes: Int64 = 0
        /// Bytes of every file in the engine's directory: log, indexes and keys.
        public var bytesOnDisk: Int64 = 0
        /// The number of segment files.
        public var segments = 0
        /// The chain hash of the last batch.
        public var headHash = ChainHash.zero

        /// Segment bytes per uncompressed record byte.
        public var compressionRatio: Double {
            uncompressedBytes == 0 ? 1 : Double(segmentBytes) / Double(uncompressedBytes)
        }
    }

    /// Reads the whole log (without unsealing anything) and counts.
    public func statistics() throws(CRMError) -> Statistics {
        // One pass over the log gives the counts and the uncompressed sizes; file sizes come from the directory.
        var statistics = Statistics()
        statistics.segments = log.segmentCount
        statistics.headHash = log.headHash
        var countsByTag = [Int64](repeating: 0, count: Int(UInt16.max) + 1)
        var customers = Set<UInt64>()
        var first = Int64.max
        var last = Int64.min
        let orderTag = EventType.orderPlaced.tag
        var failure: CRMError?
        do {
            let logReader = try log.reader(from: 0)
            while let batch = try logReader.nextBatch() {
                statistics.uncompressedBytes += Int64(batch.recordByteCount)
                batch.forEachRecord { record in
                    countsByTag[Int(record.typeTag)] += 1
                    statistics.events += 1
                    first = min(first, record.eventTime)
                    last = max(last, record.eventTime)
                    if !record.key.isEmpty { customers.insert(StableHash.customer(record.key)) }
                    guard record.typeTag == orderTag, failure == nil else { return }
                    do throws(CRMError) {
                        if case .orderPlaced(_, let total, _, _, _, _, _) = try decode(record, access: .withhold).event
                            .payload
                        {
                            statistics.orderTotals[
                                total.currency,
                                default: Money(minorUnits: 0, currency: total.currency)
                            ]
                            .minorUnits += total.minorUnits
                        }
                    } catch {
                        failure = error
                    }
                }
            }
        } catch {
            throw .storage(error)
        }
        if let failure { throw failure }
        for type in EventType.allCases where countsByTag[Int(type.tag)] > 0 {
            statistics.eventsByType[type] = countsByTag[Int(type.tag)]
        }
        statistics.customers = customers.count
        statistics.forgottenCustomers = keys.forgottenCount
        if statistics.events > 0 {
            statistics.firstEventTime = EventTime(microseconds: first)
            statistics.lastEventTime = EventTime(microseconds: last)
        }
        (statistics.bytesOnDisk, statistics.segmentBytes) = Self.bytes(under: path)
        return statistics
    }

    /// The bytes of every file under `path`, and of the segment files (`*.log` at its top).
    private static func bytes(under path: String) -> (all: Int64, segments: Int64) {
        var total: Int64 = 0
        var segments: Int64 = 0
        guard let walker = FileManager.default.enumerator(atPath: path) else { return (0, 0) }
        while let name = walker.nextObject() as? String {
            guard let attributes = walker.fileAttributes, attributes[.type] as? FileAttributeType == .typeRegular
            else { continue }
            let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
            total += size
            if !name.contains("/") && name.hasSuffix(".log") { segments += size }
        }
        return (total, segments)
    }
}
