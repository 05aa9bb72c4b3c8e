public import CRMProjections

extension ProjectionRunner where P == CustomerProfiles {
    /// The customer projection at `offset` (default: the head) with only `customer`'s profile in it (its
    /// survivor's, for a merged id), read out of the snapshot taken at exactly that offset without reading the
    /// other profiles (docs/projections.md, section 4, "One customer out of a snapshot"). It answers that
    /// customer's profile, segments, segment history and RFM group, and holds every part of the state but the
    /// other profiles: read it, do not fold events into it. Nil when no snapshot was taken there or when
    /// one of its blocks is damaged: ``restore(engine:upTo:notices:)`` then reads the whole state, and reports and
    /// deletes a damaged snapshot.
    public static func stateOfOneCustomer(
        _ customer: String,
        engine: CRMEngine,
        at offset: Int64? = nil
    ) -> CustomerProfiles.State? {
        let end = min(offset ?? engine.nextOffset, engine.nextOffset)
        guard let blocks = engine.snapshots.blocks(projection: P.name, version: P.version, at: end) else { return nil }
        return try? CustomerProfiles.State(readingOnly: customer, from: blocks)
    }

    /// Every customer's memberships at `offset` (default: the head), with the segment catalog, identities and
    /// clock, read out of the snapshot taken at exactly that offset without reading the profiles
    /// (docs/projections.md, section 4): it answers the segment queries over every customer (members, sizes, the
    /// list), as of any time up to its clock. Nil as for ``stateOfOneCustomer(_:engine:at:)``.
    public static func segmentMemberships(engine: CRMEngine, at offset: Int64? = nil) -> SegmentMemberships? {
        let end = min(offset ?? engine.nextOffset, engine.nextOffset)
        guard let blocks = engine.snapshots.blocks(projection: P.name, version: P.version, at: end) else { return nil }
        return try? SegmentMemberships(readingFrom: blocks)
    }

    /// `customer`'s profile from the events before `end` of the ids in `group` (its identity group, e.g.
    /// ``IdentityMap/group(of:)`` of a state at or after `end`), folded from their histories without touching this
    /// runner: exact, since a profile depends only on the events of its group. Nil when they have no events.
    public func profile(of customer: String, group: [String], before end: Int64) throws(CRMError) -> CustomerProfile? {
        // A history holds the events of the ids merged into its customer too: each event is kept once.
        var events = [Int64: StoredEvent]()
        for id in group {
            for stored in try engine.history(of: id) where stored.offset < end { events[stored.offset] = stored }
        }
        return fold(Array(events.values)) { $0.profile(of: customer) }
    }
}
