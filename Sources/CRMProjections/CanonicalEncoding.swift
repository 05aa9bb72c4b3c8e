public import CRMModel
import Synchronization

/// Canonical forms of the collections projection states are made of: maps and sets in key order.
extension BinaryWriter {
    public mutating func int(_ value: Int64) { zigzag(value) }

    public mutating func optionalTime(_ time: EventTime?) {
        bool(time != nil)
        if let time { zigzag(time.microseconds) }
    }

    public mutating func map<Value>(_ map: [String: Value], _ value: (inout BinaryWriter, Value) -> Void) {
        varint(UInt64(map.count))
        // Most maps of a profile hold one entry or none: no need to sort, or to look the value up again.
        if map.count <= 1 {
            for (key, element) in map {
                string(key)
                value(&self, element)
            }
            return
        }
        // Sorting the keys alone moves less than sorting the pairs when values are large (whole profiles).
        for key in map.keys.sorted() {
            string(key)
            value(&self, map[key]!)
        }
    }

    public mutating func set(_ set: Set<String>) {
        varint(UInt64(set.count))
        if set.count <= 1 {
            for element in set { string(element) }
            return
        }
        for element in set.sorted() { string(element) }
    }

    /// A table in the canonical form of a map (the same bytes as a dictionary of its values by id).
    public mutating func map<Element>(
        _ table: IdentifiedTable<Element>,
        _ value: (inout BinaryWriter, Element) -> Void
    ) {
        varint(UInt64(table.count))
        let places = sortedOnTwoCores(table.places, by: \.key)
        table.withValues { stored in
            // Through the pointer: a subscript returning the value copied each one (retaining each of its references).
            for (id, place) in places {
                string(id)
                value(&self, stored[Int(place)])
            }
        }
    }

    /// A sorted map in the canonical form of ``map(_:_:)``: it is already in key order.
    public mutating func map<Value>(_ map: SortedMap<Value>, _ value: (inout BinaryWriter, Value) -> Void) {
        varint(UInt64(map.count))
        for (key, element) in map {
            string(key)
            value(&self, element)
        }
    }

    /// A sorted set in the canonical form of ``set(_:)``.
    public mutating func set(_ set: SortedSet) {
        varint(UInt64(set.count))
        for element in set { string(element) }
    }

    public mutating func strings(_ strings: [String]) {
        varint(UInt64(strings.count))
        for element in strings { string(element) }
    }

    /// A list in canonical form after its byte count, known once the list is written: `body` writes it into scratch
    /// memory with room for `most` bytes (and ``RawPackedBytes/slack`` more), and it is appended at once after the
    /// count (a varint appended to the writer's array at a time was a sixth of writing a snapshot).
    mutating func byteCountedList(atMost most: Int, _ body: (inout RawPackedBytes) -> Void) {
        withUnsafeTemporaryAllocation(byteCount: most + RawPackedBytes.slack, alignment: 1) { scratch in
            var encoded = RawPackedBytes(start: scratch.baseAddress)
            body(&encoded)
            precondition(encoded.count <= most, "a list written into scratch memory ran past its room")
            byteCounted(UnsafeRawBufferPointer(rebasing: scratch[..<encoded.count]))
        }
    }

    /// Bytes already in their canonical form (a list kept in memory as its canonical bytes, a part written
    /// elsewhere), after their byte count: what ``BinaryReader/byteCountedBytes(_:)`` reads.
    mutating func byteCounted(_ encoded: some Collection<UInt8>) {
        varint(UInt64(encoded.count))
        bytes += encoded
    }
}

extension BinaryWriter {
    /// A large map in canonical form, written on every core: the entry count, the chunk count, then chunks of
    /// `chunkSize` entries in key order, each preceded by its byte count. Chunk boundaries depend only on the keys,
    /// so the bytes are the same however many cores wrote them; ``BinaryReader/chunkedEntries(_:)`` reads the
    /// chunks in parallel. `key` gives an entry's key, `value` writes its value.
    package mutating func chunkedMap<Entry: Sendable>(
        entries: [Entry],
        key: @Sendable (Entry) -> String,
        chunkSize: Int = 16_384,
        bytesPerEntry: Int = 64,
        _ value: @Sendable (inout BinaryWriter, Entry) -> Void
    ) {
        chunkedMap(
            sortedEntries: sortedOnTwoCores(entries, by: key),
            key: key,
            chunkSize: chunkSize,
            bytesPerEntry: bytesPerEntry,
            value
        )
    }

