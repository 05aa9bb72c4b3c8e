import CRMModel

/// Rules evaluated for one customer at an instant (docs/segments.md, section 2). Windows end at the instant and
/// include it; they start `window` before it, exclusive.
///
/// The evaluations change nothing but are `mutating`, so that the profile is passed by its address: called on a
/// profile in the table, a non-mutating method was given a copy of the whole profile (186 bytes then) for every rule
/// decided.
extension CustomerProfile {
    /// Whether node `node` of `rule` (the whole rule by default) holds at `now`, given the segments already
    /// decided in this pass (`members`).
    mutating func holds(_ rule: CompiledRule, node: Int = 0, at now: Int64, members: LiveSegments) -> Bool {
        switch rule.tests[node] {
        case .all:
            var child = node + 1
            while child < rule.ends[node] {
                if !holds(rule, node: child, at: now, members: members) { return false }
                child = rule.ends[child]
            }
            return true
        case .any:
            var child = node + 1
            while child < rule.ends[node] {
                if holds(rule, node: child, at: now, members: members) { return true }
                child = rule.ends[child]
            }
            return false
        case .not: return !holds(rule, node: node + 1, at: now, members: members)
        case .count(let tag, let window, let comparison, let value):
            let start = now - window
            let count =
                tag == SegmentStanding.touchpointTag
                ? Self.count(standing.touches, after: start, upTo: now, comparison, value) { $0.isTouchpoint }
                : Self.count(standing.events, after: start, upTo: now, comparison, value) { $0.type == tag }
            return comparison.holds(count, value)
        case .sum(let metric, let window, let currency, let comparison, let value):
            let start = now - window
            var total: Int64 = 0
            standing.amounts.read(after: start) { fact in
                if fact.at <= now && fact.currency == currency { total += fact.contribution(to: metric) }
                return true
            }
            return comparison.holds(total, value)
        case .consent(let channel): return consent[rule.strings[channel]]?.granted == true
        case .country(let codes): return $country.vocabularyNumber.map(rule.wordLists[codes].contains) ?? false
        case .city(let names): return city.map(rule.lists[names].contains) ?? false
        case .touchedChannel(let channel, let window):
            let start = window.map { now - $0 } ?? .min
            return standing.touches.contains(within: start, now) { $0.channel == channel }
        case .touchedCampaign(let campaign, let window):
            let start = window.map { now - $0 } ?? .min
            return standing.touches.contains(within: start, now) { $0.campaign == campaign }
        case .subscribed(let target): return subscriptions.contains(rule.strings[target])
        case .rfm(let groups): return standing.rfmGroup != 0 && groups & (1 << standing.rfmGroup) != 0
        case .inSegment(let slot): return members.contains(slot)
        }
    }

    /// The facts of `list` after `start` and at or before `now` that are `counted`, read only until more cannot
    /// change how the count compares with `value`.
    private static func count<Fact: PackedFact>(
        _ list: TimedFacts.List<Fact>,
        after start: Int64,
        upTo now: Int64,
        _ comparison: SegmentRule.Comparison,
        _ value: Int64,
        where counted: (Fact) -> Bool
    ) -> Int64 {
        var count: Int64 = 0
        list.read(after: start) { fact in
            guard fact.at <= now && counted(fact) else { return true }
            count += 1
            return !comparison.isSettled(counting: count, against: value)
        }
        return count
    }

    /// What made the projection look at the customer, for choosing which rule to name in a reason.
    enum Cause {
        /// Time passed: the rules whose value just changed are those that differ a microsecond earlier.
        case time
        /// An event of this type: the rules that read it.
        case event(UInt8)
        case other
    }

