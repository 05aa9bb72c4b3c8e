import Locking

/// Batches from an offset on, waiting for new appends at the head: `for try await batch in log.tail(from: 0)`.
///
/// In the writing process a tail wakes as soon as an append is committed. In a read-only log (another process)
/// it looks at the files again every ``pollInterval``. The sequence ends when the log is closed or the task is
/// cancelled.
public struct LogTail: AsyncSequence, Sendable {
    public typealias Element = LogBatch
    public typealias Failure = any Error

    let log: EventLog
    let offset: Int64
    /// How often a read-only log looks for new data.
    public var pollInterval: Duration = .milliseconds(20)

    public struct AsyncIterator: AsyncIteratorProtocol {
        let log: EventLog
        let reader: LogReader
        let pollInterval: Duration

        public mutating func next() async throws -> LogBatch? {
            while true {
                if let batch = try reader.nextBatch() { return batch }
                if Task.isCancelled || log.catalog.state.withLock({ $0.closed }) { return nil }
                if log.accessMode == .readOnly {
                    try await Task.sleep(for: pollInterval)
                    try log.refresh()
                } else {
                    await log.catalog.waitForHead(beyond: reader.nextOffset)
                }
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(log: log, reader: LogReader(log: log, from: offset), pollInterval: pollInterval)
    }
}

extension EventLog {
    /// Every batch from `offset` on, then each new one as it is appended.
    public func tail(from offset: Int64) -> LogTail {
        LogTail(log: self, offset: offset)
    }
}