    /// ``chunkedMap(entries:key:chunkSize:bytesPerEntry:_:)`` of entries already in key order
    /// (``sortedOnTwoCores(_:by:)``): several maps over the same keys sort them once.
    ///
    /// `prefetch`, when given, is called for the entries ahead of the one being written (stage 0 for the one
    /// ``prefetchDistance`` × 2 ahead, then stage 1 for it at ``prefetchDistance``), so that a value spread over
    /// memory reaches the cache before it is written (``prefetch(_:bytes:)``).
    package mutating func chunkedMap<Entry: Sendable>(
        sortedEntries entries: [Entry],
        key: @Sendable (Entry) -> String,
        chunkSize: Int = 16_384,
        bytesPerEntry: Int = 64,
        prefetch: (@Sendable (Entry, _ stage: Int) -> Void)? = nil,
        _ value: @Sendable (inout BinaryWriter, Entry) -> Void
    ) {
        let chunks = (entries.count + chunkSize - 1) / chunkSize
        varint(UInt64(entries.count))
        varint(UInt64(chunks))
        // Streaming, a round of chunks at a time is written on every core and handed to the sink, each into a buffer
        // reused by the next round: the map is never whole in memory, and no page is touched for the first time
        // after the first round. Otherwise every chunk at once, joined at the end.
        let perRound = sink == nil ? max(1, chunks) : Self.chunksPerStreamedRound
        var buffers = [[UInt8]](repeating: [], count: min(perRound, chunks))
        var pieces = sink == nil ? [bytes[...]] : []
        let sink = self.sink
        for first in stride(from: 0, to: chunks, by: perRound) {
            let round = first..<min(chunks, first + perRound)
            let written = buffers.withUnsafeMutableBufferPointer { buffers in
                // Each task writes its own buffer only.
                nonisolated(unsafe) let buffers = buffers
                return concurrentMap(round.count) { index -> (start: Int, prepared: (any PreparedStreamBytes)?) in
                    let chunk = round.lowerBound + index
                    var writer = BinaryWriter()
                    swap(&writer.bytes, &buffers[index])
                    writer.bytes.removeAll(keepingCapacity: true)
                    // About the chunk's size up front: growing by doubling copied each chunk's bytes several times.
                    writer.bytes.reserveCapacity(Self.chunkLengthRoom + chunkSize * bytesPerEntry)
                    // Room for the chunk's byte count, known once its entries are written: the count goes right
                    // before them, so that the chunk is one run of bytes the sink can prepare on this core.
                    writer.bytes.append(contentsOf: repeatElement(0, count: Self.chunkLengthRoom))
                    let chunkEntries = (chunk * chunkSize)..<min(entries.count, (chunk + 1) * chunkSize)
                    let distance = Self.prefetchDistance
                    // Unwrapped once: `if let` in the loop copied the closure for every entry, a retain of its
                    // context that both cores wrote to (3 % of a 1M-customer save).
                    let prefetching = prefetch != nil
                    let prefetch = prefetch ?? { _, _ in }
                    for index in chunkEntries {
                        if prefetching {
                            if index + 2 * distance < chunkEntries.upperBound {
                                prefetch(entries[index + 2 * distance], 0)
                            }
                            if index + distance < chunkEntries.upperBound { prefetch(entries[index + distance], 1) }
                        }
                        let entry = entries[index]
                        writer.string(key(entry))
                        value(&writer, entry)
                    }
                    let start = writer.fillLengthRoom(Self.chunkLengthRoom)
                    let prepared = writer.bytes.withUnsafeBytes { chunk in
                        sink?.prepare(UnsafeRawBufferPointer(rebasing: chunk[start...]))
                    }
                    swap(&writer.bytes, &buffers[index])
                    return (start, prepared)
                }
            }
            for index in 0..<round.count {
                let chunk = buffers[index][written[index].start...]
                if sink == nil {
                    pieces.append(chunk)
                } else if let prepared = written[index].prepared {
                    append(prepared: prepared)
                } else {
                    append(encoded: chunk)
                }
            }
        }
        if sink == nil { bytes = joinedOnEveryCore(pieces) }
    }

