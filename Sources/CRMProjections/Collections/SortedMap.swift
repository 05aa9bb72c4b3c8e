/// A small map from strings, kept as one array sorted by key: what a profile holds per customer (a few channels,
/// campaigns, currencies, orders). Against a `Dictionary` it costs one allocation instead of several, no hashing,
/// and iterates in key order, which is the canonical order it is serialized in.
public struct SortedMap<Value> {
    public typealias Element = (key: String, value: Value)

    private var entries: [Element] = []

    /// Where the entries' array sits within a map (``prefetchArrayStorage(at:)``).
    static var entriesOffset: Int { MemoryLayout<Self>.offset(of: \Self.entries)! }
    /// Where the entries are in memory, found the usual way (tests check ``entriesOffset`` against it).
    var entriesAddress: UnsafeRawPointer? { entries.withUnsafeBytes { $0.baseAddress } }

    public init() {}

    /// Where `key` is, or where it would go.
    private func position(of key: String) -> (index: Int, found: Bool) {
        // A closure, not `\.key`: in this generic type the key path would be instantiated at run time on every
        // call (`swift_getKeyPath`, a twentieth of a rebuild).
        entries.sortedPosition(of: key) { $0.key }
    }

    public subscript(key: String) -> Value? {
        get {
            let (index, found) = position(of: key)
            return found ? entries[index].value : nil
        }
        set {
            let (index, found) = position(of: key)
            switch (found, newValue) {
            case (true, let value?): entries[index].value = value
            case (true, nil): entries.remove(at: index)
            case (false, let value?): entries.insert((key, value), at: index)
            case (false, nil): break
            }
        }
    }

    public subscript(key: String, default defaultValue: @autoclosure () -> Value) -> Value {
        get { self[key] ?? defaultValue() }
        _modify {
            var (index, found) = position(of: key)
            if !found {
                entries.insert((key, defaultValue()), at: index)
                found = true
            }
            yield &entries[index].value
        }
    }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }
    /// In key order.
    public var keys: [String] { entries.map { $0.key } }
    /// In key order.
    public var values: [Value] { entries.map { $0.value } }

    /// Adds the entries of `other`, combining the values of keys both hold.
    public mutating func merge(_ other: SortedMap<Value>, uniquingKeysWith combine: (Value, Value) -> Value) {
        for (key, value) in other.entries {
            if let mine = self[key] { self[key] = combine(mine, value) } else { self[key] = value }
        }
    }

    /// The entries whose key and value satisfy `isIncluded`, as a map.
    public func filter(_ isIncluded: (Element) -> Bool) -> SortedMap<Value> {
        var result = SortedMap()
        result.entries = entries.filter(isIncluded)
        return result
    }

    /// A map built from entries already in strictly increasing key order (a canonical reader's).
    init(sortedEntries: [Element]) {
        entries = sortedEntries
    }
}

extension SortedMap: Sequence {
    public func makeIterator() -> IndexingIterator<[Element]> { entries.makeIterator() }
    public var underestimatedCount: Int { entries.count }
}

extension SortedMap: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, Value)...) {
        for (key, value) in elements { self[key] = value }
    }
}

extension SortedMap: Equatable where Value: Equatable {
    public static func == (lhs: SortedMap, rhs: SortedMap) -> Bool {
        lhs.entries.elementsEqual(rhs.entries) { $0.key == $1.key && $0.value == $1.value }
    }
}

extension SortedMap: Sendable where Value: Sendable {}
