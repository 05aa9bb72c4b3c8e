import Foundation

/// Runs `body`, which blocks (a thread join, a wait for a background job), on a thread of its own and waits for
/// it without holding a thread of Swift's cooperative pool.
package func runBlocking(_ body: @escaping @Sendable () -> Void) async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        Thread.detachNewThread {
            body()
            continuation.resume()
        }
    }
}
