public import CRMModel

/// The projection attribution reads (docs/attribution.md): per customer, the touches of every type that can be a
/// touch and the orders with their returns, refunds and cancellation. Paths are cut at query time, so that the
/// window, the touch types and the period can change without a rebuild.
public enum CustomerJourneys: ReadsAhead {
    public static let name = "customer-journeys"
    /// 2: each journey keeps the offset of its customer's first event (paths are taken in that order). 3: the
    /// journeys are written in chunks of customers (``BinaryWriter/chunkedMap(entries:key:chunkSize:bytesPerEntry:_:)``),
    /// so both cores write and read them. 4: the touches' words in a table in the head, named by their place, and
    /// each touch's time from the one before (as the customer projection's facts, ``FactWords``).
    public static let version: UInt32 = 4
    /// No personal field is read.
    public static let personalFieldsRead: Set<EventType> = []
    /// An order is a conversion by its total: its items are not read.
    public static let eventDetail = EventDetail.counted.subtracting(.orderItems)

    /// An order as a conversion needs it.
    struct Order: Sendable, Equatable {
        /// Placed: time, total, and the log offset (orders at the same time are taken in log order).
        var placed: (at: Int64, total: Money, offset: Int64)?
        var returned: Int64 = 0
        var refunded: Int64 = 0
        var cancelled = false

        static func == (lhs: Order, rhs: Order) -> Bool {
            lhs.placed?.at == rhs.placed?.at && lhs.placed?.total == rhs.placed?.total
                && lhs.placed?.offset == rhs.placed?.offset && lhs.returned == rhs.returned
                && lhs.refunded == rhs.refunded && lhs.cancelled == rhs.cancelled
        }
    }

    /// One customer's journey (and those of the ids merged into it).
    public struct Journey: Identified, Equatable {
        /// The customer's id.
        public let id: String
        /// In event-time order; a late touch is inserted after those at the same or an earlier time.
        var touches: [JourneyTouch] = []
        /// Where the address of the touches' storage sits within a journey (``ReadsAhead``).
        static let touchesOffset = MemoryLayout<Self>.offset(of: \Self.touches)!
        /// By order id: a customer has a few (a dictionary of one or two orders took about 200 bytes).
        var orders: SortedMap<Order> = [:]
        /// The log offset of the customer's first event (of any id merged into it): the order reports take
        /// customers in, which every way of running the projection agrees on, without sorting ids.
        var firstOffset = Int64.max

        /// Placed orders not cancelled, valued net of returns and refunds in their currency, in time order (ties:
        /// log order), into `conversions` (a reused buffer).
        func conversions(into conversions: inout [AttributionPath.Conversion]) {
            conversions.removeAll(keepingCapacity: true)
            let converted = orders.lazy.map { $0.value }.filter { $0.placed != nil && !$0.cancelled }
            var unordered = false
            var last: (at: Int64, offset: Int64) = (.min, .min)
            for order in converted {
                let placed = order.placed!
                let net = max(0, placed.total.minorUnits - order.returned - order.refunded)
                conversions.append(.init(at: placed.at, value: Money(minorUnits: net, currency: placed.total.currency)))
                unordered = unordered || (placed.at, placed.offset) < last
                last = (placed.at, placed.offset)
            }
            // Usually already in order (most journeys have one or two orders): sorted only when not, with the
            // offsets read again from the same orders in the same order.
            guard unordered else { return }
            let placed = Array(converted.map { $0.placed! })
            let order = placed.indices.sorted {
                (placed[$0].at, placed[$0].offset) < (placed[$1].at, placed[$1].offset)
            }
            conversions = order.map { conversions[$0] }
        }

        mutating func absorb(_ other: Journey) {
            firstOffset = min(firstOffset, other.firstOffset)
            for touch in other.touches { insert(touch) }
            orders.merge(other.orders) { mine, _ in mine }
        }

        mutating func insert(_ touch: JourneyTouch) {
            guard let last = touches.last, last.at > touch.at else {
                touches.append(touch)
                return
            }
            touches.insert(touch, at: touches.partitioningIndex { $0.at > touch.at })
        }
    }

    public struct State: StateReadInPieces {
        /// By customer id.
        public internal(set) var journeys = IdentifiedTable<Journey>()
        public internal(set) var identities = IdentityMap()
        /// The words the touches have named, which the canonical bytes list once.
        var touchWords = FactWords()

        public init() {}

        /// Notes the words of `touch`, which a journey is about to take.
        mutating func note(_ touch: JourneyTouch) -> JourneyTouch {
            touchWords.insert(touch.channel)
            touchWords.insert(touch.campaign)
            return touch
        }

