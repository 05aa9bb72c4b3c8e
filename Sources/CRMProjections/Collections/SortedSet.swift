/// A small set of strings, kept as one sorted array (see ``SortedMap``): a profile's tickets and subscriptions.
public struct SortedSet {
    private var elements: [String] = []

    public init() {}

    private func position(of element: String) -> (index: Int, found: Bool) {
        elements.sortedPosition(of: element) { $0 }
    }

    public func contains(_ element: String) -> Bool { position(of: element).found }

    @discardableResult
    public mutating func insert(_ element: String) -> (inserted: Bool, memberAfterInsert: String) {
        let (index, found) = position(of: element)
        if found { return (false, elements[index]) }
        elements.insert(element, at: index)
        return (true, element)
    }

    @discardableResult
    public mutating func remove(_ element: String) -> String? {
        let (index, found) = position(of: element)
        return found ? elements.remove(at: index) : nil
    }

    public var count: Int { elements.count }
    public var isEmpty: Bool { elements.isEmpty }

    public mutating func formUnion(_ other: SortedSet) { for element in other.elements { insert(element) } }

    public func union(_ other: SortedSet) -> SortedSet {
        var result = self
        result.formUnion(other)
        return result
    }

    public func subtracting(_ other: SortedSet) -> SortedSet {
        var result = SortedSet()
        result.elements = elements.filter { !other.contains($0) }
        return result
    }

    /// A set built from elements already in strictly increasing order (a canonical reader's).
    init(sortedElements: [String]) {
        elements = sortedElements
    }
}

extension SortedSet: Sequence {
    public func makeIterator() -> IndexingIterator<[String]> { elements.makeIterator() }
    public var underestimatedCount: Int { elements.count }
}

extension SortedSet: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: String...) {
        for element in elements { insert(element) }
    }
}

extension SortedSet: Equatable, Sendable {}
