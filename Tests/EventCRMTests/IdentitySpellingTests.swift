import CRMModel
import CRMProjections
import EventLog
import Foundation
import Testing
import _EventLogTestSupport

@testable import EventCRM

/// Ids are text: two spellings that Unicode holds canonically equivalent (é as one code point, or e and a combining
/// accent; the Kelvin sign and K) name one customer everywhere, as Swift's `String` compares them; the log keeps
/// them in one of those spellings, the canonical one (docs/events.md, "Ids and words are text").
@Suite("Ids spelled two ways")
struct IdentitySpellingTests {
    /// `id` spelled one of two canonically equivalent ways (`decomposed` or not): with an accent under 16 bytes, with
    /// accents past 16 bytes, or with the Kelvin sign for K (a single code point whose canonical form is ASCII).
    static func spelled(_ id: String, decomposed: Bool) -> String {
        switch id.unicodeScalars.reduce(0, { $0 &+ Int($1.value) }) % 3 {
        case 0: decomposed ? "e\u{301}-\(id)" : "\u{E9}-\(id)"
        case 1: decomposed ? "\(id)-jose\u{301}-mari\u{301}a" : "\(id)-jos\u{E9}-mar\u{ED}a"
        default: decomposed ? "\u{212A}\u{212A}\u{212A}\u{212A}\u{212A}\u{212A}-\(id)" : "KKKKKK-\(id)"
        }
    }

    @Test("Canonically equivalent spellings hash alike in the engine's own tables and in its stable hashes")
    func hashesAgree() {
        for id in ["c-1", "c-12345678", "a-much-longer-id-42", "v-99"] {
            let composed = Self.spelled(id, decomposed: false)
            let decomposed = Self.spelled(id, decomposed: true)
            #expect(composed == decomposed && Array(composed.utf8) != Array(decomposed.utf8), "\(id)")
            #expect(IDHash.of(composed) == IDHash.of(decomposed), "\(id)")
            #expect(StableHash.customer(composed) == StableHash.customer(decomposed), "\(id)")
            #expect(StableHash.eventID(composed) == StableHash.eventID(decomposed), "\(id)")
        }
        // Different text still hashes differently.
        #expect(StableHash.customer("\u{E9}-c-1") != StableHash.customer("e-c-1"))
        #expect(IDHash.of("\u{E9}-c-1") != IDHash.of("e-c-1"))
    }

    @Test("A customer spelled two ways is one profile, rebuilt on any number of workers or live, with one history")
    func oneCustomerWhateverTheSpelling() async throws {
        let events = Array(SyntheticData(.init(customers: 300, seed: 21)))
        // Each event spells its ids one way or the other, in turn.
        var respelled = events
        for index in respelled.indices {
            let decomposed = index % 2 == 1
            respelled[index].customer = respelled[index].customer.map { Self.spelled($0, decomposed: decomposed) }
            if case .customerMerged(let from) = respelled[index].payload {
                respelled[index].payload = .customerMerged(from: Self.spelled(from, decomposed: !decomposed))
            }
        }
        let plainDirectory = TemporaryDirectory("spelling-plain")
        let plain = try CRMEngine.open(at: plainDirectory.path)
        try await plain.append(contentsOf: events)
        let plainRunner = ProjectionRunner<CustomerProfiles>(engine: plain)
        try plainRunner.catchUp()
        let customers = plainRunner.read { state, _ in state.profiles.all.count }

        let directory = TemporaryDirectory("spelling")
        var options = CRMEngine.Options()
        options.segmentBytes = 64 << 10
        let crm = try CRMEngine.open(at: directory.path, options: options)
        try await crm.append(contentsOf: respelled)
        let live = ProjectionRunner<CustomerProfiles>(engine: crm)
        try live.catchUp()
        #expect(live.read { state, _ in state.profiles.all.count } == customers)
        let expected = live.read { state, _ in state.serialized }
        for workers in [1, 2, 3] {
            let rebuilt = try ProjectionRunner<CustomerProfiles>.rebuild(engine: crm, workers: workers)
            let same = rebuilt.read { state, _ in state.serialized } == expected
            #expect(same, "rebuilt on \(workers) workers")
        }
        // A profile and a history asked for by either spelling are the customer's (every event of it, of both).
        let customer = try #require(events.compactMap(\.customer).first { $0.hasPrefix("c-") })
        let profiles = [false, true].map { decomposed in
            live.read { state, _ in state.profile(of: Self.spelled(customer, decomposed: decomposed))?.id }
        }
        #expect(profiles[0] != nil && profiles[0] == profiles[1])
        let count = try plain.history(of: customer).count
        #expect(count > 2)
        for decomposed in [false, true] {
            let history = try crm.history(of: Self.spelled(customer, decomposed: decomposed))
            #expect(history.count == count, "decomposed: \(decomposed)")
        }
        // The log keeps each id as the same text, in its canonical form: composed, and K for the Kelvin sign.
        let stored = try crm.events(personalData: .withhold).map(\.event.customer)
        #expect(stored == respelled.map(\.customer))
        let canonical = events.map { $0.customer.map { Self.spelled($0, decomposed: false) } }
        #expect(stored.map { $0.map { Array($0.utf8) } } == canonical.map { $0.map { Array($0.utf8) } })
        await crm.close()
        await plain.close()
    }

    @Test("An index of an older version, which hashed ids' raw bytes, is discarded and rebuilt at open, with a notice")
    func olderIndexRebuilt() async throws {
        let directory = TemporaryDirectory("spelling-index")
        let customer = Self.spelled("c-1", decomposed: false)
        do {
            let crm = try CRMEngine.open(at: directory.path)
            try await crm.append(
                contentsOf: (0..<50).map { EngineTests.order("e\($0)", customer: customer, at: Int64($0)) }
            )
            await crm.close()
        }
        // The MANIFEST as version 1 wrote it: the same, but for its version and so its checksum.
        let manifest = URL(fileURLWithPath: directory.path("index/history/MANIFEST"))
        var bytes = [UInt8](try Data(contentsOf: manifest))
        #expect(bytes[8] == 2)
        bytes[8] = 1
        bytes.removeLast(4)
        withUnsafeBytes(of: CRC32C.checksum(bytes).littleEndian) { bytes += $0 }
        try Data(bytes).write(to: manifest)
        let crm = try CRMEngine.open(at: directory.path)
        #expect(crm.notices.contains { $0.contains("version 1 is unknown") }, "\(crm.notices)")
        #expect(try crm.history(of: Self.spelled("c-1", decomposed: true)).count == 50)
        await crm.close()
    }
}
