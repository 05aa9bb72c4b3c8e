import Dispatch

/// Runs `body` for each of `0..<count`, on every core or (`parallel: false`) on this thread, and returns when all
/// are done.
func concurrentForEach(_ count: Int, parallel: Bool = true, _ body: @Sendable (Int) -> Void) {
    if parallel {
        DispatchQueue.concurrentPerform(iterations: count, execute: body)
    } else {
        for index in 0..<count { body(index) }
    }
}

/// `transform` of each of `0..<count`, computed like ``concurrentForEach(_:parallel:_:)``, in index order.
func concurrentMap<Element: Sendable>(
    _ count: Int,
    parallel: Bool = true,
    _ transform: @Sendable (Int) -> Element
) -> [Element] {
    guard count > 0 else { return [] }
    let output = UnsafeMutableBufferPointer<Element?>.allocate(capacity: count)
    output.initialize(repeating: nil)
    defer { output.deinitialize().deallocate() }
    // Each index writes its own slot only.
    nonisolated(unsafe) let slots = output
    concurrentForEach(count, parallel: parallel) { slots[$0] = transform($0) }
    return output.map { $0! }
}

/// ``concurrentMap(_:parallel:_:)`` of a transform that may fail: the first failure, in index order, is thrown.
func concurrentMap<Element: Sendable>(
    _ count: Int,
    parallel: Bool = true,
    _ transform: @Sendable (Int) throws(CRMError) -> Element
) throws(CRMError) -> [Element] {
    let results = concurrentMap(count, parallel: parallel) { index in
        Result { () throws(CRMError) -> Element in try transform(index) }
    }
    var elements = [Element]()
    elements.reserveCapacity(count)
    for result in results { elements.append(try result.get()) }
    return elements
}
