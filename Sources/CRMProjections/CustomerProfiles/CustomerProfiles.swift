public import CRMModel

/// The customer projection (docs/projections.md, docs/segments.md): one ``CustomerProfile`` per customer (the 360°
/// view), merged ids folded into their survivor, and the segments over those profiles: definitions, memberships
/// with their history, and RFM groups. Segments live in the same fold because their rules read the profiles; a
/// second projection would decode and look up every event twice.
public enum CustomerProfiles: ReadsAhead {
    public static let name = "customer-profiles"
    /// 3: segments, memberships and RFM groups. 4: profiles written in chunks (read and written on every core).
    /// 5: memberships in a section of their own, before the profiles. 6: the words of facts in a table in the head,
    /// named by their place; each fact's time from the one before; no touch counts (they are counted from the facts).
    /// 7: membership changes and timed facts written as they are packed in memory (but for the facts' words), each
    /// list after its byte count. 8: a customer's due instant is when a windowed rule can change, no longer each
    /// time a fact leaves a window (a state of version 7 would go on with its earlier instants, and so differ from
    /// a rebuild's); a touchpoint has a touch fact only, no event fact.
    public static let version: UInt32 = 8

    /// Profiles by customer id, the ids merged away, the segment definitions and the projection's clock.
    public struct State: StateReadInPieces {
        public internal(set) var profiles = ProfileTable()
        public var identities = IdentityMap()
        public internal(set) var segments = SegmentCatalog()
        /// The latest event time applied or advanced to (`Int64.min`: none yet).
        var now = Int64.min
        /// Customers by the instant a windowed rule can next change for them.
        var due = DueQueue()
        /// The words the profiles' facts have named, which the canonical bytes list once.
        var factWords = FactWords()
        /// What was read ahead for the customer a window changes next (``readAheadForDue(_:)``); not state.
        var dueAhead = DueReadAhead()

        public init() {}

        public var clock: EventTime? { now == .min ? nil : EventTime(microseconds: now) }

        /// The profile of `customer`, or of the customer it was merged into.
        public func profile(of customer: String) -> CustomerProfile? {
            profiles[identities.resolve(customer)]
        }

        public func serialize(into writer: inout BinaryWriter) {
            writer.int(now)
            segments.serialize(into: &writer)
            identities.serialize(into: &writer)
            let words = factWords.table()
            words.write(into: &writer)
            let liveNames = EncodedWords(segments.liveNames)
            // Both sections list the same ids in the same order: sorted once.
            let places = sortedOnTwoCores(profiles.places, by: \.key)
            profiles.withValues { stored in
                // Read through the pointer's `pointee`, which borrows: the array's subscript, and the buffer's,
                // copied each profile (a retain and a release of each of its references).
                nonisolated(unsafe) let first = stored.baseAddress
                // Profiles are visited in id order, scattered over memory: each one, and then what it holds, is
                // asked for a few profiles ahead (CanonicalEncoding's `chunkedMap`).
                func ahead(_ arrays: [Int]) -> @Sendable ((key: String, value: Int32), Int) -> Void {
                    { entry, stage in CustomerProfile.prefetch(first! + Int(entry.value), stage: stage, arrays: arrays)
                    }
                }
                // The memberships first, after their byte count, so that a reader of segments alone stops there and
                // a reader of one profile steps over them (docs/projections.md, section 4).
                writer.withByteCount { memberships in
                    memberships.chunkedMap(
                        sortedEntries: places,
                        key: \.key,
                        bytesPerEntry: 128,
                        prefetch: ahead(CustomerProfile.membershipArrays)
                    ) {
                        writer,
                        entry in
                        CustomerProfile.serializeMemberships(
                            first! + Int(entry.value),
                            into: &writer,
                            liveNames: liveNames
                        )
                    }
                }
                writer.chunkedMap(
                    sortedEntries: places,
                    key: \.key,
                    bytesPerEntry: 768,
                    prefetch: ahead(CustomerProfile.fieldArrays)
                ) {
                    writer,
                    entry in
                    CustomerProfile.serialize(first! + Int(entry.value), into: &writer, words: words)
                }
            }
        }

