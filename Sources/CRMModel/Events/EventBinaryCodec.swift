/// An event as the log stores it: the record's fields (docs/event-codec.md).
public struct EncodedEvent: Sendable, Hashable {
    // The type tag is declared first so that the initializer Swift writes, `init(typeTag:key:…)`, differs from the
    // public one below, which calls it (see ``Event``'s).
    public var typeTag: UInt16
    /// The customer id, or empty.
    public var key: String
    public var schemaVersion: UInt16
    /// `at`, in microseconds since 1970.
    public var eventTime: Int64
    /// The event's `id`.
    public var producerID: String?
    /// flags, the personal part, the public part.
    public var value: [UInt8]
}

extension EncodedEvent {
    // Calls the initializer Swift writes, as ``Event``'s does: assigning the fields one by one left a copy and a
    // destruction of the whole value where the engine decodes each record.
    public init(
        key: String,
        typeTag: UInt16,
        schemaVersion: UInt16,
        eventTime: Int64,
        producerID: String?,
        value: [UInt8]
    ) {
        self.init(
            typeTag: typeTag,
            key: key,
            schemaVersion: schemaVersion,
            eventTime: eventTime,
            producerID: producerID,
            value: value
        )
    }
}

/// Turns events into log records and back, reading every schema version ever written (upcasting).
public enum EventBinaryCodec {
    /// The version each type is written with now.
    public static func currentVersion(of type: EventType) -> UInt16 {
        type == .orderPlaced ? 2 : 1
    }

    // MARK: Encoding

    public static func encode(_ event: Event) -> EncodedEvent {
        var personal = BinaryWriter()
        var open = BinaryWriter()
        switch event.payload {
        case .customerRegistered(let email, let name, let phone, let country, let city, let channel, let traits):
            personal.optionalString(email)
            personal.optionalString(name)
            personal.optionalString(phone)
            personal.optionalString(city)
            personal.object(traits)
            open.optionalString(country)
            open.optionalString(channel)
        case .customerUpdated(let changes):
            personal.object(changes)
        case .customerMerged(let from):
            open.string(from)
        case .consentChanged(let channel, let granted):
            open.string(channel)
            open.bool(granted)
        case .customerForgotten:
            break
        case .touchpoint(let channel, let campaign, let source, let medium, let kind, let url):
            open.string(channel)
            for field in [campaign, source, medium, kind, url] { open.optionalString(field) }
        case .message(_, let campaign, let channel):
            open.string(campaign)
            open.string(channel)
        case .interaction(let channel, let direction, let subject, let text):
            personal.optionalString(subject)
            personal.optionalString(text)
            open.string(channel)
            open.string(direction)
        case .ticketOpened(let ticket, let subject, let channel, let priority):
            personal.optionalString(subject)
            open.string(ticket)
            open.optionalString(channel)
            open.optionalString(priority)
        case .ticketReplied(let ticket, let by):
            open.string(ticket)
            open.optionalString(by)
        case .ticketResolved(let ticket, let satisfaction):
            open.string(ticket)
            open.optionalSmall(satisfaction)
        case .orderPlaced(let order, let total, let items, let channel, let country, let region, let city):
            open.string(order)
            open.money(total)
            if let items {
                open.varint(UInt64(items.count) + 1)
                for item in items {
                    open.string(item.sku)
                    open.varint(UInt64(item.quantity))
                    open.money(item.price)
                    open.optionalString(item.category)
                    open.object(item.extra)
                }
            } else {
                open.varint(0)
            }
            for field in [channel, country, region, city] { open.optionalString(field) }
        case .orderPaid(let order, let amount):
            open.string(order)
            open.optionalMoney(amount)
        case .orderShipped(let order, let carrier, let tracking):
            open.string(order)
            open.optionalString(carrier)
            open.optionalString(tracking)
        case .orderDelivered(let order):
            open.string(order)
        case .orderCancelled(let order, let reason):
            open.string(order)
            open.optionalString(reason)
        case .orderReturned(let order, let amount), .orderRefunded(let order, let amount):
            open.string(order)
            open.money(amount)
        case .productLaunched(let sku, let name, let category):
            open.string(sku)
            open.optionalString(name)
            open.optionalString(category)
        case .productSubscribed(let sku, let category), .productUnsubscribed(let sku, let category):
            open.optionalString(sku)
            open.optionalString(category)
        case .campaignCreated(let campaign, let name, let channel, let segment):
            open.string(campaign)
            open.string(name)
            open.string(channel)
            open.optionalString(segment)
        case .campaignLaunched(let campaign), .campaignEnded(let campaign):
            open.string(campaign)
        case .segmentDefined(let segment, let definition, let description):
            open.string(segment)
            open.object(definition)
            open.optionalString(description)
        case .segmentRemoved(let segment):
            open.string(segment)
        }
        open.object(event.custom)
        let value = ValueLayout.assemble(flags: ValueLayout.plain, personal: personal.bytes, public: open.bytes)
        return EncodedEvent(
            key: event.customer ?? "",
            typeTag: event.type.tag,
            schemaVersion: currentVersion(of: event.type),
            eventTime: event.at.microseconds,
            producerID: event.id,
            value: value
        )
    }

