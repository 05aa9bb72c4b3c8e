import CMemoryHints

/// Asks for huge pages for the block of `bytes` bytes at `address` when it is large enough to hold some: a table's
/// values and slots, read at random on every event. On the machines measured, a random read's page walk (nested,
/// in a VM) cost more than the read, and a prefetch hid little of it; 2 MiB pages walk far less (docs/fold-layout.md,
/// section 1). Asked before the memory is first written, so that it is given huge pages as it is touched. Smaller
/// blocks are left alone: they share the heap's pages.
@inline(__always)
func adviseHugePages(_ address: UnsafeMutableRawPointer, bytes: Int) {
    guard bytes >= 4 << 20 else { return }
    crm_advise_huge_pages(address, bytes)
}
