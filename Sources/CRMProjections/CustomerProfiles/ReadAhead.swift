/// Reading ahead of a fold: while an event is applied, the memory that the events a few places after it will read
/// is asked for (``prefetch(_:bytes:)``), so that their cache misses overlap instead of coming one after another.
///
/// Each event of a random customer misses the cache three times in a row, each load waiting for the one before:
/// the profile table's slot, the profile (whose id the look-up compares), and the profile's buffer of facts (perf of
/// a live catch-up: a fifth of the folding core's samples on those three loads). The three are asked for in stages,
/// each from what the stage before brought in: the slot of the event ``slotDistance`` ahead, the profile the slot of
/// the event ``profileDistance`` ahead names, the facts buffer of the event ``factsDistance`` ahead. A guess from the
/// hash's bits alone (no id compared) is enough for a hint, which never faults.
///
/// Measured on the 10.04M-event log, the benchmark binaries without and with it alternating (docs/benchmark-history.md,
/// twelfth session): live apply 773K / 721K / 671K -> 884K / 866K / 884K events/s; rebuild on both cores 721K / 813K
/// -> 938K / 854K, on one core 489K / 464K -> 522K / 510K. Distances from 8 to 48 events did about as well live; 48
/// is better on both cores, where a shard reads ahead only for its own events, about half of them.
enum ReadAhead {
    static let slotDistance = 48
    static let profileDistance = 32
    static let factsDistance = 16
}

extension IdentifiedTable where Element == CustomerProfile {
    /// Reads ahead for the events after `index` (of `count`); `hash(ahead)` is the customer hash of the event at
    /// `ahead`, 0 for one not to read ahead for (no customer, or another shard's).
    @inline(__always)
    func readAhead(from index: Int, count: Int, hash: (_ ahead: Int) -> Int) {
        if index + ReadAhead.slotDistance < count {
            let upcoming = hash(index + ReadAhead.slotDistance)
            if upcoming != 0 { prefetchSlot(hash: upcoming) }
        }
        if index + ReadAhead.profileDistance < count {
            let upcoming = hash(index + ReadAhead.profileDistance)
            // The profile's first two lines: its id, and the facts buffer's address that the next stage reads.
            if upcoming != 0, let profile = likelyAddress(hash: upcoming) { prefetch(profile, bytes: 128) }
        }
        if index + ReadAhead.factsDistance < count {
            let upcoming = hash(index + ReadAhead.factsDistance)
            if upcoming != 0, let profile = likelyAddress(hash: upcoming) {
                prefetchArrayStorage(at: profile + CustomerProfile.factsBufferOffset)
            }
        }
    }
}
