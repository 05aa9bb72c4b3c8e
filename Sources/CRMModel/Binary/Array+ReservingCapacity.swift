extension Array {
    /// An empty array with room for `count` elements, or the plain empty array for a count of 0: `reserveCapacity`
    /// on an empty array takes the slow path that makes a new buffer even for 0, and most lists a reader meets (an
    /// event's custom members, a profile's maps and sets) are empty.
    @inlinable
    package init(reservingCapacity count: Int) {
        self = []
        if count > 0 { reserveCapacity(count) }
    }
}
