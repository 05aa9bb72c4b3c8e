public import CRMModel

/// How the customer projection keeps segment memberships (docs/segments.md, section 3): definitions from the log,
/// each customer event re-evaluating that customer at the projection's clock, windows that pass as the clock
/// moves, and a monthly RFM rescoring.
extension CustomerProfiles {
    /// The window of the RFM groups that `rfm` rules read.
    public static let rfmWindow = SegmentWindow("365d")!

    // MARK: Time

    /// Re-evaluates, at their due instants and in (instant, customer) order, the customers a window changes up to
    /// `time`, then moves the clock there.
    public static func advanceClock(_ state: inout State, to time: EventTime) {
        let target = time.microseconds
        guard target > state.now else { return }
        // Most events find nobody due.
        guard state.due.hasEntry(atOrBefore: target) else {
            state.now = target
            return
        }
        // The catalog is lent, not copied: a copy retained and released each of its arrays.
        reevaluateDue(atOrBefore: target, profiles: &state.profiles, due: &state.due, catalog: state.segments)
        state.now = target
    }

    /// Re-evaluates the customers queued at or before `target`, in (instant, place) order.
    private static func reevaluateDue(
        atOrBefore target: Int64,
        profiles: inout ProfileTable,
        due: inout DueQueue,
        catalog: SegmentCatalog
    ) {
        while let entry = due.popDue(atOrBefore: target) {
            // No profile at the place: merged away since, the last one moved into its place (and queued there).
            let place = Int(entry.place)
            let scheduled = profiles.updateIfPresent(atPlace: place, passing: catalog) {
                profile,
                catalog -> Int64? in
                // Superseded by an earlier entry, or the place of another customer now (its own entry, at its
                // queued instant, is the one to take).
                guard profile.standing.queued == entry.at else { return nil }
                profile.standing.queued = .max
                if profile.standing.due == entry.at {
                    return reevaluate(&profile, catalog: catalog, at: entry.at, trigger: .window)
                }
                // The due instant moved later since this entry was queued: queue it there.
                return schedule(&profile)
            }
            if let scheduled = scheduled ?? nil { due.push(scheduled, place: place) }
        }
    }

    /// RFM groups are rescored at 00:00 UTC on the first of each month of event time.
    public static func populationStep(after clock: EventTime, through time: EventTime) -> EventTime? {
        // Asked whenever the clock moves, mostly within a day, after which no month can start before the next day:
        // the calendar is worked out only when the day changes (it was 1.3 % of a live catch-up's folding thread).
        if clock.daysSinceEpoch == time.daysSinceEpoch { return nil }
        let next = clock.startOfNextMonth
        return next <= time ? next : nil
    }

    /// Rescores every customer's RFM group at `instant` (quintile edges over every shard's customers), and
    /// re-evaluates the customers whose group changed when a live rule reads groups.
    public static func takePopulationStep(
        _ shards: UnsafeMutableBufferPointer<State>,
        at instant: EventTime,
        parallel: Bool
    ) {
        nonisolated(unsafe) let states = shards
        let parts = populationParts(of: shards, parallel: parallel)
        // Per part, each profile's facts by its place: worked out once, for the edges and for the groups. Each part
        // writes its own slot only.
        var facts = [[RFM.Facts?]](repeating: [], count: parts.count)
        facts.withUnsafeMutableBufferPointer { slots in
            nonisolated(unsafe) let slots = slots
            concurrentForEach(parts.count, parallel: parallel) { part in
                // Read field by field: copying whole profiles out of the table was most of a rescoring.
                slots[part] = states[parts[part].shard].profiles.withValues { profiles in
                    parts[part].range.map { index in
                        RFM.facts(
                            customer: profiles[index].id,
                            orders: profiles[index].orders,
                            at: instant,
                            window: rfmWindow
                        )
                    }
                }
            }
        }
        let edges = RFM.edges(facts, parallel: parallel)
        let catalogs = shards.indices.map { states[$0].segments }
        var scheduled = [[(due: Int64, place: Int)]](repeating: [], count: parts.count)
        withProfileBuffers(of: shards) { buffers in
            scheduled.withUnsafeMutableBufferPointer { slots in
                // Each part changes its own profiles and slot only.
                nonisolated(unsafe) let (buffers, slots) = (buffers, slots)
                let facts = facts
                concurrentForEach(parts.count, parallel: parallel) { part in
                    let (shard, range) = parts[part]
                    slots[part] = rescore(
                        buffers[shard],
                        range,
                        facts: facts[part],
                        edges: edges,
                        catalog: catalogs[shard],
                        at: instant
                    )
                }
            }
        }
        for (part, entries) in scheduled.enumerated() {
            for (due, place) in entries { states[parts[part].shard].due.push(due, place: place) }
        }
    }