        /// The head first; then each chunk of profiles, on the core that reads it, alongside the same chunk of
        /// memberships (chunk boundaries depend only on the ids, which are the same in both sections), entry by
        /// entry: a pass over the memberships first made a String of every id and segment name and an array of
        /// every customer's. A snapshot decompresses each pair of chunks there, into buffers used before.
        public static func read(
            from bytes: some StateBytes,
            at start: Int
        ) throws(EventDecodingError) -> (state: State, end: Int) {
            var state = State()
            let (memberships, profilesStart, words) = try state.readHead(from: bytes, at: start)
            let membershipMap = try bytes.chunkedMap(at: memberships.lowerBound)
            guard membershipMap.end == memberships.upperBound else {
                let taken = membershipMap.end - memberships.lowerBound
                throw EventDecodingError(reason: "the memberships take \(taken) bytes, not \(memberships.count)")
            }
            let profileMap = try bytes.chunkedMap(at: profilesStart)
            guard membershipMap.chunks.count == profileMap.chunks.count else {
                let (chunks, profileChunks) = (membershipMap.chunks.count, profileMap.chunks.count)
                throw EventDecodingError(
                    reason: "the memberships are in \(chunks) chunks, the profiles in \(profileChunks)"
                )
            }
            let liveNames = EncodedWords(state.segments.liveNames)
            let read = try bytes.chunkedValues(of: profileMap, alongside: membershipMap, as: ValueBlock.self) {
                id,
                _,
                _,
                reader,
                memberships throws(EventDecodingError) in
                guard !memberships.isAtEnd else { throw EventDecodingError(reason: "profile \(id) has no memberships") }
                var memberID = id
                let sameID = try memberships.string(matching: id, other: &memberID)
                let (live, changes) = try SegmentStanding.readMemberships(from: &memberships, liveNames: liveNames)
                var profile = try CustomerProfile.deserialized(from: &reader, words: words, changes: changes)
                guard id == profile.id, sameID else {
                    throw EventDecodingError(reason: "profile \(profile.id) under \(id), memberships of \(memberID)")
                }
                profile.standing.live = live
                return profile
            } afterChunk: { chunk, memberships throws(EventDecodingError) in
                // Every profile found its memberships at its place, and no chunk of memberships has any left.
                guard memberships.isAtEnd else {
                    throw EventDecodingError(reason: "chunk \(chunk) of the memberships holds more than its profiles")
                }
            }
            guard membershipMap.count == read.count else {
                throw EventDecodingError(reason: "\(membershipMap.count) memberships for \(read.count) profiles")
            }
            try state.index(read)
            return (state, profileMap.end)
        }

        /// Takes the profiles read by ``read(from:at:)``, with their index by id and the due queue.
        private mutating func index(_ read: ValueBlock<CustomerProfile>) throws(EventDecodingError) {
            // The id index and the due queue each read the profiles alone: built one on each core (about half a
            // second on one core for 710,000 profiles, hashing and comparing ids).
            let built = concurrentMap(2) { part -> Restored in
                guard part == 0 else {
                    return .due(
                        withExtendedLifetime(read) { DueQueue(queuedInstantsOf: UnsafeBufferPointer(read.buffer)) }
                    )
                }
                return ProfileTable(read).map(Restored.table) ?? .duplicateID
            }
            for part in built {
                switch part {
                case .table(let table): profiles = table
                case .due(let queue): due = queue
                case .duplicateID: throw EventDecodingError(reason: "the same profile id appears twice")
                }
            }
        }

        /// What each core builds out of the restored profiles.
        private enum Restored: Sendable {
            case table(ProfileTable)
            case due(DueQueue)
            case duplicateID
        }

        /// The parts before the memberships: the clock, the segment definitions, the identities and the words of
        /// the facts; returns the table the profiles' facts are read with.
        private mutating func readHead(_ reader: inout BinaryReader) throws(EventDecodingError) -> FactWords.ReadTable {
            now = try reader.int()
            segments = try SegmentCatalog(deserializing: &reader)
            identities = try IdentityMap(deserializing: &reader)
            let words = try FactWords.ReadTable(deserializing: &reader)
            factWords = words.set
            return words
        }

        /// The head, then where the memberships section starts and where the profiles start after it, and the
        /// table the profiles' facts are read with. The byte count is read without checking it against the window
        /// `prefix` gives, which is smaller.
        mutating func readHead(
            from bytes: some StateBytes,
            at stateStart: Int = 0
        ) throws(EventDecodingError) -> (memberships: Range<Int>, profilesStart: Int, words: FactWords.ReadTable) {
            var head = State()
            let ((length, words), start) = try bytes.prefix(from: stateStart) { reader throws(EventDecodingError) in
                let words = try head.readHead(&reader)
                return (try reader.varint(), words)
            }
            guard length <= UInt64(bytes.count - start) else {
                throw EventDecodingError(reason: "the memberships (\(length) bytes) run past the end")
            }
            self = head
            let end = start + Int(length)
            return (start..<end, end, words)
        }