    /// How many entries ahead of the one written ``chunkedMap(sortedEntries:key:chunkSize:bytesPerEntry:prefetch:_:)``
    /// prefetches.
    static let prefetchDistance = 8

    /// The bytes kept before a chunk for its byte count: the longest varint.
    private static let chunkLengthRoom = 10

    /// Writes the byte count of what follows the first `room` bytes as a varint at the end of those bytes, and
    /// returns where it starts: the chunk runs from there.
    private mutating func fillLengthRoom(_ room: Int) -> Int {
        var length = BinaryWriter()
        length.varint(UInt64(bytes.count - room))
        let start = room - length.bytes.count
        bytes.withUnsafeMutableBytes { target in
            length.bytes.withUnsafeBytes {
                UnsafeMutableRawBufferPointer(rebasing: target[start..<room]).copyMemory(from: $0)
            }
        }
        return start
    }

    /// The chunks of a large map written together, on every core, when streaming (two per core on two cores: a
    /// chunk of profiles is about 10 MB).
    static let chunksPerStreamedRound = 4
}

extension BinaryWriter {
    /// What `body` writes, preceded by its byte count as a varint. Streaming, the bytes cannot go to the sink before
    /// their count: they are held as the sink prepares them (a snapshot writer: compressed, on the cores that
    /// serialized them) and handed on after the count, instead of being joined into one buffer first.
    package mutating func withByteCount(_ body: (inout BinaryWriter) -> Void) {
        guard let sink else {
            var part = BinaryWriter()
            body(&part)
            byteCounted(part.bytes)
            return
        }
        let held = HeldStream(preparingFor: sink)
        var part = BinaryWriter(streamingTo: held)
        body(&part)
        part.flush()
        varint(UInt64(held.byteCount))
        for piece in held.pieces {
            switch piece {
            case .bytes(let bytes): append(encoded: bytes)
            case .prepared(let prepared): append(prepared: prepared)
            }
        }
    }
}

/// A sink that keeps what is streamed into it, in order, counting its bytes, and has another sink prepare what can
/// be prepared: ``BinaryWriter/withByteCount(_:)``.
private final class HeldStream: BinaryStreamSink, @unchecked Sendable {
    enum Piece {
        case bytes([UInt8])
        case prepared(any PreparedStreamBytes)
    }

    private let target: any BinaryStreamSink
    // Changed only by the streaming thread (`take`); `prepare` reads nothing of it.
    private(set) var pieces = [Piece]()
    private(set) var byteCount = 0

    init(preparingFor target: any BinaryStreamSink) { self.target = target }

    func take(_ bytes: UnsafeRawBufferPointer) {
        pieces.append(.bytes(Array(bytes)))
        byteCount += bytes.count
    }

    func prepare(_ bytes: UnsafeRawBufferPointer) -> (any PreparedStreamBytes)? {
        target.prepare(bytes).map { CountedPiece(piece: $0, count: bytes.count) }
    }

    func take(prepared: any PreparedStreamBytes) {
        let counted = prepared as! CountedPiece
        pieces.append(.prepared(counted.piece))
        byteCount += counted.count
    }

    /// A piece the target prepared, with the count of the bytes it was made of.
    private struct CountedPiece: PreparedStreamBytes {
        var piece: any PreparedStreamBytes
        var count: Int
    }
}

