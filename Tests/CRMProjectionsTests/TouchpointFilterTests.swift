import CRMModel
import Testing

@testable import CRMProjections

/// Which touchpoints a segment's rule can change: only those of the channels and campaigns it reads touches of,
/// every one for a count of touchpoints, and those of the segments it reads through `in_segment`.
@Suite("Touchpoint filters of the segment catalog")
struct TouchpointFilterTests {
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
    static func filter(_ segment: String, in catalog: SegmentCatalog) -> TouchpointFilter? {
        catalog.evaluationOrder.firstIndex { catalog.generations[$0].name == segment }.map {
            catalog.touchpointFilters[$0]
        }
    }

    static func word(_ text: String) -> Vocabulary.Word { Vocabulary.shared.number(of: text) }

    @Test("Channels, campaigns, counts of touchpoints, in_segment references, and a removed reference")
    func derived() throws {
        let (email, web, spring, autumn) = (
            Self.word("email"), Self.word("web"), Self.word("spring"), Self.word("autumn")
        )
        var catalog = try Self.catalog([
            ("mail", #"{"all":[{"consent":"email"},{"touched_channel":"email","window":"30d"}]}"#),
            ("promo", #"{"touched_campaign":"spring","window":"20d"}"#),
            ("visits", #"{"count":"touchpoint","window":"7d","op":">=","value":3}"#),
            ("keen", #"{"any":[{"in_segment":"promo"},{"touched_channel":"web"}]}"#),
            ("reachable", #"{"consent":"email"}"#),
        ])
        let mail = try #require(Self.filter("mail", in: catalog))
        #expect(mail.admits(channel: email, campaign: Vocabulary.none))
        #expect(!mail.admits(channel: web, campaign: spring))
        let promo = try #require(Self.filter("promo", in: catalog))
        #expect(promo.admits(channel: web, campaign: spring) && !promo.admits(channel: email, campaign: autumn))
        #expect(try #require(Self.filter("visits", in: catalog)).admits(channel: email, campaign: Vocabulary.none))
        let keen = try #require(Self.filter("keen", in: catalog))
        #expect(keen.admits(channel: web, campaign: Vocabulary.none) && keen.admits(channel: email, campaign: spring))
        #expect(!keen.admits(channel: email, campaign: autumn))
        #expect(!(try #require(Self.filter("reachable", in: catalog))).admits(channel: email, campaign: spring))
        #expect(catalog.anyTouchpointFilter.admits(channel: web, campaign: autumn), "visits counts every touchpoint")

        catalog.remove("visits", at: EventTime(microseconds: 1))
        catalog.remove("promo", at: EventTime(microseconds: 1))
        let keenAfter = try #require(Self.filter("keen", in: catalog))
        #expect(!keenAfter.admits(channel: email, campaign: spring), "a removed segment is empty: nothing changes it")
        #expect(keenAfter.admits(channel: web, campaign: Vocabulary.none))
        #expect(!catalog.anyTouchpointFilter.admits(channel: Self.word("social"), campaign: autumn))
        #expect(catalog.anyTouchpointFilter.admits(channel: email, campaign: Vocabulary.none))
    }
}
