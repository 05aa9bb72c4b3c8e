/// The values at given ranks of an unsorted array, as sorting it would place them, without sorting it: the monthly
/// RFM step needs four ranks (the quintile edges) of each column of a million values, and sorting the columns was
/// about 1 % of a one-core rebuild.
///
/// Quickselect over several ranks at once: a range is split three ways around the median of three of its values
/// (less, equal, greater: columns of order counts are mostly equal values), and only the parts holding a rank asked
/// for are split again. A range of 16 values or fewer, or one split more than twice its size's bit width deep, is
/// sorted instead, so the worst case stays O(n log n).
enum OrderStatistics {
    /// The values at `ranks` (0-based positions in ascending order, each within `values`, the ranks ascending) of
    /// `values` sorted; `values` is left reordered.
    static func select(_ values: inout [Double], ranks: [Int]) -> [Double] {
        precondition(zip(ranks, ranks.dropFirst()).allSatisfy { $0 <= $1 }, "ranks ascend")
        precondition(ranks.allSatisfy { values.indices.contains($0) }, "ranks lie within the values")
        var found = [Double](repeating: 0, count: ranks.count)
        let depth = 2 * (Int.bitWidth - values.count.leadingZeroBitCount)
        values.withUnsafeMutableBufferPointer { buffer in
            select(in: buffer, range: 0..<buffer.count, ranks: ranks, asked: 0..<ranks.count, depth: depth, &found)
        }
        return found
    }

    /// Fills `found` for the ranks `ranks[asked]`, all within `range` of `buffer`.
    private static func select(
        in buffer: UnsafeMutableBufferPointer<Double>,
        range: Range<Int>,
        ranks: [Int],
        asked: Range<Int>,
        depth: Int,
        _ found: inout [Double]
    ) {
        guard !asked.isEmpty else { return }
        if range.count <= 16 || depth == 0 {
            var part = UnsafeMutableBufferPointer(rebasing: buffer[range])
            part.sort()
            for index in asked { found[index] = buffer[ranks[index]] }
            return
        }
        let pivot = medianOfThree(
            buffer[range.lowerBound],
            buffer[range.lowerBound + range.count / 2],
            buffer[range.upperBound - 1]
        )
        // [lowerBound, less): below the pivot; [less, more): equal to it; [more, upperBound): above it.
        var less = range.lowerBound
        var next = range.lowerBound
        var more = range.upperBound
        while next < more {
            let value = buffer[next]
            if value < pivot {
                buffer.swapAt(less, next)
                less += 1
                next += 1
            } else if value > pivot {
                more -= 1
                buffer.swapAt(next, more)
            } else {
                next += 1
            }
        }
        var below = asked.lowerBound
        while below < asked.upperBound, ranks[below] < less { below += 1 }
        var above = below
        while above < asked.upperBound, ranks[above] < more {
            found[above] = pivot
            above += 1
        }
        select(
            in: buffer,
            range: range.lowerBound..<less,
            ranks: ranks,
            asked: asked.lowerBound..<below,
            depth: depth - 1,
            &found
        )
        select(
            in: buffer,
            range: more..<range.upperBound,
            ranks: ranks,
            asked: above..<asked.upperBound,
            depth: depth - 1,
            &found
        )
    }

    private static func medianOfThree(_ a: Double, _ b: Double, _ c: Double) -> Double {
        max(min(a, b), min(max(a, b), c))
    }
}
