#if canImport(Glibc)
import Glibc
#endif

/// Asks glibc's allocator to grow its heaps 64 MiB at a time instead of 128 KiB, for a process that builds or
/// restores the state of a large projection.
///
/// Threads other than the main one allocate from glibc's secondary arenas, which grow their heap with one
/// `mprotect` call per 128 KiB by default: restoring a 457 MB snapshot made 400,000 such calls, two fifths of the
/// restore. The memory is only reserved, not touched, so resident memory does not grow; call this once at start-up
/// (`crm` does). The same is reached without code through `GLIBC_TUNABLES=glibc.malloc.top_pad=67108864`.
/// Does nothing on other C libraries.
///
/// Huge pages for the heap (`GLIBC_TUNABLES=glibc.malloc.hugetlb=1`) can only be asked for when the process starts;
/// whether they help depends on the machine (docs/projections.md, section 3, "Huge pages for the tables"). The
/// projections' large tables ask for them on their own.
public func growAllocatorHeapsInLargeSteps() {
    #if canImport(Glibc)
    // `mallopt` is declared in <malloc.h>, which the Glibc module does not export: look it up instead.
    typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
    let topPad: Int32 = -2  // M_TOP_PAD in <malloc.h>
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
    _ = unsafeBitCast(symbol, to: Mallopt.self)(topPad, 64 << 20)
    #endif
}

/// Returns the allocator's free memory to the system (glibc's `malloc_trim`): the whole free pages inside its heaps
/// and what is free at their tops.
///
/// glibc gives back only the free memory at the top of a heap by itself. After a rebuild, the memory of what only the
/// fold needed (the identity groups, decoded events, the shards before they were joined) is free but lies between
/// the profiles, and would stay resident for the life of the process: about 4 % of it after rebuilding 10M events.
/// Does nothing on other C libraries.
public func releaseFreeMemoryToSystem() {
    #if canImport(Glibc)
    // `malloc_trim` is declared in <malloc.h>, which the Glibc module does not export: look it up instead.
    typealias MallocTrim = @convention(c) (Int) -> Int32
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return }
    _ = unsafeBitCast(symbol, to: MallocTrim.self)(0)
    #endif
}