        /// The memberships section: per chunk, each customer's id and memberships, in id order.
        static func readMemberships(
            _ reader: inout BinaryReader
        ) throws(EventDecodingError) -> (count: Int, chunks: [[(key: String, value: SegmentStanding.Memberships)]]) {
            try reader.chunkedEntries { reader throws(EventDecodingError) in
                try SegmentStanding.Memberships(deserializing: &reader)
            }
        }

        /// The state with one profile in it, `customer`'s (its survivor's, for a merged id), read out of a state's
        /// bytes without reading the other profiles (docs/projections.md, section 4): it answers the queries about
        /// that customer (its profile, segments, segment history, RFM group). Every other part is whole. Not a
        /// state to fold events into or to save, which is why it is not public.
        package init(readingOnly customer: String, from bytes: some StateBytes) throws(EventDecodingError) {
            let (memberships, profilesStart, words) = try readHead(from: bytes)
            let id = identities.resolve(customer)
            let liveNames = EncodedWords(segments.liveNames)
            let joined = try bytes.chunkedEntry(of: id, at: memberships.lowerBound) {
                reader throws(EventDecodingError) in
                try SegmentStanding.readMemberships(from: &reader, liveNames: liveNames)
            }
            guard let joined else { return }
            let found = try bytes.chunkedEntry(of: id, at: profilesStart) { reader throws(EventDecodingError) in
                try CustomerProfile.deserialized(from: &reader, words: words, changes: joined.changes)
            }
            guard var profile = found else { throw EventDecodingError(reason: "memberships of \(id), no profile") }
            guard profile.id == id else { throw EventDecodingError(reason: "profile \(profile.id) under \(id)") }
            profile.standing.live = joined.live
            let place = profiles.store(profile)
            if profile.standing.queued != .max { due.push(profile.standing.queued, place: place) }
        }

        public mutating func absorb(_ shard: consuming State) {
            absorb(consume shard, parallel: false)
        }

        /// The profiles on one core, the identities and the due queue on the other, when `parallel`: they are
        /// independent, and the last merge of a rebuild's shards is otherwise one core's work.
        public mutating func absorb(_ shard: consuming State, parallel: Bool) {
            // The shard's profiles are taken out of it (swapped for an empty table) before the closures capture
            // the rest: a table no other holds gives its profiles up instead of having them copied.
            var theirProfiles = ProfileTable()
            swap(&theirProfiles, &shard.profiles)
            let (theirIdentities, theirDue) = (shard.identities, shard.due)
            // The shard's profiles follow these, each at its place plus this count, unless an id was held here too
            // (shards of a rebuild hold disjoint customers); then every profile is queued again.
            let placesAfter = profiles.count
            // Whether every profile was added: the profiles' part says.
            let addedEvery = withUnsafeMutablePointer(to: &profiles) { profiles in
                withUnsafeMutablePointer(to: &identities) { identities in
                    withUnsafeMutablePointer(to: &due) { due in
                        // Each part is written by one closure only.
                        nonisolated(unsafe) let (profiles, identities, due) = (profiles, identities, due)
                        return withUnsafeMutablePointer(to: &theirProfiles) { theirs in
                            nonisolated(unsafe) let theirs = theirs
                            return concurrentMap(2, parallel: parallel) { part in
                                guard part == 0 else {
                                    identities.pointee.absorb(theirIdentities)
                                    due.pointee.absorb(theirDue, placesAfter: placesAfter)
                                    return true
                                }
                                return profiles.pointee.absorb(taking: &theirs.pointee)
                            }[0]
                        }
                    }
                }
            }
            if !addedEvery { due = profiles.withValues { DueQueue(queuedInstantsOf: $0) } }
            factWords.formUnion(shard.factWords)
            now = max(now, shard.now)
        }
    }

    public static func makeState() -> State { State() }

    /// Contact fields and traits come from these; the personal fields of interactions and tickets are not read.
    public static let personalFieldsRead: Set<EventType> = [.customerRegistered, .customerUpdated]
    /// An order's items are not read either (the profile counts orders and amounts, not products).
    public static let eventDetail = EventDetail.counted.subtracting(.orderItems)

    /// Each event looks its customer's profile up, then reads the profile's facts (``ReadsAhead``): of the profile,
    /// the two lines every event reads (the third, of orders and contact fields, only some events read: asking for
    /// it too made live apply 0.3 to 2.7 % slower in three alternating pairs). (Asking for the buffer of consent
    /// decisions too, which the rules on consent read, was within noise live.)
    static func readAhead(from index: Int, count: Int, in state: inout State, hash: (_ ahead: Int) -> Int) {
        let valueBytes = CustomerProfile.fieldsEveryEventReads
        state.profiles.readAhead(from: index, count: count, valueBytes: valueBytes, hash: hash) { profile in
            CustomerProfile.prefetchFacts(ofProfileAt: profile)
        }
        readAheadForDue(&state)
    }

