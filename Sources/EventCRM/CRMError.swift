public import CRMModel
public import EventLog

/// An error from the engine: what went wrong (``code``), a message for people, and the cause underneath.
///
/// Descriptions name files, offsets, lines and fields, never the values of personal fields.
public struct CRMError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. Extensible: new codes may be added in minor versions.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }

        /// An event or an input line is invalid (see ``CRMError/validation``).
        public static let invalidEvent = Code(name: "invalidEvent")
        /// The log failed: I/O, damage, a lock held by another writer (see ``CRMError/storage``).
        public static let storage = Code(name: "storage")
        /// The customer key store cannot be read or written.
        public static let keyStore = Code(name: "keyStore")
        /// A record of the log does not decode as an event of the catalog.
        public static let undecodableRecord = Code(name: "undecodableRecord")
        /// An argument is out of range.
        public static let invalidArgument = Code(name: "invalidArgument")
        /// The engine was opened read-only, or is closed.
        public static let notWritable = Code(name: "notWritable")
        /// Reading or writing an input or output file failed.
        public static let io = Code(name: "io")
    }

    public var code: Code
    public var message: String
    /// The validation failure, for ``Code/invalidEvent``.
    public var validation: ValidationError?
    /// The log's error, for ``Code/storage``.
    public var storage: EventLogError?

    public init(_ code: Code, _ message: String, validation: ValidationError? = nil, storage: EventLogError? = nil) {
        self.code = code
        self.message = message
        self.validation = validation
        self.storage = storage
    }

    public var description: String { "\(code): \(message)" }

    static func storage(_ error: EventLogError) -> CRMError {
        CRMError(.storage, error.description, storage: error)
    }

    static func storage(_ error: any Error) -> CRMError {
        if let error = error as? EventLogError { return storage(error) }
        if let error = error as? CRMError { return error }
        return CRMError(.storage, "\(error)")
    }

    static func keyStore(_ error: CustomerKeyStore.Failure) -> CRMError {
        CRMError(.keyStore, error.description)
    }
}
