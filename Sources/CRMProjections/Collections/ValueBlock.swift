#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The values of an ``IdentifiedTable``, side by side in one block of memory that grows with `realloc`.
///
/// An `Array` grows by allocating a block twice as large and moving every value into it. Following the 10M-event
/// log live, growing the profiles' array that way was a tenth of the folding thread: half copying profiles, half the
/// kernel zeroing the new block's pages, which the copy touched for the first time (docs/projections.md, section 3).
/// glibc serves a block this large with a mapping of its own, and `realloc` moves such a mapping's pages (`mremap`)
/// instead of copying them: only the pages added at the end are new, and the values never move in memory. The
/// values must be movable bit for bit (Swift structs are, unless they hold weak references); other types are moved
/// one by one into a new block, as an `Array` does.
///
/// A block of 4 MiB or more asks for huge pages (``adviseHugePages(_:bytes:)``), for the whole mapping, so that
/// `realloc` can still move it as one.
///
/// A reference type: the table copies it before writing to it while another table shares it (copy on write).
///
/// Its fields are read on every event: they are exempt from the runtime's exclusivity checks, which a class's
/// stored properties get wherever the compiler cannot prove an access short (the due customers' look-up did a
/// tracked access per read). The table is the only writer, and writes only a block no other table shares.
@usableFromInline
final class ValueBlock<Element> {
    /// The first value, or nil while nothing was ever reserved: the first 64-byte boundary of `allocation`.
    @usableFromInline @exclusivity(unchecked) private(set) var base: UnsafeMutablePointer<Element>?
    /// What `malloc` or `realloc` gave, which `base` is at most 63 bytes into.
    @exclusivity(unchecked) private var allocation: UnsafeMutableRawPointer?
    @usableFromInline @exclusivity(unchecked) private(set) var count = 0
    @exclusivity(unchecked) private(set) var capacity = 0

    init() {}

    /// A block of `capacity` places of which `initializer` initializes the first `initializedCount`, as an `Array`
    /// made with the same initializer (when it throws, the values it initialized are deinitialized with the block).
    init(
        unsafeUninitializedCapacity capacity: Int,
        initializingWith initializer: (inout UnsafeMutableBufferPointer<Element>, inout Int) throws -> Void
    ) rethrows {
        resize(to: capacity)
        var buffer = UnsafeMutableBufferPointer(start: base, count: capacity)
        var initialized = 0
        defer {
            precondition(
                buffer.baseAddress == base && buffer.count == capacity,
                "the buffer of a block is not replaced"
            )
            precondition(initialized <= capacity, "at most the block's capacity is initialized")
            count = initialized
        }
        try initializer(&buffer, &initialized)
    }

    /// A block holding copies of `elements`, in their order.
    convenience init(copying elements: some Collection<Element>) {
        self.init(unsafeUninitializedCapacity: elements.count) { buffer, initialized in
            initialized = buffer.initialize(fromContentsOf: elements)
        }
    }

    deinit {
        base?.deinitialize(count: count)
        free(allocation)
    }

    /// The values, valid while the block is neither grown nor freed.
    @inlinable var buffer: UnsafeMutableBufferPointer<Element> { UnsafeMutableBufferPointer(start: base, count: count) }

    /// A block of its own holding copies of these values.
    func copy() -> ValueBlock { ValueBlock(copying: UnsafeBufferPointer(buffer)) }

    func append(_ value: consuming Element) {
        if count == capacity { resize(to: max(16, capacity * 2)) }
        (base! + count).initialize(to: value)
        count += 1
    }

    /// Room for at least `minimumCapacity` values without growing again.
    func reserveCapacity(_ minimumCapacity: Int) {
        if minimumCapacity > capacity { resize(to: minimumCapacity) }
    }

    func removeLast() -> Element {
        precondition(count > 0, "a value to remove")
        count -= 1
        return (base! + count).move()
    }

    /// Forgets every value, which the caller moved out or deinitialized: the block is empty and deinitializes
    /// nothing when freed.
    func forgetMovedValues() {
        count = 0
    }

    /// Values start on a cache line's boundary. A large block is its own mapping, whose first 16 bytes are
    /// `malloc`'s: values of 192 bytes (a profile) started 16 bytes into a line and each took four lines, not three,
    /// for every read and every hint that asks for one ahead of time. Against the binary before, in alternating
    /// pairs, within this machine's noise: live apply 883K / 880K / 985K / 947K / 906K -> 895K / 891K / 988K / 810K /
    /// 900K events/s; rebuilds and snapshots the same.
    private static var lineBytes: Int { 64 }

    /// Moves the values into a block of `newCapacity` places (at least `count`).
    private func resize(to newCapacity: Int) {
        let mallocAlignment = 16
        precondition(MemoryLayout<Element>.alignment <= mallocAlignment, "malloc aligns to 16 bytes")
        guard newCapacity > 0 else { return }
        let stride = max(1, MemoryLayout<Element>.stride)
        // Room to move the first value up to the next line.
        let bytes = newCapacity * stride + Self.lineBytes - mallocAlignment
        let movesBitwise = _isBitwiseTakable(Element.self)
        // Where the values were within the allocation, which `realloc` keeps.
        let offset = base.map { UnsafeMutableRawPointer($0) - allocation! } ?? 0
        guard let moved = movesBitwise ? realloc(allocation, bytes) : malloc(bytes) else {
            fatalError("out of memory: a table of \(newCapacity) values")
        }
        adviseHugePages(moved, bytes: bytes)
        let first = moved.alignedUp(toMultipleOf: Self.lineBytes)
        if movesBitwise {
            // That distance may now be off the line.
            if count > 0, first != moved + offset { memmove(first, moved + offset, count * stride) }
        } else if let base {
            first.bindMemory(to: Element.self, capacity: newCapacity).moveInitialize(from: base, count: count)
            free(allocation)
        }
        allocation = moved
        base = first.bindMemory(to: Element.self, capacity: newCapacity)
        capacity = newCapacity
    }
}

// A block is written only by the table holding the one reference to it; shared blocks are only read.
extension ValueBlock: @unchecked Sendable where Element: Sendable {}

/// A collection made by initializing uninitialized memory in place, as
/// `Array(unsafeUninitializedCapacity:initializingWith:)` does: ``BinaryReader/chunkedValues(as:_:)`` reads values
/// straight into an array or into the block a table takes.
package protocol BuiltInPlace<Element> {
    associatedtype Element
    init(
        unsafeUninitializedCapacity: Int,
        initializingWith initializer: (inout UnsafeMutableBufferPointer<Element>, inout Int) throws -> Void
    ) rethrows
}

extension Array: BuiltInPlace {}
extension ValueBlock: BuiltInPlace {}
