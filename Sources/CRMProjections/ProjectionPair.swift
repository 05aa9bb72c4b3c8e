public import CRMModel

/// Two projections folded together: one decoding pass feeds both (docs/projections.md, section 3). Nest pairs for
/// more: `ProjectionPair<CustomerProfiles, ProjectionPair<CustomerJourneys, ShopAnalytics>>`. A pair is for
/// rebuilding; keep and snapshot its parts with their own runners (its `first` and `second` states are exactly
/// what each projection alone would have folded).
public enum ProjectionPair<First: Projection, Second: Projection>: Projection {
    public static var name: String { First.name + "+" + Second.name }
    public static var version: UInt32 { First.version &* 65_599 &+ Second.version }
    public static var personalFieldsRead: Set<EventType> { First.personalFieldsRead.union(Second.personalFieldsRead) }
    public static var eventDetail: EventDetail { First.eventDetail.union(Second.eventDetail) }

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

        public static func read(
            from bytes: some StateBytes,
            at start: Int
        ) throws(EventDecodingError) -> (state: State, end: Int) {
            let (first, middle) = try First.State.read(from: bytes, at: start)
            let (second, end) = try Second.State.read(from: bytes, at: middle)
            return (State(first: first, second: second), end)
        }

        public mutating func absorb(_ shard: consuming State) {
            absorb(consume shard, parallel: false)
        }

        /// The two parts absorb on two cores when `parallel`: they are independent, and the last merge of a
        /// rebuild's shards is otherwise one core's work. Each part of the shard is handed over whole (taken out of
        /// the shard, then out of its slot by the closure that absorbs it), so that a part no other state shares
        /// can move its values in instead of copying them.
        public mutating func absorb(_ shard: consuming State, parallel: Bool) {
            var theirs = (first: First.makeState(), second: Second.makeState())
            swap(&theirs.first, &shard.first)
            swap(&theirs.second, &shard.second)
            withUnsafeMutablePointer(to: &first) { first in
                withUnsafeMutablePointer(to: &second) { second in
                    withUnsafeMutablePointer(to: &theirs) { theirs in
                        // Each part is written by one closure only.
                        nonisolated(unsafe) let (first, second, theirs) = (first, second, theirs)
                        concurrentForEach(2, parallel: parallel) { part in
                            if part == 0 {
                                var taken = First.makeState()
                                swap(&taken, &theirs.pointee.first)
                                first.pointee.absorb(consume taken, parallel: parallel)
                            } else {
                                var taken = Second.makeState()
                                swap(&taken, &theirs.pointee.second)
                                second.pointee.absorb(consume taken, parallel: parallel)
                            }
                        }
                    }
                }
            }
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

    /// Each part folds the whole run: the two states are independent, so this equals folding event by event.
    public static func apply(_ events: UnsafeBufferPointer<RoutedEvent>, routedTo shard: Int, to state: inout State) {
        First.apply(events, routedTo: shard, to: &state.first)
        Second.apply(events, routedTo: shard, to: &state.second)
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
        stepPart(First.self, \.first, shards, at: instant, parallel: parallel)
        stepPart(Second.self, \.second, shards, at: instant, parallel: parallel)
    }

    /// Lets `part` take its population step at `instant` over its part of every shard, if its own step falls there.
    private static func stepPart<Part: Projection>(
        _ part: Part.Type,
        _ path: WritableKeyPath<State, Part.State>,
        _ shards: UnsafeMutableBufferPointer<State>,
        at instant: EventTime,
        parallel: Bool
    ) {
        guard Part.populationStep(after: EventTime(microseconds: instant.microseconds - 1), through: instant) == instant
        else { return }
        // Moved out of the shards, stepped, moved back: a copy left behind would be copied on the first change.
        var parts = [Part.State]()
        for index in shards.indices {
            parts.append(shards[index][keyPath: path])
            shards[index][keyPath: path] = Part.makeState()
        }
        parts.withUnsafeMutableBufferPointer { Part.takePopulationStep($0, at: instant, parallel: parallel) }
        for index in shards.indices { shards[index][keyPath: path] = parts[index] }
    }
}

/// Every built-in projection, folded together: what `crm rebuild` rebuilds in one pass.
public typealias EveryProjection = ProjectionPair<CustomerProfiles, ProjectionPair<CustomerJourneys, ShopAnalytics>>
