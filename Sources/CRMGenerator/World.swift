import CRMModel
import Foundation

/// The state of the simulation: customers, their schedules, campaigns and products.
struct World {
    static let microsPerDay: Int64 = 86_400_000_000
    static let microsPerHour: Int64 = 3_600_000_000
    static let microsPerMinute: Int64 = 60_000_000
    /// Late events arrive at most this many days after they happened.
    static let maximumLateDays = 3

    struct Campaign {
        var id: String
        var name: String
        var channel: String
        var segment: String?
        var createdDay: Int
        var launchDay: Int
        var endDay: Int
    }

    struct Product {
        var sku: String
        var category: String
        /// The price in US dollar cents; converted to the buyer's currency.
        var priceCents: Int64
    }

    let configuration: SyntheticData.Configuration
    let start: Int64
    var random: SplitMix64
    var customers: [Customer] = []
    /// Per day, the customers with something due (a customer may appear more than once).
    var calendar: [[Int32]]
    var campaigns: [Campaign] = []
    var products: [Product] = []
    var launches: [(day: Int, product: Product)] = []
    /// Registrations per day, spread so that the total is `customers`, growing through the period.
    var registrationsByDay: [Int]
    var anonymousVisitors = 0

    init(_ configuration: SyntheticData.Configuration) {
        self.configuration = configuration
        start = configuration.start.microseconds
        random = SplitMix64(seed: configuration.seed ^ 0x5EED_0F_C0FFEE)
        calendar = Array(repeating: [], count: configuration.days + Self.maximumLateDays + 1)
        let days = max(1, configuration.days)
        // Acquisition grows through the year: day d gets a share proportional to 1 + d / days.
        let weights = (0..<days).map { 1.0 + Double($0) / Double(days) }
        let total = weights.reduce(0, +)
        var assigned = 0
        var perDay = weights.map { weight -> Int in
            let count = Int(Double(configuration.customers) * weight / total)
            assigned += count
            return count
        }
        var next = 0
        while assigned < configuration.customers {
            perDay[next % days] += 1
            assigned += 1
            next += 1
        }
        registrationsByDay = perDay
        makeCatalog()
        makeCampaigns()
    }

    private mutating func makeCatalog() {
        for number in 0..<configuration.products {
            products.append(
                Product(
                    sku: "SKU-\(1000 + number)",
                    category: Catalog.categories[number % Catalog.categories.count],
                    priceCents: logNormalPrice()
                )
            )
        }
        for number in 0..<20 {
            let day = (number * 2 + 1) * configuration.days / 41
            launches.append(
                (
                    day,
                    Product(
                        sku: "SKU-N\(100 + number)",
                        category: Catalog.categories[Int(random.next() % UInt64(Catalog.categories.count))],
                        priceCents: logNormalPrice()
                    )
                )
            )
        }
    }

    private mutating func logNormalPrice() -> Int64 {
        // exp(N(3.3, 0.8)): a median of about 27 dollars, clamped to 3...500.
        let normal = random.normal()
        let dollars = min(500, max(3, exp(3.3 + 0.8 * normal)))
        return Int64((dollars * 100).rounded())
    }

    private mutating func makeCampaigns() {
        guard configuration.campaigns > 0 else { return }
        for number in 0..<configuration.campaigns {
            let launch = (number * configuration.days + configuration.days / 2) / configuration.campaigns
            let channel = random.pick([("email", 70), ("sms", 20), ("push", 10)])
            let segment = random.chance(0.3) ? random.pick([("vip", 1), ("lapsed", 1), ("new", 1)]) : nil
            campaigns.append(
                Campaign(
                    id: "cmp-\(number + 1)",
                    name: Catalog.campaignNames[number % Catalog.campaignNames.count],
                    channel: channel,
                    segment: segment,
                    createdDay: max(0, launch - 3),
                    launchDay: launch,
                    endDay: min(configuration.days - 1, launch + 14)
                )
            )
        }
    }

    func dayStart(_ day: Int) -> Int64 { start + Int64(day) * Self.microsPerDay }

    func day(of time: Int64) -> Int { Int((time - start) / Self.microsPerDay) }

    // MARK: The day loop

    /// Everything emitted on `day`, in event-time order (late events included, with their earlier times).
    mutating func simulate(day: Int) -> [Event] {
        var emitted = [Event]()
        if day < configuration.days {
            emitCatalogEvents(day: day, into: &emitted)
            for _ in 0..<registrationsByDay[day] { register(day: day) }
        }
        if day < calendar.count {
            let due = calendar[day]
            calendar[day] = []
            for number in due { process(customer: Int(number), day: day, into: &emitted) }
        }
        emitted.sort { $0.at < $1.at }
        return emitted
    }

