import Testing
import _EventLogTestSupport

@testable import CRMProjections

@Suite("Due queue")
struct DueQueueTests {
    /// Buckets of 7 instants (many buckets, some before 0), and of a day (every entry in one bucket).
    @Test(
        "Random pushes, absorbs (places moved by an offset) and pops take entries in (instant, place) order",
        arguments: [UInt64(1), 2, 3],
        [Int64(7), DueQueue.day]
    )
    func takesEntriesInOrder(seed: UInt64, bucketWidth: Int64) {
        var random = SplitMix64(seed: seed)
        var queue = DueQueue(bucketWidth: bucketWidth)
        var reference = [(Int64, Int)]()
        func entry() -> (Int64, Int) {
            // Few instants and few places: many ties on the instant, some exact duplicates.
            (Int64(random.next() % 50) - 20, Int(random.next() % 30))
        }
        for _ in 0..<40 {
            switch random.next() % 3 {
            case 0:
                var other = DueQueue(bucketWidth: bucketWidth)
                let offset = Int(random.next() % 10)
                for _ in 0..<Int(random.next() % 20) {
                    let (at, place) = entry()
                    other.push(at, place: place)
                    reference.append((at, place + offset))
                }
                queue.absorb(other, placesAfter: offset)
            case 1:
                for _ in 0..<Int(random.next() % 30) {
                    let (at, place) = entry()
                    queue.push(at, place: place)
                    reference.append((at, place))
                }
            default:
                let time = Int64(random.next() % 50) - 20
                reference.sort { $0 < $1 }
                let due = reference.prefix { $0.0 <= time }
                #expect(queue.hasEntry(atOrBefore: time) == !due.isEmpty)
                // Once the clock has reached its bucket, the entry read ahead for is the one taken next.
                if let first = due.first {
                    #expect(queue.upcoming.map { ($0.at, Int($0.place)) } ?? (.max, -1) == first)
                }
                var taken = [(Int64, Int)]()
                while let next = queue.popDue(atOrBefore: time) { taken.append((next.at, Int(next.place))) }
                #expect(taken.map(\.0) == due.map(\.0) && taken.map(\.1) == due.map(\.1))
                reference.removeFirst(due.count)
            }
            #expect(queue.count == reference.count)
        }
    }
}
