import CRMModel
import EventCRM
import Foundation
import Testing
import _EventLogTestSupport

@Suite("Engine: append, idempotency, history, erasure")
struct EngineTests {
    static func time(_ seconds: Int64) -> EventTime {
        EventTime(microseconds: 1_700_000_000_000_000 + seconds * 1_000_000)
    }

    static func order(_ id: String, customer: String, at seconds: Int64, total: Int64 = 1_000) -> Event {
        Event(
            id: id,
            at: time(seconds),
            customer: customer,
            payload: .orderPlaced(
                order: "o-\(id)",
                total: Money(minorUnits: total, currency: .usd),
                items: nil,
                channel: "web",
                country: nil,
                region: nil,
                city: nil
            )
        )
    }

    @Test("Events come back as they went in; an id already in the log is skipped, also after reopening")
    func appendAndDeduplicate() async throws {
        let directory = TemporaryDirectory("engine")
        var random = SplitMix64(seed: 7)
        // No erasures here: they would (rightly) change how earlier events of the same customer read back.
        var events = (0..<300).map { number -> Event in
            var event = RandomEvents.event(&random)
            while event.type == .customerForgotten { event = RandomEvents.event(&random) }
            event.id = "ev-\(number)"
            return event
        }
        events.append(SampleEvents.registered)
        do {
            let crm = try CRMEngine.open(at: directory.path)
            let first = try await crm.append(contentsOf: events)
            #expect(first.appended == events.count && first.duplicates == 0)
            let again = try await crm.append(contentsOf: Array(events[100..<150]))
            #expect(again.appended == 0 && again.duplicates == 50)
            let stored = Array(try crm.events(from: 0))
            #expect(stored.map(\.event) == events)
            await crm.close()
        }
        let crm = try CRMEngine.open(at: directory.path)
        #expect(crm.notices.isEmpty, "a clean close leaves nothing to rebuild: \(crm.notices)")
        let mixed = [
            events[5], Self.order("new-1", customer: "c-1", at: 5), Self.order("new-1", customer: "c-1", at: 5),
        ]
        let result = try await crm.append(contentsOf: mixed)
        #expect(
            result.offsets.map { $0 != nil } == [false, true, false],
            "in the log, new, same id twice in one append"
        )
        #expect(crm.nextOffset == Int64(events.count) + 1)
        await crm.close()
    }

    @Test("History finds one customer's events, merged ids included, between two times, from runs and memory")
    func history() async throws {
        let directory = TemporaryDirectory("engine")
        var expected = [String: [Int64]]()
        var options = CRMEngine.Options()
        options._indexFlushEntries = 1000
        do {
            let crm = try CRMEngine.open(at: directory.path, options: options)
            var batch = [Event]()
            for number in 0..<20_500 {
                let customer = "c-\(number % 100)"
                batch.append(Self.order("e\(number)", customer: customer, at: Int64(number)))
                if customer == "c-7" || customer == "c-8" { expected[customer, default: []].append(Int64(number)) }
                if batch.count == 700 {
                    try await crm.append(contentsOf: batch)
                    batch.removeAll()
                }
            }
            try await crm.append(contentsOf: batch)
            try await crm.append(Event(at: Self.time(1 << 20), customer: "c-7", payload: .customerMerged(from: "c-8")))
            let history = try crm.history(of: "c-7")
            #expect(history.count == expected["c-7"]!.count + expected["c-8"]!.count + 1)
            await crm.close()
        }
        let reopened = try CRMEngine.open(at: directory.path, options: options)
        let all = try reopened.history(of: "c-7")
        #expect(all.count == expected["c-7"]!.count + expected["c-8"]!.count + 1)
        #expect(all.map(\.event.at) == all.map(\.event.at).sorted())
        let window = try reopened.history(of: "c-8", from: Self.time(5_000), to: Self.time(12_000))
        #expect(
            window.map(\.event.at.microseconds)
                == expected["c-8"]!.filter { $0 >= 5_000 && $0 < 12_000 }.map { Self.time($0).microseconds }
        )
        #expect(try reopened.history(of: "nobody").isEmpty)
        await reopened.close()
    }

    @Test("A missing or damaged index is rebuilt from the log and says so")
    func indexRebuilt() async throws {
        let directory = TemporaryDirectory("engine")
        do {
            let crm = try CRMEngine.open(at: directory.path)
            try await crm.append(
                contentsOf: (0..<1000).map { Self.order("e\($0)", customer: "c-\($0 % 10)", at: Int64($0)) }
            )
            await crm.close()
        }
        try FileManager.default.removeItem(atPath: directory.path("index/history"))
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: directory.path("index/event-ids/MANIFEST")))
        let crm = try CRMEngine.open(at: directory.path)
        #expect(crm.notices.count == 2, "\(crm.notices)")
        #expect(try crm.history(of: "c-3").count == 100)
        let again = try await crm.append(Self.order("e5", customer: "c-5", at: 5))
        #expect(again.duplicates == 1)
        #expect(try crm.verify().isValid)
        await crm.close()
    }

    @Test("Forgetting erases personal fields everywhere on disk; orders still count; the log still verifies")
    func forget() async throws {
        let directory = TemporaryDirectory("engine")
        let crm = try CRMEngine.open(at: directory.path)
        try await crm.append(SampleEvents.registered)
        try await crm.append(Self.order("o1", customer: "c-42", at: 10, total: 5_000))
        let before = try crm.history(of: "c-42").filter { $0.event.type == .customerRegistered }
        #expect(before.count == 1 && before[0].personalData == .revealed && before[0].event == SampleEvents.registered)
        let result = try await crm.forget("c-42", at: Self.time(20))
        #expect(result.erasedIDs == ["c-42"])
        let after = try crm.history(of: "c-42").filter { $0.event.type == .customerRegistered }
        #expect(try crm.history(of: "c-42").count == 3)
        #expect(after.count == 1 && after[0].personalData == .erased)
        guard case .customerRegistered(let email, let name, let phone, let country, _, _, _) = after[0].event.payload
        else {
            Issue.record("not a registration")
            return
        }
        #expect(email == nil && name == nil && phone == nil && country == "BR")
        #expect(try crm.verify().isValid)
        let statistics = try crm.statistics()
        #expect(statistics.eventsByType[.orderPlaced] == 1)
        #expect(statistics.orderTotals[.usd]?.minorUnits == 5_000)
        #expect(statistics.forgottenCustomers == 1)
        await crm.close()
        for secret in ["ana@example.com", "Ana Silva", "+5511999", "Recife"] {
            #expect(
                try filesContaining(secret, under: directory.path).isEmpty,
                "\(secret) is gone from every file"
            )
        }
    }

    @Test("A read-only engine reads while the writer holds the directory, and refuses to write")
    func readOnlyEngine() async throws {
        let directory = TemporaryDirectory("engine")
        let writer = try CRMEngine.open(at: directory.path)
        try await writer.append(
            contentsOf: (0..<50).map { Self.order("e\($0)", customer: "c-\($0 % 5)", at: Int64($0)) }
        )
        var options = CRMEngine.Options()
        options.readOnly = true
        let reader = try CRMEngine.open(at: directory.path, options: options)
        #expect(reader.nextOffset == 50)
        #expect(try reader.history(of: "c-2").count == 10)
        let refused = await #expect(throws: CRMError.self) {
            try await reader.append(Self.order("x", customer: "c-1", at: 1))
        }
        #expect(refused?.code == .notWritable)
        try await writer.append(Self.order("e50", customer: "c-2", at: 50))
        try reader.refresh()
        #expect(try reader.history(of: "c-2").count == 11, "refresh sees the writer's new events")
        await reader.close()
        await writer.close()
    }

    @Test("A read-only engine reveals the personal fields of customers first seen after it opened, until forgotten")
    func readOnlyEngineFollowsKeys() async throws {
        let directory = TemporaryDirectory("engine")
        let writer = try CRMEngine.open(at: directory.path)
        try await writer.append(Self.order("first", customer: "c-1", at: 1))
        var options = CRMEngine.Options()
        options.readOnly = true
        let reader = try CRMEngine.open(at: directory.path, options: options)
        try await writer.append(SampleEvents.registered)
        try reader.refresh()
        let registrations = { try reader.history(of: "c-42").filter { $0.event.type == .customerRegistered } }
        let before = try registrations()
        #expect(before.map(\.personalData) == [.revealed] && before.first?.event == SampleEvents.registered)
        _ = try await writer.forget("c-42", at: Self.time(20))
        try reader.refresh()
        #expect(try registrations().map(\.personalData) == [.erased], "the writer's forget reaches the reader")
        await reader.close()
        await writer.close()
    }

    @Test("Reading from a time and tailing live appends")
    func timeAndTail() async throws {
        let directory = TemporaryDirectory("engine")
        let crm = try CRMEngine.open(at: directory.path)
        try await crm.append(contentsOf: (0..<100).map { Self.order("e\($0)", customer: "c-1", at: Int64($0)) })
        let fromTime = Array(try crm.events(fromTime: Self.time(60)))
        #expect(fromTime.map(\.offset) == Array(60..<100))
        let tail = Task {
            var seen = [String]()
            for try await stored in crm.tail(from: 95) {
                seen.append(stored.event.id!)
                if seen.count == 10 { break }
            }
            return seen
        }
        try await crm.append(contentsOf: (100..<105).map { Self.order("e\($0)", customer: "c-1", at: Int64($0)) })
        #expect(try await tail.value == (95..<105).map { "e\($0)" })
        await crm.close()
    }

    @Test("An ingested customer.forgotten erases like forget(), also the events after it in the same input")
    func ingestedErasure() async throws {
        let directory = TemporaryDirectory("engine")
        let crm = try CRMEngine.open(at: directory.path)
        let codec = EventJSONCodec()
        var later = SampleEvents.registered
        later.id = "e9"
        later.at = EventTime(microseconds: later.at.microseconds + 10_000_000)
        let lines = [
            codec.encodeLine(SampleEvents.registered),
            #"{"id":"f1","type":"customer.forgotten","at":"2024-03-01T11:00:00Z","customer":"c-42"}"#,
            codec.encodeLine(later),
        ]
        let report = try await crm.ingest(.bytes(Array(lines.joined(separator: "\n").utf8)))
        #expect(report.committed && report.appended == 3)
        #expect(crm.isForgotten("c-42"))
        let registrations = try crm.history(of: "c-42").filter { $0.event.type == .customerRegistered }
        #expect(registrations.map(\.personalData) == [.erased, .erased])
        await crm.close()
        #expect(try filesContaining("ana@example.com", under: directory.path).isEmpty)
    }

    @Test("Events built in code are checked like ingested lines, and a bad one appends nothing")
    func invalidEventRejected() async throws {
        let directory = TemporaryDirectory("engine")
        let crm = try CRMEngine.open(at: directory.path)
        let good = Self.order("ok", customer: "c-1", at: 1)
        let negative = Self.order("bad", customer: "c-1", at: 2, total: -5)
        let error = await #expect(throws: CRMError.self) { try await crm.append(contentsOf: [good, negative]) }
        #expect(error?.code == .invalidEvent)
        #expect(error?.validation?.field == "total", "\(String(describing: error))")
        #expect(crm.nextOffset == 0)
        await crm.close()
    }
}