    /// The node that decides the outcome `outcome` of node `node` of `rule` (the whole rule by default), by its
    /// number in the rule's preorder, and what that node evaluates to: the first false member of a failing `all`,
    /// the first true member of a passing `any`; when every member agrees, the first that `cause` can have changed
    /// (else the first).
    mutating func decidingNode(
        _ rule: CompiledRule,
        node: Int = 0,
        outcome: Bool,
        at now: Int64,
        members: LiveSegments,
        cause: Cause
    ) -> (node: Int, holds: Bool) {
        switch rule.tests[node] {
        case .all, .any:
            let isAll = if case .all = rule.tests[node] { true } else { false }
            // An `all` that fails and an `any` that passes are decided by one member; otherwise every member agrees.
            let decidedByOne = outcome == !isAll
            var child = node + 1
            while child < rule.ends[node] {
                let decides =
                    decidedByOne
                    ? holds(rule, node: child, at: now, members: members) == outcome
                    : mayHaveChanged(rule, node: child, cause: cause, at: now, members: members)
                if decides {
                    return decidingNode(rule, node: child, outcome: outcome, at: now, members: members, cause: cause)
                }
                child = rule.ends[child]
            }
            return decidingNode(rule, node: node + 1, outcome: outcome, at: now, members: members, cause: cause)
        case .not:
            return decidingNode(rule, node: node + 1, outcome: !outcome, at: now, members: members, cause: cause)
        default:
            return (node, outcome)
        }
    }

    /// Whether the value of node `node` of `rule` can have been changed by `cause`.
    private mutating func mayHaveChanged(
        _ rule: CompiledRule,
        node: Int,
        cause: Cause,
        at now: Int64,
        members: LiveSegments
    ) -> Bool {
        switch cause {
        case .time:
            holds(rule, node: node, at: now - 1, members: members) != holds(rule, node: node, at: now, members: members)
        case .event(let type): rule.triggers[node].contains(type)
        case .other: false
        }
    }

    /// The next instant after `now` at which a fact leaves the window of a live rule, or `Int64.max`. `windows`
    /// are grouped by the list they read (``SegmentCatalog/windowed``).
    mutating func nextDue(after now: Int64, windows: [SegmentCatalog.WindowedFacts]) -> Int64 {
        var ignored: UInt64 = 0
        return nextDue(after: now, windows: windows, leavingNow: &ignored)
    }

    /// ``nextDue(after:windows:)``, also setting in `leavingNow` the bit of each of the first 64 windows that a fact
    /// leaves at exactly `now`: the windows whose rules time passing can change at that instant (a fact leaves a
    /// window `window` after it happened; it never enters one as time passes). Read in the same pass over the
    /// facts: a fact leaving at `now` comes before the first one leaving after it.
    mutating func nextDue(
        after now: Int64,
        windows: [SegmentCatalog.WindowedFacts],
        leavingNow: inout UInt64
    ) -> Int64 {
        var scan = ExitScan(now: now, windows: windows)
        let lists = SegmentCatalog.WindowedFacts.lists(of: windows)
        scan.readEarliestExits(standing.events, of: lists.events)
        scan.readEarliestExits(standing.amounts, of: lists.amounts)
        scan.readEarliestExits(standing.touches, of: lists.touches)
        leavingNow = scan.leaving
        return scan.due
    }
}

/// The earliest exits of a customer's facts from the windows over them
/// (``CustomerProfile/nextDue(after:windows:leavingNow:)``). A struct with a method rather than a local function:
/// a local function's captured variables, written by the closure that reads the facts, were checked for exclusive
/// access at run time on every fact (perf of a live catch-up: 2.8 % of the samples in those checks, 0.9 % after).
private struct ExitScan {
    let now: Int64
    let windows: [SegmentCatalog.WindowedFacts]
    /// The earliest exit after `now` found so far.
    var due = Int64.max
    /// The bits of the first 64 windows that a fact leaves at exactly `now`.
    var leaving: UInt64 = 0

