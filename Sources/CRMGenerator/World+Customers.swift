import CRMModel

/// How simulated customers behave (docs/synthetic-data.md lists every probability used here).
extension World {
    private var hour: Int64 { Self.microsPerHour }
    private var minute: Int64 { Self.microsPerMinute }

    // MARK: Registration and the customer's life

    mutating func register(day: Int) {
        let number = customers.count
        var customer = Customer(
            number: number,
            random: SplitMix64(seed: configuration.seed &* 0x9E37_79B9 &+ UInt64(number))
        )
        let at = dayStart(day) + Int64(customer.random.unit() * Double(Self.microsPerDay))
        customer.registeredAt = at
        customer.acquisition = customer.random.pick(Catalog.channels)
        customer.country = customer.random.pick(Catalog.countries.indices.map { ($0, Catalog.countries[$0].weight) })
        customer.city = customer.random.element(Catalog.countries[customer.country].cities)
        customers.append(customer)
        // 3 %: an anonymous visitor whose earlier visits are merged into the account when it registers.
        if customers[number].random.chance(0.03) {
            anonymousVisitors += 1
            let visitor = "v-\(anonymousVisitors)"
            let visits = 1 + Int(customers[number].random.next() % 3)
            for visit in 0..<visits {
                let time =
                    at - Int64(visits - visit) * (6 * hour + Int64(customers[number].random.next() % UInt64(24 * hour)))
                let channel = customers[number].random.pick(Catalog.channels)
                emit(number, at: time, customerID: visitor, touchpoint(channel, campaign: nil, number: number))
            }
            emit(number, at: at + minute, .customerMerged(from: visitor))
        }
        registrationEvents(number, at: at)
        schedule(number, at: at + 2 * minute, .journey)
        lifeEvents(number, after: at)
    }

    private mutating func registrationEvents(_ number: Int, at time: Int64) {
        var random = customers[number].random
        let first = random.element(Catalog.firstNames)
        let last = random.element(Catalog.lastNames)
        let country = Catalog.countries[customers[number].country]
        let tier = random.pick([("bronze", 70), ("silver", 22), ("gold", 8)])
        let phone = random.chance(0.5) ? "+1 555 \(1_000_000 + number % 9_000_000)" : nil
        customers[number].random = random
        emit(
            number,
            at: time,
            .customerRegistered(
                email: "\(first.lowercased()).\(last.lowercased()).\(number)@example.com",
                name: "\(first) \(last)",
                phone: phone,
                country: country.code,
                city: customers[number].city,
                channel: customers[number].acquisition,
                traits: JSONObject([("tier", .string(tier))])
            )
        )
        // Consent at sign-up: email 75 %, SMS 35 %.
        for (channel, probability) in [("email", 0.75), ("sms", 0.35)] {
            let granted = customers[number].random.chance(probability)
            customers[number].consent[channel] = granted
            if granted { emit(number, at: time + minute, .consentChanged(channel: channel, granted: true)) }
        }
        // The first touch: the acquisition channel brought the customer to the shop.
        emit(number, at: time - 5 * minute, touchpoint(customers[number].acquisition, campaign: nil, number: number))
    }

    /// Interactions, tickets, subscriptions, profile updates, consent withdrawals and erasure, spread over the
    /// customer's first months.
    private mutating func lifeEvents(_ number: Int, after registered: Int64) {
        func later(_ meanDays: Double) -> Int64 {
            registered + Int64(customers[number].random.exponential(mean: meanDays) * Double(Self.microsPerDay))
        }
        // Interactions: 0 to 2, mostly inbound chat and email.
        for _ in 0..<Int(customers[number].random.next() % 3) {
            let channel = customers[number].random.pick(Catalog.interactionChannels)
            let inbound = customers[number].random.chance(0.7)
            emit(
                number,
                at: later(60),
                .interaction(
                    channel: channel,
                    direction: inbound ? "inbound" : "outbound",
                    subject: customers[number].random.element(Catalog.subjects),
                    text: inbound ? "Hello, this is \(customers[number].id)." : "Thanks for reaching out."
                )
            )
        }
        // Tickets: 12 % of customers open one.
        if customers[number].random.chance(0.12) { ticket(number, at: later(45)) }
        // Product subscriptions: 10 % (a category, or a sku 30 % of the time); 15 % of them unsubscribe later.
        if customers[number].random.chance(0.10) {
            let bySku = customers[number].random.chance(0.3)
            let product = customers[number].random.element(products)
            let sku = bySku ? product.sku : nil
            let category = bySku ? nil : product.category
            let at = later(20)
            emit(number, at: at, .productSubscribed(sku: sku, category: category))
            if customers[number].random.chance(0.15) {
                emit(
                    number,
                    at: at + Int64(customers[number].random.exponential(mean: 60) * Double(Self.microsPerDay)),
                    .productUnsubscribed(sku: sku, category: category)
                )
            }
        }
        // Profile updates: 12 % move city or change phone.
        if customers[number].random.chance(0.12) {
            let country = Catalog.countries[customers[number].country]
            let change: JSONObject =
                customers[number].random.chance(0.5)
                ? JSONObject([("city", .string(customers[number].random.element(country.cities)))])
                : JSONObject([
                    ("phone", .string("+1 555 \(2_000_000 + number % 7_000_000)")), ("tier", .string("silver")),
                ])
            emit(number, at: later(90), .customerUpdated(changes: change))
        }
        // 5 % of those who granted email consent withdraw it later.
        if customers[number].consent["email"] == true, customers[number].random.chance(0.05) {
            emit(number, at: later(120), .consentChanged(channel: "email", granted: false))
        }
        // 0.4 % ask to be forgotten: one customer in 250 (so that a few hundred customers already have one).
        if number % 250 == 137 {
            let at = later(150)
            emit(number, at: at, .customerForgotten)
            customers[number].forgottenAt = at
        }
    }

