import CRMModel

/// The reports of docs/analytics.md, computed from the projection's facts.
extension ShopAnalytics.State {
    // MARK: Campaigns

    public struct CampaignRow: Sendable, Equatable {
        public var campaign: String
        public var name: String?
        public var channel: String?
        public var sent: Int64
        public var delivered: Int64
        public var uniqueOpens: Int64
        public var uniqueClicks: Int64
        public var unsubscribes: Int64
        public var bounced: Int64

        public var openRate: Double? { delivered == 0 ? nil : Double(uniqueOpens) / Double(delivered) }
        public var clickRate: Double? { delivered == 0 ? nil : Double(uniqueClicks) / Double(delivered) }
        public var clickToOpenRate: Double? { uniqueOpens == 0 ? nil : Double(uniqueClicks) / Double(uniqueOpens) }
        public var bounceRate: Double? { sent == 0 ? nil : Double(bounced) / Double(sent) }
    }

    /// Every campaign a message or a `campaign.created` names, by id.
    public func campaignRows() -> [CampaignRow] {
        var opens = [String: Int64]()
        var clicks = [String: Int64]()
        for customer in engagement {
            for (campaign, flags) in customer.campaigns {
                if flags & ShopAnalytics.opened != 0 { opens[campaign, default: 0] += 1 }
                if flags & ShopAnalytics.clicked != 0 { clicks[campaign, default: 0] += 1 }
            }
        }
        let ids = Set(campaigns.keys).union(opens.keys).union(clicks.keys)
        return ids.sorted().map { id in
            let counts = campaigns[id] ?? ShopAnalytics.Campaign()
            return CampaignRow(
                campaign: id,
                name: counts.name,
                channel: counts.channel,
                sent: counts.sent,
                delivered: max(0, counts.sent - counts.bounced),
                uniqueOpens: opens[id] ?? 0,
                uniqueClicks: clicks[id] ?? 0,
                unsubscribes: counts.unsubscribed,
                bounced: counts.bounced
            )
        }
    }

    // MARK: Sales

    /// Order figures of one group, in one currency.
    public struct SalesRow: Sendable, Equatable {
        public var group: String
        public var currency: String
        /// Orders, gross, cancelled, returned, refunded and net, as a profile counts them.
        public var amounts = OrderAmounts()
        /// Orders not cancelled, and those of them with a return.
        public var sales: Int64 = 0
        public var salesReturned: Int64 = 0

        /// Gross per order, unrounded.
        public var averageOrderValue: Double {
            amounts.orders == 0 ? 0 : Double(amounts.gross) / Double(amounts.orders)
        }
        public var returnRate: Double? { sales == 0 ? nil : Double(salesReturned) / Double(sales) }
    }

    public enum SalesGrouping: String, Sendable, CaseIterable {
        case total, channel, country, city, month
    }

    /// Orders placed in `period`, grouped, per currency; groups in name order, then currencies.
    public func sales(by grouping: SalesGrouping, in period: TimePeriod = TimePeriod()) -> [SalesRow] {
        var rows = [String: SalesRow]()
        for order in orders {
            guard let placed = order.placedAt, period.contains(placed) else { continue }
            let group: String =
                switch grouping {
                case .total: "all"
                case .channel: order.channel ?? "(none)"
                case .country: order.country ?? "(none)"
                case .city: order.city ?? "(none)"
                case .month: String(monthOf: EventTime(microseconds: placed).yearAndMonth)
                }
            let key = group + "\u{0}" + order.total.currency.code
            var row = rows[key] ?? SalesRow(group: group, currency: order.total.currency.code)
            row.amounts.orders += 1
            row.amounts.gross += order.total.minorUnits
            if order.cancelled {
                row.amounts.cancelled += order.total.minorUnits
            } else {
                row.sales += 1
                if order.returned > 0 { row.salesReturned += 1 }
            }
            row.amounts.returned += order.returned
            row.amounts.refunded += order.refunded
            rows[key] = row
        }
        return rows.values.sorted { ($0.group, $0.currency) < ($1.group, $1.currency) }
    }

    /// Customers with two or more sales among those with at least one, in `period`.
    public func repeatPurchaseRate(in period: TimePeriod = TimePeriod()) -> (customers: Int, repeating: Int) {
        var counts = [String: Int]()
        for order in orders where order.isSale && period.contains(order.placedAt!) {
            counts[identities.resolve(order.customer), default: 0] += 1
        }
        return (counts.count, counts.values.count { $0 >= 2 })
    }

    /// Units and revenue of one product or category, in one currency.
    public struct ProductRow: Sendable, Equatable {
        public var name: String
        public var currency: String
        public var units: Int64 = 0
        public var revenue: Int64 = 0
        public var orders: Int64 = 0
    }