    // MARK: Decoding

    /// Decodes a record into the current form of its event, whatever version wrote it.
    public static func decode(_ encoded: EncodedEvent) throws(EventDecodingError) -> Event {
        var result: Result<Event, EventDecodingError>!
        encoded.value.withUnsafeBytes { raw in
            result = Result { () throws(EventDecodingError) -> Event in try decode(encoded, value: raw) }
        }
        return try result.get()
    }

    /// Decodes an event whose value is given in place: `header`'s `value` is not read. A record read from a
    /// batch decodes without its value being copied into an array first.
    public static func decode(
        _ header: EncodedEvent,
        value raw: UnsafeRawBufferPointer
    ) throws(EventDecodingError) -> Event {
        try decode(header, value: raw, personalPart: .asStored)
    }

    /// Where the personal fields of an event decoded in place come from.
    public enum PersonalPart {
        /// The value's own personal part, which must not be sealed.
        case asStored
        /// None: personal fields read as absent (a sealed part left sealed, or erased), as after
        /// `PersonalDataSealer.redact`, without rewriting the value first.
        case absent
        /// These bytes, the value's sealed part opened elsewhere, without assembling a plain value first.
        case opened(UnsafeRawBufferPointer)
    }

    /// ``decode(_:value:)`` with the personal fields taken from `personalPart`, and the parts `detail` leaves out
    /// stepped over (the header's producer id is the caller's); the value's layout and every field's bounds are
    /// checked in every case.
    public static func decode(
        _ header: EncodedEvent,
        value raw: UnsafeRawBufferPointer,
        personalPart: PersonalPart,
        detail: EventDetail = .complete
    ) throws(EventDecodingError) -> Event {
        guard let type = EventType(tag: header.typeTag) else {
            throw EventDecodingError(reason: "unknown type tag \(header.typeTag)")
        }
        guard header.schemaVersion >= 1, header.schemaVersion <= currentVersion(of: type) else {
            throw EventDecodingError(reason: "\(type.rawValue) has no schema version \(header.schemaVersion)")
        }
        let layout = try ValueLayout(raw)
        var personal: BinaryReader
        switch personalPart {
        case .asStored:
            guard layout.flags != ValueLayout.sealed else {
                throw EventDecodingError(reason: "the personal part is sealed; unseal it before decoding")
            }
            personal = BinaryReader(
                UnsafeRawBufferPointer(rebasing: raw[layout.personal]),
                redacted: layout.flags == ValueLayout.redacted
            )
        case .absent:
            personal = BinaryReader(UnsafeRawBufferPointer(start: nil, count: 0), redacted: true)
        case .opened(let bytes):
            personal = BinaryReader(bytes)
        }
        let open = BinaryReader(UnsafeRawBufferPointer(rebasing: raw[layout.public]))
        return try decode(
            type: type,
            version: header.schemaVersion,
            encoded: header,
            personal: personal,
            open: open,
            detail: detail
        )
    }

