import EventLog

/// An index derived from the log, fed record by record in offset order (docs/engine-directory.md).
///
/// Entries are added for appended records in any order of completion; ``advance(to:)`` says that every record
/// below an offset has been added, which is how far a flushed run may claim to cover.
protocol RecordIndex: AnyObject {
    /// Every record below this offset has been added.
    var indexedThrough: Int64 { get }
    /// Adds `record`, which is at `offset` in the log.
    func add(_ record: RecordView, at offset: Int64)
    /// Every record below `offset` has now been added; flushes to a run when enough entries wait.
    func advance(to offset: Int64) throws(EventLogError)
    /// Writes every waiting entry below ``indexedThrough`` to a run.
    func flush() throws(EventLogError)
    /// Files whose checksums fail.
    func damagedFiles() -> [String]
}
