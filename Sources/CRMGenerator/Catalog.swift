import CRMModel

/// The fixed vocabulary of the synthetic shop: channels, countries, products, names (docs/synthetic-data.md).
enum Catalog {
    /// Marketing channels and how often a touch comes from each (weights sum to 100).
    static let channels: [(name: String, weight: Int)] = [
        ("organic_search", 22), ("paid_search", 18), ("social", 15), ("email", 15), ("direct", 12),
        ("referral", 6), ("display", 5), ("affiliate", 4), ("sms", 3),
    ]

    /// Campaign names of the always-on paid channels, used on their touches.
    static let channelCampaigns: [String: [String]] = [
        "paid_search": ["ps-brand", "ps-generic", "ps-shopping"],
        "social": ["so-prospecting", "so-retargeting"],
        "display": ["dp-retargeting"],
        "affiliate": ["af-coupons", "af-reviews"],
    ]

    static let sources: [String: (source: String, medium: String)] = [
        "organic_search": ("google", "organic"), "paid_search": ("google", "cpc"),
        "social": ("instagram", "paid_social"),
        "email": ("newsletter", "email"), "direct": ("(direct)", "(none)"),
        "referral": ("blog.example.org", "referral"),
        "display": ("gdn", "display"), "affiliate": ("partner", "affiliate"), "sms": ("sms", "sms"),
    ]

    struct Country {
        var code: String
        var weight: Int
        var currency: Currency
        /// Local currency units per US dollar (rounded; good enough for synthetic prices).
        var rate: Double
        var cities: [String]
    }

    static let countries: [Country] = [
        Country(code: "US", weight: 40, currency: .usd, rate: 1, cities: ["New York", "Austin", "Seattle", "Chicago"]),
        Country(code: "GB", weight: 10, currency: Currency("GBP")!, rate: 0.8, cities: ["London", "Leeds", "Bristol"]),
        Country(
            code: "DE",
            weight: 10,
            currency: Currency("EUR")!,
            rate: 0.9,
            cities: ["Berlin", "Hamburg", "Munich"]
        ),
        Country(
            code: "BR",
            weight: 10,
            currency: Currency("BRL")!,
            rate: 5,
            cities: ["São Paulo", "Recife", "Curitiba"]
        ),
        Country(code: "FR", weight: 8, currency: Currency("EUR")!, rate: 0.9, cities: ["Paris", "Lyon", "Lille"]),
        Country(code: "IN", weight: 7, currency: Currency("INR")!, rate: 83, cities: ["Mumbai", "Pune", "Chennai"]),
        Country(code: "JP", weight: 5, currency: Currency("JPY")!, rate: 150, cities: ["Tokyo", "Osaka"]),
        Country(code: "CA", weight: 5, currency: Currency("CAD")!, rate: 1.35, cities: ["Toronto", "Montreal"]),
        Country(code: "AU", weight: 5, currency: Currency("AUD")!, rate: 1.5, cities: ["Sydney", "Melbourne"]),
    ]

    static let firstNames = [
        "Ana", "Ben", "Chloé", "Dev", "Elif", "Farah", "Gus", "Hana", "Ivan", "Jia", "Kofi", "Lena", "Mateo", "Nia",
        "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Vera", "Wei", "Yuki", "Zoë",
    ]
    static let lastNames = [
        "Silva", "Smith", "Müller", "Kumar", "Tanaka", "Martin", "Brown", "Costa", "Schmidt", "Singh", "Dubois",
        "Lee", "Nguyen", "Okafor", "Rossi", "Kowalski",
    ]

    static let categories = [
        "shoes", "apparel", "bags", "beauty", "home", "kitchen", "toys", "books", "sports", "garden", "electronics",
        "jewelry",
    ]

    static let salesChannels: [(name: String, weight: Int)] = [
        ("web", 60), ("app", 25), ("marketplace", 10), ("store", 5),
    ]
    static let carriers = ["ups", "dhl", "fedex", "correios", "royalmail"]
    static let interactionChannels: [(name: String, weight: Int)] = [
        ("chat", 40), ("email", 30), ("social", 15), ("phone", 15),
    ]
    static let ticketChannels: [(name: String, weight: Int)] = [("email", 45), ("chat", 35), ("phone", 20)]
    static let priorities: [(name: String, weight: Int)] = [("low", 30), ("normal", 50), ("high", 15), ("urgent", 5)]
    /// Satisfaction 1...5 and how often each is given.
    static let satisfaction: [(name: Int, weight: Int)] = [(1, 5), (2, 8), (3, 17), (4, 35), (5, 35)]
    static let subjects = ["Where is my order?", "Wrong size", "Refund request", "Damaged item", "Change address"]
    static let campaignNames = [
        "New year", "Winter sale", "Valentine", "Spring drop", "Easter", "Mother's day", "Summer preview",
        "Summer sale", "Back to school", "Autumn edit", "Black Friday", "Holiday gifts",
    ]
}
