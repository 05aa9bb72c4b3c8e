import CRMModel
import Testing

@testable import CRMProjections

/// ``BinaryWriter/countedList(atMost:_:)``: the count written in front of elements counted as they were written gives the
/// bytes of writing the count first, for counts that take one varint byte and for those that take more.
@Suite("Counted lists")
struct CountedListTests {
    @Test("The same bytes as a count written first", arguments: [0, 1, 127, 128, 300, 20_000])
    func sameBytes(count: Int) throws {
        var expected = BinaryWriter()
        expected.string("before")
        expected.varint(UInt64(count))
        for number in 0..<count { expected.int(Int64(number * 37 - 500)) }
        expected.string("after")

        var counted = BinaryWriter()
        counted.string("before")
        // A zigzag varint of these numbers takes at most 3 bytes.
        counted.countedList(atMost: count * 3) { encoded in
            for number in 0..<count { encoded.zigzag(Int64(number * 37 - 500)) }
            return count
        }
        counted.string("after")
        #expect(counted.bytes == expected.bytes)

        let read = try reading(counted.bytes) { reader throws(EventDecodingError) in
            _ = try reader.string()
            let numbers = try reader.list("numbers") { reader throws(EventDecodingError) in try reader.int() }
            return (numbers, try reader.string())
        }
        #expect(read.0 == (0..<count).map { Int64($0 * 37 - 500) })
        #expect(read.1 == "after")
    }
}