    /// Facts are in time order: a window's first matching fact still inside it leaves it first. Each list is read
    /// once for the windows over it (a reading decodes every fact's varints; a reading per window was 4 % of a
    /// rebuild), oldest first until each of them has found its fact, or newest first back to the start of the
    /// longest of them when the list is long and that start is recent (``TimedFacts/List/readsNewestFirst(after:)``):
    /// read from the first fact, a customer with years of history took most of a rebuild. A window is a bit of
    /// `open`; beyond 64 windows over one list, each further 64 take another reading.
    mutating func readEarliestExits<Fact: WindowedFact>(_ facts: TimedFacts.List<Fact>, of windowsOverIt: Range<Int>) {
        guard !windowsOverIt.isEmpty else { return }
        // The longest window is looked for only when the list is long enough for its span to be looked at.
        let newestFirst = facts.readsNewestFirst(
            after: now - windows[windowsOverIt].lazy.map(\.window.microseconds).max()!
        )
        for first in stride(from: windowsOverIt.lowerBound, to: windowsOverIt.upperBound, by: 64) {
            let count = min(64, windowsOverIt.upperBound - first)
            let all = count == 64 ? UInt64.max : (UInt64(1) << UInt64(count)) - 1
            readExits(facts, windows: first, open: all, newestFirst: newestFirst)
        }
    }

    /// One reading for up to 64 windows, the bits of `open`. Oldest first, a window closes at its first matching
    /// fact still inside it, which leaves it first. Newest first, every matching fact inside it is a candidate (the
    /// earliest of them leaves first); the window closes at the first fact that left it before `now`, since every
    /// fact before that one did too, or, for a count, at its `depth`-th matching fact inside it
    /// (``SegmentCatalog/WindowedFacts/Settling/count(depth:)``): the facts before that one leave earlier, but while
    /// that one is inside, the count stays at or above `depth`, where no rule over the window changes. So a customer
    /// with a long history is due when a rule over it can change, not each time one of its facts leaves a window. A
    /// new fact never makes that instant earlier than its own exit (it makes the fact `depth` from the newest a later
    /// one, or adds a candidate), so an event can still move a due instant by its own facts alone
    /// (``SegmentStanding/RecordedFacts/earliestExit(after:windows:amountsMayReadNewestFirst:)``). A `sum`'s window
    /// reads to its start: an amount is a candidate when the totals with it and without it (of it and the newer
    /// amounts) come out differently, since the sum's outcome changes as it leaves. A new amount changes every total,
    /// so an event that adds one works the due instant out again.
    private mutating func readExits<Fact: WindowedFact>(
        _ facts: TimedFacts.List<Fact>,
        windows first: Int,
        open: UInt64,
        newestFirst: Bool
    ) {
        let (now, windows) = (now, windows)
        var (due, leaving, open) = (due, leaving, open)
        // A count or total per window, kept only newest first.
        let kept = newestFirst ? 64 - open.leadingZeroBitCount : 0
        withUnsafeTemporaryAllocation(of: Int64.self, capacity: kept) { inside in
            inside.initialize(repeating: 0)
            facts.read(newestFirst: newestFirst) { fact in
                var bits = open
                while bits != 0 {
                    let bit = bits.trailingZeroBitCount
                    bits &= bits - 1
                    let window = windows[first + bit]
                    let exit = fact.at + window.window.microseconds
                    if exit < now {
                        if newestFirst { open &= ~(UInt64(1) << UInt64(bit)) }
                        continue
                    }
                    guard fact.isCounted(by: window.source) else { continue }
                    if exit > now {
                        if !newestFirst {
                            due = min(due, exit)
                            open &= ~(UInt64(1) << UInt64(bit))
                        } else if fact.at > now {
                            // Not inside the window yet: only facts inside it count toward its depth or total.
                            due = min(due, exit)
                        } else {
                            switch window.settling {
                            case .sum(let test):
                                // `inside` holds the total of the newer facts: this one's leaving changes the sum's
                                // outcome when the totals with it and without it compare differently.
                                let newer = inside[bit]
                                inside[bit] += fact.amount(for: test.metric)
                                if test.holds(newer) != test.holds(inside[bit]) { due = min(due, exit) }
                            case .count(let depth):
                                due = min(due, exit)
                                inside[bit] += 1
                                if inside[bit] >= depth { open &= ~(UInt64(1) << UInt64(bit)) }
                            }
                        }
                    } else if first + bit < 64 {
                        leaving |= 1 << UInt64(first + bit)
                    }
                }
                return open != 0
            }
        }
        (self.due, self.leaving) = (due, leaving)
    }
}

