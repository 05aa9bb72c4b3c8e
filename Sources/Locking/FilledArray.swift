extension Array {
    /// `init(unsafeUninitializedCapacity:initializingWith:)`, but an empty array, made without calling `initializer`,
    /// for a count of 0. Made with a capacity of 0, the standard library writes the count of the one empty array
    /// storage that every empty array shares; the 0 it writes is the 0 already there, but ThreadSanitizer reports it
    /// as a race with any thread reading an empty array at the time.
    @inlinable
    package init(
        filledInPlace count: Int,
        _ initializer: (inout UnsafeMutableBufferPointer<Element>, inout Int) -> Void
    ) {
        guard count > 0 else {
            self = []
            return
        }
        self.init(unsafeUninitializedCapacity: count, initializingWith: initializer)
    }
}