    /// The parts of the profiles a population step works on, a task each: a shard each in a parallel rebuild; a lone
    /// state (live, as of) cut in two, so that a live catch-up's step does not leave the core that decodes idle
    /// (the monthly step was an eighth of the applying core's time). Cut whatever its size, so that the determinism
    /// tests' live folds take this path too.
    private static func populationParts(
        of shards: UnsafeMutableBufferPointer<State>,
        parallel: Bool
    ) -> [(shard: Int, range: Range<Int>)] {
        guard shards.count == 1, parallel, shards[0].profiles.count >= 2 else {
            return shards.indices.map { ($0, 0..<shards[$0].profiles.count) }
        }
        let count = shards[0].profiles.count
        return [(0, 0..<count / 2), (0, count / 2..<count)]
    }

    /// Calls `body` with the profiles of every shard where they lie, in shard order.
    private static func withProfileBuffers<Result>(
        of shards: UnsafeMutableBufferPointer<State>,
        from shard: Int = 0,
        taken: [UnsafeMutableBufferPointer<CustomerProfile>] = [],
        _ body: ([UnsafeMutableBufferPointer<CustomerProfile>]) -> Result
    ) -> Result {
        guard shard < shards.count else { return body(taken) }
        return shards[shard].profiles.withMutableValues { buffer in
            withProfileBuffers(of: shards, from: shard + 1, taken: taken + [buffer], body)
        }
    }

    /// Rescores the profiles at `range` of `profiles`; `facts`: each one's, in the same order. Returns the due
    /// instants to queue customers at, with their places.
    private static func rescore(
        _ profiles: UnsafeMutableBufferPointer<CustomerProfile>,
        _ range: Range<Int>,
        facts: [RFM.Facts?],
        edges: [String: RFM.Edges],
        catalog: SegmentCatalog,
        at instant: EventTime
    ) -> [(due: Int64, place: Int)] {
        var scheduled = [(due: Int64, place: Int)]()
        let readsRFM = catalog.readsRFM
        // Customers of one currency follow each other: its edges are looked up again only when it changes.
        var currencyEdges: (code: String, edges: RFM.Edges?)?
        for (index, facts) in zip(range, facts) {
            var group: UInt8 = 0
            if let facts {
                let code = facts.monetary.currency.code
                if currencyEdges?.code != code { currencyEdges = (code, edges[code]) }
                if let edges = currencyEdges?.edges { group = UInt8(edges.groupNumber(facts) + 1) }
            }
            guard group != profiles[index].standing.rfmGroup else { continue }
            profiles[index].standing.rfmGroup = group
            if readsRFM,
                let due = reevaluate(&profiles[index], catalog: catalog, at: instant.microseconds, trigger: .rescored)
            {
                scheduled.append((due, index))
            }
        }
        return scheduled
    }

    // MARK: Definitions

    static func define(_ name: String, definition: JSONObject, description: String?, in state: inout State) {
        let at = EventTime(microseconds: state.now)
        let earlier = state.segments
        // A refused definition is recorded in the catalog and changes nobody.
        guard state.segments.define(name, definition: definition, description: description, at: at) else { return }
        moveSlots(in: &state, since: earlier)
        reevaluateEveryone(&state, trigger: .defined)
    }

