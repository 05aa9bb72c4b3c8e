extension RandomAccessCollection where Index == Int {
    /// The first index whose element satisfies `isInSecondPart`, for a collection where every element that does
    /// comes after every element that does not (a sorted one): a binary search. `endIndex` when none does.
    func partitioningIndex(where isInSecondPart: (Element) -> Bool) -> Int {
        var low = startIndex
        var high = endIndex
        while low < high {
            let middle = low + (high - low) / 2
            if isInSecondPart(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