    /// The places of the customer a window changes next whose profile, and then whose facts buffer, were asked for.
    struct DueReadAhead: Sendable {
        var profile = -1
        var buffer = -1
    }

    /// Reads ahead for the customer at the head of the due queue, whom `advanceClock` re-evaluates a few events
    /// later (about one window pass for every three events): its profile at one event, the facts buffer that the
    /// profile names at the next (loading the buffer's address from a profile not yet in the cache would stall).
    /// Without it, each pass missed the cache on the profile and again on its facts, one after the other.
    private static func readAheadForDue(_ state: inout State) {
        guard let next = state.due.upcoming else { return }
        let place = Int(next.place)
        guard place != state.dueAhead.buffer, let profile = state.profiles.address(ofPlace: place) else { return }
        if place == state.dueAhead.profile {
            CustomerProfile.prefetchFacts(ofProfileAt: profile)
            state.dueAhead.buffer = place
        } else {
            prefetch(profile, bytes: CustomerProfile.fieldsEveryEventReads)
            state.dueAhead.profile = place
        }
    }

    // Inlined into the loops that call it (`Projection.apply(inPlace:to:)`): called, the event they hold in place
    // was first copied to the stack, 196 bytes moved for every event on the folding core.
    @inline(__always)
    public static func apply(_ projected: ProjectedEvent, to state: inout State) {
        advanceClock(&state, to: projected.clock)
        let event = projected.event
        switch event.payload {
        case .segmentDefined(let segment, let definition, let description):
            define(segment, definition: definition, description: description, in: &state)
            return
        case .segmentRemoved(let segment):
            remove(segment, from: &state)
            return
        default:
            break
        }
        guard let customer = event.customer else { return }
        var mergedID: String?
        if case .customerMerged(let from) = event.payload,
            let (merged, survivor) = state.identities.merge(from, into: customer)
        {
            // Each profile that changes place is queued again at its new one.
            func remove(_ id: String) -> CustomerProfile? {
                guard let (profile, movedInto) = state.profiles.removeValue(of: id) else { return nil }
                if let movedInto { requeue(at: movedInto, in: &state) }
                return profile
            }
            var target = remove(survivor) ?? CustomerProfile(id: survivor)
            if var absorbed = remove(merged) {
                endMemberships(of: &absorbed, mergedInto: survivor, catalog: state.segments, at: state.now)
                target.absorb(absorbed)
            } else {
                target.mergedIDs.append(merged)
            }
            requeue(at: state.profiles.store(target), in: &state)
            mergedID = merged
        }
        // Modified in place in the table: a profile is large, and moving it out and back was a third of a rebuild.
        let tag = projected.words.typeTag
        var noted: (Vocabulary.Word, Vocabulary.Word)?
        let (scheduled, place) = withProfile(ofCustomer: customer, hash: projected.customerHash, in: &state) {
            profile,
            catalog,
            now -> Int64? in
            // A new customer is decided on every segment (`no order for 180 days` holds from its first event);
            // a known one only on the segments this type of event can change.
            let isNew = profile.standing.facts.isEmpty
            let order: CustomerProfile.Order? =
                if case .orderCancelled(let order, _) = event.payload, let placed = profile.orders[order],
                    !placed.cancelled
                { placed } else { nil }
            let recorded = profile.standing.record(event, words: projected.words, order: order)
            noted = recorded.words
            fold(event, into: &profile)
            let everySegment = isNew || mergedID != nil
            // A touch event changes only the rules over its fact's channel or campaign (or counting its type).
            let mayChange =
                everySegment
                ? !catalog.evaluationOrder.isEmpty
                : catalog.anyTrigger.contains(tag)
                    && (recorded.touch.map {
                        catalog.anyTouchFilter.admits(type: tag, channel: $0.channel, campaign: $0.campaign)
                    } ?? true)
            guard mayChange else { return nil }
            return reevaluate(
                &profile,
                catalog: catalog,
                at: now,
                trigger: .event,
                eventType: tag,
                other: mergedID,
                onlyType: everySegment ? nil : tag,
                recorded: everySegment ? nil : recorded
            )
        }
        if let scheduled { state.due.push(scheduled, place: place) }
        if let (first, second) = noted {
            state.factWords.insert(first)
            state.factWords.insert(second)
        }
    }

