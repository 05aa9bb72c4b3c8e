/// The canonical NDJSON form of events (docs/events.md): one JSON object per line in, the same out.
public struct EventJSONCodec: Sendable {
    /// The currency of amounts that come without one.
    public var defaultCurrency: Currency

    public init(defaultCurrency: Currency = .usd) {
        self.defaultCurrency = defaultCurrency
    }

    // MARK: Decoding

    /// Decodes one line; errors carry `lineNumber`.
    public func decode(line: UnsafeRawBufferPointer, lineNumber: Int? = nil) throws(ValidationError) -> Event {
        do throws(ValidationError) {
            let value: JSONValue
            do {
                value = try JSONParser.parse(line)
            } catch {
                throw ValidationError(field: nil, reason: "not JSON (\(error))")
            }
            return try decode(value)
        } catch {
            var located = error
            located.line = lineNumber
            throw located
        }
    }

    /// Decodes one line of text.
    public func decode(_ text: String, lineNumber: Int? = nil) throws(ValidationError) -> Event {
        var text = text
        var result: Result<Event, ValidationError>!
        text.withUTF8 { utf8 in
            result = Result { () throws(ValidationError) -> Event in
                try decode(line: UnsafeRawBufferPointer(utf8), lineNumber: lineNumber)
            }
        }
        return try result.get()
    }

    /// Decodes a parsed JSON value.
    public func decode(_ value: JSONValue) throws(ValidationError) -> Event {
        guard case .object(let members) = value else {
            throw ValidationError(field: nil, reason: "must be a JSON object, not \(value.typeName)")
        }
        var fields = FieldReader(object: members, defaultCurrency: defaultCurrency)
        // In the order ``encode(_:)`` writes the envelope, which is the order fields are found fastest in.
        let id = try fields.string("id", maxBytes: 128)
        let typeName = try fields.string("type", required: true, maxBytes: 64, asGiven: true)!
        guard let type = EventType(rawValue: typeName) else {
            throw ValidationError(field: "type", reason: "unknown event type \"\(typeName)\"")
        }
        let atText = try fields.string("at", required: true, maxBytes: 64, asGiven: true)!
        let at: EventTime
        do {
            at = try EventTime(rfc3339: atText)
        } catch {
            throw ValidationError(field: "at", reason: "is not an RFC 3339 time with a zone: \(error.reason)")
        }
        let customer = type.isCustomerEvent ? try fields.string("customer", required: true, maxBytes: 256) : nil
        let payload = try Self.payload(type, &fields)
        return Event(id: id, at: at, customer: customer, payload: payload, custom: JSONObject(fields.unclaimed))
    }

    /// The fields of `customer.registered` that `customer.updated` may change by name; any other name is a trait.
    private static let registrationFields: Set<String> = ["email", "name", "phone", "country", "city", "channel"]

