/// Order amounts in one currency, in minor units: a customer's (`CustomerProfile.amounts`) or a group of orders'
/// (`ShopAnalytics.State.sales`), with one definition of net revenue.
public struct OrderAmounts: Sendable, Equatable {
    /// Sum of `order.placed` totals.
    public var gross: Int64 = 0
    /// Sum of the totals of orders later cancelled.
    public var cancelled: Int64 = 0
    /// Sum of `order.returned` amounts.
    public var returned: Int64 = 0
    /// Sum of `order.refunded` amounts.
    public var refunded: Int64 = 0
    /// Orders placed in this currency.
    public var orders: Int64 = 0

    /// Revenue kept: gross, less cancelled orders and refunds.
    public var net: Int64 { gross - cancelled - refunded }
    /// Gross per order (minor units, rounded down).
    public var averageOrderValue: Int64 { orders == 0 ? 0 : gross / orders }

    public init(gross: Int64 = 0, cancelled: Int64 = 0, returned: Int64 = 0, refunded: Int64 = 0, orders: Int64 = 0) {
        self.gross = gross
        self.cancelled = cancelled
        self.returned = returned
        self.refunded = refunded
        self.orders = orders
    }
}
