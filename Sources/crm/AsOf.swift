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

    /// What a segment query reads of the customer projection.
    enum SegmentStatePart {
        /// Every profile.
        case whole
        /// One customer's profile (its survivor's, for a merged id) may be enough.
        case oneCustomer(String)
        /// Every customer's memberships may be enough (members, sizes, the list).
        case memberships
    }

    /// The customer projection for a segment query, from the newest snapshot: at the head with `--as-of TIME`
    /// (the changes recorded up to TIME are what the log knew then, docs/segments.md, section 4), at the offset
    /// with `--as-of-offset`. Returns the state and the time to filter changes at.
    ///
    /// With a `part` other than `.whole`, the state may hold only that part of the profiles, read out of a snapshot
    /// taken exactly at the offset answered at (docs/projections.md, section 4).
    func segmentState(
        engine: CRMEngine,
        reading part: SegmentStatePart = .whole
    ) throws -> (state: CustomerProfiles.State, asOf: EventTime?) {
        let time = try self.time
        var notices = [String]()
        let end = asOfOffset.map { min($0, engine.nextOffset) }
        let partial: CustomerProfiles.State? =
            switch part {
            case .whole: nil
            case .oneCustomer(let customer):
                ProjectionRunner<CustomerProfiles>.stateOfOneCustomer(customer, engine: engine, at: end)
            case .memberships: ProjectionRunner<CustomerProfiles>.stateOfMemberships(engine: engine, at: end)
            }
        // A time after the last event moves every customer's windows and rescores RFM: that needs the whole state.
        if let partial, time.map({ $0 <= (partial.clock ?? $0) }) ?? true {
            return (KeptUntilExit.keep(partial), time)
        }
        var state = try ProjectionRunner<CustomerProfiles>.restore(engine: engine, upTo: end, notices: &notices)
            .read { state, _ in state }
        for notice in notices { warn("notice: \(notice)") }
        // A time after the last event: let the clock run to it (windows pass, RFM is rescored).
        if let time, time > (state.clock ?? time) { CustomerProfiles.advance(&state, to: time) }
        return (KeptUntilExit.keep(state), time)
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
