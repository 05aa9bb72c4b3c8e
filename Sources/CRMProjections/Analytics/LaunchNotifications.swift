extension ShopAnalytics.Launch {
    /// The customers to tell about this launch (docs/analytics.md, section 2): subscribed to its sku or its
    /// category, not forgotten, and with consent granted on at least one channel; with those channels. By id.
    public func customersToNotify(_ profiles: CustomerProfiles.State) -> [(customer: String, channels: [String])] {
        let targets = ["sku:" + sku] + (category.map { ["category:" + $0] } ?? [])
        var found = [(customer: String, channels: [String])]()
        for profile in profiles.profiles.values where !profile.forgotten {
            guard targets.contains(where: profile.subscriptions.contains) else { continue }
            let channels = profile.consent.filter(\.value.granted).keys.sorted()
            if !channels.isEmpty { found.append((profile.id, channels)) }
        }
        return found.sorted { $0.customer < $1.customer }
    }
}