/// `elements` sorted by `key` (String order), each half on its own core, then merged.
///
/// Each key is read once. When every key is ASCII, String order is the order of the keys' bytes, so elements are
/// sorted by their key's first 8 bytes as one integer, the bytes compared only on a tie: comparing Strings was
/// most of writing a snapshot (710,000 profile ids, about 20 comparisons each).
package func sortedOnTwoCores<Element: Sendable>(
    _ elements: [Element],
    by key: @Sendable (Element) -> String
) -> [Element] {
    guard !elements.isEmpty else { return [] }
    let middle = elements.count / 2
    let count = elements.count
    // Each half's keys and ranks on its own core, into its part of one array: on one core they were a tenth of a
    // second of a 1M-customer save, with the other core idle.
    let nonASCII = Atomic<Bool>(false)
    var ranks = [UInt64](repeating: 0, count: count)
    let keys = [String](unsafeUninitializedCapacity: count) { keyBuffer, initialized in
        ranks.withUnsafeMutableBufferPointer { rankBuffer in
            nonisolated(unsafe) let (keyBuffer, rankBuffer) = (keyBuffer, rankBuffer)
            concurrentForEach(2) { half in
                for index in half == 0 ? 0..<middle : middle..<count {
                    let key = key(elements[index])
                    var rank: UInt64 = 0
                    var shift: UInt64 = 56
                    for byte in key.utf8 {
                        if byte >= 0x80 { nonASCII.store(true, ordering: .relaxed) }
                        if shift <= 56 {
                            rank |= UInt64(byte) << shift
                            shift = shift == 0 ? 64 : shift - 8
                        }
                    }
                    (keyBuffer.baseAddress! + index).initialize(to: key)
                    rankBuffer[index] = rank
                }
            }
        }
        initialized = count
    }
    let allASCII = !nonASCII.load(ordering: .relaxed)
    let precedes: @Sendable (Int, Int) -> Bool
    if allASCII {
        precedes = { [ranks, keys] left, right in
            if ranks[left] != ranks[right] { return ranks[left] < ranks[right] }
            return keys[left].utf8.lexicographicallyPrecedes(keys[right].utf8)
        }
    } else {
        precedes = { [keys] left, right in keys[left] < keys[right] }
    }
    let sortedHalves = concurrentMap(2) { half in
        (half == 0 ? 0..<middle : middle..<elements.count).sorted(by: precedes)
    }
    let (first, second) = (sortedHalves[0], sortedHalves[1])
    // Merged in two parts, one per core. The first half's middle element splits both halves: before it go the first
    // half's elements before it and the second half's that it does not precede (a tie takes the second half's
    // first, as one merge would), and everything else after it.
    let firstSplit = first.count / 2
    var secondSplit = 0
    if firstSplit < first.count {
        var high = second.count
        while secondSplit < high {
            let middle = (secondSplit + high) / 2
            if precedes(first[firstSplit], second[middle]) { high = middle } else { secondSplit = middle + 1 }
        }
    }
    let parts = [(first[..<firstSplit], second[..<secondSplit]), (first[firstSplit...], second[secondSplit...])]
    let secondStart = firstSplit + secondSplit
    return [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
        nonisolated(unsafe) let target = buffer.baseAddress!
        concurrentForEach(2) { part in
            let (left, right) = parts[part]
            var next = target + (part == 0 ? 0 : secondStart)
            var (l, r) = (left.startIndex, right.startIndex)
            while l < left.endIndex || r < right.endIndex {
                let fromLeft = r == right.endIndex || (l < left.endIndex && precedes(left[l], right[r]))
                next.initialize(to: elements[fromLeft ? left[l] : right[r]])
                if fromLeft { l += 1 } else { r += 1 }
                next += 1
            }
        }
        initialized = count
    }
}

extension BinaryReader {
    /// A chunked map's entry count and its chunks' bytes, in place (valid while this reader's buffer is).
    private mutating func chunkSlices() throws(EventDecodingError) -> (count: Int, chunks: [UnsafeRawBufferPointer]) {
        let count = try count("map")
        let chunks = try self.count("map chunks")
        var slices = [UnsafeRawBufferPointer]()
        for _ in 0..<chunks { slices.append(try byteCountedBytes("map chunk bytes")) }
        return (count, slices)
    }