        public func serialize(into writer: inout BinaryWriter) {
            identities.serialize(into: &writer)
            let words = touchWords.table()
            words.write(into: &writer)
            // The journeys' places are sorted, not the journeys: copying 710,000 (id, journey) pairs into an
            // array, then into sorted order, retained and released each journey's touches and orders at every copy,
            // which was almost half of a save.
            let journeys = journeys
            let places = sortedOnTwoCores(journeys.places, by: \.key)
            let id: @Sendable ((key: String, value: Int32)) -> String = { $0.key }
            writer.chunkedMap(sortedEntries: places, key: id, bytesPerEntry: 128) { writer, place in
                let journey = journeys[place: Int(place.value)]
                writer.int(journey.firstOffset)
                writer.varint(UInt64(journey.touches.count))
                var previous: Int64 = 0
                for touch in journey.touches {
                    writer.time(touch.at, after: &previous)
                    writer.varint(UInt64(touch.type.tag))
                    words.write(touch.channel, into: &writer)
                    words.write(touch.campaign, into: &writer)
                }
                writer.map(journey.orders) { writer, order in
                    writer.bool(order.placed != nil)
                    if let placed = order.placed {
                        writer.int(placed.at)
                        writer.money(placed.total)
                        writer.int(placed.offset)
                    }
                    writer.int(order.returned)
                    writer.int(order.refunded)
                    writer.bool(order.cancelled)
                }
            }
        }

        /// The identities and words first, then the journeys chunk by chunk, each on the core that reads it (a
        /// snapshot decompresses each chunk there).
        public static func read(
            from bytes: some StateBytes,
            at start: Int
        ) throws(EventDecodingError) -> (state: State, end: Int) {
            var state = State()
            let (words, mapStart) = try bytes.prefix(from: start) { reader throws(EventDecodingError) in
                state.identities = try IdentityMap(deserializing: &reader)
                return try FactWords.ReadTable(deserializing: &reader)
            }
            state.touchWords = words.set
            let map = try bytes.chunkedMap(at: mapStart)
            // Read straight into their places in one block, which the table then takes as it is.
            let list = try bytes.chunkedValues(of: map, as: ValueBlock.self) {
                id,
                _,
                _,
                reader,
                _ throws(EventDecodingError) in
                var journey = Journey(id: id, firstOffset: try reader.int())
                let touches = try reader.count("touches")
                journey.touches.reserveCapacity(touches)
                var previous: Int64 = 0
                for _ in 0..<touches {
                    let at = try reader.time(after: &previous)
                    let tag = UInt16(truncatingIfNeeded: try reader.varint())
                    guard let type = EventType(tag: tag) else { throw EventDecodingError(reason: "unknown touch type") }
                    let channel = try words.word(from: &reader)
                    let campaign = try words.word(from: &reader)
                    journey.touches.append(.init(at: at, type: type, channel: channel, campaign: campaign))
                }
                journey.orders = try reader.sortedMap { reader throws(EventDecodingError) in
                    var order = Order()
                    if try reader.bool() {
                        order.placed = (try reader.int(), try reader.money(), try reader.int())
                    }
                    order.returned = try reader.int()
                    order.refunded = try reader.int()
                    order.cancelled = try reader.bool()
                    return order
                }
                return journey
            }
            state.journeys = try IdentifiedTable(list) { id in
                EventDecodingError(reason: "the journey of \(id) appears twice")
            }
            return (state, map.end)
        }

        public mutating func absorb(_ shard: consuming State) {
            identities.absorb(shard.identities)
            touchWords.formUnion(shard.touchWords)
            journeys.absorb(taking: &shard.journeys)
        }

        /// The paths of every customer (customers in the order they first appeared in the log, each one's paths in
        /// the order they ended) and the
        /// conversions without a touch, cut by `options`.
        public func paths(_ options: PathOptions) -> (paths: [AttributionPath], untouched: [AttributionPath.Conversion])
        {
            var cutter = PathCutter(options)
            var list = PathList(words: cutter.words)
            for index in customerOrder() { cut(journeys[place: index], with: &cutter, into: &list) }
            return (list.paths, list.untouched)
        }

        /// The attribution of the paths cut by `options`, by `model` (docs/attribution.md); `markovOrder`: the
        /// order of the Markov chain behind the removal effects (one of ``MarkovChain/orders``).
        public func attribution(
            _ options: PathOptions,
            model: AttributionModel,
            halfLife: Int64 = 7 * 86_400_000_000,
            markovOrder: Int = 1
        ) -> AttributionReport {
            AttributionReport(indexedPaths(options), model: model, halfLife: halfLife, markovOrder: markovOrder)
        }