    /// Segment definitions (docs/segments.md): defined on a day, removed on another (or never).
    static let segments: [(name: String, definition: String, defined: Int, removed: Int?)] = [
        ("repeat-buyers", #"{"count":"order.placed","window":"90d","op":">=","value":2}"#, 0, nil),
        (
            "lapsed",
            #"{"all":[{"count":"order.placed","window":"365d","op":">=","value":1},"#
                + #"{"count":"order.placed","window":"180d","op":"==","value":0}]}"#, 0, nil
        ),
        ("email-reachable", #"{"all":[{"consent":"email"},{"not":{"rfm":["Lost"]}}]}"#, 0, nil),
        (
            "big-spenders-br",
            #"{"all":[{"country":["BR"]},{"sum":"net_revenue","currency":"BRL","window":"365d","op":">","value":500}]}"#,
            0, nil
        ),
        ("spring-promo", #"{"touched_campaign":"cmp-5","window":"30d"}"#, 60, 80),
    ]

    private mutating func emitCatalogEvents(day: Int, into emitted: inout [Event]) {
        let base = dayStart(day)
        /// An event without a customer, at `hour` of the day.
        func event(_ id: String, hour: Int64, _ payload: EventPayload) -> Event {
            Event(
                id: id,
                at: EventTime(microseconds: base + hour * Self.microsPerHour),
                customer: nil,
                payload: payload
            )
        }
        for segment in Self.segments {
            if segment.defined == day {
                guard case .object(let members) = try? JSONParser.parse(segment.definition) else {
                    preconditionFailure("the segment definitions above are valid JSON objects")
                }
                let payload = EventPayload.segmentDefined(
                    segment: segment.name,
                    definition: JSONObject(members),
                    description: nil
                )
                emitted.append(event("segment-\(segment.name)-defined", hour: 7, payload))
            }
            if segment.removed == day {
                emitted.append(
                    event("segment-\(segment.name)-removed", hour: 7, .segmentRemoved(segment: segment.name))
                )
            }
        }
        for campaign in campaigns {
            if campaign.createdDay == day {
                let payload = EventPayload.campaignCreated(
                    campaign: campaign.id,
                    name: campaign.name,
                    channel: campaign.channel,
                    segment: campaign.segment
                )
                emitted.append(event("\(campaign.id)-created", hour: 9, payload))
            }
            if campaign.launchDay == day {
                emitted.append(event("\(campaign.id)-launched", hour: 8, .campaignLaunched(campaign: campaign.id)))
                target(campaign)
            }
            if campaign.endDay == day {
                emitted.append(event("\(campaign.id)-ended", hour: 23, .campaignEnded(campaign: campaign.id)))
            }
        }
        for launch in launches where launch.day == day {
            products.append(launch.product)
            let payload = EventPayload.productLaunched(
                sku: launch.product.sku,
                name: "New \(launch.product.category) \(launch.product.sku.suffix(3))",
                category: launch.product.category
            )
            emitted.append(event("launch-\(launch.product.sku)", hour: 10, payload))
        }
    }

    /// Pops and runs every item of the customer due by the end of `day`.
    private mutating func process(customer number: Int, day: Int, into emitted: inout [Event]) {
        while let first = customers[number].queue.first, first.emitDay <= day {
            customers[number].queue.removeFirst()
            switch first.item {
            case .event(let event):
                emitted.append(event)
            case .journey:
                guard first.at < customers[number].forgottenAt else { continue }
                journey(customer: number, at: first.at, converts: nil)
            }
        }
    }

    /// Adds an item to the customer's schedule and to the calendar. Events after the period are not generated;
    /// about 1 % of events are delivered late.
    mutating func schedule(_ number: Int, at time: Int64, _ item: Scheduled.Item) {
        var emitDay = day(of: time)
        guard emitDay < configuration.days, emitDay >= 0 else { return }
        if case .event = item, customers[number].random.chance(0.01) {
            emitDay += 1 + Int(customers[number].random.next() % UInt64(Self.maximumLateDays))
        }
        let entry = Scheduled(at: time, emitDay: emitDay, item: item)
        var queue = customers[number].queue
        let position = queue.firstIndex { ($0.emitDay, $0.at) > (emitDay, time) } ?? queue.count
        queue.insert(entry, at: position)
        customers[number].queue = queue
        calendar[emitDay].append(Int32(number))
    }

    /// Schedules an event of the customer (or of `customerID`, for anonymous visits) with a fresh id.
    mutating func emit(_ number: Int, at time: Int64, customerID: String? = nil, _ payload: EventPayload) {
        let id = customers[number].nextEventID()
        let event = Event(
            id: id,
            at: EventTime(microseconds: time),
            customer: customerID ?? customers[number].id,
            payload: payload
        )
        schedule(number, at: time, .event(event))
    }
}

extension SplitMix64 {
    /// A uniform number in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }

    mutating func chance(_ probability: Double) -> Bool { unit() < probability }

    /// A standard normal number (Box–Muller).
    mutating func normal() -> Double {
        let u = max(unit(), 1e-12)
        let v = unit()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }

    /// An exponential number with this mean.
    mutating func exponential(mean: Double) -> Double { -mean * log(max(unit(), 1e-12)) }

    /// A name picked with the given weights.
    mutating func pick<Name>(_ choices: [(name: Name, weight: Int)]) -> Name {
        let total = choices.reduce(0) { $0 + $1.weight }
        var roll = Int(next() % UInt64(total))
        for choice in choices {
            if roll < choice.weight { return choice.name }
            roll -= choice.weight
        }
        return choices[choices.count - 1].name
    }

    mutating func element<Element>(_ elements: [Element]) -> Element {
        elements[Int(next() % UInt64(elements.count))]
    }
}