    static func remove(_ name: String, from state: inout State) {
        guard let generation = state.segments.live[name], let slot = state.segments.slots[name] else { return }
        let earlier = state.segments
        state.segments.remove(name, at: EventTime(microseconds: state.now))
        let at = EventTime(microseconds: state.now)
        state.profiles.withMutableValues { profiles in
            for index in profiles.indices where profiles[index].standing.live.contains(slot) {
                profiles[index].standing.record(
                    MembershipChange(at: at, generation: generation, entered: false, trigger: .removed)
                )
            }
        }
        // Drops the removed segment's bit too.
        moveSlots(in: &state, since: earlier)
        // Rules that referred to it now see it empty.
        let catalog = state.segments
        if catalog.live.values.contains(where: { catalog.generations[$0].rule.referencedSegments.contains(name) }) {
            reevaluateEveryone(&state, trigger: .defined)
        }
    }

    /// Moves every customer's memberships to the slots of the catalog now, from those of `earlier` (the catalog
    /// before a definition or a removal).
    private static func moveSlots(in state: inout State, since earlier: SegmentCatalog) {
        guard let moves = state.segments.slotMoves(since: earlier) else { return }
        state.profiles.withMutableValues { profiles in
            for index in profiles.indices where !profiles[index].standing.live.isEmpty {
                profiles[index].standing.live = profiles[index].standing.live.remapped(moves)
            }
        }
    }

    private static func reevaluateEveryone(_ state: inout State, trigger: MembershipChange.Trigger) {
        let catalog = state.segments
        let now = state.now
        let scheduled = state.profiles.withMutableValues { profiles in
            profiles.indices.compactMap { index -> (due: Int64, place: Int)? in
                reevaluate(&profiles[index], catalog: catalog, at: now, trigger: trigger).map { ($0, index) }
            }
        }
        for (due, place) in scheduled { state.due.push(due, place: place) }
    }

    // MARK: One customer

    /// Runs `body` on the profile of the customer an event names (created if new) in place, with the catalog and
    /// the clock; also gives the profile's place. The profile is that of the id `customer` resolves to, when it was
    /// merged away (``IdentifiedTable/update(customer:hash:identities:default:passing:applying:)``); `hash` is
    /// `customer`'s. Inlined: called, its closure held the event, which the fold then copied for every event
    /// (`scripts/outlined-copies.sh`).
    @inline(__always)
    static func withProfile<Result>(
        ofCustomer customer: String,
        hash: Int,
        in state: inout State,
        _ body: (inout CustomerProfile, SegmentCatalog, Int64) -> Result
    ) -> (result: Result, place: Int) {
        state.profiles.update(
            customer: customer,
            hash: hash,
            identities: state.identities,
            default: { CustomerProfile(id: $0) },
            passing: (state.segments, state.now),
            applying: { body(&$0, $1.0, $1.1) }
        )
    }

    /// Queues the profile at `place` again, at the instant it is queued at (if it is): a merge moved it there, and
    /// its entries in the due queue name the place it left.
    static func requeue(at place: Int, in state: inout State) {
        let queued = state.profiles[place: place].standing.queued
        if queued != .max { state.due.push(queued, place: place) }
    }

    /// The memberships of an id merged into `survivor` end.
    static func endMemberships(
        of merged: inout CustomerProfile,
        mergedInto survivor: String,
        catalog: SegmentCatalog,
        at now: Int64
    ) {
        for name in merged.standing.segments(in: catalog) {
            guard let generation = catalog.live[name] else { continue }
            merged.standing.record(
                MembershipChange(
                    at: EventTime(microseconds: now),
                    generation: generation,
                    entered: false,
                    trigger: .mergedInto,
                    other: survivor
                )
            )
        }
        merged.standing.live = LiveSegments()
    }

