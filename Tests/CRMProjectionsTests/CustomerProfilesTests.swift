import CRMModel
import Testing
import _EventLogTestSupport

@testable import CRMProjections

/// Hand-computed cases of the customer profile projection.
@Suite("Customer profiles")
struct CustomerProfilesTests {
    static let day: Int64 = 86_400_000_000
    static let brl = Currency("BRL")!

    static func at(_ days: Int64) -> EventTime { EventTime(microseconds: 1_700_000_000_000_000 + days * day) }

    static func fold(_ events: [(Int64, String, EventPayload)]) -> CustomerProfiles.State {
        var state = CustomerProfiles.makeState()
        for (number, (days, customer, payload)) in events.enumerated() {
            let event = Event(id: "e\(number)", at: at(days), customer: customer, payload: payload)
            CustomerProfiles.applyInSequence(offset: Int64(number), event: event, to: &state)
        }
        return state
    }

    static func order(_ id: String, _ minorUnits: Int64) -> EventPayload {
        .orderPlaced(
            order: id,
            total: Money(minorUnits: minorUnits, currency: brl),
            items: nil,
            channel: "web",
            country: "BR",
            region: nil,
            city: nil
        )
    }

    @Test("Orders: gross, cancelled, returns, refunds, net, average order value, days between orders")
    func orders() throws {
        let state = Self.fold([
            (0, "c", Self.order("o1", 10_000)),
            (10, "c", Self.order("o2", 5_000)),
            (12, "c", .orderCancelled(order: "o2", reason: nil)),
            (30, "c", Self.order("o3", 3_000)),
            (40, "c", .orderReturned(order: "o1", amount: Money(minorUnits: 4_000, currency: Self.brl))),
            (41, "c", .orderRefunded(order: "o1", amount: Money(minorUnits: 4_000, currency: Self.brl))),
            (42, "c", .orderCancelled(order: "o2", reason: nil)),
        ])
        let profile = try #require(state.profile(of: "c"))
        let amounts = try #require(profile.amounts["BRL"])
        #expect(amounts.gross == 18_000 && amounts.orders == 3)
        #expect(amounts.cancelled == 5_000, "a second cancellation of the same order counts once")
        #expect(amounts.returned == 4_000 && amounts.refunded == 4_000)
        #expect(amounts.net == 9_000)
        #expect(amounts.averageOrderValue == 6_000)
        #expect(profile.meanDaysBetweenOrders == 15)
        #expect(profile.firstOrderAt == Self.at(0) && profile.lastOrderAt == Self.at(30))
        #expect(profile.firstSeen == Self.at(0) && profile.lastSeen == Self.at(42))
    }

    @Test("What a profile's prefetch reads as one word is the storage of each array it holds, elements 32 bytes on")
    func prefetchedArrays() throws {
        // Every array a profile's serialization reads holds something, so none is the shared empty array.
        let state = Self.fold([
            (
                0, "c",
                .customerRegistered(
                    email: "c@example.com",
                    name: nil,
                    phone: nil,
                    country: "BR",
                    city: "Recife",
                    channel: "web",
                    traits: JSONObject()
                )
            ),
            (1, "c", .consentChanged(channel: "email", granted: true)),
            (2, "c", Self.order("o1", 10_000)),
        ])
        var profile = try #require(state.profile(of: "c"))
        let arrays = [
            profile.contact.bytesAddress, profile.consent.entriesAddress, profile.amounts.entriesAddress,
            profile.orders.entriesAddress, profile.standing.facts.bytesAddress,
        ]
        #expect(arrays.allSatisfy { $0 != nil } && Set(arrays).count == arrays.count)
        withUnsafePointer(to: &profile) { pointer in
            let words = CustomerProfile.fieldArrays.map { offset in
                UnsafeRawPointer(pointer).load(fromByteOffset: offset, as: UnsafeRawPointer.self)
                    + arrayStorageHeaderBytes
            }
            #expect(words == arrays.map { $0! })
            let memberships = CustomerProfile.membershipArrays.map { offset in
                UnsafeRawPointer(pointer).load(fromByteOffset: offset, as: UnsafeRawPointer.self)
                    + arrayStorageHeaderBytes
            }
            #expect(memberships == [arrays[4]!])
        }
    }

