#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An error from the event log: what went wrong (``code``), a message for people, and where it happened.
///
/// The description never contains record contents, so it is safe to log.
public struct EventLogError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. Extensible: new codes may be added in minor versions.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }

        /// Another writer (process or open log) holds the directory's lock.
        public static let logLocked = Code(name: "logLocked")
        /// A segment, a frame or a record fails its checks: damage that is not a torn tail.
        public static let corruptSegment = Code(name: "corruptSegment")
        /// The files were written by a newer format version than this library knows.
        public static let unsupportedFormat = Code(name: "unsupportedFormat")
        /// A system call failed (the `errno` is in ``EventLogError/systemError``).
        public static let ioFailure = Code(name: "ioFailure")
        /// A record or batch breaks a size limit or is empty.
        public static let invalidRecord = Code(name: "invalidRecord")
        /// A configuration value is out of range.
        public static let invalidConfiguration = Code(name: "invalidConfiguration")
        /// The requested offset is past the head of the log.
        public static let offsetOutOfRange = Code(name: "offsetOutOfRange")
        /// The log was closed, or opened read-only, and cannot take appends.
        public static let notWritable = Code(name: "notWritable")
        /// An earlier write or fsync failed in a way that leaves the in-memory state unknown; reopen the log.
        public static let logFailed = Code(name: "logFailed")
    }

    /// What kind of failure this is.
    public var code: Code
    /// A human-readable explanation.
    public var message: String
    /// The file concerned, relative to the log directory when it is one of its files.
    public var file: String?
    /// The byte position in ``file`` where the problem was found.
    public var position: Int64?
    /// The record offset concerned, when there is one.
    public var offset: Int64?
    /// The `errno` of a failed system call.
    public var systemError: Int32?

    public init(
        _ code: Code,
        _ message: String,
        file: String? = nil,
        position: Int64? = nil,
        offset: Int64? = nil,
        systemError: Int32? = nil
    ) {
        self.code = code
        self.message = message
        self.file = file
        self.position = position
        self.offset = offset
        self.systemError = systemError
    }

    public var description: String {
        var text = "\(code): \(message)"
        if let file { text += " [file \(file)" + (position.map { " at byte \($0)" } ?? "") + "]" }
        if let offset { text += " [offset \(offset)]" }
        if let systemError { text += " [errno \(systemError): \(String(cString: strerror(systemError)))]" }
        return text
    }
}
