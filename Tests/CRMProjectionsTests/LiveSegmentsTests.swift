import CRMModel
import Testing

@testable import CRMProjections

/// Memberships held by slot: the set itself, and the slots moving when segments are defined and removed.
@Suite("Live segments by slot")
struct LiveSegmentsTests {
    @Test("Holds the slots inserted, below and above 64, in order; equal sets compare equal; remaps")
    func slots() {
        var set = LiveSegments()
        for slot in [130, 3, 64, 0] { set.insert(slot) }
        #expect([0, 3, 64, 130].allSatisfy(set.contains))
        #expect(![1, 65, 200, -1].contains(where: set.contains))
        var visited = [Int]()
        set.forEachSlot { visited.append($0) }
        #expect(visited == [0, 3, 64, 130])
        #expect(set.count == 4)
        set.remove(130)
        var expected = LiveSegments()
        for slot in [0, 3, 64] { expected.insert(slot) }
        #expect(set == expected, "removing the last high slot leaves no empty word behind")
        // 0 → 1, 3 dropped, 64 → 2.
        var moves = [Int?](repeating: nil, count: 65)
        moves[0] = 1
        moves[64] = 2
        var moved = LiveSegments()
        for slot in [1, 2] { moved.insert(slot) }
        #expect(set.remapped(moves) == moved)
        set.remove(0)
        set.remove(3)
        set.remove(64)
        #expect(set.isEmpty && set == LiveSegments())
    }

    static func defined(_ name: String, _ definition: String) throws -> EventPayload {
        guard case .object(let object) = try JSONParser.parse(definition) else { throw EventDecodingError(reason: "") }
        return .segmentDefined(segment: name, definition: JSONObject(object), description: nil)
    }

    @Test("Defining and removing segments keeps every other membership, wherever the new names sort")
    func definitionsMoveSlots() throws {
        let order = CustomerProfilesTests.order("o1", 100)
        var state = CustomerProfiles.makeState()
        let events: [(Int64, String?, EventPayload)] = [
            (0, nil, try Self.defined("m", #"{"count":"order.placed","window":"365d","op":">=","value":1}"#)),
            (1, "c-1", order),
            // Sorts before "m" (every slot moves up) and holds nobody.
            (2, nil, try Self.defined("a", #"{"count":"order.placed","window":"365d","op":">=","value":5}"#)),
            (3, nil, try Self.defined("z", #"{"in_segment":"m"}"#)),
            (4, nil, .segmentRemoved(segment: "a")),
        ]
        for (number, (days, customer, payload)) in events.enumerated() {
            let at = CustomerProfilesTests.at(days)
            let event = Event(id: "e\(number)", at: at, customer: customer, payload: payload)
            CustomerProfiles.applyInSequence(offset: Int64(number), event: event, to: &state)
        }
        #expect(state.segments.liveNames == ["m", "z"])
        #expect(state.segments(of: "c-1") == ["m", "z"])
        // Entered m with its order and z with its definition; no other change (a lost bit would show as an exit
        // and an entry).
        let history = state.segmentHistory(of: "c-1").map { "\($0.segment) \($0.entered)" }
        #expect(history == ["m true", "z true"])
        let restored = try CustomerProfiles.State(serialized: state.serialized)
        #expect(restored.segments(of: "c-1") == ["m", "z"])
        #expect(restored.serialized == state.serialized)
    }
}
