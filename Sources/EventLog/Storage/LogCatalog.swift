import Locking

/// What readers may see of the log, shared between the writer thread, readers and tails.
///
/// The writer publishes here only after a write is as durable as its mode promises, so a reader never sees
/// data that could still vanish. Sealed indexes are cached here once loaded.
final class LogCatalog: Sendable {
    struct State {
        /// Base offsets of all segments, ascending; the last is the active one.
        var segmentBases: [Int64]
        /// The committed end of the active segment.
        var activeEnd: Int64
        var activeIndex: SegmentIndex
        var nextOffset: Int64
        var headHash: ChainHash
        var sealedIndexes: [Int64: SegmentIndex] = [:]
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiterID = 0
        var closed = false
    }

    let state: Locked<State>

    init(segmentBases: [Int64], active: ActiveSegment) {
        state = Locked(
            State(
                segmentBases: segmentBases,
                activeEnd: active.end,
                activeIndex: active.index,
                nextOffset: active.nextOffset,
                headHash: active.headHash
            )
        )
    }

    /// Applies `change` and then wakes every waiting tail (outside the lock).
    private func changeAndWake(_ change: (inout State) -> Void) {
        let waiters = state.withLock { state in
            change(&state)
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters.values { waiter.resume() }
    }

    /// Makes the active segment's new frames visible and wakes every waiting tail.
    func publish(end: Int64, nextOffset: Int64, headHash: ChainHash, newEntries: ArraySlice<IndexEntry>) {
        changeAndWake { state in
            state.activeEnd = end
            state.nextOffset = nextOffset
            state.headHash = headHash
            state.activeIndex.entries.append(contentsOf: newEntries)
        }
    }

    /// For a read-only log: takes what a new look at the files found, and wakes every waiting tail.
    func publishRecovered(segmentBases: [Int64], active: ActiveSegment) {
        changeAndWake { state in
            state.segmentBases = segmentBases
            state.activeEnd = active.end
            state.activeIndex = active.index
            state.nextOffset = active.nextOffset
            state.headHash = active.headHash
        }
    }

    /// Records a roll: the active segment became sealed with `sealedIndex`, and `newBase` is active.
    func publishRoll(sealedIndex: SegmentIndex, newBase: Int64) {
        state.withLock { state in
            state.sealedIndexes[sealedIndex.baseOffset] = sealedIndex
            state.segmentBases.append(newBase)
            state.activeIndex = SegmentIndex(baseOffset: newBase)
            state.activeEnd = Int64(SegmentHeader.size)
        }
    }

    /// Waits until the head passes `offset` or the log closes; returns at once if it already has.
    func waitForHead(beyond offset: Int64) async {
        let id = state.withLock { state -> Int in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    if state.nextOffset > offset || state.closed || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }

    /// Marks the log closed and wakes every waiting tail.
    func close() {
        changeAndWake { $0.closed = true }
    }
}