    private static func decode(
        type: EventType,
        version: UInt16,
        encoded: EncodedEvent,
        personal: consuming BinaryReader,
        open: consuming BinaryReader,
        detail: EventDetail
    ) throws(EventDecodingError) -> Event {
        let descriptions = detail.readsDescriptions
        let payload: EventPayload
        switch type {
        case .customerRegistered:
            let email = try personal.optionalString()
            let name = try personal.optionalString()
            let phone = try personal.optionalString()
            let city = try personal.optionalString()
            let traits = try personal.object()
            payload = .customerRegistered(
                email: email,
                name: name,
                phone: phone,
                country: try open.optionalString(),
                city: city,
                channel: try open.optionalString(),
                traits: traits
            )
        case .customerUpdated:
            payload = .customerUpdated(changes: try personal.object())
        case .customerMerged:
            payload = .customerMerged(from: try open.string())
        case .consentChanged:
            payload = .consentChanged(channel: try open.string(), granted: try open.bool())
        case .customerForgotten:
            payload = .customerForgotten
        case .touchpoint:
            payload = .touchpoint(
                channel: try open.string(),
                campaign: try open.optionalString(),
                source: try open.optionalString(reading: descriptions),
                medium: try open.optionalString(reading: descriptions),
                kind: try open.optionalString(reading: descriptions),
                url: try open.optionalString(reading: descriptions)
            )
        case .messageSent, .messageOpened, .messageClicked, .messageBounced, .messageUnsubscribed:
            let kind = type.messageKind!
            payload = .message(kind, campaign: try open.string(), channel: try open.string())
        case .interaction:
            let subject = try personal.optionalString()
            let text = try personal.optionalString()
            payload = .interaction(
                channel: try open.string(),
                direction: try open.string(),
                subject: subject,
                text: text
            )
        case .ticketOpened:
            let subject = try personal.optionalString()
            payload = .ticketOpened(
                ticket: try open.string(),
                subject: subject,
                channel: try open.optionalString(),
                priority: try open.optionalString()
            )
        case .ticketReplied:
            payload = .ticketReplied(ticket: try open.string(), by: try open.optionalString())
        case .ticketResolved:
            payload = .ticketResolved(ticket: try open.string(), satisfaction: try open.optionalSmall())
        case .orderPlaced:
            let order = try open.string()
            let total = try open.money()
            // Version 1 had no items: upcast by leaving them absent.
            let items = version >= 2 ? try orderItems(&open, reading: detail.readsOrderItems) : nil
            payload = .orderPlaced(
                order: order,
                total: total,
                items: items,
                channel: try open.optionalString(),
                country: try open.optionalString(),
                region: try open.optionalString(reading: descriptions),
                city: try open.optionalString()
            )
        case .orderPaid:
            payload = .orderPaid(order: try open.string(), amount: try open.optionalMoney())
        case .orderShipped:
            payload = .orderShipped(
                order: try open.string(),
                carrier: try open.optionalString(reading: descriptions),
                tracking: try open.optionalString(reading: descriptions)
            )
        case .orderDelivered:
            payload = .orderDelivered(order: try open.string())
        case .orderCancelled:
            payload = .orderCancelled(order: try open.string(), reason: try open.optionalString(reading: descriptions))
        case .orderReturned:
            payload = .orderReturned(order: try open.string(), amount: try open.money())
        case .orderRefunded:
            payload = .orderRefunded(order: try open.string(), amount: try open.money())
        case .productLaunched:
            payload = .productLaunched(
                sku: try open.string(),
                name: try open.optionalString(),
                category: try open.optionalString()
            )
        case .productSubscribed:
            payload = .productSubscribed(sku: try open.optionalString(), category: try open.optionalString())
        case .productUnsubscribed:
            payload = .productUnsubscribed(sku: try open.optionalString(), category: try open.optionalString())
        case .campaignCreated:
            payload = .campaignCreated(
                campaign: try open.string(),
                name: try open.string(),
                channel: try open.string(),
                segment: try open.optionalString()
            )
        case .campaignLaunched:
            payload = .campaignLaunched(campaign: try open.string())
        case .campaignEnded:
            payload = .campaignEnded(campaign: try open.string())
        case .segmentDefined:
            payload = .segmentDefined(
                segment: try open.string(),
                definition: try open.object(),
                description: try open.optionalString()
            )
        case .segmentRemoved:
            payload = .segmentRemoved(segment: try open.string())
        }
        let custom = try open.object()
        guard personal.isAtEnd || personal.redacted, open.isAtEnd else {
            throw EventDecodingError(reason: "\(type.rawValue) value has bytes left over")
        }
        return Event(
            id: encoded.producerID,
            at: EventTime(microseconds: encoded.eventTime),
            customer: type.isCustomerEvent ? encoded.key : nil,
            payload: payload,
            custom: custom
        )
    }

