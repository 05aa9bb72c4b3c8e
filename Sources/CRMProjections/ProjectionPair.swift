public import CRMModel

/// Two projections folded together: one decoding pass feeds both (docs/projections.md, section 3). Nest pairs for
/// more: `ProjectionPair<CustomerProfiles, ProjectionPair<CustomerJourneys, ShopAnalytics>>`. A pair is for
/// rebuilding; keep and snapshot its parts with their own runners (its `first` and `second` states are exactly
/// what each projection alone would have folded).
public enum ProjectionPair<First: Projection, Second: Projection>: Projection {
    public static var name: String { First.name + "+" + Second.name }
    public static var version: UInt32 { First.version &* 65_599 &+ Second.version }
    public static var personalFieldsRead: Set<EventType> { First.personalFieldsRead.union(Second.personalFieldsRead) }

    public struct State: ProjectionState {
        public var first: First.State
        public var second: Second.State

        public init(first: First.State, second: Second.State) {
            self.first = first
            self.second = second
        }

        public func serialize(into writer: inout BinaryWriter) {
            first.serialize(into: &writer)
            second.serialize(into: &writer)
        }

        public init(deserializing reader: inout BinaryReader) throws(EventDecodingError) {
            first = try First.State(deserializing: &reader)
            second = try Second.State(deserializing: &reader)
        }

        public mutating func absorb(_ shard: State) {
            first.absorb(shard.first)
            second.absorb(shard.second)
        }

        public var clock: EventTime? {
            switch (first.clock, second.clock) {
            case (let a?, let b?): max(a, b)
            case (let a?, nil): a
            case (nil, let b): b
            }
        }
    }

    public static func makeState() -> State { State(first: First.makeState(), second: Second.makeState()) }

    public static func apply(_ event: ProjectedEvent, to state: inout State) {
        First.apply(event, to: &state.first)
        Second.apply(event, to: &state.second)
    }

    public static func advanceClock(_ state: inout State, to time: EventTime) {
        First.advanceClock(&state.first, to: time)
        Second.advanceClock(&state.second, to: time)
    }

    /// The earlier of the two projections' steps.
    public static func populationStep(after clock: EventTime, through time: EventTime) -> EventTime? {
        switch (First.populationStep(after: clock, through: time), Second.populationStep(after: clock, through: time)) {
        case (let a?, let b?): min(a, b)
        case (let a?, nil): a
        case (nil, let b): b
        }
    }

    /// Each projection whose own step falls at `instant` takes it, over its part of every shard.
    public static func takePopulationStep(
        _ shards: UnsafeMutableBufferPointer<State>,
        at instant: EventTime,
        parallel: Bool
    ) {
        let before = EventTime(microseconds: instant.microseconds - 1)
        if First.populationStep(after: before, through: instant) == instant {
            // Moved out of the shards, stepped, moved back: a copy left behind would be copied on the first change.
            var parts = [First.State]()
            for index in shards.indices {
                parts.append(shards[index].first)
                shards[index].first = First.makeState()
            }
            parts.withUnsafeMutableBufferPointer { First.takePopulationStep($0, at: instant, parallel: parallel) }
            for index in shards.indices { shards[index].first = parts[index] }
        }
        if Second.populationStep(after: before, through: instant) == instant {
            var parts = [Second.State]()
            for index in shards.indices {
                parts.append(shards[index].second)
                shards[index].second = Second.makeState()
            }
            parts.withUnsafeMutableBufferPointer { Second.takePopulationStep($0, at: instant, parallel: parallel) }
            for index in shards.indices { shards[index].second = parts[index] }
        }
    }
}
