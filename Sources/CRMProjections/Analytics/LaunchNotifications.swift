import OrderedCollections
extension ShopAnalytics.Launch {
    /// The customers to tell about this launch (docs/analytics.md, section 2): subscribed to its sku or its
    /// category, not forgotten, and with consent granted on at least one channel; with those channels. By id.
    public func customersToNotify(_ profiles: CustomerProfiles.State) -> [(customer: String, channels: [String])] {
        let targets = ["sku:" + sku] + (category.map { ["category:" + $0] } ?? [])
        var found = [(customer: String, channels: [String])]()
        // Where they lie: iterating the values would copy every profile.
        profiles.profiles.withValues { all in
            for index in all.indices where !all[index].forgotten {
                guard targets.contains(where: all[index].subscriptions.contains) else { continue }
                let channels = all[index].consent.filter(\.value.granted).keys.sorted()
                if !channels.isEmpty { found.append((all[index].id, channels)) }
            }
        }
        return found.sorted { $0.customer < $1.customer }
    }
}
