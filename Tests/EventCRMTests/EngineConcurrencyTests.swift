import CRMModel
import EventCRM
import Foundation
import Testing
import _EventLogTestSupport

/// Run under ThreadSanitizer by `make tsan` (the filter matches "Concurrency").
@Suite("Engine Concurrency")
struct EngineConcurrencyTests {
    @Test("Concurrent appends, duplicate deliveries and history reads while index runs are flushed and merged")
    func appendsReadsAndMerges() async throws {
        let directory = TemporaryDirectory("engine-concurrency")
        var options = CRMEngine.Options()
        options._indexFlushEntries = 300
        let crm = try CRMEngine.open(at: directory.path, options: options)
        let writers = 4
        let perWriter = 1500
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    for chunk in stride(from: 0, to: perWriter, by: 50) {
                        let events = (chunk..<chunk + 50).map { number in
                            // Writers 0 and 1 deliver the same events: each must be appended once.
                            let source = writer < 2 ? 0 : writer
                            return EngineTests.order(
                                "w\(source)-\(number)",
                                customer: "c-\(number % 20)",
                                at: Int64(number)
                            )
                        }
                        try await crm.append(contentsOf: events)
                    }
                }
            }
            group.addTask {
                for _ in 0..<40 {
                    let history = try crm.history(of: "c-3")
                    #expect(history.allSatisfy { $0.event.customer == "c-3" })
                    try await Task.sleep(for: .milliseconds(2))
                }
            }
            try await group.waitForAll()
        }
        let expected = (writers - 1) * perWriter
        #expect(crm.nextOffset == Int64(expected), "duplicates delivered concurrently are appended once")
        #expect(try crm.history(of: "c-3").count == expected / 20)
        await crm.close()

        let reopened = try CRMEngine.open(at: directory.path, options: options)
        #expect(reopened.notices.isEmpty, "\(reopened.notices)")
        #expect(try reopened.history(of: "c-7").count == expected / 20)
        let report = try reopened.verify()
        #expect(report.isValid, "\(report)")
        await reopened.close()
    }
}