    @Test("Consent: the latest decision by event time wins, also against a late, older event")
    func consent() throws {
        let state = Self.fold([
            (5, "c", .consentChanged(channel: "email", granted: true)),
            (9, "c", .consentChanged(channel: "email", granted: false)),
            (7, "c", .consentChanged(channel: "email", granted: true)),
            (3, "c", .consentChanged(channel: "sms", granted: true)),
        ])
        let profile = try #require(state.profile(of: "c"))
        #expect(profile.consent["email"] == .init(granted: false, at: Self.at(9)))
        #expect(profile.consent["sms"]?.granted == true)
    }

    @Test("Registration, updates, traits, channels, campaigns, tickets and subscriptions")
    func everythingElse() throws {
        let state = Self.fold([
            (0, "c", SampleEvents.registered.payload),
            (
                1, "c",
                .customerUpdated(
                    changes: JSONObject([("city", .string("Olinda")), ("shoe", .null), ("vip", .bool(true))])
                )
            ),
            (2, "c", .touchpoint(channel: "email", campaign: "spring", source: nil, medium: nil, kind: nil, url: nil)),
            (2, "c", .touchpoint(channel: "social", campaign: nil, source: nil, medium: nil, kind: nil, url: nil)),
            (3, "c", .message(.opened, campaign: "spring", channel: "email")),
            (3, "c", .message(.sent, campaign: "summer", channel: "email")),
            (4, "c", .ticketOpened(ticket: "t1", subject: nil, channel: nil, priority: nil)),
            (5, "c", .ticketOpened(ticket: "t2", subject: nil, channel: nil, priority: nil)),
            (6, "c", .ticketResolved(ticket: "t1", satisfaction: 4)),
            (7, "c", .ticketResolved(ticket: "t3", satisfaction: 2)),
            (8, "c", .ticketOpened(ticket: "t3", subject: nil, channel: nil, priority: nil)),
            (9, "c", .productSubscribed(sku: nil, category: "shoes")),
            (9, "c", .productSubscribed(sku: "B-7", category: nil)),
            (10, "c", .productUnsubscribed(sku: "B-7", category: nil)),
        ])
        let profile = try #require(state.profile(of: "c"))
        #expect(profile.email == "ana@example.com" && profile.city == "Olinda" && profile.country == "BR")
        #expect(profile.acquisitionChannel == "social" && profile.registeredAt == Self.at(0))
        #expect(profile.traits == JSONObject([("vip", .bool(true))]))
        #expect(profile.channels == ["email": 1, "social": 1])
        #expect(profile.campaigns == ["spring": 2])
        #expect(profile.openTickets == ["t2"], "t3 was resolved before its late opening arrived")
        #expect(profile.resolvedTickets == ["t1", "t3"] && profile.averageSatisfaction == 3)
        #expect(profile.subscriptions == ["category:shoes"])
    }

