public import CRMModel

/// Everything known about one customer (the 360° view), folded from its events and those of the ids merged
/// into it.
public struct CustomerProfile: Sendable {
    /// A consent decision for one channel, and when it was made (event time). In 8 bytes, where a flag beside a
    /// time took 16: the time shifted left by one, the decision in the low bit (event times are within years 0000
    /// to 9999, 59 bits of microseconds with the sign).
    public struct Consent: Sendable, Equatable {
        private var packed: Int64

        public var granted: Bool {
            get { packed & 1 != 0 }
            set { packed = packed & ~1 | (newValue ? 1 : 0) }
        }
        public var at: EventTime {
            get { EventTime(microseconds: packed >> 1) }
            set { packed = newValue.microseconds << 1 | packed & 1 }
        }

        public init(granted: Bool, at: EventTime) {
            packed = at.microseconds << 1 | (granted ? 1 : 0)
        }
    }

    /// Order amounts in one currency (shared with the sales report).
    public typealias Amounts = OrderAmounts

    /// One order, as far as the profile needs it.
    struct Order: Sendable, Equatable {
        var total: Money
        var cancelled: Bool
        /// When it was placed (event time).
        var at: EventTime
    }

    // The fields every event reads come first, in the profile's first two cache lines (the table keeps profiles
    // on 64-byte boundaries, ValueBlock): its id, which a look-up compares, first and last seen, consent (which
    // rules on touches read) and the standing (facts, live segments, due instants). What only some events read
    // (contact fields, orders and amounts, the uncommon box) fills the third line. A profile takes 192 bytes.
    public var id: String
    /// The earliest and latest event time of the customer's events.
    @PackedTime public var firstSeen: EventTime?
    @PackedTime public var lastSeen: EventTime?
    /// Per channel (`email`, `sms`, …): the latest decision.
    public var consent: SortedMap<Consent> = [:]
    @PackedWord public var country: String?
    /// The channel that acquired the customer (from `customer.registered`).
    @PackedWord public var acquisitionChannel: String?
    /// Segment memberships, their history, the RFM group and the timed facts segment rules read.
    public internal(set) var standing = SegmentStanding()
    /// Whether the customer asked to be forgotten (personal fields are gone).
    public var forgotten = false
    /// Identity and contact: personal fields, present only while the customer's key exists. Held encoded: read
    /// through the properties below.
    var contact = ContactFields()
    @PackedTime public var registeredAt: EventTime?
    /// Touches per marketing channel (`touchpoint` events): counted from the touch facts, which hold every one.
    public var channels: SortedMap<Int64> { standing.touchCounts(.channel, words: Vocabulary.shared.words()) }
    /// Campaign engagements (touchpoints of a campaign, messages opened or clicked) per campaign: counted from the
    /// touch facts, which hold every one.
    public var campaigns: SortedMap<Int64> { standing.touchCounts(.campaign, words: Vocabulary.shared.words()) }
    /// Amounts per currency code.
    public var amounts: SortedMap<Amounts> = [:]
    @PackedTime public var firstOrderAt: EventTime?
    @PackedTime public var lastOrderAt: EventTime?
    var orders: SortedMap<Order> = [:]
    /// What few customers have (tickets, subscriptions, merged ids), behind one reference: made on the first write.
    private var uncommon: UncommonBox?

    /// The bytes from the profile's start that hold what every event reads (the fields before `forgotten`).
    static let fieldsEveryEventReads = MemoryLayout<CustomerProfile>.offset(of: \CustomerProfile.forgotten)!

    public init(id: String) {
        self.id = id
    }