        /// The conversions every model credits to each key: key → model → conversions.
        public func attributionByEveryModel(
            _ options: PathOptions,
            halfLife: Int64 = 7 * 86_400_000_000,
            markovOrder: Int = 1
        ) -> [String: [AttributionModel: Double]] {
            AttributionReport.compare(indexedPaths(options), halfLife: halfLife, markovOrder: markovOrder)
        }

        /// The path table of the paths cut by `options`.
        public func pathTable(_ options: PathOptions) -> [AttributionReport.PathRow] {
            AttributionReport.pathTable(indexedPaths(options))
        }

        /// The paths in their indexed form, cut on every core: contiguous runs of customer ids, joined in order,
        /// which is the same as one pass in id order.
        func indexedPaths(_ options: PathOptions, customersPerRun: Int = 4096) -> IndexedPaths {
            let order = customerOrder()
            let journeys = journeys
            let runs = max(1, min(64, order.count / customersPerRun))
            let parts = concurrentMap(runs) { run in
                var cutter = PathCutter(options)
                var part = IndexedPaths(words: cutter.words)
                for index in order[(run * order.count / runs)..<((run + 1) * order.count / runs)] {
                    cut(journeys[place: index], with: &cutter, into: &part)
                }
                part.finish()
                return part
            }
            return parts.count == 1 ? parts[0] : IndexedPaths(joining: parts)
        }

        /// The journeys' places in the table (read by place: no hashing), in the order their customers first
        /// appeared in the log.
        private func customerOrder() -> [Int] {
            // Sorted with the offsets beside the places: a comparison reads two adjacent integers, not two journeys
            // out of the table (the sort was a quarter of a second at 710,000 customers).
            var keyed = journeys.withValues { journeys in
                journeys.indices.map { (offset: journeys[$0].firstOffset, index: $0) }
            }
            keyed.sort { $0.offset < $1.offset }
            return keyed.map(\.index)
        }

        private func cut<Sink: PathSink>(_ journey: Journey, with cutter: inout PathCutter, into sink: inout Sink) {
            journey.conversions(into: &cutter.conversions)
            let conversions = cutter.conversions
            cutter.cut(touches: journey.touches, conversions: conversions, into: &sink)
        }
    }

    public static func makeState() -> State { State() }

    /// A touch or an order looks its customer's journey up, then appends to its touches (``ReadsAhead``).
    static func readAhead(from index: Int, count: Int, in state: inout State, hash: (_ ahead: Int) -> Int) {
        state.journeys.readAhead(from: index, count: count, hash: hash) { journey in
            prefetchArrayStorage(at: journey + Journey.touchesOffset)
        }
    }

    // Inlined into the loops that call it, as the customer projection's is: called, each event held in place was
    // first copied to the stack (a retain and a release of each of its strings).
    @inline(__always)
    public static func apply(_ projected: ProjectedEvent, to state: inout State) {
        let event = projected.event
        guard let customer = event.customer else { return }
        let at = event.at.microseconds
        let offset = projected.offset
        // The journey of the id that stands for the customer now (read after a merge event has been recorded),
        // begun at this event when there is none.
        func withJourney(_ body: (inout Journey) -> Void) {
            state.journeys.update(
                customer: customer,
                hash: projected.customerHash,
                identities: state.identities,
                default: { Journey(id: $0, firstOffset: offset) },
                passing: (),
                applying: { journey, _ in body(&journey) }
            )
        }
        switch event.payload {
        case .customerMerged(let from):
            guard let (merged, survivor) = state.identities.merge(from, into: customer) else { return }
            let absorbed = state.journeys.remove(merged) ?? Journey(id: merged, firstOffset: offset)
            state.journeys.update(survivor, default: Journey(id: survivor, firstOffset: offset)) { $0.absorb(absorbed) }
        case .touchpoint:
            let words = projected.words
            let touch = state.note(.init(at: at, type: .touchpoint, channel: words.channel, campaign: words.campaign))
            withJourney { $0.insert(touch) }
        case .message(let kind, _, _):
            guard kind == .sent || kind == .opened || kind == .clicked else { return }
            let words = projected.words
            let touch = state.note(.init(at: at, type: event.type, channel: words.channel, campaign: words.campaign))
            withJourney { $0.insert(touch) }
        case .orderPlaced(let order, let total, _, _, _, _, _):
            withJourney { journey in
                guard journey.orders[order]?.placed == nil else { return }
                journey.orders[order, default: Order()].placed = (at, total, offset)
            }
        case .orderCancelled(let order, _):
            withJourney { $0.orders[order, default: Order()].cancelled = true }
        case .orderReturned(let order, let amount):
            withJourney { $0.orders[order, default: Order()].returned += amount.minorUnits }
        case .orderRefunded(let order, let amount):
            withJourney { $0.orders[order, default: Order()].refunded += amount.minorUnits }
        default:
            break
        }
    }
}
