import CRMModel
import CRMProjections
import Foundation
import Testing

/// The hand-computed cases of `fixtures/projections/*.json`: events, then checks of profiles, segment members,
/// segment histories with reasons, sizes and RFM groups. Each file says in `about` how its numbers were worked
/// out. Every check "as of" a time is answered twice, and both must match the file: from the state after every
/// event, filtered at that time, and from a state rebuilt from only the events the log held then.
@Suite("Projection fixtures")
struct FixtureTests {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/projections")

    static var names: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { $0.hasSuffix(".json") }.sorted()
    }

    @Test("There are fixtures for profiles, every kind of segment rule, merges and RFM")
    func fixturesExist() {
        #expect(
            Set(Self.names).isSuperset(of: [
                "profile-metrics.json", "segment-count-windows.json", "segment-sums.json", "segment-profile-rules.json",
                "segment-merges.json", "segment-definitions.json", "rfm-groups.json",
            ])
        )
    }

    @Test("Each fixture's checks hold", arguments: names)
    func fixture(_ name: String) throws {
        let fixture = try Fixture(Self.directory.appendingPathComponent(name))
        let head = fixture.state(upTo: fixture.events.count)
        for check in fixture.checks {
            try check.verify(fixture, head: head)
        }
    }
}

/// One fixture file, decoded.
struct Fixture {
    var events: [Event]
    var checks: [JSONObject]

    init(_ url: URL) throws {
        let root = try FixtureFile.object(url)
        events = try FixtureFile.events(root)
        guard case .array(let checks)? = root["checks"] else { throw FixtureError("checks are required") }
        self.checks = try checks.map { check in
            guard case .object(let members) = check else { throw FixtureError("a check is an object") }
            return JSONObject(members)
        }
    }

    /// The state after the first `count` events, in log order.
    func state(upTo count: Int) -> CustomerProfiles.State {
        var state = CustomerProfiles.makeState()
        for (offset, event) in events.prefix(count).enumerated() {
            CustomerProfiles.applyInSequence(offset: Int64(offset), event: event, to: &state)
        }
        return state
    }

    /// What the log knew at `time`: the events before the first one later than `time`, the clock moved to `time`.
    func state(asOf time: EventTime) -> CustomerProfiles.State {
        var state = state(upTo: events.firstIndex { $0.at > time } ?? events.count)
        CustomerProfiles.advance(&state, to: time)
        return state
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension JSONObject {
    fileprivate func string(_ key: String) -> String? {
        if case .string(let text)? = self[key] { return text }
        return nil
    }

    fileprivate func strings(_ key: String) -> [String]? {
        guard case .array(let values)? = self[key] else { return nil }
        return values.compactMap { if case .string(let text) = $0 { text } else { nil } }
    }

    /// Checks one `checks` entry against the states of `fixture`.
    fileprivate func verify(_ fixture: Fixture, head: CustomerProfiles.State) throws {
        let time = try string("at").map { try EventTime(rfc3339: $0) }
        // The head state, with its clock run on to the time when the time is later than its last event.
        var atHead = head
        if let time, time > (head.clock ?? time) { CustomerProfiles.advance(&atHead, to: time) }
        let replayed = time.map(fixture.state(asOf:)) ?? head
        let label = JSONWriter.string(.object(members))
        if let segment = string("segment"), let expected = strings("members") {
            #expect(atHead.members(of: segment, asOf: time) == expected, "filtered: \(label)")
            #expect(replayed.members(of: segment) == expected, "replayed: \(label)")
        } else if let customer = string("history"), case .array(let rows)? = self["changes"] {
            let expected = rows.map { row -> [String] in
                guard case .array(let cells) = row else { return [] }
                return cells.map { if case .string(let text) = $0 { text } else { "?" } }
            }
            let actual = atHead.segmentHistory(of: customer).map {
                [$0.at.rfc3339, $0.customer, $0.segment, $0.entered ? "entered" : "exited", $0.reason]
            }
            #expect(actual == expected, "\(customer)'s history")
        } else if let segment = string("sizes"), case .array(let rows)? = self["rows"] {
            let expected = rows.map { JSONWriter.string($0) }
            let actual = atHead.sizes(of: segment, asOf: time).map { #"["\#($0.at.rfc3339)",\#($0.size)]"# }
            #expect(actual == expected, "sizes of \(segment)")
        } else if let customer = string("profile"), case .object(let fields)? = self["fields"] {
            let profile = try #require(replayed.profile(of: customer), "no profile: \(label)")
            var rows = Dictionary(profile.rows.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
            rows["segments"] = replayed.segments(of: profile.id).joined(separator: " ")
            rows["rfm group"] = replayed.rfmGroup(of: customer) ?? ""
            for (field, value) in fields {
                guard case .string(let expected) = value else { throw FixtureError("\(field) is not a string") }
                #expect(rows[field] == expected, "\(customer) \(field) in \(label)")
            }
        } else if case .object(let groups)? = self["rfm"], let time {
            let actual = Dictionary(
                uniqueKeysWithValues: RFM.scores(replayed, at: time).map { ($0.customer, $0.group) }
            )
            let expected = Dictionary(
                uniqueKeysWithValues: groups.map {
                    ($0.key, { if case .string(let text) = $0 { text } else { "" } }($0.value))
                }
            )
            #expect(actual == expected, "RFM groups at \(time)")
        } else if let expected = strings("live") {
            #expect(atHead.segmentSummaries(asOf: time).map(\.name) == expected, "filtered: \(label)")
            #expect(replayed.segmentSummaries().map(\.name) == expected, "replayed: \(label)")
        } else if let expected = strings("refused") {
            #expect(head.segments.refusals.map(\.segment) == expected, "\(label)")
            #expect(head.segmentSummaries().allSatisfy { !expected.contains($0.name) }, "\(label)")
        } else {
            throw FixtureError("unknown check: \(label)")
        }
    }
}