extension SegmentStanding.RecordedFacts {
    /// The earliest instant after `now` at which one of these facts leaves a window of `windows`, or `Int64.max`.
    /// A customer's due instant after an event is the earlier of this and its due instant before it, while that is
    /// still after `now`: the facts before are the same, and so are their exits. A new fact never brings a window's
    /// instant earlier than its own exit (``ExitScan``), but for an amount where a `sum` is over the windows and the
    /// customer's amounts may have been read newest first (`amountsMayReadNewestFirst`): it changes every total
    /// there. Then nil: the instant is worked out again from all the facts. (A short list never was read newest
    /// first: lists only grow. Whether a long one was cannot be told now: the middle of its span moves with the new
    /// fact's time.)
    func earliestExit(
        after now: Int64,
        windows: [SegmentCatalog.WindowedFacts],
        amountsMayReadNewestFirst: Bool
    ) -> Int64? {
        if amount != nil, amountsMayReadNewestFirst, windows.contains(where: \.isSum) { return nil }
        var exit = Int64.max
        for window in windows {
            // The facts of one event share its time.
            let leaves = event.at + window.window.microseconds
            guard leaves > now, leaves < exit else { continue }
            let counted =
                switch window.source.list {
                case .events: event.isCounted(by: window.source)
                case .amounts: amount?.isCounted(by: window.source) ?? false
                case .touches: touch?.isCounted(by: window.source) ?? false
                }
            if counted { exit = leaves }
        }
        return exit
    }
}

/// A fact that windowed rules read: whether a window's source counts it, and what it adds to a `sum`.
protocol WindowedFact: PackedFact {
    func isCounted(by source: SegmentCatalog.WindowedFacts.Source) -> Bool
    func amount(for metric: SegmentRule.SumMetric) -> Int64
}

extension WindowedFact {
    func amount(for metric: SegmentRule.SumMetric) -> Int64 { 0 }
}

extension SegmentStanding.EventFact: WindowedFact {
    func isCounted(by source: SegmentCatalog.WindowedFacts.Source) -> Bool {
        if case .events(let tag) = source { type == tag } else { false }
    }
}

extension SegmentStanding.AmountFact: WindowedFact {
    func isCounted(by source: SegmentCatalog.WindowedFacts.Source) -> Bool {
        if case .amounts(let currency) = source { self.currency == currency } else { false }
    }

    func amount(for metric: SegmentRule.SumMetric) -> Int64 { contribution(to: metric) }
}

extension SegmentStanding.TouchFact: WindowedFact {
    func isCounted(by source: SegmentCatalog.WindowedFacts.Source) -> Bool {
        switch source {
        case .channel(let channel): self.channel == channel
        case .campaign(let campaign): self.campaign == campaign
        case .touchpoints: isTouchpoint
        default: false
        }
    }
}

extension SegmentRule.Comparison {
    /// Whether the comparison of a count with `value` comes out the same for this count and for any larger one:
    /// counting, which only adds, can stop there whichever way the facts are read.
    func isSettled(counting count: Int64, against value: Int64) -> Bool {
        count >= settlingCount(against: value)
    }

    /// The smallest count from which the comparison with `value` comes out the same for every larger count. As
    /// time passes a window's count only falls, so its outcome can first change when it falls below this: when
    /// the fact this many from the newest in the window leaves it (``SegmentCatalog/WindowedFacts/Settling/count(depth:)``).
    func settlingCount(against value: Int64) -> Int64 {
        switch self {
        case .greaterOrEqual, .less: max(0, value)
        // Saturating: a value of Int64.max never settles, and the window is read to its start.
        case .greater, .lessOrEqual, .equal, .notEqual: max(0, value == .max ? value : value + 1)
        }
    }
}
