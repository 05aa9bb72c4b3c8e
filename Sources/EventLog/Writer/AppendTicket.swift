import Locking

/// The outcome of batches submitted together (``EventLog/submit(contentsOf:)``), filled in by the writer as each
/// one is written or fails.
package final class AppendTicket: Sendable {
    private struct State {
        var results: [Result<Range<Int64>, any Error>?]
        var remaining: Int
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state: Locked<State>

    init(count: Int) {
        state = Locked(State(results: Array(repeating: nil, count: count), remaining: count))
    }

    /// A ticket whose `count` batches all failed with `error` before reaching the writer.
    static func failing(_ count: Int, with error: EventLogError) -> AppendTicket {
        let ticket = AppendTicket(count: count)
        for number in 0..<count { ticket.complete(number, .failure(error)) }
        return ticket
    }

    /// Records the outcome of batch `number` (called once per batch, on the writer thread).
    func complete(_ number: Int, _ result: Result<Range<Int64>, any Error>) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.results[number] = result
            state.remaining -= 1
            guard state.remaining == 0 else { return nil }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Per batch, its offsets or why it failed, once every batch has its outcome.
    package func results() async -> [Result<Range<Int64>, any Error>] {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if state.remaining == 0 { return true }
                state.waiter = continuation
                return false
            }
            if done { continuation.resume() }
        }
        return state.withLock { $0.results.map { $0! } }
    }
}
