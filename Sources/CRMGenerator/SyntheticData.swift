public import CRMModel

/// Deterministic, realistic synthetic events of an online shop, using every type of the catalog
/// (docs/synthetic-data.md has the distributions).
///
/// A day-by-day simulation: customers register, take multi-touch journeys across marketing channels that end in
/// orders or not, receive campaign messages, open tickets, subscribe to products, change consent, merge
/// anonymous visits into their account, and a few ask to be forgotten. Events come out in event-time order,
/// except a few late ones (about 1 %) that arrive one to three days after they happened. The same configuration
/// always gives the same events.
///
/// ```swift
/// for event in SyntheticData(.init(customers: 1000, seed: 42)) { print(codec.encodeLine(event)) }
/// ```
public struct SyntheticData: Sequence, IteratorProtocol {
    /// What to generate.
    public struct Configuration: Sendable {
        /// The number of registered customers.
        public var customers: Int
        /// The seed: the same seed gives the same events.
        public var seed: UInt64
        /// The first day simulated (00:00 UTC). Default 2024-01-01.
        public var start = EventTime(microseconds: 1_704_067_200_000_000)
        /// The number of days simulated. Default 365.
        public var days = 365
        /// Marketing campaigns over the period (messages by email, SMS or push). Default 24.
        public var campaigns = 24
        /// Products in the catalog at the start. Default 200.
        public var products = 200

        public init(customers: Int, seed: UInt64) {
            self.customers = customers
            self.seed = seed
        }
    }

    let configuration: Configuration
    var world: World
    private var day = 0
    private var buffered: [Event] = []
    private var position = 0

    public init(_ configuration: Configuration) {
        self.configuration = configuration
        self.world = World(configuration)
    }

    /// The next event in emission order, or nil after the last day.
    public mutating func next() -> Event? {
        while position == buffered.count {
            guard day < configuration.days + World.maximumLateDays else { return nil }
            buffered = world.simulate(day: day)
            position = 0
            day += 1
        }
        position += 1
        return buffered[position - 1]
    }
}

/// Something a customer will do (or an event that will be delivered) at `at`, emitted on `emitDay`.
struct Scheduled {
    enum Item {
        case event(Event)
        /// Start a journey of touches that may end in an order.
        case journey
    }

    var at: Int64
    var emitDay: Int
    var item: Item
}

/// One simulated customer.
struct Customer {
    let number: Int
    var random: SplitMix64
    var id: String { "c-\(number)" }
    var eventCount = 0
    var queue: [Scheduled] = []
    var registeredAt: Int64 = 0
    var registered = false
    var acquisition = ""
    var country = 0
    var city = ""
    var consent: [String: Bool] = [:]
    var orders = 0
    /// When the customer asked to be forgotten: no journeys or campaign messages after it.
    var forgottenAt = Int64.max
    var journeyContinuation = 0.72

    mutating func nextEventID() -> String {
        eventCount += 1
        return "\(id)-\(eventCount)"
    }
}