    /// The entries of a map written by ``BinaryWriter/chunkedMap(entries:key:chunkSize:bytesPerEntry:_:)``, chunk
    /// by chunk, in key order, and their count (checked); the chunks are read on every core.
    package mutating func chunkedEntries<Value: Sendable>(
        _ value: @Sendable (inout BinaryReader) throws(EventDecodingError) -> Value
    ) throws(EventDecodingError) -> (count: Int, chunks: [[(key: String, value: Value)]]) {
        let (count, slices) = try chunkSlices()
        let chunks = slices.count
        // The slices point into the buffer this reader reads, which outlives the call.
        nonisolated(unsafe) let parts = slices
        let parsed = try concurrentMap(chunks) { chunk throws(EventDecodingError) -> [(key: String, value: Value)] in
            var reader = BinaryReader(parts[chunk])
            var entries = [(key: String, value: Value)]()
            while !reader.isAtEnd { entries.append((try reader.string(), try value(&reader))) }
            return entries
        }
        let entries = parsed.reduce(0) { $0 + $1.count }
        guard entries == count else {
            throw EventDecodingError(reason: "a chunked map holds \(entries) entries, not \(count)")
        }
        return (count, parsed)
    }

    /// The values of a map written by ``BinaryWriter/chunkedMap(entries:key:chunkSize:bytesPerEntry:_:)``, in key
    /// order (``StateBytes/chunkedValues(of:alongside:as:_:afterChunk:)`` of the bytes this reader reads, from
    /// where it is).
    package mutating func chunkedValues<Value: Sendable, Values: BuiltInPlace<Value>>(
        as _: Values.Type,
        _ value:
            @Sendable (
                _ key: String, _ chunk: Int, _ index: Int, inout BinaryReader
            ) throws(EventDecodingError) -> Value
    ) throws(EventDecodingError) -> Values {
        let bytes = BorrowedStateBytes(remainingBytes)
        let map = try bytes.chunkedMap(at: 0)
        let values = try bytes.chunkedValues(of: map, as: Values.self) {
            key,
            chunk,
            index,
            reader,
            _ throws(EventDecodingError) in
            try value(key, chunk, index, &reader)
        }
        _ = try rawBytes(map.end)
        return values
    }

    /// ``chunkedValues(as:_:)`` into an array.
    package mutating func chunkedValues<Value: Sendable>(
        _ value:
            @Sendable (
                _ key: String, _ chunk: Int, _ index: Int, inout BinaryReader
            ) throws(EventDecodingError) -> Value
    ) throws(EventDecodingError) -> [Value] {
        try chunkedValues(as: [Value].self, value)
    }
}