    private static func fold(_ event: Event, into profile: inout CustomerProfile) {
        let at = event.at
        profile.firstSeen = CustomerProfile.earliest(profile.firstSeen, at)
        profile.lastSeen = CustomerProfile.latest(profile.lastSeen, at)
        switch event.payload {
        case .customerRegistered(let email, let name, let phone, let country, let city, let channel, let traits):
            profile.contact.modify { contact in
                contact.email = email ?? contact.email
                contact.name = name ?? contact.name
                contact.phone = phone ?? contact.phone
                contact.city = city ?? contact.city
                for member in traits.members { setTrait(member.key, member.value, in: &contact.traits) }
            }
            profile.country = country ?? profile.country
            profile.acquisitionChannel = channel ?? profile.acquisitionChannel
            profile.registeredAt = CustomerProfile.earliest(profile.registeredAt, at)
        case .customerUpdated(let changes):
            // Decoded once and encoded once, like `modify`, which cannot be used here: the loop also sets fields of
            // the profile outside the contact fields.
            var contact = profile.contact.values
            for (field, value) in changes.members {
                let text: String? = if case .string(let text) = value { text } else { nil }
                switch field {
                case "email": contact.email = text
                case "name": contact.name = text
                case "phone": contact.phone = text
                case "country": profile.country = text
                case "city": contact.city = text
                case "channel": profile.acquisitionChannel = text
                default: setTrait(field, value, in: &contact.traits)
                }
            }
            profile.contact = ContactFields(contact)
        case .consentChanged(let channel, let granted):
            // The latest decision by event time wins; a late, older one does not undo a newer one.
            if profile.consent[channel].map({ $0.at <= at }) ?? true {
                profile.consent[channel] = CustomerProfile.Consent(granted: granted, at: at)
            }
        case .customerForgotten:
            profile.forgotten = true
            profile.contact = ContactFields()
        case .ticketOpened(let ticket, _, _, _):
            if !profile.resolvedTickets.contains(ticket) { profile.openTickets.insert(ticket) }
        case .ticketResolved(let ticket, let satisfaction):
            profile.openTickets.remove(ticket)
            if profile.resolvedTickets.insert(ticket).inserted, let satisfaction {
                profile.satisfactionSum += Int64(satisfaction)
                profile.satisfactionCount += 1
            }
        case .orderPlaced(let order, let total, _, _, _, _, _):
            guard profile.orders[order] == nil else { break }
            profile.orders[order] = CustomerProfile.Order(total: total, cancelled: false, at: at)
            profile.amounts[total.currency.code, default: .init()].gross += total.minorUnits
            profile.amounts[total.currency.code, default: .init()].orders += 1
            profile.firstOrderAt = CustomerProfile.earliest(profile.firstOrderAt, at)
            profile.lastOrderAt = CustomerProfile.latest(profile.lastOrderAt, at)
        case .orderCancelled(let order, _):
            guard let placed = profile.orders[order], !placed.cancelled else { break }
            profile.orders[order]!.cancelled = true
            profile.amounts[placed.total.currency.code, default: .init()].cancelled += placed.total.minorUnits
        case .orderReturned(_, let amount):
            profile.amounts[amount.currency.code, default: .init()].returned += amount.minorUnits
        case .orderRefunded(_, let amount):
            profile.amounts[amount.currency.code, default: .init()].refunded += amount.minorUnits
        case .productSubscribed(let sku, let category):
            if let sku { profile.subscriptions.insert("sku:" + sku) }
            if let category { profile.subscriptions.insert("category:" + category) }
        case .productUnsubscribed(let sku, let category):
            if let sku { profile.subscriptions.remove("sku:" + sku) }
            if let category { profile.subscriptions.remove("category:" + category) }
        // Touchpoints and messages opened or clicked are touch facts, recorded with the standing: the channel and
        // campaign counts are read from those.
        case .touchpoint, .message, .customerMerged, .interaction, .ticketReplied, .orderPaid, .orderShipped,
            .orderDelivered,
            .productLaunched, .campaignCreated, .campaignLaunched, .campaignEnded, .segmentDefined, .segmentRemoved:
            break
        }
    }

    /// Sets a custom trait (`null` removes it), keeping the order traits first appeared in.
    private static func setTrait(_ key: String, _ value: JSONValue, in traits: inout JSONObject) {
        let position = traits.members.firstIndex { $0.key == key }
        if case .null = value {
            if let position { traits.members.remove(at: position) }
        } else if let position {
            traits.members[position].value = value
        } else {
            traits.members.append((key, value))
        }
    }
}
