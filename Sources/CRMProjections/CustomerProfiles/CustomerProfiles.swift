public import CRMModel

/// The customer profile projection (the 360° view): one ``CustomerProfile`` per customer, merged ids folded into
/// their survivor (docs/projections.md).
public enum CustomerProfiles: Projection {
    public static let name = "customer-profiles"
    /// 2: orders keep when they were placed (for RFM).
    public static let version: UInt32 = 2

    /// Profiles by customer id, and the ids merged away.
    public struct State: ProjectionState, Equatable {
        public var profiles: [String: CustomerProfile] = [:]
        public var identities = IdentityMap()

        public init() {}

        /// The profile of `customer`, or of the customer it was merged into.
        public func profile(of customer: String) -> CustomerProfile? {
            profiles[identities.resolve(customer)]
        }

        public func serialize(into writer: inout BinaryWriter) {
            writer.bytes.reserveCapacity(writer.bytes.count + profiles.count * 256)
            identities.serialize(into: &writer)
            writer.map(profiles) { writer, profile in profile.serialize(into: &writer) }
        }

        public init(deserializing reader: inout BinaryReader) throws(EventDecodingError) {
            identities = try IdentityMap(deserializing: &reader)
            profiles = try reader.map { reader throws(EventDecodingError) in
                try CustomerProfile(deserializing: &reader)
            }
        }

        public mutating func absorb(_ shard: State) {
            identities.absorb(shard.identities)
            profiles.merge(shard.profiles) { mine, _ in mine }
        }
    }

    public static func makeState() -> State { State() }

    public static func apply(_ projected: ProjectedEvent, to state: inout State) {
        let event = projected.event
        guard let customer = event.customer else { return }
        if case .customerMerged(let from) = event.payload,
            let (merged, survivor) = state.identities.merge(from, into: customer)
        {
            var target = state.profiles[survivor] ?? CustomerProfile(id: survivor)
            if let absorbed = state.profiles.removeValue(forKey: merged) {
                target.absorb(absorbed)
            } else {
                target.mergedIDs.append(merged)
            }
            state.profiles[survivor] = target
        }
        let id = state.identities.resolve(customer)
        // Modified in place in the dictionary: a profile is large, and moving it out and back was a third of a
        // rebuild.
        fold(event, into: &state.profiles[id, default: CustomerProfile(id: id)])
    }

    private static func fold(_ event: Event, into profile: inout CustomerProfile) {
        let at = event.at
        profile.firstSeen = CustomerProfile.earliest(profile.firstSeen, at)
        profile.lastSeen = CustomerProfile.latest(profile.lastSeen, at)
        switch event.payload {
        case .customerRegistered(let email, let name, let phone, let country, let city, let channel, let traits):
            profile.email = email ?? profile.email
            profile.name = name ?? profile.name
            profile.phone = phone ?? profile.phone
            profile.country = country ?? profile.country
            profile.city = city ?? profile.city
            profile.acquisitionChannel = channel ?? profile.acquisitionChannel
            profile.registeredAt = CustomerProfile.earliest(profile.registeredAt, at)
            for member in traits.members { setTrait(member.key, member.value, in: &profile) }
        case .customerUpdated(let changes):
            for (field, value) in changes.members {
                let text: String? = if case .string(let text) = value { text } else { nil }
                switch field {
                case "email": profile.email = text
                case "name": profile.name = text
                case "phone": profile.phone = text
                case "country": profile.country = text
                case "city": profile.city = text
                case "channel": profile.acquisitionChannel = text
                default: setTrait(field, value, in: &profile)
                }
            }
        case .consentChanged(let channel, let granted):
            // The latest decision by event time wins; a late, older one does not undo a newer one.
            if profile.consent[channel].map({ $0.at <= at }) ?? true {
                profile.consent[channel] = CustomerProfile.Consent(granted: granted, at: at)
            }
        case .customerForgotten:
            profile.forgotten = true
            profile.email = nil
            profile.name = nil
            profile.phone = nil
            profile.city = nil
            profile.traits = JSONObject()
        case .touchpoint(let channel, let campaign, _, _, _, _):
            profile.channels[channel, default: 0] += 1
            if let campaign { profile.campaigns[campaign, default: 0] += 1 }
        case .message(let kind, let campaign, _):
            if kind == .opened || kind == .clicked { profile.campaigns[campaign, default: 0] += 1 }
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
        case .customerMerged, .interaction, .ticketReplied, .orderPaid, .orderShipped, .orderDelivered,
            .productLaunched, .campaignCreated, .campaignLaunched, .campaignEnded, .segmentDefined, .segmentRemoved:
            break
        }
    }

    /// Sets a custom trait (`null` removes it), keeping the order traits first appeared in.
    private static func setTrait(_ key: String, _ value: JSONValue, in profile: inout CustomerProfile) {
        let position = profile.traits.members.firstIndex { $0.key == key }
        if case .null = value {
            if let position { profile.traits.members.remove(at: position) }
        } else if let position {
            profile.traits.members[position].value = value
        } else {
            profile.traits.members.append((key, value))
        }
    }
}
