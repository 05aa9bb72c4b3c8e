extension EventLog {
    /// When an ``EventLog/append(_:)`` may return (docs/on-disk-format.md, section 8).
    public enum Durability: String, Sendable, CaseIterable {
        /// Written to the operating system; survives a process crash, not a power loss.
        case none
        /// Concurrent appends share one write and one `fdatasync`; each returns once its bytes are on disk.
        case groupCommit
        /// Each append is written and `fdatasync`ed on its own.
        case syncEveryAppend
    }

    /// How a log is opened.
    public enum AccessMode: Sendable {
        /// The single writer: takes the directory's lock, recovers the tail, appends.
        case readWrite
        /// A reader that never writes and takes no lock; it may run in another process than the writer.
        case readOnly
    }

    /// Settings of a log. The defaults suit most uses.
    public struct Configuration: Sendable {
        /// When appends return. Default: ``Durability/groupCommit``.
        public var durability: Durability = .groupCommit
        /// A segment is rolled when the next frame would take it past this size. Default 128 MiB.
        public var segmentBytes: Int = 128 << 20
        /// Coalesced appends are packed into frames of about this many record bytes. Default 64 KiB.
        public var targetFrameBytes: Int = 64 << 10
        /// The distance in bytes between two index entries. Default 4 KiB.
        public var indexIntervalBytes: Int = 4096
        /// The writer stops coalescing once a group holds this many bytes, to bound memory and latency.
        public var maxGroupBytes: Int = 8 << 20

        public init() {}

        func validated() throws(EventLogError) -> Configuration {
            guard segmentBytes >= 4096, segmentBytes <= Int(UInt32.max) else {
                throw EventLogError(.invalidConfiguration, "segmentBytes must be between 4096 and \(UInt32.max)")
            }
            guard targetFrameBytes >= 1, targetFrameBytes <= Limits.maxBytesPerAppend else {
                throw EventLogError(.invalidConfiguration, "targetFrameBytes must be 1...\(Limits.maxBytesPerAppend)")
            }
            guard indexIntervalBytes >= 1 else {
                throw EventLogError(.invalidConfiguration, "indexIntervalBytes must be positive")
            }
            guard maxGroupBytes >= targetFrameBytes else {
                throw EventLogError(.invalidConfiguration, "maxGroupBytes must be at least targetFrameBytes")
            }
            return self
        }
    }

    /// The size limits of records and appends.
    public enum Limits {
        /// The longest key.
        public static let maxKeyBytes = Int(UInt16.max)
        /// The longest producer id.
        public static let maxProducerIDBytes = Int(UInt8.max)
        /// The longest value.
        public static let maxValueBytes = 16 << 20
        /// The most record bytes in one append (which is one frame).
        public static let maxBytesPerAppend = 32 << 20
        /// The most records in one append.
        public static let maxRecordsPerAppend = 1 << 20
    }

    /// Something the log did on its own that a operator should know about.
    public enum Notice: Sendable, Equatable, CustomStringConvertible {
        /// Recovery cut a torn last write: `bytes` bytes from `position` of `segment`.
        case tornTailTruncated(segment: String, position: Int64, bytes: Int64)
        /// An index file was missing or damaged and was rebuilt from its segment.
        case indexRebuilt(file: String, reason: String)

        public var description: String {
            switch self {
            case .tornTailTruncated(let segment, let position, let bytes):
                "cut a torn tail of \(bytes) bytes at byte \(position) of \(segment)"
            case .indexRebuilt(let file, let reason):
                "rebuilt \(file): \(reason)"
            }
        }
    }
}