    private mutating func ticket(_ number: Int, at opened: Int64) {
        let ticket = "t-\(customers[number].id)-\(customers[number].eventCount + 1)"
        let priority = customers[number].random.pick(Catalog.priorities)
        emit(
            number,
            at: opened,
            .ticketOpened(
                ticket: ticket,
                subject: customers[number].random.element(Catalog.subjects),
                channel: customers[number].random.pick(Catalog.ticketChannels),
                priority: priority
            )
        )
        // Urgent tickets are answered within hours, low ones within days.
        let meanHours: Double = ["urgent": 3, "high": 10, "normal": 30, "low": 70][priority]!
        var time = opened
        for reply in 0..<1 + Int(customers[number].random.next() % 3) {
            time += Int64(customers[number].random.exponential(mean: meanHours / 2) * Double(hour)) + minute
            emit(number, at: time, .ticketReplied(ticket: ticket, by: reply % 2 == 0 ? "agent" : "customer"))
        }
        // 85 % are resolved; 80 % of those get a satisfaction score.
        if customers[number].random.chance(0.85) {
            time += Int64(customers[number].random.exponential(mean: meanHours) * Double(hour)) + minute
            let score = customers[number].random.chance(0.8) ? customers[number].random.pick(Catalog.satisfaction) : nil
            emit(number, at: time, .ticketResolved(ticket: ticket, satisfaction: score))
        }
    }

    // MARK: Journeys and orders

    func touchpoint(_ channel: String, campaign: String?, number: Int) -> EventPayload {
        let source = Catalog.sources[channel]
        let campaignName =
            campaign ?? Catalog.channelCampaigns[channel]?[number % Catalog.channelCampaigns[channel]!.count]
        return .touchpoint(
            channel: channel,
            campaign: campaignName,
            source: source?.source,
            medium: source?.medium,
            kind: channel == "display" ? "impression" : "visit",
            url: "/p/\(products[number % products.count].sku)"
        )
    }

    /// A journey from `time`: one to six touches hours apart, converting into an order with a probability that
    /// grows with the touches (12 % + 6 % per touch, at most 50 %), unless `converts` decides. Then maybe the next
    /// journey (72 % after the first, decaying), about 35 days later.
    mutating func journey(customer number: Int, at time: Int64, converts: Bool?, firstTouch: String? = nil) {
        var touches = 1
        while touches < 6 && customers[number].random.chance(0.55) { touches += 1 }
        var at = time
        for touch in 0..<touches {
            let channel: String
            if touch == 0, let firstTouch {
                channel = firstTouch
            } else if touch == 0 && customers[number].random.chance(0.4) {
                channel = customers[number].acquisition
            } else {
                channel = customers[number].random.pick(Catalog.channels)
            }
            if channel == "email" || channel == "sms", customers[number].consent[channel] != true { continue }
            emit(number, at: at, touchpoint(channel, campaign: nil, number: number + touch))
            at += Int64(customers[number].random.exponential(mean: 20) * Double(hour)) + minute
        }
        let probability = min(0.5, 0.12 + 0.06 * Double(touches))
        if converts ?? customers[number].random.chance(probability) {
            order(number, at: at + 5 * minute + Int64(customers[number].random.next() % UInt64(55 * minute)))
        }
        if customers[number].random.chance(customers[number].journeyContinuation) {
            customers[number].journeyContinuation *= 0.9
            let gap = Int64(customers[number].random.exponential(mean: 35) * Double(Self.microsPerDay))
            schedule(number, at: at + gap + hour, .journey)
        }
    }

