public import CRMModel

/// Every customer's memberships (live segments and changes) with the catalog, the identities and the clock, and
/// nothing else of the profiles: read out of a customer snapshot without reading its profiles (docs/projections.md,
/// section 4), it answers the questions about every customer's segments (members, sizes, the list) as of any time
/// up to its clock. A state holding a profile per customer for this was most of such a query: 710,000 values of
/// 360 bytes, and a table from id to place.
public struct SegmentMemberships: SegmentMembershipSource {
    public let segments: SegmentCatalog
    public let identities: IdentityMap
    public let clock: EventTime?
    /// The customers, as many as there were profiles.
    public let count: Int
    /// In id order, in the snapshot's chunks.
    private let chunks: [[(key: String, value: SegmentStanding.Memberships)]]

    /// Reads the head and the memberships section of a customer projection's state (version 5 on).
    package init(readingFrom bytes: some StateBytes) throws(EventDecodingError) {
        var head = CustomerProfiles.State()
        let (section, _, _) = try head.readHead(from: bytes)
        segments = head.segments
        identities = head.identities
        clock = head.clock
        (count, chunks) = try bytes.withBytes(in: section) { raw throws(EventDecodingError) in
            var reader = BinaryReader(raw)
            let read = try CustomerProfiles.State.readMemberships(&reader)
            guard reader.isAtEnd else { throw EventDecodingError(reason: "bytes follow the memberships") }
            return read
        }
    }

    public func forEachCustomer(_ body: (_ id: String, _ segments: [String], _ changes: MembershipHistory) -> Void) {
        for chunk in chunks {
            for (id, memberships) in chunk { body(id, memberships.segments, memberships.changes) }
        }
    }
}
