/// Copies `bytes` into `buffer` after the `filled` bytes it holds; each time the buffer is full, calls `drain`, which
/// writes it out and returns how many bytes it still holds (0, or a rest moved to its start). Returns how many bytes
/// the buffer holds at the end. What a writer that gathers a stream into fixed buffers does with each piece (the
/// snapshot writer's blocks, ``DirectFileAppender``'s aligned writes).
package func fill<Failure: Error>(
    _ buffer: UnsafeMutableRawBufferPointer,
    holding filled: Int,
    with bytes: UnsafeRawBufferPointer,
    drain: () throws(Failure) -> Int
) throws(Failure) -> Int {
    var filled = filled
    var taken = 0
    while taken < bytes.count {
        let count = min(bytes.count - taken, buffer.count - filled)
        UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<filled + count])
            .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[taken..<taken + count]))
        filled += count
        taken += count
        if filled == buffer.count { filled = try drain() }
    }
    return filled
}
