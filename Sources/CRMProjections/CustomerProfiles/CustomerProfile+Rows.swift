import CRMModel

extension CustomerProfile {
    /// The profile as named rows (`crm profile` prints them; the fixtures under `fixtures/projections` check
    /// them): one place decides how each metric reads.
    public var rows: [(name: String, value: String)] {
        var rows = [(name: String, value: String)]()
        func row(_ name: String, _ value: String?) { rows.append((name, value ?? "")) }
        row("id", id)
        row("merged ids", mergedIDs.joined(separator: " "))
        row("email", email)
        row("name", name)
        row("phone", phone)
        row("country", country)
        row("city", city)
        row("traits", traits.isEmpty ? nil : JSONWriter.string(.object(traits.members)))
        row("forgotten", forgotten ? "yes" : "no")
        row("acquisition channel", acquisitionChannel)
        row("registered", registeredAt?.rfc3339)
        row("first seen", firstSeen?.rfc3339)
        row("last seen", lastSeen?.rfc3339)
        for (channel, decision) in consent.sorted(by: { $0.key < $1.key }) {
            row("consent " + channel, "\(decision.granted ? "granted" : "refused") at \(decision.at.rfc3339)")
        }
        row("channels", channels.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        row("campaigns", campaigns.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        row("orders", String(orderCount))
        for (code, amounts) in amounts.sorted(by: { $0.key < $1.key }) {
            let currency = Currency(code) ?? .usd
            func money(_ minor: Int64) -> String { Money(minorUnits: minor, currency: currency).jsonNumber }
            row("gross " + code, money(amounts.gross))
            row("cancelled " + code, money(amounts.cancelled))
            row("returned " + code, money(amounts.returned))
            row("refunded " + code, money(amounts.refunded))
            row("net " + code, money(amounts.net))
            row("average order " + code, money(amounts.averageOrderValue))
        }
        row("first order", firstOrderAt?.rfc3339)
        row("last order", lastOrderAt?.rfc3339)
        row("mean days between orders", meanDaysBetweenOrders.map { Self.fixed($0, digits: 1) })
        row("open tickets", openTickets.sorted().joined(separator: " "))
        row("resolved tickets", String(resolvedTickets.count))
        row("average satisfaction", averageSatisfaction.map { Self.fixed($0, digits: 2) })
        row("subscriptions", subscriptions.sorted().joined(separator: " "))
        return rows
    }

    /// `value` with `digits` decimals, rounded half away from zero.
    static func fixed(_ value: Double, digits: Int) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = Int64((value.magnitude * scale).rounded())
        let unit = Int64(scale)
        let fraction = String(scaled % unit)
        let padded = String(repeating: "0", count: max(0, digits - fraction.count)) + fraction
        return (value < 0 && scaled != 0 ? "-" : "") + String(scaled / unit) + (digits > 0 ? "." + padded : "")
    }
}