    /// An order's items, or, unless `reading`, nil with the items stepped over and checked as they would be read
    /// (no array, no strings made).
    private static func orderItems(
        _ reader: inout BinaryReader,
        reading: Bool
    ) throws(EventDecodingError) -> [OrderItem]? {
        let marker = try reader.varint()
        guard marker > 0 else { return nil }
        guard marker - 1 <= UInt64(reader.bytes.count - reader.position) else {
            throw EventDecodingError(reason: "item count \(marker - 1) is too large")
        }
        let count = Int(marker - 1)
        var items = [OrderItem]()
        if reading { items.reserveCapacity(count) }
        for _ in 0..<count {
            guard reading else {
                try reader.checkString()
                _ = try itemQuantity(&reader)
                _ = try reader.money()
                try reader.checkOptionalString()
                try reader.checkObject()
                continue
            }
            items.append(
                OrderItem(
                    sku: try reader.string(),
                    quantity: try itemQuantity(&reader),
                    price: try reader.money(),
                    category: try reader.optionalString(),
                    extra: try reader.object()
                )
            )
        }
        return reading ? items : nil
    }

    private static func itemQuantity(_ reader: inout BinaryReader) throws(EventDecodingError) -> Int {
        let quantity = try reader.varint()
        guard quantity >= 1, quantity <= 1_000_000 else {
            throw EventDecodingError(reason: "item quantity out of range")
        }
        return Int(quantity)
    }
}

/// Where the parts of an encoded value lie (docs/event-codec.md, "Value layout"), for the engine to seal, unseal
/// or erase the personal part without decoding the event.
public struct ValueLayout: Sendable, Equatable {
    /// Flags value: the personal part is plain.
    public static let plain: UInt8 = 0
    /// Flags value: the personal part is sealed with the customer's key.
    public static let sealed: UInt8 = 1
    /// Flags value: the personal part was erased (its key is gone); personal fields read as absent.
    public static let redacted: UInt8 = 2

    public var flags: UInt8
    /// The byte range of the personal part.
    public var personal: Range<Int>
    /// The byte range of the public part.
    public var `public`: Range<Int>

    public init(_ value: UnsafeRawBufferPointer) throws(EventDecodingError) {
        var reader = BinaryReader(value)
        flags = try reader.byte()
        guard flags <= Self.redacted else { throw EventDecodingError(reason: "unknown value flags \(flags)") }
        let length = try reader.count("personal byte")
        personal = reader.position..<reader.position + length
        `public` = personal.upperBound..<value.count
    }

    /// A value made of `flags`, a personal part and a public part.
    public static func assemble(
        flags: UInt8,
        personal: some Collection<UInt8>,
        public open: some Collection<UInt8>
    )
        -> [UInt8]
    {
        var writer = BinaryWriter()
        writer.bytes.reserveCapacity(personal.count + open.count + 6)
        writer.bytes.append(flags)
        writer.varint(UInt64(personal.count))
        writer.bytes.append(contentsOf: personal)
        writer.bytes.append(contentsOf: open)
        return writer.bytes
    }
}