    /// Tickets opened and not yet resolved.
    public var openTickets: SortedSet {
        get { uncommonFields.openTickets }
        set { uncommonFields.openTickets = newValue }
    }
    /// Tickets resolved (kept as ids so that a late `ticket.opened` does not reopen one).
    public var resolvedTickets: SortedSet {
        get { uncommonFields.resolvedTickets }
        set { uncommonFields.resolvedTickets = newValue }
    }
    public var satisfactionSum: Int64 {
        get { uncommonFields.satisfactionSum }
        set { uncommonFields.satisfactionSum = newValue }
    }
    public var satisfactionCount: Int64 {
        get { uncommonFields.satisfactionCount }
        set { uncommonFields.satisfactionCount = newValue }
    }
    /// Product subscriptions, as `sku:SKU` or `category:NAME`.
    public var subscriptions: SortedSet {
        get { uncommonFields.subscriptions }
        set { uncommonFields.subscriptions = newValue }
    }
    /// Ids merged into this customer, in the order of their merges.
    public var mergedIDs: [String] {
        get { uncommonFields.mergedIDs }
        set { uncommonFields.mergedIDs = newValue }
    }

    /// The fields few customers have: six fields took 48 bytes in every profile, where most customers never open a
    /// ticket, subscribe to a product or absorb a merged id.
    struct UncommonFields: Sendable {
        var openTickets: SortedSet = []
        var resolvedTickets: SortedSet = []
        var satisfactionSum: Int64 = 0
        var satisfactionCount: Int64 = 0
        var subscriptions: SortedSet = []
        var mergedIDs: [String] = []

        /// Whether every field holds what a profile without a box reads.
        var isEmpty: Bool {
            openTickets.isEmpty && resolvedTickets.isEmpty && satisfactionSum == 0 && satisfactionCount == 0
                && subscriptions.isEmpty && mergedIDs.isEmpty
        }
    }

    /// Immutable: a change makes a new box (the events that change these fields are rare), so that copies of a
    /// profile never share a change.
    private final class UncommonBox: Sendable {
        let fields: UncommonFields
        init(_ fields: UncommonFields) { self.fields = fields }
    }

    /// Whether the profile holds a box of uncommon fields (tested: a restored profile holds one only when it has
    /// some of them).
    var holdsUncommonBox: Bool { uncommon != nil }

    private var uncommonFields: UncommonFields {
        get { uncommon?.fields ?? UncommonFields() }
        set { uncommon = UncommonBox(newValue) }
    }

    public var email: String? {
        get { contact.values.email }
        set { contact.modify { $0.email = newValue } }
    }
    public var name: String? {
        get { contact.values.name }
        set { contact.modify { $0.name = newValue } }
    }
    public var phone: String? {
        get { contact.values.phone }
        set { contact.modify { $0.phone = newValue } }
    }
    public var city: String? {
        get { contact.city }
        set { contact.modify { $0.city = newValue } }
    }
    public var traits: JSONObject {
        get { contact.values.traits }
        set { contact.modify { $0.traits = newValue } }
    }

    /// All orders placed, in every currency.
    public var orderCount: Int64 { amounts.values.reduce(0) { $0 + $1.orders } }

    /// The mean number of days between consecutive orders (nil with fewer than two orders).
    public var meanDaysBetweenOrders: Double? {
        guard orderCount >= 2, let first = firstOrderAt, let last = lastOrderAt else { return nil }
        return Double(last.microseconds - first.microseconds) / 86_400_000_000 / Double(orderCount - 1)
    }

    /// The average satisfaction of resolved tickets that were rated.
    public var averageSatisfaction: Double? {
        satisfactionCount == 0 ? nil : Double(satisfactionSum) / Double(satisfactionCount)
    }