extension StateBytes {
    /// The values of the chunked map `map` (``chunkedMap(at:)``), in key order, read on every core straight into
    /// their places in one array, or in the block a table takes (`as`): no value is moved once read (joining chunks
    /// moved each of 710,000 profiles on one core). Each chunk's bytes are asked for by the core that reads it (a
    /// snapshot decompresses them there, into a buffer that core used for the chunk before). The first chunk is
    /// read first, and its entry count taken as the chunk size; every later chunk must hold as many, the last one
    /// the rest, as the writer makes them. `value` is given each entry's key, chunk and index in the chunk, and a
    /// reader of the same chunk of `other` (a map over the same keys, read alongside: empty without one), which
    /// `afterChunk` is given once the chunk is read.
    package func chunkedValues<Value: Sendable, Values: BuiltInPlace<Value>>(
        of map: ChunkedMapLayout,
        alongside other: ChunkedMapLayout? = nil,
        as _: Values.Type,
        _ value:
            @Sendable (
                _ key: String, _ chunk: Int, _ index: Int, inout BinaryReader, _ alongside: inout BinaryReader
            ) throws(EventDecodingError) -> Value,
        afterChunk: @Sendable (_ chunk: Int, _ alongside: BinaryReader) throws(EventDecodingError) -> Void = { _, _ in }
    ) throws(EventDecodingError) -> Values {
        let (count, chunks) = (map.count, map.chunks.count)
        precondition(other == nil || other!.chunks.count == chunks, "a map read alongside has as many chunks")
        guard chunks > 0, count > 0 else {
            guard count == 0, map.chunks.allSatisfy(\.isEmpty) else {
                throw EventDecodingError(reason: "a chunked map of \(count) entries has \(chunks) chunks")
            }
            return Values(unsafeUninitializedCapacity: 0) { _, _ in }
        }
        var failure: EventDecodingError?
        let values = Values(unsafeUninitializedCapacity: count) { buffer, initialized in
            nonisolated(unsafe) let base = buffer.baseAddress!
            // Reads `chunk` into `limit` places from `start`; how many it read, and why it stopped early.
            @Sendable func read(_ chunk: Int, from start: Int, limit: Int) -> (read: Int, failure: EventDecodingError?)
            {
                var index = 0
                do throws(EventDecodingError) {
                    try withChunk(chunk, of: map, alongside: other) { reader, alongside throws(EventDecodingError) in
                        while !reader.isAtEnd {
                            guard index < limit else {
                                throw EventDecodingError(
                                    reason: "chunk \(chunk) of a chunked map holds more than \(limit) entries"
                                )
                            }
                            let key = try reader.string()
                            (base + start + index).initialize(to: try value(key, chunk, index, &reader, &alongside))
                            index += 1
                        }
                        try afterChunk(chunk, alongside)
                    }
                    guard index == limit || chunk == 0 else {
                        throw EventDecodingError(
                            reason: "chunk \(chunk) of a chunked map holds \(index) entries, not \(limit)"
                        )
                    }
                    return (index, nil)
                } catch {
                    return (index, error)
                }
            }
            let first = read(0, from: 0, limit: count)
            var outcomes = [(start: 0, read: first.read, failure: first.failure)]
            let chunkSize = first.read
            if first.failure == nil {
                if chunkSize == 0 || (chunks - 1) * chunkSize >= count || chunks * chunkSize < count {
                    outcomes[0].failure = EventDecodingError(
                        reason: "a chunked map of \(count) entries in \(chunks) chunks starts with \(chunkSize) entries"
                    )
                } else {
                    outcomes += concurrentMap(chunks - 1) { later in
                        let chunk = later + 1
                        let start = chunk * chunkSize
                        let outcome = read(chunk, from: start, limit: min(chunkSize, count - start))
                        return (start, outcome.read, outcome.failure)
                    }
                }
            }
            failure = outcomes.lazy.compactMap(\.failure).first
            if failure == nil {
                initialized = count
            } else {
                for outcome in outcomes { (base + outcome.start).deinitialize(count: outcome.read) }
            }
        }
        if let failure { throw failure }
        return values
    }

    /// Calls `body` with a reader of `chunk` of `map` and one of the same chunk of `other` (empty without one).
    private func withChunk(
        _ chunk: Int,
        of map: ChunkedMapLayout,
        alongside other: ChunkedMapLayout?,
        _ body: (inout BinaryReader, inout BinaryReader) throws(EventDecodingError) -> Void
    ) throws(EventDecodingError) {
        try withBytes(in: map.chunks[chunk]) { raw throws(EventDecodingError) in
            var reader = BinaryReader(raw)
            guard let other else {
                var none = BinaryReader(UnsafeRawBufferPointer(start: nil, count: 0))
                return try body(&reader, &none)
            }
            try withBytes(in: other.chunks[chunk]) { alongsideRaw throws(EventDecodingError) in
                var alongside = BinaryReader(alongsideRaw)
                try body(&reader, &alongside)
            }
        }
    }
}

extension BinaryReader {
    public mutating func int() throws(EventDecodingError) -> Int64 { try zigzag() }

    /// Reads a string as ``string()`` does and returns whether it is `text`, without making a `String` of it; when
    /// it is not, `other` is set to what was read.
    mutating func string(matching text: String, other: inout String) throws(EventDecodingError) -> Bool {
        let read = try rawBytes(try count("string"))
        var text = text
        let matches = text.withUTF8 { utf8 in bytesEqual(UnsafeRawBufferPointer(utf8), read) }
        if !matches { other = String(decoding: read, as: UTF8.self) }
        return matches
    }