    @Test("A first registration's traits are set as later ones are: nulls dropped, a repeated key's last value kept")
    func firstRegistrationTraits() throws {
        func registered(_ traits: [(String, JSONValue)], email: String? = "b@example.com") -> EventPayload {
            .customerRegistered(
                email: email,
                name: "B",
                phone: nil,
                country: "BR",
                city: nil,
                channel: nil,
                traits: JSONObject(traits)
            )
        }
        let cases: [(traits: [(String, JSONValue)], expected: [(String, JSONValue)])] = [
            ([("tier", .string("gold")), ("vip", .bool(true))], [("tier", .string("gold")), ("vip", .bool(true))]),
            ([("tier", .string("gold")), ("shoe", .null)], [("tier", .string("gold"))]),
            (
                [("tier", .string("gold")), ("size", .number("42")), ("tier", .string("silver"))],
                [("tier", .string("silver")), ("size", .number("42"))]
            ),
            ([("shoe", .null)], []),
        ]
        for (traits, expected) in cases {
            // As the first event, and after a registration that gave an email only (the fields merged into).
            let first = try #require(Self.fold([(0, "b", registered(traits))]).profile(of: "b"))
            let later = try #require(
                Self.fold([(0, "b", registered([], email: "old@example.com")), (1, "b", registered(traits))])
                    .profile(of: "b")
            )
            for profile in [first, later] {
                #expect(profile.traits == JSONObject(expected), "\(traits)")
                #expect(profile.email == "b@example.com" && profile.name == "B" && profile.phone == nil)
            }
        }
        let nothing = try #require(
            Self.fold([(0, "b", registered([("shoe", .null)], email: nil))]).profile(of: "b")
        )
        #expect(nothing.email == nil && nothing.traits.isEmpty && nothing.name == "B")
    }

    @Test("Merges fold the merged id into the survivor, follow chains, and route later events of merged ids")
    func merges() throws {
        let state = Self.fold([
            (0, "a", Self.order("oa", 1_000)),
            (1, "b", Self.order("ob", 2_000)),
            (2, "c", Self.order("oc", 4_000)),
            (3, "b", .customerMerged(from: "a")),
            (4, "c", .customerMerged(from: "b")),
            (5, "a", Self.order("oa2", 8_000)),
            (6, "c", .customerMerged(from: "a")),
            (7, "d", .customerMerged(from: "never-seen")),
        ])
        #expect(state.profiles.ids.sorted() == ["c", "d"])
        let survivor = try #require(state.profile(of: "a"))
        #expect(survivor.id == "c")
        #expect(survivor.amounts["BRL"]?.gross == 15_000 && survivor.orderCount == 4)
        #expect(survivor.mergedIDs == ["b", "a"])
        #expect(state.profile(of: "never-seen")?.id == "d")
        #expect(state.profile(of: "d")?.mergedIDs == ["never-seen"])
    }

    @Test("A merge as the very first event, then the survivor's events: every projection folds them from empty")
    func mergeFirst() throws {
        var state = EveryProjection.makeState()
        let events: [(String, EventPayload)] = [
            ("a", .customerMerged(from: "b")),
            ("b", .message(.opened, campaign: "spring", channel: "email")),
            ("b", .touchpoint(channel: "email", campaign: "spring", source: nil, medium: nil, kind: nil, url: nil)),
            ("b", Self.order("o1", 10_000)),
            ("c", .customerMerged(from: "a")),
        ]
        for (number, (customer, payload)) in events.enumerated() {
            let event = Event(id: "e\(number)", at: Self.at(Int64(number)), customer: customer, payload: payload)
            EveryProjection.applyInSequence(offset: Int64(number), event: event, to: &state)
        }
        #expect(state.first.profile(of: "b")?.id == "c" && state.first.profiles.count == 1)
        #expect(state.second.first.journeys.ids == ["c"] && state.second.first.journeys["c"]?.touches.count == 2)
        #expect(state.second.second.orders["o1"]?.customer == "b")
        #expect(state.second.second.campaignRows().first { $0.campaign == "spring" }?.uniqueOpens == 1)
    }

    @Test("Channel and campaign counts, read from the touch facts, follow merges and late events and read back")
    func touchCountsAfterMergeAndRoundTrip() throws {
        func touch(_ channel: String, _ campaign: String?) -> EventPayload {
            .touchpoint(channel: channel, campaign: campaign, source: nil, medium: nil, kind: nil, url: nil)
        }
        let state = Self.fold([
            (5, "a", touch("email", "spring")),
            (6, "b", touch("email", nil)),
            (7, "b", .message(.clicked, campaign: "spring", channel: "email")),
            (8, "b", .message(.opened, campaign: "autumn", channel: "sms")),
            (9, "b", .message(.sent, campaign: "winter", channel: "sms")),
            (10, "a", .customerMerged(from: "b")),
            (2, "a", touch("social", "autumn")),  // late: before every other touch
        ])
        let profile = try #require(state.profile(of: "b"))
        #expect(profile.id == "a")
        #expect(profile.channels == ["email": 2, "social": 1], "messages opened or clicked touch no channel")
        #expect(profile.campaigns == ["autumn": 2, "spring": 2], "a message sent is not an engagement")
        let restored = try CustomerProfiles.State(serialized: state.serialized)
        let read = try #require(restored.profile(of: "a"))
        #expect(read.channels == profile.channels && read.campaigns == profile.campaigns)
        #expect(restored.serialized == state.serialized)
    }

    @Test("Merged facts at the same instant are ordered by their words, not by the numbers the vocabulary gave them")
    func mergedFactsInWordOrder() throws {
        // Words this process has not seen yet, first seen in the reverse of their order.
        let unique = UInt64.random(in: 0...UInt64.max)
        let late = "zz-\(unique)"
        let early = "aa-\(unique)"
        func touch(_ channel: String) -> EventPayload {
            .touchpoint(channel: channel, campaign: channel, source: nil, medium: nil, kind: nil, url: nil)
        }
        let state = Self.fold([(0, "a", touch(late)), (0, "b", touch(early)), (1, "a", .customerMerged(from: "b"))])
        let touches = Array(try #require(state.profile(of: "a")).standing.touches)
        let words = Vocabulary.shared.words()
        #expect(touches.map { words[Int($0.channel)] } == [early, late])
        #expect(touches.map { words[Int($0.campaign)] } == [early, late])
        #expect(touches[0].channel > touches[1].channel, "numbers in the order the words were first seen")
    }

    @Test("Forgetting clears personal fields and keeps the facts")
    func forgetting() throws {
        let state = Self.fold([
            (0, "c", SampleEvents.registered.payload),
            (1, "c", Self.order("o1", 1_000)),
            (2, "c", .customerForgotten),
        ])
        let profile = try #require(state.profile(of: "c"))
        #expect(profile.forgotten && profile.email == nil && profile.name == nil && profile.traits.isEmpty)
        #expect(profile.country == "BR" && profile.amounts["BRL"]?.gross == 1_000)
    }

    @Test("A chunked map: several chunks read back whole, the same bytes whatever the order of insertion; lies refused")
    func chunkedMap() throws {
        var forward = [String: Int64]()
        var backward = [String: Int64]()
        for number in 0..<100 { forward["k-\(number)"] = Int64(number) }
        for number in (0..<100).reversed() { backward["k-\(number)"] = Int64(number) }
        func written(_ map: [String: Int64]) -> [UInt8] {
            var writer = BinaryWriter()
            writer.chunkedMap(entries: Array(map), key: \.key, chunkSize: 7) { $0.int($1.value) }
            return writer.bytes
        }
        func entries(_ reader: inout BinaryReader) throws(EventDecodingError) -> [String: Int64] {
            let (_, chunks) = try reader.chunkedEntries { reader throws(EventDecodingError) in try reader.int() }
            return Dictionary(uniqueKeysWithValues: chunks.joined().map { ($0.key, $0.value) })
        }
        let bytes = written(forward)
        #expect(bytes == written(backward))
        let read = try reading(bytes, entries)
        #expect(read == forward)
        // The entry count says 101: refused, not half-read.
        var lying = bytes
        lying[0] = 101
        let refused = readingRefuses(lying, saying: "not 101") { reader throws(EventDecodingError) in
            _ = try entries(&reader)
        }
        #expect(refused)
    }

    @Test("A chunked map streamed into a sink, a round of chunks at a time, or prepared by it: the same bytes as whole")
    func chunkedMapStreamed() {
        /// Collects what a streaming writer hands on, and how many pieces it came in.
        final class Collected: BinaryStreamSink, @unchecked Sendable {
            var bytes = [UInt8]()
            var pieces = 0
            func take(_ bytes: UnsafeRawBufferPointer) {
                self.bytes += bytes
                pieces += 1
            }
        }
        // 100 entries in chunks of 7: 15 chunks, so four rounds when streaming, the last one short.
        let keys = (0..<100).map { "k-\($0)" }.shuffled()
        func write(into writer: inout BinaryWriter) {
            writer.string("before")
            writer.chunkedMap(entries: keys, key: \.self, chunkSize: 7) { $0.string(String(repeating: $1, count: 3)) }
            writer.int(-7)
            // The same map again after its byte count: held as it is prepared, handed on after the count.
            writer.withByteCount { $0.chunkedMap(entries: keys, key: \.self, chunkSize: 7) { $0.string($1) } }
            var inner = BinaryWriter()
            inner.string("appended whole")
            writer.append(encoded: inner.bytes)
            writer.string("after")
        }
        var whole = BinaryWriter()
        write(into: &whole)
        let sink = Collected()
        var streaming = BinaryWriter(streamingTo: sink)
        write(into: &streaming)
        #expect(!streaming.bytes.isEmpty, "the bytes after the last flush wait for the caller's flush")
        streaming.flush()
        #expect(streaming.bytes.isEmpty && sink.bytes == whole.bytes)
        #expect(sink.pieces > 30, "each chunk was handed on as it was written, not joined first: \(sink.pieces)")

        /// Prepares each chunk on the thread that wrote it (keeps a copy, as a snapshot writer keeps it compressed).
        final class Preparing: BinaryStreamSink, @unchecked Sendable {
            struct Copy: PreparedStreamBytes { var bytes: [UInt8] }
            var bytes = [UInt8]()
            var preparedTaken = 0
            func take(_ bytes: UnsafeRawBufferPointer) { self.bytes += bytes }
            func prepare(_ bytes: UnsafeRawBufferPointer) -> (any PreparedStreamBytes)? { Copy(bytes: Array(bytes)) }
            func take(prepared: any PreparedStreamBytes) {
                bytes += (prepared as! Copy).bytes
                preparedTaken += 1
            }
        }
        let preparing = Preparing()
        var prepared = BinaryWriter(streamingTo: preparing)
        write(into: &prepared)
        prepared.flush()
        #expect(preparing.bytes == whole.bytes, "each chunk prepared with its byte count in front")
        #expect(preparing.preparedTaken == 30)
    }

    @Test("A profile of 192 bytes: uncommon fields apart, words as numbers; consent and currency packed")
    func profileSize() {
        // Every customer holds one for as long as the state lives: a field added or reordered shows here.
        #expect(MemoryLayout<CustomerProfile>.stride <= 192)
        // What every event reads lies in the first two of its three cache lines (the read-ahead asks for those).
        #expect(CustomerProfile.fieldsEveryEventReads <= 128)
        let standing = MemoryLayout<CustomerProfile>.offset(of: \CustomerProfile.standing)!
        #expect(standing + MemoryLayout<SegmentStanding>.size <= CustomerProfile.fieldsEveryEventReads)
        var profile = CustomerProfile(id: "c-1")
        profile.country = "BR"
        profile.acquisitionChannel = ""
        profile.openTickets.insert("t1")
        var copy = profile
        copy.openTickets.insert("t2")
        copy.mergedIDs.append("c-2")
        #expect((profile.country, profile.acquisitionChannel) == ("BR", ""))
        #expect(Array(profile.openTickets) == ["t1"] && profile.mergedIDs.isEmpty, "a copy's change stays its own")
        #expect(Array(copy.openTickets) == ["t1", "t2"] && copy.mergedIDs == ["c-2"])
        profile.country = nil
        #expect(profile.country == nil)
        // A consent decision in 8 bytes and a currency in 4, at the ends of their ranges.
        for micros: Int64 in [-62_167_219_200_000_000, 0, -1, 253_402_300_799_999_999] {
            for granted in [false, true] {
                var decision = CustomerProfile.Consent(granted: granted, at: EventTime(microseconds: micros))
                #expect((decision.granted, decision.at.microseconds) == (granted, micros))
                decision.granted.toggle()
                #expect((decision.granted, decision.at.microseconds) == (!granted, micros))
            }
        }
        #expect(MemoryLayout<CustomerProfile.Consent>.size == 8 && MemoryLayout<Currency>.size == 4)
        let currencies = ["usd", "JPY", "KWD", "ZZZ"].compactMap(Currency.init)
        #expect(currencies.map(\.code) == ["USD", "JPY", "KWD", "ZZZ"])
        #expect(currencies.map(\.minorUnitDigits) == [2, 0, 3, 2])
        #expect(Currency("US") == nil && Currency("U$D") == nil && Currency("USD") == Currency("usd"))
    }

    @Test("The state survives serialization byte for byte")
    func serialization() throws {
        var random = SplitMix64(seed: 3)
        var state = CustomerProfiles.makeState()
        for offset in 0..<2000 {
            var event = RandomEvents.event(&random)
            if event.customer != nil { event.customer = "c-\(random.next() % 40)" }
            CustomerProfiles.applyInSequence(offset: Int64(offset), event: event, to: &state)
        }
        // And customers with one touchpoint each: no ticket, subscription or merge.
        var quiet = 0
        while quiet < 5 {
            var event = RandomEvents.event(&random)
            guard case .touchpoint = event.payload else { continue }
            event.customer = "quiet-\(quiet)"
            CustomerProfiles.applyInSequence(offset: Int64(2000 + quiet), event: event, to: &state)
            quiet += 1
        }
        let bytes = state.serialized
        let restored = try CustomerProfiles.State(serialized: bytes)
        #expect(restored.serialized == bytes)
        // Only the profiles with tickets, subscriptions or merged ids hold a box for them once read back.
        let boxed = restored.profiles.map { profile in
            let has =
                !(profile.openTickets.isEmpty && profile.resolvedTickets.isEmpty && profile.satisfactionCount == 0
                && profile.subscriptions.isEmpty && profile.mergedIDs.isEmpty)
            #expect(profile.holdsUncommonBox == has, "\(profile.id)")
            return has
        }
        #expect(boxed.contains(true) && boxed.contains(false), "both kinds of profile are in the state")
        #expect(throws: EventDecodingError.self) { try CustomerProfiles.State(serialized: Array(bytes.dropLast())) }
    }

    @Test("A state that lists one profile twice, or memberships that are not its profiles, is refused")
    func profilesAndMembershipsRefused() throws {
        let state = Self.fold([(0, "c-1", Self.order("o1", 100))])
        let profile = try #require(state.profile(of: "c-1"))
        let words = state.factWords.table()
        let standard: @Sendable (inout BinaryWriter) -> Void = { writer in
            profile.standing.serializeMemberships(into: &writer, catalog: state.segments)
        }
        // The state's bytes, written part by part as the state writes them, with the ids given for its one profile
        // in each section, and `membership` as every customer's memberships.
        func bytes(
            memberships memberIDs: [String],
            profiles ids: [String],
            membership: @escaping @Sendable (inout BinaryWriter) -> Void = standard
        ) -> [UInt8] {
            var writer = BinaryWriter()
            writer.int(state.now)
            state.segments.serialize(into: &writer)
            state.identities.serialize(into: &writer)
            words.write(into: &writer)
            let id: @Sendable (String) -> String = { $0 }
            var memberships = BinaryWriter()
            memberships.chunkedMap(entries: memberIDs, key: id) { writer, _ in membership(&writer) }
            writer.varint(UInt64(memberships.bytes.count))
            writer.bytes += memberships.bytes
            writer.chunkedMap(entries: ids, key: id) { writer, _ in profile.serialize(into: &writer, words: words) }
            return writer.bytes
        }
        #expect(
            bytes(memberships: ["c-1"], profiles: ["c-1"]) == state.serialized,
            "written part by part as the state writes itself"
        )
        let refusals: [(memberships: [String], profiles: [String], reason: String)] = [
            (["c-1", "c-1"], ["c-1", "c-1"], "the same profile id appears twice"),
            (["c-1", "c-2"], ["c-1"], "chunk 0 of the memberships holds more than its profiles"),
            ([], ["c-1"], "the memberships are in 0 chunks, the profiles in 1"),
            (["c-0"], ["c-1"], "profile c-1 under c-1, memberships of c-0"),
        ]
        for refusal in refusals {
            #expect(throws: EventDecodingError(reason: refusal.reason)) {
                let refused = bytes(memberships: refusal.memberships, profiles: refusal.profiles)
                _ = try CustomerProfiles.State(serialized: refused)
            }
        }
        // A membership of a segment the catalog does not hold (the state defines none).
        let unknownSegment = bytes(memberships: ["c-1"], profiles: ["c-1"]) { writer in
            writer.varint(1)
            writer.string("big-spenders")
            writer.varint(0)
        }
        #expect(throws: EventDecodingError(reason: "a customer is in segment big-spenders, which is not live")) {
            try CustomerProfiles.State(serialized: unknownSegment)
        }
    }
}

