import Dispatch
import Locking

/// Runs `body` for each of `0..<count`, on every core or (`parallel: false`) on this thread, and returns when all
/// are done.
package func concurrentForEach(_ count: Int, parallel: Bool = true, _ body: @Sendable (Int) -> Void) {
    if parallel {
        DispatchQueue.concurrentPerform(iterations: count, execute: body)
    } else {
        for index in 0..<count { body(index) }
    }
}

/// Runs `background` on another thread while `foreground` runs on this one, and returns when both are done; with
/// `parallel: false`, one after the other on this thread. Unlike a two-task ``concurrentForEach(_:parallel:_:)``,
/// `foreground` does not run inside a `concurrentPerform`: libdispatch runs a nested `concurrentPerform` on its
/// calling thread alone when the outer one is as wide as the machine, so what `foreground` spreads over the cores
/// would stay on one.
package func whileInBackground(
    _ background: @escaping @Sendable () -> Void,
    parallel: Bool,
    do foreground: () -> Void
) {
    guard parallel else {
        foreground()
        background()
        return
    }
    let group = DispatchGroup()
    DispatchQueue.global().async(group: group, execute: background)
    foreground()
    group.wait()
}

/// `transform` of each of `0..<count`, computed like ``concurrentForEach(_:parallel:_:)``, in index order.
package func concurrentMap<Element: Sendable>(
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
package func concurrentMap<Element: Sendable, Failure: Error>(
    _ count: Int,
    parallel: Bool = true,
    _ transform: @Sendable (Int) throws(Failure) -> Element
) throws(Failure) -> [Element] {
    let results = concurrentMap(count, parallel: parallel) { index in
        Result { () throws(Failure) -> Element in try transform(index) }
    }
    var elements = [Element]()
    elements.reserveCapacity(count)
    for result in results { elements.append(try result.get()) }
    return elements
}

/// `pieces` one after another in one array, copied on every core. A state's canonical bytes are hundreds of
/// megabytes: copied on one core into memory never touched before, they took longer than writing them (each new page
/// is a fault, and faults are slow in a virtual machine).
package func joinedOnEveryCore(_ pieces: [ArraySlice<UInt8>]) -> [UInt8] {
    var total = 0
    let starts = pieces.map { piece in
        defer { total += piece.count }
        return total
    }
    return [UInt8](filledInPlace: total) { buffer, initialized in
        nonisolated(unsafe) let target = buffer
        concurrentForEach(pieces.count) { index in
            pieces[index].withUnsafeBufferPointer { piece in
                guard let source = piece.baseAddress else { return }
                (target.baseAddress! + starts[index]).initialize(from: source, count: piece.count)
            }
        }
        initialized = total
    }
}
