import CRMModel
import CRMProjections
import Foundation
import Testing

/// The hand-computed case of `fixtures/analytics/basic.json` (its `about` says how the numbers were worked out):
/// campaign performance, sales by every grouping, products, support and cohorts.
@Suite("Shop analytics")
struct AnalyticsTests {
    static let url = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/analytics/basic.json")

    /// The fixture and the state after its events, in file order.
    static func load() throws -> (JSONObject, ShopAnalytics.State) {
        let root = try FixtureFile.object(url)
        var state = ShopAnalytics.makeState()
        for (offset, event) in try FixtureFile.events(root).enumerated() {
            ShopAnalytics.applyInSequence(offset: Int64(offset), event: event, to: &state)
        }
        return (root, state)
    }

    static func rows(_ root: JSONObject, _ key: String) throws -> [[JSONValue]] {
        guard case .array(let rows)? = root[key] else { throw FixtureError("\(key) must be an array") }
        return try rows.map { row in
            guard case .array(let cells) = row else { throw FixtureError("\(key): rows are arrays") }
            return cells
        }
    }

    static func text(_ value: JSONValue) -> String? { if case .string(let text) = value { text } else { nil } }

    @Test("Campaign performance: sends, deliveries, unique opens and clicks (merged ids once), rates")
    func campaigns() throws {
        let (root, state) = try Self.load()
        guard case .array(let expected)? = root["campaigns"] else { throw FixtureError("campaigns") }
        let rows = state.campaignRows()
        #expect(rows.map(\.campaign) == ["spring", "summer"])
        for (row, value) in zip(rows, expected) {
            guard case .object(let members) = value else { throw FixtureError("a campaign is an object") }
            let campaign = JSONObject(members)
            #expect(row.name == (campaign["name"].flatMap(Self.text)))
            for (name, actual) in [
                ("sent", row.sent), ("delivered", row.delivered), ("unique_opens", row.uniqueOpens),
                ("unique_clicks", row.uniqueClicks), ("unsubscribes", row.unsubscribes),
            ] {
                #expect(Double(actual) == campaign.number(name), "\(row.campaign) \(name)")
            }
            for (name, actual) in [
                ("open_rate", row.openRate), ("click_rate", row.clickRate),
                ("click_to_open_rate", row.clickToOpenRate), ("bounce_rate", row.bounceRate),
            ] {
                #expect(abs((actual ?? -1) - (campaign.number(name) ?? -2)) < 1e-6, "\(row.campaign) \(name)")
            }
        }
    }

    @Test("Sales by total, channel, month and city; repeat-purchase and return rates; products and categories")
    func sales() throws {
        let (root, state) = try Self.load()
        let groups = try root.object("sales")
        #expect(groups.members.count == 4)
        for (name, _) in groups.members {
            let grouping = try #require(ShopAnalytics.State.SalesGrouping(rawValue: name))
            let actual = state.sales(by: grouping).map { row -> [String] in
                [row.group, row.currency]
                    + [
                        row.amounts.orders, row.amounts.gross, row.amounts.cancelled, row.amounts.returned,
                        row.amounts.refunded, row.amounts.net,
                    ]
                    .map { String($0) }
            }
            let expected = try Self.rows(groups, name).map { cells in
                cells.map { Self.text($0) ?? String(Int(try! JSONObject.number($0))) }
            }
            #expect(actual == expected, "sales by \(name)")
        }
        guard case .array(let pair)? = root["repeat_purchase"] else { throw FixtureError("repeat_purchase") }
        let rate = state.repeatPurchaseRate()
        #expect([Double(rate.customers), Double(rate.repeating)] == (try pair.map(JSONObject.number)))
        let usd = try #require(state.sales(by: .total).first { $0.currency == "USD" })
        #expect(abs((usd.returnRate ?? -1) - (root.number("return_rate_usd") ?? -2)) < 1e-6)
        #expect(usd.averageOrderValue == 6500)
        for (key, categories) in [("products", false), ("categories", true)] {
            let actual = state.products(categories: categories).map {
                [$0.name, $0.currency, String($0.units), String($0.revenue)]
            }
            let expected = try Self.rows(root, key).map { cells in
                cells.map { Self.text($0) ?? String(Int(try! JSONObject.number($0))) }
            }
            #expect(actual == expected, "\(key)")
        }
    }

