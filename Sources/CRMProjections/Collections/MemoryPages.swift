#if canImport(Glibc)
import Glibc
#endif

/// Gives the whole pages inside `bytes` back to the system (`madvise(MADV_DONTNEED)`): their memory is freed at
/// once, and they read as zeros afterwards. The pages at either end, shared with bytes around them, are kept. Only
/// for memory that nothing reads again (``BinaryReader/init(readingOnce:)``). Does nothing on other systems.
func giveBackWholePages(of bytes: UnsafeRawBufferPointer) {
    #if canImport(Glibc)
    guard let base = bytes.baseAddress else { return }
    let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    let first = (Int(bitPattern: base) + page - 1) / page * page
    let end = (Int(bitPattern: base) + bytes.count) / page * page
    guard end > first, let start = UnsafeMutableRawPointer(bitPattern: first) else { return }
    _ = madvise(start, end - first, MADV_DONTNEED)
    #endif
}