    /// An order with one to four lines and its life: cancelled (4 %), or paid, shipped (1–3 days), delivered
    /// (2–6 days later); 9 % of delivered orders are partly returned, and 85 % of returns are refunded.
    private mutating func order(_ number: Int, at time: Int64) {
        customers[number].orders += 1
        let order = "o-\(customers[number].id)-\(customers[number].orders)"
        let country = Catalog.countries[customers[number].country]
        var items = [OrderItem]()
        var total: Int64 = 0
        for _ in 0..<1 + (customers[number].random.chance(0.4) ? Int(customers[number].random.next() % 3) + 1 : 0) {
            // Popular products sell more: the index is skewed towards the front of the catalog.
            let skew = customers[number].random.unit()
            let product = products[min(products.count - 1, Int(skew * skew * Double(products.count)))]
            let quantity = customers[number].random.chance(0.85) ? 1 : 2 + Int(customers[number].random.next() % 2)
            let price = localPrice(product.priceCents, in: country)
            items.append(
                OrderItem(
                    sku: product.sku,
                    quantity: quantity,
                    price: Money(minorUnits: price, currency: country.currency),
                    category: product.category
                )
            )
            total += price * Int64(quantity)
        }
        let money = Money(minorUnits: total, currency: country.currency)
        emit(
            number,
            at: time,
            .orderPlaced(
                order: order,
                total: money,
                items: items,
                channel: customers[number].random.pick(Catalog.salesChannels),
                country: country.code,
                region: nil,
                city: customers[number].city
            )
        )
        var at = time
        func after(hours mean: Double) -> Int64 {
            at += Int64(customers[number].random.exponential(mean: mean) * Double(hour)) + minute
            return at
        }
        if customers[number].random.chance(0.04) {
            emit(number, at: after(hours: 6), .orderCancelled(order: order, reason: "customer request"))
            return
        }
        emit(number, at: after(hours: 0.5), .orderPaid(order: order, amount: money))
        emit(
            number,
            at: after(hours: 36),
            .orderShipped(
                order: order,
                carrier: customers[number].random.element(Catalog.carriers),
                tracking: "TRK\(number)\(customers[number].orders)"
            )
        )
        emit(number, at: after(hours: 72), .orderDelivered(order: order))
        guard customers[number].random.chance(0.09) else { return }
        let returned = items[0].price.minorUnits * Int64(items[0].quantity)
        let amount = Money(minorUnits: max(1, returned), currency: country.currency)
        emit(number, at: after(hours: 200), .orderReturned(order: order, amount: amount))
        if customers[number].random.chance(0.85) {
            emit(number, at: after(hours: 60), .orderRefunded(order: order, amount: amount))
        }
    }

    private func localPrice(_ cents: Int64, in country: Catalog.Country) -> Int64 {
        let scale = country.currency.minorUnitDigits == 0 ? 0.01 : country.currency.minorUnitDigits == 3 ? 10 : 1
        // Prices end in .99 (or whole yen) like real ones.
        let local = Int64((Double(cents) * country.rate * scale).rounded())
        return country.currency.minorUnitDigits == 2 ? max(99, local / 100 * 100 + 99) : max(1, local)
    }

    // MARK: Campaigns

    /// A campaign reaches 25 % of the customers registered before its launch who consent to its channel (push
    /// needs no consent): sent within 6 hours; 3 % bounce; 35 % of the rest are opened within two days; 30 % of
    /// opens are clicked, and 8 % of clicks lead to an order that day; 1.5 % of opens unsubscribe.
    mutating func target(_ campaign: Campaign) {
        let launch = dayStart(campaign.launchDay) + 8 * hour
        for number in customers.indices
        where customers[number].registeredAt < launch && customers[number].forgottenAt > launch {
            if campaign.channel != "push" && customers[number].consent[campaign.channel] != true { continue }
            guard customers[number].random.chance(0.25) else { continue }
            var at = launch + Int64(customers[number].random.unit() * Double(6 * hour))
            let message = { (kind: MessageKind) in
                EventPayload.message(kind, campaign: campaign.id, channel: campaign.channel)
            }
            emit(number, at: at, message(.sent))
            if customers[number].random.chance(0.03) {
                emit(number, at: at + 2 * minute, message(.bounced))
                continue
            }
            guard customers[number].random.chance(0.35) else { continue }
            at += Int64(customers[number].random.exponential(mean: 8) * Double(hour)) + minute
            emit(number, at: at, message(.opened))
            if customers[number].random.chance(0.015) {
                emit(number, at: at + minute, message(.unsubscribed))
                customers[number].consent[campaign.channel] = false
                emit(number, at: at + 2 * minute, .consentChanged(channel: campaign.channel, granted: false))
                continue
            }
            guard customers[number].random.chance(0.30) else { continue }
            at += Int64(customers[number].random.unit() * Double(10 * minute))
            emit(number, at: at, message(.clicked))
            emit(number, at: at + minute, touchpoint(campaign.channel, campaign: campaign.id, number: number))
            if customers[number].random.chance(0.08) {
                order(number, at: at + 20 * minute)
            }
        }
    }
}