    @Test("Support by total, channel and priority: backlog, median and p90 time to resolution, satisfaction")
    func support() throws {
        let (root, state) = try Self.load()
        let groups = try root.object("support")
        for (name, _) in groups.members {
            let grouping = try #require(ShopAnalytics.State.SupportGrouping(rawValue: name))
            let actual = state.support(by: grouping).map { row -> [Double] in
                [
                    Double(row.opened), Double(row.resolved), Double(row.backlog),
                    Double(row.resolutionTime(percentile: 50) ?? -1) / 1_000_000,
                    Double(row.resolutionTime(percentile: 90) ?? -1) / 1_000_000, row.averageSatisfaction ?? -1,
                ]
            }
            let expected = try Self.rows(groups, name)
            #expect(actual.count == expected.count, "support by \(name)")
            for (row, cells) in zip(actual, expected) {
                #expect(row == (try cells.dropFirst().map(JSONObject.number)), "support by \(name)")
            }
        }
    }

    @Test("Cohorts by the month of the first sale, against months since")
    func cohorts() throws {
        let (root, state) = try Self.load()
        let actual = state.cohorts().map { cell -> [String] in
            let currency = cell.revenue.keys.sorted().first ?? ""
            return [
                cell.cohort, String(cell.monthsSince), String(cell.size), String(cell.active), String(cell.orders),
                currency, String(cell.revenue[currency] ?? 0), String(cell.retention),
            ]
        }
        let expected = try Self.rows(root, "cohorts").map { cells in
            cells.enumerated().map { index, cell in
                Self.text(cell)
                    ?? (index == 7 ? String(try! JSONObject.number(cell)) : String(Int(try! JSONObject.number(cell))))
            }
        }
        #expect(actual == expected)
    }

    @Test("Orders read back by id, each field kept; an order id written twice is refused, naming it")
    func ordersByID() throws {
        let (_, state) = try Self.load()
        let restored = try ShopAnalytics.State(serialized: state.serialized)
        #expect(restored.serialized == state.serialized)
        #expect(restored.orders.count == state.orders.count && !state.orders.isEmpty)
        for order in state.orders.all { #expect(restored.orders[order.id] == order) }
        // The bytes of a state holding two orders under one id: no identity (an empty map), then the orders' map,
        // then empty maps of tickets, campaigns and engagement, and no launch.
        var writer = BinaryWriter()
        writer.varint(0)
        writer.varint(2)
        for _ in 0..<2 {
            writer.string("o-1")
            writer.string("c-1")
            writer.optionalTime(nil)
            writer.money(Money(minorUnits: 100, currency: .usd))
            writer.varint(0)
            for _ in 0..<3 { writer.optionalString(nil) }
            writer.bool(false)
            writer.int(0)
            writer.int(0)
        }
        for _ in 0..<4 { writer.varint(0) }
        #expect(throws: EventDecodingError(reason: "o-1 appears twice")) {
            try ShopAnalytics.State(serialized: writer.bytes)
        }
    }

    @Test("A launch notifies the customers subscribed to its sku or category who granted some consent")
    func launchNotifications() throws {
        let codec = EventJSONCodec(defaultCurrency: .usd)
        let lines = [
            #"{"type":"product.subscribed","at":"2024-01-01T00:00:00Z","customer":"c-1","category":"shoes"}"#,
            #"{"type":"consent.changed","at":"2024-01-01T00:00:00Z","customer":"c-1","channel":"email","granted":true}"#,
            #"{"type":"product.subscribed","at":"2024-01-01T00:00:00Z","customer":"c-2","sku":"E"}"#,
            #"{"type":"product.subscribed","at":"2024-01-01T00:00:00Z","customer":"c-3","category":"shoes"}"#,
            #"{"type":"consent.changed","at":"2024-01-01T00:00:00Z","customer":"c-3","channel":"sms","granted":true}"#,
            #"{"type":"consent.changed","at":"2024-01-02T00:00:00Z","customer":"c-3","channel":"sms","granted":false}"#,
            #"{"type":"product.subscribed","at":"2024-01-01T00:00:00Z","customer":"c-4","sku":"E"}"#,
            #"{"type":"consent.changed","at":"2024-01-01T00:00:00Z","customer":"c-4","channel":"sms","granted":true}"#,
            #"{"type":"consent.changed","at":"2024-01-01T00:00:00Z","customer":"c-4","channel":"push","granted":true}"#,
            #"{"type":"product.launched","at":"2024-02-01T00:00:00Z","sku":"E","category":"shoes"}"#,
        ]
        var profiles = CustomerProfiles.makeState()
        var analytics = ShopAnalytics.makeState()
        for (offset, line) in lines.enumerated() {
            let bytes = Array(line.utf8)
            let event = try bytes.withUnsafeBytes { try codec.decode(line: $0, lineNumber: offset + 1) }
            CustomerProfiles.applyInSequence(offset: Int64(offset), event: event, to: &profiles)
            ShopAnalytics.applyInSequence(offset: Int64(offset), event: event, to: &analytics)
        }
        let launch = try #require(analytics.launches.first)
        let notified = launch.customersToNotify(profiles)
        #expect(notified.map(\.customer) == ["c-1", "c-4"])
        #expect(notified.last?.channels == ["push", "sms"])
    }
}