    /// Decides the customer's live segments at `now` (only those an event of `onlyType` can change, when given),
    /// records each change with its reason, and works out when a window next changes the customer.
    /// `recorded`: the facts the event of `onlyType` added, when the customer was decided before it (of a touch
    /// event, only the rules its touch fact can change are decided).
    /// - Returns: the instant to queue the customer at, if it is earlier than the one it is queued at.
    static func reevaluate(
        _ profile: inout CustomerProfile,
        catalog: SegmentCatalog,
        at now: Int64,
        trigger: MembershipChange.Trigger,
        eventType: UInt8 = 0,
        other: String? = nil,
        onlyType: UInt8? = nil,
        recorded: SegmentStanding.RecordedFacts? = nil
    ) -> Int64? {
        var members = profile.standing.live
        // Time passing changes only the rules over a window that a fact leaves at this instant, and the rules that
        // read a segment which changed before them in this pass (deciding every windowed rule again was 5 % of a
        // rebuild: most passes change one). A pass adds no fact: the due instant after it is known before it.
        var windowsLeft: UInt64? = nil
        var dueAfterPass: Int64? = nil
        if trigger == .window, !catalog.windowed.isEmpty {
            var leaving: UInt64 = 0
            dueAfterPass = profile.nextDue(after: now, windows: catalog.windowed, leavingNow: &leaving)
            if !catalog.windowBits.isEmpty { windowsLeft = leaving }
        }
        var changed = false
        for (position, generation) in catalog.evaluationOrder.enumerated() {
            if let onlyType, !catalog.triggers[position].contains(onlyType) { continue }
            if let onlyType, let touch = recorded?.touch,
                !catalog.touchFilters[position].admits(type: onlyType, channel: touch.channel, campaign: touch.campaign)
            {
                continue
            }
            // A new RFM group changes only the rules that read groups: the clock was advanced to the step first,
            // so every other rule was decided at this instant already (deciding them all again was a third of the
            // monthly step).
            if trigger == .rescored, !catalog.rescorable[position] { continue }
            if trigger == .window {
                guard catalog.timed[position] else { continue }
                if let windowsLeft, catalog.windowBits[position] & windowsLeft == 0,
                    !(changed && catalog.readsSegments[position])
                {
                    continue
                }
            }
            // Lent, not retained: the catalog holds it for the whole pass (a retain and a release per rule decided).
            let rule = Unmanaged.passUnretained(catalog.compiled[position])
            let holds = rule._withUnsafeGuaranteedRef { profile.holds($0, at: now, members: members) }
            let slot = catalog.evaluationSlots[position]
            guard holds != members.contains(slot) else { continue }
            changed = true
            if holds {
                members.insert(slot)
            } else {
                members.remove(slot)
            }
            let cause: CustomerProfile.Cause =
                switch trigger {
                case .window: .time
                case .event: .event(eventType)
                default: .other
                }
            let decided = rule._withUnsafeGuaranteedRef {
                profile.decidingNode($0, outcome: holds, at: now, members: members, cause: cause)
            }
            profile.standing.record(
                MembershipChange(
                    at: EventTime(microseconds: now),
                    generation: generation,
                    entered: holds,
                    trigger: trigger,
                    eventType: eventType,
                    node: decided.node,
                    nodeHolds: decided.holds,
                    other: other
                )
            )
        }
        profile.standing.live = members
        if catalog.windowed.isEmpty {
            profile.standing.due = .max
        } else if let dueAfterPass {
            profile.standing.due = dueAfterPass
        } else if trigger == .rescored, profile.standing.due > now {
            // No fact was added, and none left a window since the due instant was worked out (it is later): it
            // stands.
        } else if let recorded, profile.standing.due > now,
            let exit = recorded.earliestExit(
                after: now,
                windows: catalog.windowed,
                amountsMayReadNewestFirst: profile.standing.amounts.mayReadNewestFirst
            )
        {
            // The facts before the event leave their windows when they did; only the new ones can come first.
            profile.standing.due = min(profile.standing.due, exit)
        } else {
            profile.standing.due = profile.nextDue(after: now, windows: catalog.windowed)
        }
        return schedule(&profile)
    }

    /// Queues the customer at its due instant unless it already is queued at or before it.
    private static func schedule(_ profile: inout CustomerProfile) -> Int64? {
        guard profile.standing.due < profile.standing.queued else { return nil }
        profile.standing.queued = profile.standing.due
        return profile.standing.due
    }
}
