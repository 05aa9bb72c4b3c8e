import ArgumentParser
import CRMModel
import CRMProjections
import EventCRM

/// `--as-of TIME | --as-of-offset N`, which every query takes (docs/cli.md).
struct AsOfOptions: ParsableArguments {
    @Option(help: "Answer as of this time (RFC 3339): what the log knew then, with time-window rules at that time.")
    var asOf: String?
    @Option(help: "Answer as of this offset: from the events before it.") var asOfOffset: Int64?

    func validate() throws {
        if asOf != nil && asOfOffset != nil { throw ValidationError("give --as-of or --as-of-offset, not both") }
        if let asOfOffset, asOfOffset < 0 { throw ValidationError("--as-of-offset must be ≥ 0") }
    }

    var time: EventTime? {
        get throws { try parseTime(asOf, option: "--as-of") }
    }

    /// The offset the answer is folded up to.
    func end(in engine: CRMEngine) throws -> Int64 {
        try time.map { try engine.offset(after: $0) } ?? asOfOffset ?? engine.nextOffset
    }

    /// The state of projection `P` as the query asks: the newest snapshot, then the log up to the end.
    func state<P: Projection>(of projection: P.Type, engine: CRMEngine) throws -> P.State {
        var notices = [String]()
        let runner = try ProjectionRunner<P>.restore(engine: engine, upTo: try end(in: engine), notices: &notices)
        for notice in notices { warn("notice: \(notice)") }
        return KeptUntilExit.keep(runner.read { state, _ in state })
    }

    /// Opens the engine (for reading), reads projection `P` as the query asks, and closes it.
    func state<P: Projection>(of projection: P.Type, global: GlobalOptions) async throws -> P.State {
        let engine = try global.open(writing: false)
        let state = try self.state(of: projection, engine: engine)
        await engine.close()
        return state
    }

    /// The customer projection for a segment query, from the newest snapshot: at the head with `--as-of TIME`
    /// (the changes recorded up to TIME are what the log knew then, docs/segments.md, section 4), at the offset
    /// with `--as-of-offset`. Returns the state and the time to filter changes at.
    ///
    /// With `customer`, for a question about that customer only, the state may hold its profile alone, read out of
    /// a snapshot taken exactly at the offset answered at (docs/projections.md, section 4).
    func segmentState(
        engine: CRMEngine,
        onlyFor customer: String? = nil
    ) throws -> (state: CustomerProfiles.State, asOf: EventTime?) {
        let time = try self.time
        if let customer,
            let state = ProjectionRunner<CustomerProfiles>.stateOfOneCustomer(customer, engine: engine, at: asOfOffset),
            answersAt(time, clock: state.clock)
        {
            return (KeptUntilExit.keep(state), time)
        }
        return (try wholeSegmentState(engine: engine, time: time), time)
    }

    /// Every customer's memberships for a segment query over every customer (members, sizes, the list): out of
    /// a snapshot taken exactly at the offset answered at when there is one, without its profiles
    /// (docs/projections.md, section 4); otherwise the whole state, as ``segmentState(engine:onlyFor:)``.
    func segmentMemberships(engine: CRMEngine) throws -> (memberships: any SegmentMembershipSource, asOf: EventTime?) {
        let time = try self.time
        if let memberships = ProjectionRunner<CustomerProfiles>.segmentMemberships(engine: engine, at: asOfOffset),
            answersAt(time, clock: memberships.clock)
        {
            return (KeptUntilExit.keep(memberships), time)
        }
        return (try wholeSegmentState(engine: engine, time: time), time)
    }

    /// Whether a state whose clock is `clock` answers at `time`: a time after the last event moves every
    /// customer's windows and rescores RFM, which needs the whole state.
    private func answersAt(_ time: EventTime?, clock: EventTime?) -> Bool {
        time.map { $0 <= (clock ?? $0) } ?? true
    }

    /// The whole customer projection, restored and caught up, its clock run to `time` when that is later.
    private func wholeSegmentState(engine: CRMEngine, time: EventTime?) throws -> CustomerProfiles.State {
        var notices = [String]()
        let end = asOfOffset.map { min($0, engine.nextOffset) }
        var state = try ProjectionRunner<CustomerProfiles>.restore(engine: engine, upTo: end, notices: &notices)
            .read { state, _ in state }
        for notice in notices { warn("notice: \(notice)") }
        if let time, time > (state.clock ?? time) { CustomerProfiles.advance(&state, to: time) }
        return KeptUntilExit.keep(state)
    }
}

/// `--from TIME --to TIME`: the period a report covers (both ends included; `--to` defaults to `--as-of`).
struct PeriodOptions: ParsableArguments {
    @Option(help: "From this time on (RFC 3339).") var from: String?
    @Option(help: "Up to this time (RFC 3339; default: --as-of, else everything).") var to: String?

    func period(asOf: AsOfOptions) throws -> TimePeriod {
        TimePeriod(
            from: try parseTime(from, option: "--from"),
            to: try parseTime(to, option: "--to") ?? asOf.time
        )
    }
}
