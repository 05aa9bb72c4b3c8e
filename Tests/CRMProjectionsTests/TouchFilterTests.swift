import CRMModel
import Testing

@testable import CRMProjections

/// Which touch events (touchpoints, messages opened or clicked) a segment's rule can change: those whose fact names
/// a channel or campaign it reads touches of, every event of a type it counts, and those of the segments it reads
/// through `in_segment`.
@Suite("Touch filters of the segment catalog")
struct TouchFilterTests {
    static func catalog(_ definitions: [(String, String)]) throws -> SegmentCatalog {
        var catalog = SegmentCatalog()
        for (name, definition) in definitions {
            guard case .object(let object) = try JSONParser.parse(definition) else {
                throw EventDecodingError(reason: "")
            }
            let accepted = catalog.define(
                name,
                definition: JSONObject(object),
                description: nil,
                at: EventTime(microseconds: 0)
            )
            #expect(accepted, "\(name) is defined")
        }
        return catalog
    }

    /// The filter of `segment` in `catalog`.
    static func filter(_ segment: String, in catalog: SegmentCatalog) -> TouchFilter? {
        catalog.evaluationOrder.firstIndex { catalog.generations[$0].name == segment }.map {
            catalog.touchFilters[$0]
        }
    }

    static func word(_ text: String) -> Vocabulary.Word { Vocabulary.number(of: text) }
    static let touchpoint = UInt8(EventType.touchpoint.tag)
    static let opened = UInt8(EventType.messageOpened.tag)
    static let clicked = UInt8(EventType.messageClicked.tag)

    @Test("Channels, campaigns, counted types, in_segment references, and a removed reference")
    func derived() throws {
        let (email, web, spring, autumn) = (
            Self.word("email"), Self.word("web"), Self.word("spring"), Self.word("autumn")
        )
        let none = Vocabulary.none
        var catalog = try Self.catalog([
            ("mail", #"{"all":[{"consent":"email"},{"touched_channel":"email","window":"30d"}]}"#),
            ("promo", #"{"touched_campaign":"spring","window":"20d"}"#),
            ("visits", #"{"count":"touchpoint","window":"7d","op":">=","value":3}"#),
            ("readers", #"{"count":"message.opened","window":"7d","op":">=","value":1}"#),
            ("keen", #"{"any":[{"in_segment":"promo"},{"touched_channel":"web"}]}"#),
            ("reachable", #"{"consent":"email"}"#),
        ])
        let mail = try #require(Self.filter("mail", in: catalog))
        #expect(mail.admits(type: Self.touchpoint, channel: email, campaign: none))
        #expect(!mail.admits(type: Self.touchpoint, channel: web, campaign: spring))
        #expect(!mail.admits(type: Self.opened, channel: none, campaign: spring), "a message's fact names no channel")
        let promo = try #require(Self.filter("promo", in: catalog))
        #expect(promo.admits(type: Self.touchpoint, channel: web, campaign: spring))
        #expect(promo.admits(type: Self.clicked, channel: none, campaign: spring))
        #expect(!promo.admits(type: Self.opened, channel: none, campaign: autumn))
        let visits = try #require(Self.filter("visits", in: catalog))
        #expect(visits.admits(type: Self.touchpoint, channel: email, campaign: none))
        let readers = try #require(Self.filter("readers", in: catalog))
        #expect(readers.admits(type: Self.opened, channel: none, campaign: autumn))
        #expect(!readers.admits(type: Self.clicked, channel: none, campaign: autumn))
        let keen = try #require(Self.filter("keen", in: catalog))
        #expect(keen.admits(type: Self.touchpoint, channel: web, campaign: none))
        #expect(keen.admits(type: Self.opened, channel: none, campaign: spring))
        #expect(!keen.admits(type: Self.touchpoint, channel: email, campaign: autumn))
        let reachable = try #require(Self.filter("reachable", in: catalog))
        #expect(!reachable.admits(type: Self.touchpoint, channel: email, campaign: spring))
        #expect(catalog.anyTouchFilter.admits(type: Self.touchpoint, channel: web, campaign: autumn))

        catalog.remove("visits", at: EventTime(microseconds: 1))
        catalog.remove("readers", at: EventTime(microseconds: 1))
        catalog.remove("promo", at: EventTime(microseconds: 1))
        let keenAfter = try #require(Self.filter("keen", in: catalog))
        #expect(
            !keenAfter.admits(type: Self.touchpoint, channel: email, campaign: spring),
            "a removed segment is empty: nothing changes it"
        )
        #expect(keenAfter.admits(type: Self.touchpoint, channel: web, campaign: none))
        #expect(!catalog.anyTouchFilter.admits(type: Self.touchpoint, channel: Self.word("social"), campaign: autumn))
        #expect(!catalog.anyTouchFilter.admits(type: Self.opened, channel: none, campaign: spring))
        #expect(catalog.anyTouchFilter.admits(type: Self.touchpoint, channel: email, campaign: none))
    }
}