    /// Bytes written after their byte count (``BinaryWriter/byteCounted(_:)``,
    /// ``BinaryWriter/byteCountedList(atMost:_:)``, ``BinaryWriter/withByteCount(_:)``), in place; `what` names them in
    /// an error.
    mutating func byteCountedBytes(_ what: String) throws(EventDecodingError) -> UnsafeRawBufferPointer {
        try rawBytes(try count(what))
    }

    /// A time written by ``PackedBytes/time(_:after:)``; `previous` becomes it.
    mutating func time(after previous: inout Int64) throws(EventDecodingError) -> Int64 {
        previous = previous &+ (try int())
        return previous
    }

    public mutating func optionalTime() throws(EventDecodingError) -> EventTime? {
        try bool() ? EventTime(microseconds: try zigzag()) : nil
    }

    public mutating func map<Value>(
        _ value: (inout BinaryReader) throws(EventDecodingError) -> Value
    ) throws(EventDecodingError) -> [String: Value] {
        let count = try count("map")
        var map = [String: Value](minimumCapacity: count)
        for _ in 0..<count {
            let key = try string()
            map[key] = try value(&self)
        }
        return map
    }

    /// A map written from a table (``BinaryWriter/map(_:_:)``) or a dictionary, as a table: `element` reads the
    /// value of each id. An id written twice is an error (a canonical map holds each key once).
    public mutating func table<Element>(
        _ element: (_ id: String, inout BinaryReader) throws(EventDecodingError) -> Element
    ) throws(EventDecodingError) -> IdentifiedTable<Element> {
        let count = try count("map")
        let elements = ValueBlock<Element>()
        elements.reserveCapacity(count)
        for _ in 0..<count {
            let id = try string()
            elements.append(try element(id, &self))
        }
        return try IdentifiedTable(elements) { id in EventDecodingError(reason: "\(id) appears twice") }
    }

    public mutating func set() throws(EventDecodingError) -> Set<String> {
        let count = try count("set")
        var set = Set<String>(minimumCapacity: count)
        for _ in 0..<count { set.insert(try string()) }
        return set
    }

    /// A map written by `map(_:_:)` (keys in increasing order; anything else is refused).
    public mutating func sortedMap<Value>(
        _ value: (inout BinaryReader) throws(EventDecodingError) -> Value
    ) throws(EventDecodingError) -> SortedMap<Value> {
        let count = try count("map")
        var entries = [(key: String, value: Value)](reservingCapacity: count)
        for _ in 0..<count {
            let key = try string()
            if let last = entries.last, last.key >= key { throw EventDecodingError(reason: "map keys out of order") }
            entries.append((key, try value(&self)))
        }
        return SortedMap(sortedEntries: entries)
    }

    /// A set written by `set(_:)` (elements in increasing order; anything else is refused).
    public mutating func sortedSet() throws(EventDecodingError) -> SortedSet {
        let count = try count("set")
        var elements = [String](reservingCapacity: count)
        for _ in 0..<count {
            let element = try string()
            if let last = elements.last, last >= element { throw EventDecodingError(reason: "set out of order") }
            elements.append(element)
        }
        return SortedSet(sortedElements: elements)
    }

    public mutating func strings() throws(EventDecodingError) -> [String] {
        try list("list") { reader throws(EventDecodingError) in try reader.string() }
    }

    /// A count, then that many elements, in an array of exactly that capacity: state read from a snapshot is held
    /// for a long time, and appending one by one would leave up to half of each array unused.
    public mutating func list<Element>(
        _ what: String,
        _ element: (inout BinaryReader) throws(EventDecodingError) -> Element
    ) throws(EventDecodingError) -> [Element] {
        let count = try count(what)
        var elements = [Element](reservingCapacity: count)
        for _ in 0..<count { elements.append(try element(&self)) }
        return elements
    }
}
