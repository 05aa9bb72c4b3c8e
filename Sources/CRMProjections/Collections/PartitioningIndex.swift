extension RandomAccessCollection where Index == Int {
    /// The first index whose element satisfies `isInSecondPart`, for a collection where every element that does
    /// comes after every element that does not (a sorted one): a binary search. `endIndex` when none does.
    package func partitioningIndex(where isInSecondPart: (Element) -> Bool) -> Int {
        var low = startIndex
        var high = endIndex
        while low < high {
            let middle = low + (high - low) / 2
            if isInSecondPart(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }

    /// Where the element whose `key` is `key` is in a collection sorted by strictly increasing keys, or where it
    /// would go. Up to 8 elements (a profile's consent, tickets, subscriptions, live segments), equality is tried
    /// first: it compares the raw bits of a small string at once and finds a key sooner than the ordering
    /// comparisons of a binary search, which segment rules made 2 % of a rebuild; order only places a new key.
    func sortedPosition(of key: String, by keyOf: (Element) -> String) -> (index: Int, found: Bool) {
        if count <= 8, let index = firstIndex(where: { keyOf($0) == key }) { return (index, true) }
        let index = partitioningIndex { keyOf($0) >= key }
        return (index, index < endIndex && keyOf(self[index]) == key)
    }
}
