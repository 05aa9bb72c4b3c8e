import Foundation
import Testing
import _EventLogTestSupport

@testable import EventLog

@Suite("On-disk format")
struct FormatTests {
    @Test("CRC32C matches the published check value and continues across calls")
    func crc32c() {
        let check = Array("123456789".utf8)
        #expect(CRC32C.checksum(check) == 0xE306_9283)
        let split = check.withUnsafeBytes { raw in
            CRC32C.checksum(
                UnsafeRawBufferPointer(rebasing: raw[4...]),
                continuing: CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[..<4]))
            )
        }
        #expect(split == 0xE306_9283)
        #expect(CRC32C.checksum([]) == 0)
        // 32 bytes of zeros, from RFC 3720 B.4.
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        // The CPU instruction and the table agree on every length and alignment.
        var random = SplitMix64(seed: 1)
        let bytes = (0..<4099).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        bytes.withUnsafeBytes { raw in
            for start in 0..<9 {
                for end in stride(from: start, through: raw.count, by: 37) {
                    let slice = UnsafeRawBufferPointer(rebasing: raw[start..<end])
                    #expect(CRC32C.checksum(slice, continuing: 7) == CRC32C.portableChecksum(slice, continuing: 7))
                }
            }
        }
    }

    @Test("A segment header round-trips and every flipped bit is caught")
    func segmentHeader() throws {
        let header = SegmentHeader(baseOffset: 52_831, previousChainHash: ChainHash(bytes: Array(0..<32)))
        let bytes = header.encoded()
        #expect(bytes.count == SegmentHeader.size)
        #expect(try bytes.withBytes { raw throws(EventLogError) in try SegmentHeader.decode(raw, file: "s") } == header)
        for bit in stride(from: 0, to: bytes.count * 8, by: 7) {
            var damaged = bytes
            damaged[bit / 8] ^= UInt8(1 << (bit % 8))
            #expect(throws: EventLogError.self) {
                try damaged.withBytes { raw throws(EventLogError) in try SegmentHeader.decode(raw, file: "s") }
            }
        }
    }

    @Test("A frame compresses CRM JSON, stores incompressible bytes raw, and decodes back", arguments: [true, false])
    func frameRoundTrip(compressible: Bool) throws {
        var batch = RecordBatch()
        var random = SplitMix64(seed: 9)
        // Random bytes with little around them do not compress; a record header per 30 bytes of JSON does.
        let recordCount = compressible ? 100 : 1
        for index in 0..<recordCount {
            let value: [UInt8] =
                compressible
                ? Array("{\"type\":\"touchpoint\",\"customer\":\"c-\(index)\",\"channel\":\"email\"}".utf8)
                : (0..<20_000).map { _ in UInt8.random(in: 0...255, using: &random) }
            try batch.append(key: "c-\(index)", typeTag: 7, schemaVersion: 2, eventTime: Int64(index), value: value)
        }
        var output = [UInt8]()
        let header = batch.bytes.withUnsafeBytes { records in
            FrameEncoder.encode(
                records: records,
                count: batch.count,
                eventTimes: 0...Int64(recordCount - 1),
                baseOffset: 1000,
                appendTime: 5,
                previousHash: .zero,
                into: &output
            )
        }
        #expect(header.compression == (compressible ? .lz4 : .none))
        #expect(output.count == Int(header.frameLength))
        let decoded = try output.withBytes { raw throws(EventLogError) in try LogBatch.decode(frame: raw) }
        #expect(decoded.firstOffset == 1000 && decoded.count == recordCount)
        for (index, record) in decoded.enumerated() {
            #expect(record.offset == 1000 + Int64(index))
            #expect(record.keyString == "c-\(index)")
            #expect(record.typeTag == 7 && record.schemaVersion == 2 && record.eventTime == Int64(index))
        }
        let hash = output.withUnsafeBytes { FrameHeader.chainHash(previous: .zero, frame: $0) }
        #expect(hash == header.chainHash)
        #expect(hash != output.withUnsafeBytes { FrameHeader.chainHash(previous: header.chainHash, frame: $0) })
    }

    @Test("Index files round-trip; a sealed trailer is recognised; a bad entry stops decoding")
    func indexFiles() throws {
        var index = SegmentIndex(baseOffset: 100)
        for number in 0..<50 {
            let entry = IndexEntry(
                relativeOffset: UInt32(number * 10),
                position: UInt32(64 + number * 5000),
                maxEventTime: Int64(number * 3)
            )
            index.entries.append(entry)
        }
        let sealed = IndexFile.sealedFile(.offsets, index: index, segmentLength: 999_999, recordCount: 500)
        let decoded = try #require(sealed.withUnsafeBytes { IndexFile.decode(.offsets, $0, baseOffset: 100) })
        #expect(decoded.entries.map { $0.position } == index.entries.map { $0.position })
        #expect(decoded.trailer?.segmentLength == 999_999 && decoded.trailer?.entryCount == 50)
        #expect(decoded.defect == nil)
        #expect(sealed.withUnsafeBytes { IndexFile.decode(.offsets, $0, baseOffset: 101) } == nil)
        var damaged = sealed
        damaged[IndexFile.headerSize + 16 * 20 + 3] ^= 0x10
        let partial = try #require(damaged.withUnsafeBytes { IndexFile.decode(.offsets, $0, baseOffset: 100) })
        #expect(partial.entries.count == 20 && partial.defect != nil)
        #expect(index.floorEntry(forOffset: 100 + 25)?.relativeOffset == 20)
        #expect(index.floorEntry(forOffset: 99) == nil)
        #expect(index.scanStart(forEventTime: 7)?.maxEventTime == 6)
        #expect(index.scanStart(forEventTime: -1) == nil)
    }

    @Test("Record limits are enforced with a clear error")
    func limits() throws {
        var batch = RecordBatch()
        let big = [UInt8](repeating: 1, count: EventLog.Limits.maxValueBytes + 1)
        let error = #expect(throws: EventLogError.self) {
            try batch.append(key: "k", typeTag: 0, schemaVersion: 0, eventTime: 0, value: big)
        }
        #expect(error?.code == .invalidRecord)
        #expect(error?.message.contains("value") == true)
        let longKey = String(repeating: "x", count: EventLog.Limits.maxKeyBytes + 1)
        #expect(throws: EventLogError.self) {
            try batch.append(key: longKey, typeTag: 0, schemaVersion: 0, eventTime: 0, value: [])
        }
        #expect(batch.isEmpty)
    }
}

