/// Reading ahead of a fold: while an event is applied, the memory that the events a few places after it will read
/// is asked for (``prefetch(_:bytes:)``), so that their cache misses overlap instead of coming one after another.
///
/// An event of a random customer misses the cache three times in a row in the customer projection, each load
/// waiting for the one before: the profile table's slot, the profile (whose id the look-up compares), and the
/// profile's buffer of facts (perf of a live catch-up: a fifth of the folding core's samples on those three loads);
/// the journeys' look-up and touches the same way. The three are asked for in stages, each from what the stage
/// before brought in: the slot of the event ``slotDistance`` ahead, the value the slot of the event
/// ``valueDistance`` ahead names, the buffer of the event ``bufferDistance`` ahead. A guess from the hash's bits alone
/// (no id compared) is enough for a hint, which never faults.
///
/// Measured on the 10.04M-event log, the benchmark binaries without and with it alternating (docs/benchmark-history.md,
/// twelfth session): live apply 773K / 721K / 671K -> 884K / 866K / 884K events/s; rebuild on both cores 721K / 813K
/// -> 938K / 854K, on one core 489K / 464K -> 522K / 510K (the customer projection alone); the journeys reading ahead
/// too, every projection in one pass 461K / 489K -> 495K / 504K. Distances from 8 to 48 events did about as well
/// live; 48 is better on both cores, where a shard reads ahead only for its own events, about half of them.
enum ReadAhead {
    static let slotDistance = 48
    static let valueDistance = 32
    static let bufferDistance = 16
    /// How far ahead a fold's loop asks for the decoded event itself (``event(at:of:count:)``): before the stages
    /// above read the customer hash of the event ``slotDistance`` ahead.
    static let eventDistance = slotDistance + 16

    /// Asks for the whole event `eventDistance` places after `index` (of `count` at `first`), in every fold's loop,
    /// whatever the projection. The events were decoded on the other core: the fold's first read of each one (its
    /// copy to the stack before `apply`) missed the cache a line at a time, about 200 bytes an event (perf of a live
    /// catch-up: that copy was 2.7 % of the folding core's samples, and left the top of the list with this). Live
    /// apply, this binary against the one before, seventeen alternating pairs over an hour: faster in thirteen, by
    /// 7 % on average (the machine's own swings are larger: 553K to 1,027K events/s for the binary before); the folding
    /// core's samples over the decoding core's in the same run (a ratio that leaves out part of how fast the machine
    /// was that minute), seven pairs: 1.56 -> 1.52 on average. A small gain, within noise in a fast hour. Distances
    /// of 8, 32 and 64 did no better there.
    ///
    /// At 16 places, the slot stage's read of the hash of the event 48 ahead was the first touch of that event, a
    /// miss: perf of a one-core rebuild put 23 % of the profiles loop's own samples on that read and the shard's next
    /// to it. From 64 places they leave the loop's top samples. The loop's samples against decoding's in the same
    /// runs, four or five runs of each build alternating: 2.89 -> 2.83 on average (within noise, 2.71 to 3.02). A
    /// rebuild of every projection gains more, since each part of a pair reads the events again after the part before
    /// (``ProjectionPair``): the pair's fold against decoding, four runs of each: 1.30 (1.16 to 1.40) -> 1.16 (1.14 to
    /// 1.17). Folding the parts in turn over runs of 128 events instead, so that the events stay in the cache (each
    /// part still reading ahead past its run), made it 1.27 to 1.34: not kept.
    @inline(__always)
    static func event<Element>(at index: Int, of first: UnsafePointer<Element>, count: Int) {
        guard index + eventDistance < count else { return }
        prefetch(first + index + eventDistance, bytes: MemoryLayout<Element>.size)
    }

    /// ``event(at:of:count:)`` in a parallel rebuild's loop, where each shard walks every event of the chunk: only
    /// the events the shard folds are asked for whole. Of the others the loop reads just the shard, whose line the
    /// walk brings in anyway; asking for all of them kept the core's outstanding misses busy on lines it never read.
    @inline(__always)
    static func event(at index: Int, of first: UnsafePointer<RoutedEvent>, count: Int, routedTo shard: Int) {
        guard index + eventDistance < count else { return }
        let routed = first[index + eventDistance].shard
        guard routed == shard || routed == RoutedEvent.everyShard else { return }
        event(at: index, of: first, count: count)
    }
}

/// A projection whose fold looks each event's customer up in one ``IdentifiedTable`` and then reads a buffer the
/// value holds: its loops read ahead (``ReadAhead``).
protocol ReadsAhead: Projection {
    /// Reads ahead for the events after `index` (of `count`) in the state's table; `hash(ahead)` is the customer
    /// hash of the event at `ahead`, 0 for one not to read ahead for (no customer, or another shard's).
    static func readAhead(from index: Int, count: Int, in state: inout State, hash: (_ ahead: Int) -> Int)
}

extension ReadsAhead {
    /// The rebuild's loop: a shard reads ahead for its own events only.
    public static func apply(_ events: UnsafeBufferPointer<RoutedEvent>, routedTo shard: Int, to state: inout State) {
        guard let first = events.baseAddress else { return }
        let count = events.count
        apply(events, routedTo: shard, to: &state) { index, state in
            // Fields read through the pointer: the subscript's addressor reads them where they lie.
            readAhead(from: index, count: count, in: &state) { ahead in
                first[ahead].shard == shard ? first[ahead].event.customerHash : 0
            }
        }
    }

    /// A live catch-up's loop.
    public static func applyInSequence(_ events: UnsafeMutableBufferPointer<ProjectedEvent>, to state: inout State) {
        guard let first = events.baseAddress else { return }
        let count = events.count
        applyInSequence(events, to: &state) { index, state in
            readAhead(from: index, count: count, in: &state) { first[$0].customerHash }
        }
    }
}

extension IdentifiedTable {
    /// Reads ahead for the events after `index` (of `count`) in this table (``ReadsAhead``): the first
    /// `valueBytes` of the value, and then, through `buffers`, the buffers of the value at the address it is given
    /// (``prefetchArrayStorage(at:)``).
    @inline(__always)
    func readAhead(
        from index: Int,
        count: Int,
        valueBytes: Int = MemoryLayout<Element>.size,
        hash: (_ ahead: Int) -> Int,
        buffers: (_ value: UnsafeRawPointer) -> Void
    ) {
        if index + ReadAhead.slotDistance < count {
            let upcoming = hash(index + ReadAhead.slotDistance)
            if upcoming != 0 { prefetchSlot(hash: upcoming) }
        }
        if index + ReadAhead.valueDistance < count {
            let upcoming = hash(index + ReadAhead.valueDistance)
            // The value's own bytes: its id, which the look-up compares, the buffer's address, and the fields the
            // fold reads. (Before a profile's fields were ordered by who reads them, its whole 184 bytes against its
            // first 128, alternating live: 11.35 / 11.64 / 11.22 s against 11.95 / 11.51 / 12.08 s.)
            if upcoming != 0, let value = likelyAddress(hash: upcoming) { prefetch(value, bytes: valueBytes) }
        }
        if index + ReadAhead.bufferDistance < count {
            let upcoming = hash(index + ReadAhead.bufferDistance)
            // Looked up again rather than kept from the value stage: in between, a merge may have moved the value
            // or a copy-on-write replaced the block, and this stage loads the buffer's address from the value.
            if upcoming != 0, let value = likelyAddress(hash: upcoming) { buffers(value) }
        }
    }
}