    /// Adds the profile of an id merged into this one.
    mutating func absorb(_ other: CustomerProfile) {
        let theirs = other.contact.values
        contact.modify { mine in
            mine.email = mine.email ?? theirs.email
            mine.name = mine.name ?? theirs.name
            mine.phone = mine.phone ?? theirs.phone
            mine.city = mine.city ?? theirs.city
            for member in theirs.traits.members where mine.traits[member.key] == nil {
                mine.traits.members.append(member)
            }
        }
        country = country ?? other.country
        acquisitionChannel = acquisitionChannel ?? other.acquisitionChannel
        registeredAt = Self.earliest(registeredAt, other.registeredAt)
        firstSeen = Self.earliest(firstSeen, other.firstSeen)
        lastSeen = Self.latest(lastSeen, other.lastSeen)
        for (channel, decision) in other.consent where consent[channel].map({ $0.at < decision.at }) ?? true {
            consent[channel] = decision
        }
        amounts.merge(other.amounts) { mine, theirs in
            Amounts(
                gross: mine.gross + theirs.gross,
                cancelled: mine.cancelled + theirs.cancelled,
                returned: mine.returned + theirs.returned,
                refunded: mine.refunded + theirs.refunded,
                orders: mine.orders + theirs.orders
            )
        }
        firstOrderAt = Self.earliest(firstOrderAt, other.firstOrderAt)
        lastOrderAt = Self.latest(lastOrderAt, other.lastOrderAt)
        resolvedTickets.formUnion(other.resolvedTickets)
        openTickets = openTickets.union(other.openTickets).subtracting(resolvedTickets)
        satisfactionSum += other.satisfactionSum
        satisfactionCount += other.satisfactionCount
        subscriptions.formUnion(other.subscriptions)
        mergedIDs += [other.id] + other.mergedIDs
        forgotten = forgotten || other.forgotten
        orders.merge(other.orders) { mine, _ in mine }
        standing.absorb(other.standing, mergedID: other.id)
    }

    static func earliest(_ a: EventTime?, _ b: EventTime?) -> EventTime? {
        guard let a else { return b }
        guard let b else { return a }
        return min(a, b)
    }

    static func latest(_ a: EventTime?, _ b: EventTime?) -> EventTime? {
        guard let a else { return b }
        guard let b else { return a }
        return max(a, b)
    }
}

/// An optional time held in 8 bytes instead of 16 (an optional's flag pads it to a second word): `Int64.min`, which
/// no event time reaches, stands for none. A profile holds five.
@propertyWrapper
public struct PackedTime: Sendable {
    private var microseconds = Int64.min

    public init(wrappedValue: EventTime?) {
        self.wrappedValue = wrappedValue
    }

    public var wrappedValue: EventTime? {
        get { microseconds == .min ? nil : EventTime(microseconds: microseconds) }
        set { microseconds = newValue?.microseconds ?? .min }
    }
}

// MARK: - Canonical encoding

extension CustomerProfile {
    /// `words`: the state's ``FactWords/table()``, prepared once for many profiles.
    func serialize(into writer: inout BinaryWriter, words: FactWords.Table) {
        var copy = self
        copy.serializeFields(into: &writer, words: words)
    }

    /// ``serialize(into:words:)`` of the profile at `profile`, without copying it. Read through `pointee` and
    /// passed to a method that borrows, a profile is copied first (a retain and a release of each of its
    /// references, and 360 bytes moved): the compiler cannot prove that nothing writes to the memory meanwhile.
    /// Passed `inout`, it is passed by address. Nothing is written to it.
    static func serialize(
        _ profile: UnsafePointer<CustomerProfile>,
        into writer: inout BinaryWriter,
        words: FactWords.Table
    ) {
        UnsafeMutablePointer(mutating: profile).pointee.serializeFields(into: &writer, words: words)
    }

    /// Prefetches what serializing the profile at `profile` reads (``prefetch(_:bytes:)``): `stage` 0, the
    /// profile's own bytes; 1, once those are in the cache, the arrays at `arrays` (``fieldArrays`` or
    /// ``membershipArrays``), whose addresses are in its bytes.
    static func prefetch(_ profile: UnsafePointer<CustomerProfile>, stage: Int, arrays: [Int]) {
        guard stage > 0 else { return CRMProjections.prefetch(profile, bytes: MemoryLayout<CustomerProfile>.size) }
        let start = UnsafeRawPointer(profile)
        for offset in arrays { prefetchArrayStorage(at: start + offset) }
    }