@Suite("Fixture frames")
struct FixtureFrameTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/frames")

    @Test("A frame built by an independent script from docs/on-disk-format.md decodes as documented")
    func referenceFrame() throws {
        let bytes = Files.read(Self.directory.appendingPathComponent("reference-raw-2.frame").path)
        #expect(bytes.count == 190)
        let batch = try bytes.withBytes { raw throws(EventLogError) in try LogBatch.decode(frame: raw) }
        let records = Array(batch)
        #expect(records.count == 2 && batch.firstOffset == 1000 && batch.appendTime == 1_709_400_000_000_000)
        #expect(records[0].keyString == "c-42" && records[0].producerID.map { Array($0) } == Array("e1".utf8))
        #expect(
            records[0].typeTag == 3 && records[0].schemaVersion == 1 && records[0].eventTime == 1_709_287_200_000_000
        )
        #expect(
            String(decoding: records[0].value, as: UTF8.self) == #"{"type":"customer.registered","customer":"c-42"}"#
        )
        #expect(records[1].key.isEmpty && records[1].producerID == nil && records[1].value.isEmpty)
        let hash = bytes.withUnsafeBytes { FrameHeader.chainHash(previous: .zero, frame: $0) }
        #expect(hash.description == "4d3afc9421f36f3bee61df4c41538a1c0e7ba8e0a953c51ba96798992982960d")
    }

    @Test("Every fixture frame (the fuzzer's seed corpus) decodes, and any truncation of it is refused")
    func seedCorpus() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.directory.path).filter {
            $0.hasSuffix(".frame")
        }
        #expect(names.count >= 3)
        for name in names {
            let bytes = Files.read(Self.directory.appendingPathComponent(name).path)
            let batch = try bytes.withBytes { raw throws(EventLogError) in try LogBatch.decode(frame: raw) }
            #expect(batch.count >= 1)
            for cut in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 97)) {
                #expect(throws: EventLogError.self) {
                    try Array(bytes[..<cut]).withBytes { raw throws(EventLogError) in try LogBatch.decode(frame: raw) }
                }
            }
        }
    }
}