    /// Items of sales placed in `period`, by sku (`categories: false`) or category, most revenue first.
    public func products(categories: Bool, in period: TimePeriod = TimePeriod()) -> [ProductRow] {
        var rows = [String: ProductRow]()
        for order in orders where order.isSale && period.contains(order.placedAt!) {
            var counted = Set<String>()
            for item in order.items {
                let name = categories ? item.category ?? "(none)" : item.sku
                let key = name + "\u{0}" + order.total.currency.code
                rows[key, default: ProductRow(name: name, currency: order.total.currency.code)].units += item.quantity
                rows[key]!.revenue += item.quantity * item.price
                if counted.insert(key).inserted { rows[key]!.orders += 1 }
            }
        }
        return rows.values.sorted { ($1.revenue, $0.name, $0.currency) < ($0.revenue, $1.name, $1.currency) }
    }

    // MARK: Support

    public struct SupportRow: Sendable, Equatable {
        public var group: String
        public var opened = 0
        public var resolved = 0
        /// Opened and not resolved at the query's time.
        public var backlog: Int { opened - resolved }
        /// Time to resolution of the resolved tickets, in microseconds, sorted.
        public var resolutionTimes: [Int64] = []
        /// Ratings 1 to 5: how many of each.
        public var ratings = [Int](repeating: 0, count: 5)

        /// Nearest-rank percentile of the resolution times (nil when none is resolved).
        public func resolutionTime(percentile: Double) -> Int64? {
            guard !resolutionTimes.isEmpty else { return nil }
            let rank = Int((percentile / 100 * Double(resolutionTimes.count)).rounded(.up))
            return resolutionTimes[max(0, min(resolutionTimes.count, rank) - 1)]
        }

        public var averageSatisfaction: Double? {
            let count = ratings.reduce(0, +)
            guard count > 0 else { return nil }
            return Double(ratings.enumerated().reduce(0) { $0 + ($1.offset + 1) * $1.element }) / Double(count)
        }
    }

    public enum SupportGrouping: String, Sendable, CaseIterable {
        case total, channel, priority
    }

    /// Tickets opened in `period`, grouped; `all` first when grouping by total.
    public func support(by grouping: SupportGrouping, in period: TimePeriod = TimePeriod()) -> [SupportRow] {
        var rows = [String: SupportRow]()
        for ticket in tickets.values {
            guard let opened = ticket.openedAt, period.contains(opened) else { continue }
            let group: String =
                switch grouping {
                case .total: "all"
                case .channel: ticket.channel ?? "(none)"
                case .priority: ticket.priority ?? "(none)"
                }
            rows[group, default: SupportRow(group: group)].opened += 1
            if let resolved = ticket.resolvedAt {
                rows[group]!.resolved += 1
                rows[group]!.resolutionTimes.append(max(0, resolved - opened))
                if let rating = ticket.satisfaction, (1...5).contains(rating) { rows[group]!.ratings[rating - 1] += 1 }
            }
        }
        return rows.values.map { row in
            var row = row
            row.resolutionTimes.sort()
            return row
        }.sorted { $0.group < $1.group }
    }

    // MARK: Cohorts

    /// One cohort in one month since its first: active customers, orders, revenue per currency.
    public struct CohortCell: Sendable, Equatable {
        public var cohort: String
        public var monthsSince: Int
        public var size: Int
        public var active = 0
        public var orders = 0
        public var revenue: [String: Int64] = [:]

        public var retention: Double { size == 0 ? 0 : Double(active) / Double(size) }
    }

    /// Monthly acquisition cohorts by first sale, against months since; by cohort, then month.
    public func cohorts() -> [CohortCell] {
        var sales = [String: [(at: Int64, total: Money)]]()
        for order in orders where order.isSale {
            sales[identities.resolve(order.customer), default: []].append((order.placedAt!, order.total))
        }
        func month(_ time: Int64) -> (year: Int, month: Int) { EventTime(microseconds: time).yearAndMonth }
        var sizes = [String: Int]()
        var cells = [String: CohortCell]()
        for orders in sales.values {
            let first = month(orders.map(\.at).min()!)
            let cohort = String(monthOf: first)
            sizes[cohort, default: 0] += 1
            var activeIn = Set<Int>()
            for order in orders {
                let placed = month(order.at)
                let since = (placed.year - first.year) * 12 + placed.month - first.month
                let key = cohort + "/" + String(since)
                cells[key, default: CohortCell(cohort: cohort, monthsSince: since, size: 0)].orders += 1
                cells[key]!.revenue[order.total.currency.code, default: 0] += order.total.minorUnits
                if activeIn.insert(since).inserted { cells[key]!.active += 1 }
            }
        }
        return cells.values.map { cell in
            var cell = cell
            cell.size = sizes[cell.cohort]!
            return cell
        }.sorted { ($0.cohort, $0.monthsSince) < ($1.cohort, $1.monthsSince) }
    }
}

extension String {
    /// `YYYY-MM`.
    fileprivate init(monthOf date: (year: Int, month: Int)) {
        self = String(date.year) + "-" + (date.month < 10 ? "0" : "") + String(date.month)
    }
}