    private static func payload(_ type: EventType, _ fields: inout FieldReader) throws(ValidationError) -> EventPayload
    {
        switch type {
        case .customerRegistered:
            let country = try fields.string("country", maxBytes: 64)
            if let country,
                country.utf8.count != 2
                    || !country.utf8.allSatisfy({ $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") })
            {
                throw ValidationError(
                    field: "country",
                    reason: "must be an ISO 3166-1 alpha-2 code (two capital letters)"
                )
            }
            return .customerRegistered(
                email: try fields.string("email"),
                name: try fields.string("name"),
                phone: try fields.string("phone", maxBytes: 64),
                country: country,
                city: try fields.string("city"),
                channel: try fields.string("channel", maxBytes: 64),
                traits: JSONObject(try fields.object("traits") ?? [])
            )
        case .customerUpdated:
            // `null` is what export writes for the changes of a forgotten customer: present, but erased.
            guard fields.has("changes") else { throw ValidationError(field: "changes", reason: "is required") }
            // The registration's own fields are text in canonical form there, so they are here; custom traits are
            // kept as they came.
            let changes = (try fields.object("changes") ?? []).map { member in
                guard Self.registrationFields.contains(member.key), case .string(let text) = member.value else {
                    return member
                }
                return (key: member.key, value: JSONValue.string(text.canonicalForm))
            }
            return .customerUpdated(changes: JSONObject(changes))
        case .customerMerged:
            return .customerMerged(from: try fields.string("from", required: true)!)
        case .consentChanged:
            return .consentChanged(
                channel: try fields.string("channel", required: true, maxBytes: 64)!,
                granted: try fields.bool("granted", required: true)!
            )
        case .customerForgotten:
            return .customerForgotten
        case .touchpoint:
            return .touchpoint(
                channel: try fields.string("channel", required: true, maxBytes: 64)!,
                campaign: try fields.string("campaign", maxBytes: 128),
                source: try fields.string("source", maxBytes: 256),
                medium: try fields.string("medium", maxBytes: 128),
                kind: try fields.string("kind", maxBytes: 64),
                url: try fields.string("url", maxBytes: 2048)
            )
        case .messageSent, .messageOpened, .messageClicked, .messageBounced, .messageUnsubscribed:
            let kind = type.messageKind!
            return .message(
                kind,
                campaign: try fields.string("campaign", required: true, maxBytes: 128)!,
                channel: try fields.string("channel", required: true, maxBytes: 64)!
            )
        case .interaction:
            return .interaction(
                channel: try fields.string("channel", required: true, maxBytes: 64)!,
                direction: try fields.choice("direction", ["inbound", "outbound"], required: true)!,
                subject: try fields.string("subject", maxBytes: 1024),
                text: try fields.string("text", maxBytes: 65_536)
            )
        case .ticketOpened:
            return .ticketOpened(
                ticket: try fields.string("ticket", required: true, maxBytes: 128)!,
                subject: try fields.string("subject", maxBytes: 1024),
                channel: try fields.string("channel", maxBytes: 64),
                priority: try fields.choice("priority", ["low", "normal", "high", "urgent"])
            )
        case .ticketReplied:
            return .ticketReplied(
                ticket: try fields.string("ticket", required: true, maxBytes: 128)!,
                by: try fields.choice("by", ["agent", "customer"])
            )
        case .ticketResolved:
            return .ticketResolved(
                ticket: try fields.string("ticket", required: true, maxBytes: 128)!,
                satisfaction: try fields.integer("satisfaction", in: 1...5)
            )
        case .orderPlaced:
            let currency = try fields.currency()
            let total = try fields.money("total", currency: currency, required: true)!
            return .orderPlaced(
                order: try fields.string("order", required: true, maxBytes: 128)!,
                total: total,
                items: try fields.array("items").map { items throws(ValidationError) in
                    try items.enumerated().map { index, item throws(ValidationError) in
                        try Self.item(item, path: "items[\(index)]", currency: currency)
                    }
                },
                channel: try fields.string("channel", maxBytes: 64),
                country: try fields.string("country", maxBytes: 2),
                region: try fields.string("region", maxBytes: 128),
                city: try fields.string("city", maxBytes: 256)
            )
        case .orderPaid:
            let currency = try fields.currency()
            return .orderPaid(
                order: try fields.string("order", required: true, maxBytes: 128)!,
                amount: try fields.money("amount", currency: currency)
            )
        case .orderShipped:
            return .orderShipped(
                order: try fields.string("order", required: true, maxBytes: 128)!,
                carrier: try fields.string("carrier", maxBytes: 128),
                tracking: try fields.string("tracking", maxBytes: 256)
            )
        case .orderDelivered:
            return .orderDelivered(order: try fields.string("order", required: true, maxBytes: 128)!)
        case .orderCancelled:
            return .orderCancelled(
                order: try fields.string("order", required: true, maxBytes: 128)!,
                reason: try fields.string("reason", maxBytes: 1024)
            )
        case .orderReturned, .orderRefunded:
            let currency = try fields.currency()
            let order = try fields.string("order", required: true, maxBytes: 128)!
            let amount = try fields.money("amount", currency: currency, required: true, positive: true)!
            return type == .orderReturned
                ? .orderReturned(order: order, amount: amount) : .orderRefunded(order: order, amount: amount)
        case .productLaunched:
            return .productLaunched(
                sku: try fields.string("sku", required: true, maxBytes: 128)!,
                name: try fields.string("name", maxBytes: 512),
                category: try fields.string("category", maxBytes: 128)
            )
        case .productSubscribed, .productUnsubscribed:
            let sku = try fields.string("sku", maxBytes: 128)
            let category = try fields.string("category", maxBytes: 128)
            guard sku != nil || category != nil else {
                throw ValidationError(field: "sku", reason: "a sku or a category is required")
            }
            return type == .productSubscribed
                ? .productSubscribed(sku: sku, category: category) : .productUnsubscribed(sku: sku, category: category)
        case .campaignCreated:
            return .campaignCreated(
                campaign: try fields.string("campaign", required: true, maxBytes: 128)!,
                name: try fields.string("name", required: true, maxBytes: 512)!,
                channel: try fields.string("channel", required: true, maxBytes: 64)!,
                segment: try fields.string("segment", maxBytes: 128)
            )
        case .campaignLaunched:
            return .campaignLaunched(campaign: try fields.string("campaign", required: true, maxBytes: 128)!)
        case .campaignEnded:
            return .campaignEnded(campaign: try fields.string("campaign", required: true, maxBytes: 128)!)
        case .segmentDefined:
            let segment = try segmentName(&fields)
            let given = JSONObject(try fields.object("definition", required: true)!)
            // Checked against the grammar of docs/segments.md, so a bad definition never reaches the log.
            _ = try SegmentRule(parsing: given, defaultCurrency: fields.defaultCurrency)
            let definition = SegmentRule.withExplicitCurrencies(given, default: fields.defaultCurrency)
            return .segmentDefined(
                segment: segment,
                definition: definition,
                description: try fields.string("description", maxBytes: 1024)
            )
        case .segmentRemoved:
            return .segmentRemoved(segment: try segmentName(&fields))
        }
    }

    /// A segment name: 1–128 bytes of lower-case letters, digits and dashes (docs/segments.md).
    private static func segmentName(_ fields: inout FieldReader) throws(ValidationError) -> String {
        let name = try fields.string("segment", required: true, maxBytes: 128)!
        guard name.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }) else {
            throw ValidationError(field: "segment", reason: "must use only a-z, 0-9 and -")
        }
        return name
    }

