import CMemoryHints

/// Asks the CPU to bring the `bytes` bytes at `address` into its caches ahead of a read (docs/projections.md,
/// section 4): walking a million profiles, each read first missed the cache on the profile and again on each array
/// it holds, one miss after another, and each retain of a line not in the cache stalled the core until it came.
/// A hint only: it never faults, and does nothing where the compiler cannot give it.
@inline(__always)
func prefetch(_ address: UnsafeRawPointer?, bytes: Int = 64) {
    guard let address else { return }
    // Every 64-byte line the bytes touch, from the one holding the first: bytes that start inside a line end in
    // one more line than their count alone says.
    let first = Int(bitPattern: address) & ~63
    for line in stride(from: first, to: Int(bitPattern: address) + bytes, by: 64) {
        crm_prefetch(UnsafeRawPointer(bitPattern: line))
    }
}

/// The bytes of an array's storage before its first element: the object header, the count and the capacity.
let arrayStorageHeaderBytes = 32

/// Prefetches the storage of the array at `address`: its header (which a retain writes) and `bytes` of its
/// elements from the byte `elementsFrom` of them (by default its first elements). Read through Swift, the array
/// would be retained first, and the retain would wait for the very line the hint is for: the storage's address is
/// read as the one word an array is made of instead.
@inline(__always)
func prefetchArrayStorage(at address: UnsafeRawPointer, elementsFrom start: Int = 0, bytes: Int = 64) {
    guard let storage = address.load(as: UnsafeRawPointer?.self) else { return }
    prefetch(storage, bytes: arrayStorageHeaderBytes)
    prefetch(storage + arrayStorageHeaderBytes + start, bytes: bytes)
}
