public import CRMModel

/// A period of event time that a report covers, both ends included; a missing end is open.
public struct TimePeriod: Sendable, Equatable {
    public var from: EventTime?
    public var to: EventTime?

    public init(from: EventTime? = nil, to: EventTime? = nil) {
        self.from = from
        self.to = to
    }

    public func contains(_ time: EventTime) -> Bool { contains(time.microseconds) }

    func contains(_ microseconds: Int64) -> Bool {
        (from.map { microseconds >= $0.microseconds } ?? true) && (to.map { microseconds <= $0.microseconds } ?? true)
    }
}
