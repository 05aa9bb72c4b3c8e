import CRMModel
import Foundation
import Testing
import _EventLogTestSupport

@testable import CRMProjections

/// The hand-computed cases of `fixtures/attribution/*.json` (each says in `about` how its numbers were worked out),
/// and the properties every model must have.
@Suite("Attribution")
struct AttributionTests {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/attribution")

    static var names: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { $0.hasSuffix(".json") }.sorted()
    }

    @Test("Each fixture's figures hold, for every model", arguments: names)
    func fixture(_ name: String) throws {
        let root = try FixtureFile.object(Self.directory.appendingPathComponent(name))
        let events = try FixtureFile.events(root)
        var state = CustomerJourneys.makeState()
        for (offset, event) in events.enumerated() {
            CustomerJourneys.applyInSequence(offset: Int64(offset), event: event, to: &state)
        }
        let options = try FixtureFile.options(root)
        let halfLife = Int64(root.number("options", "half_life_days") ?? 7) * 86_400_000_000
        let (paths, untouched) = state.paths(options)
        let totals = try root.object("totals")
        let models = try root.object("models")
        #expect(!models.members.isEmpty)
        for (modelName, expected) in models.members {
            let model = try #require(AttributionModel(rawValue: modelName), "model \(modelName)")
            let report = AttributionReport(paths: paths, untouched: untouched, model: model, halfLife: halfLife)
            #expect(report.conversions == Int(totals.number("conversions") ?? -1), "\(name)")
            #expect(report.convertingPaths == Int(totals.number("converting_paths") ?? -1))
            #expect(report.nonConvertingPaths == Int(totals.number("non_converting_paths") ?? -1))
            #expect(report.untouchedConversions == Int(totals.number("untouched_conversions") ?? -1))
            let value = try totals.object("value").members.map { ($0.key, Int64(try JSONObject.number($0.value))) }
            #expect(report.value == Dictionary(uniqueKeysWithValues: value))
            guard case .object(let credits) = expected else { throw FixtureError("\(modelName): an object") }
            let credited = report.rows.filter { $0.conversions > 1e-12 }
            #expect(Set(credited.map(\.key)) == Set(credits.map(\.key)), "\(name) \(modelName): credited keys")
            for (key, pair) in credits {
                guard case .array(let numbers) = pair, numbers.count == 2 else { throw FixtureError("[conv, value]") }
                let row = try #require(report.rows.first { $0.key == key }, "\(modelName) \(key)")
                #expect(abs(row.conversions - (try JSONObject.number(numbers[0]))) < 1e-6, "\(modelName) \(key)")
                let amount = row.value.values.reduce(0, +)
                #expect(abs(amount - (try JSONObject.number(numbers[1]))) < 1e-4, "\(modelName) \(key) value")
            }
        }
        let report = AttributionReport(paths: paths, untouched: untouched, model: .last)
        for (key, value) in try root.object("channels").members {
            guard case .object(let members) = value else { throw FixtureError("channels.\(key)") }
            let expected = JSONObject(members)
            let row = try #require(report.rows.first { $0.key == key }, "channel \(key)")
            #expect(row.touches == Int(expected.number("touches") ?? -1), "\(key) touches")
            #expect(row.paths == Int(expected.number("paths") ?? -1), "\(key) paths")
            #expect(row.convertingPaths == Int(expected.number("converting_paths") ?? -1), "\(key) converting")
            #expect(abs(row.removalEffect - (expected.number("removal_effect") ?? -1)) < 1e-6, "\(key) removal")
        }
        guard case .array(let table)? = root["paths"] else { throw FixtureError("paths") }
        let rows = AttributionReport.pathTable(paths)
        #expect(rows.count == table.count)
        for (row, expected) in zip(rows, table) {
            guard case .array(let cells) = expected, cells.count == 4, case .string(let text) = cells[0] else {
                throw FixtureError("a path row is [path, conversions, value, without conversion]")
            }
            #expect(row.path == text)
            #expect(row.conversions == Int(try JSONObject.number(cells[1])), "\(text)")
            #expect(row.value.values.reduce(0, +) == Int64(try JSONObject.number(cells[2])), "\(text)")
            #expect(row.withoutConversion == Int(try JSONObject.number(cells[3])), "\(text)")
        }
    }

    /// Random paths over `channels` channels, a third of them without a conversion.
    static func randomPaths(_ count: Int, channels: Int, seed: UInt64) -> [AttributionPath] {
        var random = SplitMix64(seed: seed)
        return (0..<count).map { number in
            let length = 1 + Int(random.next() % 5)
            let touches = (0..<length).map { position in
                let channel = Int(random.next() % UInt64(channels))
                return AttributionPath.Touch(
                    key: channel == 0 ? "direct" : "ch-\(channel)",
                    isDirect: channel == 0,
                    at: Int64(position) * 86_400_000_000
                )
            }
            let value = Money(
                minorUnits: Int64(random.next() % 10_000),
                currency: number % 5 == 0 ? Currency("EUR")! : .usd
            )
            let conversion =
                random.next() % 3 == 0 ? nil : AttributionPath.Conversion(at: 5 * 86_400_000_000, value: value)
            return AttributionPath(touches: touches, conversion: conversion)
        }
    }

    @Test("Every model credits exactly the conversions and the value of the converting paths", arguments: [1, 2, 3])
    func creditsAddUp(seed: UInt64) {
        let paths = Self.randomPaths(2000, channels: 8, seed: seed)
        let converting = paths.filter { $0.conversion != nil }
        var value = [String: Double]()
        for path in converting {
            value[path.conversion!.value.currency.code, default: 0] += Double(path.conversion!.value.minorUnits)
        }
        for model in AttributionModel.allCases {
            let report = AttributionReport(paths: paths, model: model)
            let conversions = report.rows.reduce(0) { $0 + $1.conversions }
            #expect(abs(conversions - Double(converting.count)) < 1e-6, "\(model.rawValue)")
            for (currency, total) in value {
                let credited = report.rows.reduce(0) { $0 + ($1.value[currency] ?? 0) }
                #expect(abs(credited - total) < 1e-3, "\(model.rawValue) \(currency)")
            }
        }
    }

    @Test("Shapley's path sets: the same grouped as bits (up to 64 keys) or as lists; over 64 keys, still exact")
    func shapleyPathSetsBothWays() {
        let paths = IndexedPaths(Self.randomPaths(5000, channels: 40, seed: 7))
        let bits = ShapleyAttribution.pathSets(paths, asBits: true)
        let lists = ShapleyAttribution.pathSets(paths, asBits: false)
        #expect(bits.count > 100 && bits.count == lists.count)
        for (left, right) in zip(bits, lists) {
            #expect(left.keys == right.keys && left.conversions == right.conversions && left.value == right.value)
        }
        // 80 keys: only the lists can hold them; the credits still add up to the conversions.
        let many = Self.randomPaths(5000, channels: 80, seed: 8)
        let report = AttributionReport(paths: many, model: .shapley)
        #expect(report.rows.count == 80)
        let converting = Double(many.filter { $0.conversion != nil }.count)
        #expect(abs(report.rows.reduce(0) { $0 + $1.conversions } - converting) < 1e-6)
    }

    @Test("Shapley's closed form equals the definition over every coalition", arguments: [4, 9, 12])
    func shapleyByDefinition(channels: Int) {
        let sets = ShapleyAttribution.pathSets(Self.randomPaths(3000, channels: channels, seed: UInt64(channels)))
        let closed = ShapleyAttribution.values(sets)
        let defined = ShapleyAttribution.valuesByDefinition(sets)
        #expect(Set(closed.keys) == Set(defined.keys))
        #expect(closed.count == channels)
        for (key, value) in defined { #expect(abs(closed[key]!.conversions - value) < 1e-6, "\(key)") }
    }

    @Test("Rule-based models on short paths: position 100 % and 50/50, last non-direct when all are direct")
    func ruleEdges() {
        func path(_ keys: [String]) -> AttributionPath {
            AttributionPath(
                touches: keys.enumerated().map { .init(key: $1, isDirect: $1 == "direct", at: Int64($0)) },
                conversion: .init(at: 10, value: Money(minorUnits: 100, currency: .usd))
            )
        }
        #expect(AttributionModel.position.shares(of: path(["a"]), halfLife: 1) == [1])
        #expect(AttributionModel.position.shares(of: path(["a", "b"]), halfLife: 1) == [0.5, 0.5])
        let four = AttributionModel.position.shares(of: path(["a", "b", "c", "d"]), halfLife: 1)
        #expect(four == [0.4, 0.1, 0.1, 0.4])
        #expect(AttributionModel.lastNonDirect.shares(of: path(["direct", "direct"]), halfLife: 1) == [0, 1])
        #expect(AttributionModel.lastNonDirect.shares(of: path(["a", "direct"]), halfLife: 1) == [1, 0])
        // Equal ages share equally; a touch one half-life older weighs half.
        let decay = AttributionModel.timeDecay.shares(of: path(["a", "b"]), halfLife: 1)
        #expect(abs(decay[0] - 1.0 / 3) < 1e-12 && abs(decay[1] - 2.0 / 3) < 1e-12)
    }

    @Test("Markov: a channel on every converting path has removal effect 1; no conversion attributes nothing")
    func markovEdges() {
        let usd = Money(minorUnits: 100, currency: .usd)
        let paths = [
            AttributionPath(
                touches: [.init(key: "a", isDirect: false, at: 0), .init(key: "b", isDirect: false, at: 1)],
                conversion: .init(at: 2, value: usd)
            ),
            AttributionPath(touches: [.init(key: "b", isDirect: false, at: 0)], conversion: .init(at: 2, value: usd)),
            AttributionPath(touches: [.init(key: "a", isDirect: false, at: 0)]),
        ]
        let chain = MarkovChain(paths: paths)
        #expect(chain.keys == ["a", "b"] && chain.stateCount == 2)
        // start → a 2/3 (then b 1/2), start → b 1/3; b always converts: P = 2/3 × 1/2 + 1/3 = 2/3.
        #expect(abs(chain.conversionProbability() - 2.0 / 3) < 1e-12)
        let effects = chain.removalEffects()
        #expect(abs(effects[1] - 1) < 1e-12)
        #expect(abs(effects[0] - 0.5) < 1e-12)
        let none = MarkovChain(paths: [paths[2]])
        #expect(none.removalEffects() == [0])
        #expect(AttributionReport(paths: [paths[2]], model: .markov).rows.allSatisfy { $0.conversions == 0 })
    }

    @Test("Markov of order 2 remembers where a path came from: b converts after a, never after c")
    func markovSecondOrder() throws {
        let usd = Money(minorUnits: 100, currency: .usd)
        func path(_ keys: [String], converts: Bool) -> AttributionPath {
            AttributionPath(
                touches: keys.enumerated().map { .init(key: $1, isDirect: false, at: Int64($0)) },
                conversion: converts ? .init(at: 9, value: usd) : nil
            )
        }
        let paths = [path(["a", "b"], converts: true), path(["c", "b"], converts: false)]
        // Order 1: b converts half the time wherever it came from; P = 1/2, without a or c 1/4, without b 0.
        let first = MarkovChain(paths: paths)
        #expect(first.stateCount == 3)
        #expect(zip(first.removalEffects(), [0.5, 1, 0.5]).allSatisfy { abs($0 - $1) < 1e-12 })
        // Order 2: states a, c, a>b, c>b; a>b always converts, c>b never. Without a, P = 0; without c, P stays 1/2.
        let second = MarkovChain(paths: paths, order: 2)
        #expect(second.keys == ["a", "b", "c"] && second.stateCount == 4)
        #expect(abs(second.conversionProbability() - 0.5) < 1e-12)
        #expect(zip(second.removalEffects(), [1, 1, 0]).allSatisfy { abs($0 - $1) < 1e-12 })
        let report = AttributionReport(paths: paths, model: .markov, markovOrder: 2)
        let credited = Dictionary(uniqueKeysWithValues: report.rows.map { ($0.key, $0.conversions) })
        #expect(abs(credited["a"]! - 0.5) < 1e-12 && abs(credited["b"]! - 0.5) < 1e-12 && credited["c"] == 0)
    }

    @Test("Paths cut in runs of customers on every core and joined give what one pass gives, for every model")
    func runsJoined() {
        var state = CustomerJourneys.makeState()
        for (offset, event) in SyntheticData(.init(customers: 400, seed: 3)).enumerated() {
            CustomerJourneys.applyInSequence(offset: Int64(offset), event: event, to: &state)
        }
        var options = PathOptions()
        options.touchTypes.insert(.messageOpened)
        let (paths, untouched) = state.paths(options)
        let joined = state.indexedPaths(options, customersPerRun: 37)
        let single = IndexedPaths(paths, untouched: untouched)
        #expect(joined.pathCount == paths.count && joined.pathCount > 100)
        #expect(joined.keys == single.keys && joined.currencies == single.currencies)
        #expect(joined.touchKeys == single.touchKeys && joined.conversionCurrencies == single.conversionCurrencies)
        #expect((0..<joined.pathCount).map(joined.text(of:)) == paths.map(\.text))
        for model in AttributionModel.allCases {
            let one = AttributionReport(paths: paths, untouched: untouched, model: model)
            let runs = AttributionReport(joined, model: model, halfLife: 7 * 86_400_000_000)
            #expect(one.rows == runs.rows && one.value == runs.value, "\(model.rawValue)")
        }
    }

    @Test("A journey's conversions come in time order, ties in log order, cancelled orders left out, net values")
    func conversionsInOrder() {
        var journey = CustomerJourneys.Journey(id: "c-1", firstOffset: 0)
        let usd = { (minorUnits: Int64) in Money(minorUnits: minorUnits, currency: .usd) }
        // Five orders, so that the dictionary's order is almost never already the time order.
        journey.orders = [
            "o-5": .init(placed: (at: 50, total: usd(500), offset: 9)),
            "o-4": .init(placed: (at: 30, total: usd(400), offset: 8), returned: 150),
            "o-3": .init(placed: (at: 30, total: usd(300), offset: 2)),
            "o-2": .init(placed: (at: 20, total: usd(200), offset: 5), cancelled: true),
            "o-1": .init(placed: (at: 10, total: usd(100), offset: 7), refunded: 100),
            "o-0": .init(returned: 10),
        ]
        var conversions = [AttributionPath.Conversion]()
        journey.conversions(into: &conversions)
        #expect(conversions.map(\.at) == [10, 30, 30, 50])
        #expect(conversions.map(\.value.minorUnits) == [0, 300, 250, 500])
    }

    @Test("Journeys read back in chunks: an empty state round trips, and a journey id written twice is refused")
    func journeysInChunks() throws {
        let empty = CustomerJourneys.State()
        #expect(try CustomerJourneys.State(serialized: empty.serialized).serialized == empty.serialized)
        // The bytes of a state holding two journeys under one id: no identities, no touch words, then a chunked map
        // whose two entries are empty journeys (first offset, no touch, no order).
        var writer = BinaryWriter()
        IdentityMap().serialize(into: &writer)
        writer.strings([])
        let emptyJourney: @Sendable (inout BinaryWriter, String) -> Void = { writer, _ in
            writer.int(7)
            writer.varint(0)
            writer.varint(0)
        }
        writer.chunkedMap(entries: ["c-1", "c-1"], key: { $0 }, emptyJourney)
        #expect(throws: EventDecodingError(reason: "the journey of c-1 appears twice")) {
            try CustomerJourneys.State(serialized: writer.bytes)
        }
    }

    @Test("The period selects conversions by their time and other paths by their last touch; campaigns as keys")
    func periodAndCampaigns() throws {
        let day: Int64 = 86_400_000_000
        let touches: [JourneyEvents.Touch] = [
            .init(at: 1 * day, type: .touchpoint, channel: "email", campaign: "spring"),
            .init(at: 2 * day, type: .touchpoint, channel: "social", campaign: ""),
            .init(at: 3 * day, type: .messageOpened, channel: "email", campaign: "spring"),
            .init(at: 40 * day, type: .touchpoint, channel: "display", campaign: "retarget"),
        ]
        let conversions = [AttributionPath.Conversion(at: 5 * day, value: Money(minorUnits: 100, currency: .usd))]
        var options = PathOptions()
        options.key = .campaign
        options.touchTypes.insert(.messageOpened)
        var paths = [AttributionPath]()
        var untouched = [AttributionPath.Conversion]()
        JourneyEvents.paths(
            touches: touches,
            conversions: conversions,
            options: options,
            into: &paths,
            untouched: &untouched
        )
        #expect(paths.map(\.text) == ["spring > (none) > spring", "retarget"])
        options.period.from = EventTime(microseconds: 6 * day)
        paths = []
        JourneyEvents.paths(
            touches: touches,
            conversions: conversions,
            options: options,
            into: &paths,
            untouched: &untouched
        )
        #expect(paths.map(\.text) == ["retarget"])
        #expect(untouched.isEmpty)
    }
}