    /// Where the arrays that the memberships of a profile are written from sit within it: the facts, which hold
    /// the membership changes.
    static let membershipArrays = [factsBufferOffset]

    /// Where the address of the facts' buffer sits within a profile (``ReadAhead``).
    static let factsBufferOffset = MemoryLayout<Self>.offset(of: \Self.standing.facts)! + TimedFacts.bytesOffset

    /// Where the facts start within their buffer, after the membership changes (``TimedFacts``).
    private static let factsStartOffset =
        MemoryLayout<Self>.offset(of: \Self.standing.facts)! + TimedFacts.amountsStartOffset

    /// Asks for what a fold reads of the facts of the profile at `profile` (``ReadAhead``), once the profile is in
    /// the cache: the buffer's header (which a retain and the uniqueness check write and read) and its first two
    /// lines of facts. The buffer starts with the customer's membership changes, which the fold only appends to
    /// when a membership changes: asking for the buffer's first bytes brought those in instead of the facts.
    @inline(__always)
    static func prefetchFacts(ofProfileAt profile: UnsafeRawPointer) {
        let start = Int((profile + factsStartOffset).load(as: UInt32.self))
        prefetchArrayStorage(at: profile + factsBufferOffset, elementsFrom: start, bytes: 128)
    }

    /// Where the arrays that serializing a profile reads sit within it: the contact fields, consent, amounts,
    /// orders and facts.
    static let fieldArrays = [
        MemoryLayout<Self>.offset(of: \Self.contact)! + ContactFields.bytesOffset,
        MemoryLayout<Self>.offset(of: \Self.consent)! + SortedMap<Consent>.entriesOffset,
        MemoryLayout<Self>.offset(of: \Self.amounts)! + SortedMap<Amounts>.entriesOffset,
        MemoryLayout<Self>.offset(of: \Self.orders)! + SortedMap<Order>.entriesOffset,
        factsBufferOffset,
    ]

    /// The memberships of the profile at `profile` (``SegmentStanding/writeMemberships(into:liveNames:)``),
    /// without copying its standing, as ``serialize(_:into:words:)`` does.
    static func serializeMemberships(
        _ profile: UnsafePointer<CustomerProfile>,
        into writer: inout BinaryWriter,
        liveNames: EncodedWords
    ) {
        UnsafeMutablePointer(mutating: profile).pointee.standing.writeMemberships(into: &writer, liveNames: liveNames)
    }

    /// Mutating only so that ``serialize(_:into:words:)`` passes the profile by address: it changes nothing.
    private mutating func serializeFields(into writer: inout BinaryWriter, words: FactWords.Table) {
        writer.string(id)
        contact.serialize(into: &writer)
        writer.optionalString($country.word(in: words.vocabulary))
        writer.optionalString($acquisitionChannel.word(in: words.vocabulary))
        writer.optionalTime(registeredAt)
        writer.optionalTime(firstSeen)
        writer.optionalTime(lastSeen)
        writer.map(consent) { writer, decision in
            writer.bool(decision.granted)
            writer.int(decision.at.microseconds)
        }
        writer.map(amounts) { writer, amounts in
            writer.int(amounts.gross)
            writer.int(amounts.cancelled)
            writer.int(amounts.returned)
            writer.int(amounts.refunded)
            writer.int(amounts.orders)
        }
        writer.optionalTime(firstOrderAt)
        writer.optionalTime(lastOrderAt)
        // Taken once: each of the six fields' getters made empty fields for the many profiles without a box.
        let uncommon = uncommonFields
        writer.set(uncommon.openTickets)
        writer.set(uncommon.resolvedTickets)
        writer.int(uncommon.satisfactionSum)
        writer.int(uncommon.satisfactionCount)
        writer.set(uncommon.subscriptions)
        writer.strings(uncommon.mergedIDs)
        writer.bool(forgotten)
        writer.map(orders) { writer, order in
            writer.money(order.total)
            writer.bool(order.cancelled)
            writer.int(order.at.microseconds)
        }
        standing.serialize(into: &writer, words: words)
    }

