import CRMModel
import Testing

@testable import CRMProjections

/// ``BinaryWriter/byteCountedList(atMost:_:)``: the byte count written in front of elements written into scratch memory
/// gives the bytes of writing the elements apart and their count first, for counts that take one varint byte and
/// for those that take more.
@Suite("Counted lists")
struct CountedListTests {
    @Test("The same bytes as a byte count written first", arguments: [0, 1, 127, 128, 300, 20_000])
    func sameBytes(count: Int) throws {
        var elements = BinaryWriter()
        for number in 0..<count { elements.int(Int64(number * 37 - 500)) }
        var expected = BinaryWriter()
        expected.string("before")
        expected.varint(UInt64(elements.bytes.count))
        expected.bytes += elements.bytes
        expected.string("after")

        var counted = BinaryWriter()
        counted.string("before")
        // A zigzag varint of these numbers takes at most 3 bytes.
        counted.byteCountedList(atMost: count * 3) { encoded in
            for number in 0..<count { encoded.zigzag(Int64(number * 37 - 500)) }
        }
        counted.string("after")
        #expect(counted.bytes == expected.bytes)

        let read = try reading(counted.bytes) { reader throws(EventDecodingError) in
            _ = try reader.string()
            var list = BinaryReader(try reader.rawBytes(try reader.count("bytes of numbers")))
            var numbers = [Int64]()
            while !list.isAtEnd { numbers.append(try list.int()) }
            return (numbers, try reader.string())
        }
        #expect(read.0 == (0..<count).map { Int64($0 * 37 - 500) })
        #expect(read.1 == "after")
    }

    @Test("Varints stored a word at a time into scratch memory are the varints a byte at a time, for every length")
    func varintsAsWords() {
        // Every bit length from 0 to 64, at both ends of its range and between, and the byte-length boundaries.
        var values: [UInt64] = [0, 0x7F, 0x80, 0x3FFF, 0x4000, (1 << 56) - 1, 1 << 56, .max]
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        for bits in 1...64 {
            let top = bits == 64 ? UInt64.max : (1 << UInt64(bits)) - 1
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            values += [top, top >> 1 + 1, (seed & top) | (top >> 1 + 1)]
        }
        // Each value followed by a marker byte: a word stored past a varint's end must be overwritten, not kept.
        var withMarkers = [UInt8]()
        for value in values {
            withMarkers.varint(value)
            withMarkers.append(0xA5)
        }
        let room = values.count * 11
        let written = withUnsafeTemporaryAllocation(byteCount: room + RawPackedBytes.slack, alignment: 1) { scratch in
            var packed = RawPackedBytes(start: scratch.baseAddress)
            for value in values {
                packed.varint(value)
                packed.append(0xA5)
            }
            return Array(scratch[..<packed.count])
        }
        #expect(written == withMarkers)
    }
}