    private static func item(_ value: JSONValue, path: String, currency: Currency) throws(ValidationError) -> OrderItem
    {
        guard case .object(let members) = value else {
            throw ValidationError(field: path, reason: "must be an object, not \(value.typeName)")
        }
        var fields = FieldReader(object: members, defaultCurrency: currency)
        do throws(ValidationError) {
            let item = OrderItem(
                sku: try fields.string("sku", required: true, maxBytes: 128)!,
                quantity: try fields.integer("qty", in: 1...1_000_000, required: true)!,
                price: try fields.money("price", currency: currency, required: true)!,
                category: try fields.string("category", maxBytes: 128)
            )
            return OrderItem(
                sku: item.sku,
                quantity: item.quantity,
                price: item.price,
                category: item.category,
                extra: JSONObject(fields.unclaimed)
            )
        } catch {
            var located = error
            located.field = path + "." + (error.field ?? "")
            throw located
        }
    }

    // MARK: Encoding

    /// The canonical JSON object of an event: envelope, the type's fields, then custom properties.
    public func encode(_ event: Event) -> JSONValue {
        var members = [(key: String, value: JSONValue)]()
        func add(_ key: String, _ value: String?) { if let value { members.append((key, .string(value))) } }
        func add(_ key: String, _ value: Money?) { if let value { members.append((key, .number(value.jsonNumber))) } }
        add("id", event.id)
        add("type", event.type.rawValue)
        add("at", event.at.rfc3339)
        add("customer", event.customer)
        switch event.payload {
        case .customerRegistered(let email, let name, let phone, let country, let city, let channel, let traits):
            add("email", email)
            add("name", name)
            add("phone", phone)
            add("country", country)
            add("city", city)
            add("channel", channel)
            if !traits.isEmpty { members.append(("traits", .object(traits.members))) }
        case .customerUpdated(let changes):
            members.append(("changes", .object(changes.members)))
        case .customerMerged(let from):
            add("from", from)
        case .consentChanged(let channel, let granted):
            add("channel", channel)
            members.append(("granted", .bool(granted)))
        case .customerForgotten:
            break
        case .touchpoint(let channel, let campaign, let source, let medium, let kind, let url):
            add("channel", channel)
            add("campaign", campaign)
            add("source", source)
            add("medium", medium)
            add("kind", kind)
            add("url", url)
        case .message(_, let campaign, let channel):
            add("campaign", campaign)
            add("channel", channel)
        case .interaction(let channel, let direction, let subject, let text):
            add("channel", channel)
            add("direction", direction)
            add("subject", subject)
            add("text", text)
        case .ticketOpened(let ticket, let subject, let channel, let priority):
            add("ticket", ticket)
            add("subject", subject)
            add("channel", channel)
            add("priority", priority)
        case .ticketReplied(let ticket, let by):
            add("ticket", ticket)
            add("by", by)
        case .ticketResolved(let ticket, let satisfaction):
            add("ticket", ticket)
            if let satisfaction { members.append(("satisfaction", .number(String(satisfaction)))) }
        case .orderPlaced(let order, let total, let items, let channel, let country, let region, let city):
            add("order", order)
            add("total", total)
            add("currency", total.currency.code)
            if let items {
                members.append(
                    (
                        "items",
                        .array(
                            items.map { item in
                                var fields: [(key: String, value: JSONValue)] = [
                                    ("sku", .string(item.sku)), ("qty", .number(String(item.quantity))),
                                    ("price", .number(item.price.jsonNumber)),
                                ]
                                if let category = item.category { fields.append(("category", .string(category))) }
                                return .object(fields + item.extra.members)
                            }
                        )
                    )
                )
            }
            add("channel", channel)
            add("country", country)
            add("region", region)
            add("city", city)
        case .orderPaid(let order, let amount):
            add("order", order)
            add("amount", amount)
            add("currency", amount?.currency.code)
        case .orderShipped(let order, let carrier, let tracking):
            add("order", order)
            add("carrier", carrier)
            add("tracking", tracking)
        case .orderDelivered(let order):
            add("order", order)
        case .orderCancelled(let order, let reason):
            add("order", order)
            add("reason", reason)
        case .orderReturned(let order, let amount), .orderRefunded(let order, let amount):
            add("order", order)
            add("amount", amount)
            add("currency", amount.currency.code)
        case .productLaunched(let sku, let name, let category):
            add("sku", sku)
            add("name", name)
            add("category", category)
        case .productSubscribed(let sku, let category), .productUnsubscribed(let sku, let category):
            add("sku", sku)
            add("category", category)
        case .campaignCreated(let campaign, let name, let channel, let segment):
            add("campaign", campaign)
            add("name", name)
            add("channel", channel)
            add("segment", segment)
        case .campaignLaunched(let campaign), .campaignEnded(let campaign):
            add("campaign", campaign)
        case .segmentDefined(let segment, let definition, let description):
            add("segment", segment)
            members.append(("definition", .object(definition.members)))
            add("description", description)
        case .segmentRemoved(let segment):
            add("segment", segment)
        }
        return .object(members + event.custom.members)
    }

    /// One NDJSON line (without the line end).
    public func encodeLine(_ event: Event) -> String { JSONWriter.string(encode(event)) }

    /// The canonical JSON of an event whose personal fields were erased: each personal field of its type that is
    /// absent is written as `null`, so that readers see erasure rather than a field that was never given.
    public func encode(erased event: Event) -> JSONValue {
        guard case .object(var members) = encode(event) else { return encode(event) }
        let customStart = members.count - event.custom.members.count
        var fields = Array(members[..<customStart])
        for name in event.type.personalFields {
            if let index = fields.firstIndex(where: { $0.key == name }) {
                if case .object(let inner) = fields[index].value, inner.isEmpty { fields[index].value = .null }
            } else {
                fields.append((name, .null))
            }
        }
        members = fields + members[customStart...]
        return .object(members)
    }

    /// Checks an event built in code against the same rules as an ingested line (lengths, required customer,
    /// amounts): it is valid when its canonical JSON decodes. Returns it as it will be stored (a segment
    /// definition gets its currencies written out).
    public func validated(_ event: Event) throws(ValidationError) -> Event {
        try decode(encode(event))
    }
}