@Suite("Profile table")
struct ProfileTableTests {
    static func profile(_ id: String, gross: Int64) -> CustomerProfile {
        var profile = CustomerProfile(id: id)
        profile.amounts["BRL"] = OrderAmounts(gross: gross, cancelled: 0, returned: 0, refunded: 0, orders: 1)
        return profile
    }

    @Test("Stores, finds, modifies in place, removes (the last profile moves into the hole) and absorbs")
    func table() throws {
        var table = ProfileTable()
        #expect(table.remove("c0") == nil && table["c0"] == nil && !table.contains("c0"), "an empty table")
        for number in 0..<5 { table.store(Self.profile("c\(number)", gross: Int64(number))) }
        let seen = table.update("c2", default: CustomerProfile(id: "c2"), passing: Int64(100)) { profile, extra in
            profile.amounts["BRL"]!.gross += extra
            return profile.id
        }.result
        table.update("c9", default: Self.profile("c9", gross: 9), passing: ()) { profile, _ in
            profile.amounts["BRL"]!.gross += 1
        }
        #expect(seen == "c2")
        #expect(
            table.count == 6 && table["c2"]?.amounts["BRL"]?.gross == 102 && table["c9"]?.amounts["BRL"]?.gross == 10
        )
        #expect(table.remove("c1")?.id == "c1" && table.remove("c1") == nil)
        #expect(table.remove("c9")?.id == "c9", "the last one")
        #expect(
            table.ids.sorted() == ["c0", "c2", "c3", "c4"] && table.map(\.id).sorted() == table.ids.sorted()
        )
        for id in table.ids { #expect(table[id]?.id == id, "every id finds its own profile after the moves") }
        #expect(table.map(\.id).sorted() == table.ids.sorted(), "iterated, every profile once")
        var other = ProfileTable()
        other.store(Self.profile("c0", gross: 1_000))
        other.store(Self.profile("d", gross: 7))
        table.absorb(other)
        #expect(table.count == 5 && table["c0"]?.amounts["BRL"]?.gross == 0, "a held id keeps its profile")
        #expect(table["d"]?.amounts["BRL"]?.gross == 7 && !table.contains("c1"))
    }

    @Test("Random stores and removals find what a dictionary holds, through collisions and growth")
    func tableAgainstDictionary() {
        // Seeded: a failure repeats.
        var generator = SplitMix64(seed: 11)
        var table = ProfileTable()
        var model = [String: Int64]()
        // Few distinct ids, many operations: long probe runs, removals from their middle, and ids coming back.
        for step in 0..<20_000 {
            let id = "c\(Int.random(in: 0..<3_000, using: &generator))"
            if Bool.random(using: &generator) || step < 2_000 {
                table.store(Self.profile(id, gross: Int64(step)))
                model[id] = Int64(step)
            } else {
                #expect((table.remove(id) != nil) == (model.removeValue(forKey: id) != nil), "\(id) at step \(step)")
            }
        }
        #expect(table.count == model.count && Set(table.ids) == Set(model.keys))
        for (id, gross) in model { #expect(table[id]?.amounts["BRL"]?.gross == gross, "\(id)") }
        #expect(!table.contains("c3000") && table["nobody"] == nil)
    }

    @Test("Resolving with the id's hash agrees with resolving by the id, after merges, chains, absorbing and reading")
    func resolveWithHash() throws {
        var map = IdentityMap()
        #expect(map.resolve("a", hash: IDHash.of("a")) == ("a", IDHash.of("a")))
        _ = map.merge("a", into: "b")
        _ = map.merge("b", into: "c")
        _ = map.merge("x", into: "y")
        var other = IdentityMap()
        _ = other.merge("p", into: "q")
        map.absorb(other)
        var writer = BinaryWriter()
        map.serialize(into: &writer)
        let read = try writer.bytes.withUnsafeBytes { raw in
            var reader = BinaryReader(raw)
            return try IdentityMap(deserializing: &reader)
        }
        let ids = ["a", "b", "c", "x", "y", "p", "q", "never-merged"] + (0..<2_000).map { "c\($0)" }
        for state in [map, read] {
            for id in ids {
                let resolved = state.resolve(id, hash: IDHash.of(id))
                #expect(resolved.id == state.resolve(id) && resolved.hash == IDHash.of(resolved.id), "\(id)")
            }
        }
        #expect(read.resolve("a", hash: IDHash.of("a")).id == "c" && read.resolve("p", hash: IDHash.of("p")).id == "q")
    }

    @Test("An event's customer finds its own value, or its survivor's when merged away, or a new one under its id")
    func updateByCustomer() {
        var identities = IdentityMap()
        _ = identities.merge("a", into: "b")
        _ = identities.merge("b", into: "c")
        var table = ProfileTable()
        table.store(Self.profile("c", gross: 5))
        table.store(Self.profile("d", gross: 7))
        func gross(of customer: String) -> (gross: Int64, id: String, place: Int) {
            let (result, place) = table.update(
                customer: customer,
                hash: IDHash.of(customer),
                identities: identities,
                default: { Self.profile($0, gross: 0) },
                passing: (),
                applying: { profile, _ in
                    profile.amounts["BRL", default: .init()].gross += 1
                    return (profile.amounts["BRL"]!.gross, profile.id)
                }
            )
            return (result.0, result.1, place)
        }
        // Merged away, at the end of a chain and one step before it: the survivor's value.
        #expect(gross(of: "a") == (6, "c", 0) && gross(of: "b") == (7, "c", 0))
        #expect(gross(of: "c") == (8, "c", 0) && gross(of: "d") == (8, "d", 1), "held: their own values")
        #expect(gross(of: "e") == (1, "e", 2), "new: a value under its own id")
        // A survivor with no value yet gets one, under the survivor's id.
        _ = identities.merge("f", into: "g")
        #expect(gross(of: "f") == (1, "g", 3) && table.count == 4 && !table.contains("f"))
        for number in 0..<1_000 { _ = gross(of: "n\(number)") }
        #expect(gross(of: "a") == (9, "c", 0) && table.count == 1_004, "through the table's growth")
    }

    @Test("Made from a list of profiles: sorted or not, every id finds its profile; a repeated id is refused")
    func tableFromList() throws {
        let sorted = (0..<5).map { Self.profile("c\($0)", gross: Int64($0)) }
        for list in [sorted, sorted.reversed(), [sorted[3], sorted[0], sorted[4], sorted[1], sorted[2]]] {
            let table = try #require(ProfileTable(list))
            #expect(table.count == 5 && table.ids.elementsEqual(list.map(\.id)))
            for profile in list { #expect(table[profile.id]?.amounts["BRL"]?.gross == profile.amounts["BRL"]?.gross) }
        }
        #expect(ProfileTable([sorted[0], sorted[1], sorted[1], sorted[2]]) == nil, "repeated, in sorted order")
        #expect(ProfileTable([sorted[2], sorted[1], sorted[2]]) == nil, "repeated, out of order")
    }
}

@Suite("Type tag set")
struct TypeTagSetTests {
    @Test("Holds exactly the tags inserted, in each of its four words, and unions")
    func tags() {
        var set: TypeTagSet = [0, 63]
        set.insert(64)
        set.insert(200)
        var other = TypeTagSet()
        #expect(other.isEmpty && !set.isEmpty)
        other.insert(255)
        other.insert(130)
        set.formUnion(other)
        let inserted: Set<UInt8> = [0, 63, 64, 130, 200, 255]
        for tag in UInt8.min...UInt8.max { #expect(set.contains(tag) == inserted.contains(tag), "tag \(tag)") }
        #expect(set == [255, 200, 130, 64, 63, 0] && set != other)
    }
}