    /// A profile read back. `words`: the state's table of the words its facts name; `changes`: its membership
    /// changes, read out of the memberships section. A function rather than a throwing initializer, which copied
    /// the whole profile into its result and destroyed the original (a retain and a release of each reference).
    static func deserialized(
        from reader: inout BinaryReader,
        words: FactWords.ReadTable,
        changes: MembershipHistory
    ) throws(EventDecodingError) -> CustomerProfile {
        var profile = CustomerProfile(id: try reader.string())
        try profile.readFields(from: &reader, words: words, changes: changes)
        return profile
    }

    /// Reads every field after the id (``deserialized(from:words:changes:)``).
    private mutating func readFields(
        from reader: inout BinaryReader,
        words: FactWords.ReadTable,
        changes: MembershipHistory
    ) throws(EventDecodingError) {
        contact = try ContactFields(deserializing: &reader)
        country = try reader.optionalString()
        acquisitionChannel = try reader.optionalString()
        registeredAt = try reader.optionalTime()
        firstSeen = try reader.optionalTime()
        lastSeen = try reader.optionalTime()
        consent = try reader.sortedMap { reader throws(EventDecodingError) in
            Consent(granted: try reader.bool(), at: EventTime(microseconds: try reader.int()))
        }
        amounts = try reader.sortedMap { reader throws(EventDecodingError) in
            Amounts(
                gross: try reader.int(),
                cancelled: try reader.int(),
                returned: try reader.int(),
                refunded: try reader.int(),
                orders: try reader.int()
            )
        }
        firstOrderAt = try reader.optionalTime()
        lastOrderAt = try reader.optionalTime()
        // Read into one value, boxed once and only when not empty, as folding leaves them: set field by field, a
        // restore made six boxes for every profile and kept the last even for the customers with none of them.
        var uncommonFields = UncommonFields()
        uncommonFields.openTickets = try reader.sortedSet()
        uncommonFields.resolvedTickets = try reader.sortedSet()
        uncommonFields.satisfactionSum = try reader.int()
        uncommonFields.satisfactionCount = try reader.int()
        uncommonFields.subscriptions = try reader.sortedSet()
        uncommonFields.mergedIDs = try reader.strings()
        uncommon = uncommonFields.isEmpty ? nil : UncommonBox(uncommonFields)
        forgotten = try reader.bool()
        orders = try reader.sortedMap { reader throws(EventDecodingError) in
            Order(
                total: try reader.money(),
                cancelled: try reader.bool(),
                at: EventTime(microseconds: try reader.int())
            )
        }
        standing = try SegmentStanding.deserialized(from: &reader, words: words, changes: changes)
    }
}

/// An optional word held as its number in the process's ``Vocabulary`` (4 bytes) instead of an optional string (16):
/// `UInt32.max` stands for none. A profile's country and acquisition channel, which take few distinct values.
@propertyWrapper
public struct PackedWord: Sendable {
    private var number = UInt32.max

    public init(wrappedValue: String?) {
        self.wrappedValue = wrappedValue
    }

    public var wrappedValue: String? {
        get { number == .max ? nil : Vocabulary.shared.word(number) }
        set { number = newValue.map(Vocabulary.number(of:)) ?? .max }
    }

    /// `$name`: the wrapper, to read the word out of ``Vocabulary/words()`` taken once for many profiles.
    public var projectedValue: PackedWord { self }

    func word(in words: [String]) -> String? { vocabularyNumber.map { words[Int($0)] } }

    /// The word's number in ``Vocabulary``, read without the vocabulary's lock.
    var vocabularyNumber: Vocabulary.Word? { number == .max ? nil : number }
}

extension CustomerProfile: Identified {}

/// The customer profiles by id.
public typealias ProfileTable = IdentifiedTable<CustomerProfile>