/// Reading the fixture files of attribution and analytics.
enum FixtureFile {
    static func object(_ url: URL) throws -> JSONObject {
        guard case .object(let members) = try JSONParser.parse(try String(contentsOf: url, encoding: .utf8)) else {
            throw FixtureError("not an object")
        }
        return JSONObject(members)
    }

    static func events(_ root: JSONObject) throws -> [Event] {
        guard case .string(let code)? = root["currency"], let currency = Currency(code),
            case .array(let lines)? = root["events"]
        else { throw FixtureError("currency and events are required") }
        let codec = EventJSONCodec(defaultCurrency: currency)
        return try lines.enumerated().map { number, line in
            let bytes = Array(JSONWriter.string(line).utf8)
            return try bytes.withUnsafeBytes { try codec.decode(line: $0, lineNumber: number + 1) }
        }
    }

    static func options(_ root: JSONObject) throws -> PathOptions {
        var options = PathOptions()
        let given = try root.object("options")
        if case .string(let window)? = given["window"] {
            options.window = try #require(SegmentWindow(window))
        }
        if case .string(let key)? = given["by"] { options.key = try #require(PathOptions.Key(rawValue: key)) }
        if case .array(let types)? = given["touches"] {
            options.touchTypes = Set(
                types.compactMap { if case .string(let name) = $0 { EventType(rawValue: name) } else { nil } }
            )
        }
        return options
    }
}

extension JSONObject {
    func object(_ key: String) throws -> JSONObject {
        guard case .object(let members)? = self[key] else { throw FixtureError("\(key) must be an object") }
        return JSONObject(members)
    }

    func number(_ key: String) -> Double? {
        if case .number(let text)? = self[key] { return Double(text) }
        return nil
    }

    fileprivate func number(_ key: String, _ inner: String) -> Double? {
        guard case .object(let members)? = self[key] else { return nil }
        return JSONObject(members).number(inner)
    }

    static func number(_ value: JSONValue) throws -> Double {
        guard case .number(let text) = value, let number = Double(text) else { throw FixtureError("a number") }
        return number
    }
}
