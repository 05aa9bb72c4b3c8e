public import CRMModel

extension CRMEngine {
    /// What ``forget(_:at:)`` did.
    public struct ForgetResult: Sendable, Equatable {
        /// The ids whose keys were destroyed: the customer and the ids merged into it.
        public var erasedIDs: [String]
        /// The offset of the `customer.forgotten` event appended.
        public var offset: Int64
    }

    /// Erases a customer's personal data (docs/engine-directory.md, section 4): destroys the keys of the customer
    /// and of every id merged into it, durably, then appends `customer.forgotten`.
    ///
    /// Afterwards history and export show the personal fields as absent (``StoredEvent/PersonalData/erased``),
    /// the customer's other facts (orders, amounts, channels) still count, and ``verify(checkpoint:)`` still passes: the log
    /// is not rewritten. Calling it again is harmless.
    /// - Parameters:
    ///   - customer: the customer's id.
    ///   - time: the event time of the `customer.forgotten` event (default: now).
    @discardableResult
    public func forget(_ customer: String, at time: EventTime = .now) async throws(CRMError) -> ForgetResult {
        try requireWritable()
        guard (1...256).contains(customer.utf8.count) else {
            throw CRMError(.invalidArgument, "a customer id is 1 to 256 bytes long")
        }
        let ids = try identities(of: customer)
        // The append destroys the keys before the event reaches the log.
        let result = try await append(Event(at: time, customer: customer, payload: .customerForgotten))
        return ForgetResult(erasedIDs: ids, offset: result.offsets[0]!)
    }

    /// Whether `customer`'s key was destroyed by ``forget(_:at:)``.
    public func isForgotten(_ customer: String) -> Bool {
        keys.isForgotten(customer)
    }
}
