import CRMModel

/// Rules evaluated for one customer at an instant (docs/segments.md, section 2). Windows end at the instant and
/// include it; they start `window` before it, exclusive.
extension CustomerProfile {
    /// Whether `rule` holds at `now`, given the segments already decided in this pass (`members`, sorted).
    func holds(_ rule: SegmentRule, at now: Int64, members: [String]) -> Bool {
        switch rule {
        case .all(let rules): return rules.allSatisfy { holds($0, at: now, members: members) }
        case .any(let rules): return rules.contains { holds($0, at: now, members: members) }
        case .not(let inner): return !holds(inner, at: now, members: members)
        case .count(let type, let window, let comparison, let value):
            let tag = UInt8(type.tag)
            let start = now - window.microseconds
            var count: Int64 = 0
            for fact in standing.events where fact.type == tag && fact.at > start && fact.at <= now { count += 1 }
            return comparison.holds(count, value)
        case .sum(let metric, let window, let comparison, let value):
            let start = now - window.microseconds
            let currency = Vocabulary.shared.number(of: value.currency.code)
            var total: Int64 = 0
            for fact in standing.amounts where fact.at > start && fact.at <= now && fact.currency == currency {
                total += fact.contribution(to: metric)
            }
            return comparison.holds(total, value.minorUnits)
        case .consent(let channel): return consent[channel]?.granted == true
        case .country(let codes): return country.map(codes.contains) ?? false
        case .city(let names): return city.map(names.contains) ?? false
        case .touchedChannel(let channel, let window):
            let start = window.map { now - $0.microseconds } ?? .min
            let channel = Vocabulary.shared.number(of: channel)
            return standing.touches.contains { $0.channel == channel && $0.at > start && $0.at <= now }
        case .touchedCampaign(let campaign, let window):
            let start = window.map { now - $0.microseconds } ?? .min
            let campaign = Vocabulary.shared.number(of: campaign)
            return standing.touches.contains { $0.campaign == campaign && $0.at > start && $0.at <= now }
        case .subscribed(let target): return subscriptions.contains(target)
        case .rfm(let groups): return standing.rfmGroupName.map(groups.contains) ?? false
        case .inSegment(let name): return SegmentStanding.contains(members, name)
        }
    }

    /// What made the projection look at the customer, for choosing which rule to name in a reason.
    enum Cause {
        /// Time passed: the rules whose value just changed are those that differ a microsecond earlier.
        case time
        /// An event of this type: the rules that read it.
        case event(UInt8)
        case other
    }

    /// The node that decides `rule`'s outcome `outcome`, by its number in `rule.nodes` (offset by `index`), and
    /// what that node evaluates to: the first false member of a failing `all`, the first true member of a
    /// passing `any`; when every member agrees, the first that `cause` can have changed (else the first).
    func decidingNode(
        _ rule: SegmentRule,
        outcome: Bool,
        at now: Int64,
        members: [String],
        cause: Cause,
        index: Int = 0
    ) -> (node: Int, holds: Bool) {
        switch rule {
        case .all(let rules), .any(let rules):
            let isAll = if case .all = rule { true } else { false }
            // An `all` that fails and an `any` that passes are decided by one member; otherwise every member agrees.
            let decidedByOne = outcome == !isAll
            var start = index + 1
            for member in rules {
                let decides =
                    decidedByOne
                    ? holds(member, at: now, members: members) == outcome
                    : mayHaveChanged(member, cause: cause, at: now, members: members)
                if decides {
                    return decidingNode(member, outcome: outcome, at: now, members: members, cause: cause, index: start)
                }
                start += member.nodes.count
            }
            return decidingNode(rules[0], outcome: outcome, at: now, members: members, cause: cause, index: index + 1)
        case .not(let inner):
            return decidingNode(inner, outcome: !outcome, at: now, members: members, cause: cause, index: index + 1)
        default:
            return (index, outcome)
        }
    }

    /// Whether `rule`'s value can have been changed by `cause`.
    private func mayHaveChanged(_ rule: SegmentRule, cause: Cause, at now: Int64, members: [String]) -> Bool {
        switch cause {
        case .time: holds(rule, at: now - 1, members: members) != holds(rule, at: now, members: members)
        case .event(let type): SegmentCatalog.triggers(of: rule).contains(type)
        case .other: false
        }
    }

    /// The next instant after `now` at which a fact leaves the window of a live rule, or `Int64.max`.
    func nextDue(after now: Int64, windows: [SegmentCatalog.WindowedFacts]) -> Int64 {
        var due = Int64.max
        // Facts are in time order: the first matching one still inside the window leaves it first.
        func earliestExit<Fact: TimedFact>(_ facts: [Fact], span: Int64, where matches: (Fact) -> Bool) {
            for fact in facts where fact.at + span > now && matches(fact) {
                due = min(due, fact.at + span)
                return
            }
        }
        for windowed in windows {
            let span = windowed.window.microseconds
            switch windowed.source {
            case .events(let tag): earliestExit(standing.events, span: span) { $0.type == tag }
            case .amounts(let currency): earliestExit(standing.amounts, span: span) { $0.currency == currency }
            case .channel(let channel): earliestExit(standing.touches, span: span) { $0.channel == channel }
            case .campaign(let campaign): earliestExit(standing.touches, span: span) { $0.campaign == campaign }
            }
        }
        return due
    }
}
