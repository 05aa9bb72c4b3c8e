#if canImport(Glibc)
package import Glibc
#elseif canImport(Musl)
package import Musl
#elseif canImport(Darwin)
package import Darwin
#endif

/// A readers-writer lock over `pthread_rwlock_t`: any number of readers at once, or one writer. For state that many
/// threads read at once and that changes seldom (the customer key store: a rebuild's decoding threads each look up
/// the key of every registration they open).
///
/// A pthread lock, like ``Locked``'s, so that ThreadSanitizer sees it. Writers go first: a writer waiting is not
/// passed by readers that come after it (glibc's default lets them, so a steady stream of look-ups could keep a
/// writer waiting). Not reentrant: a thread holding either side must not take the lock again.
package final class ReadWriteLock: @unchecked Sendable {
    @usableFromInline let lock: UnsafeMutablePointer<pthread_rwlock_t>

    package init() {
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        #if canImport(Glibc)
        pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        #endif
        pthread_rwlock_init(lock, &attributes)
        pthread_rwlockattr_destroy(&attributes)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    /// Runs `body` while no writer holds the lock; other readers may run alongside.
    @inlinable
    package func withReadLock<Result, Failure: Error>(_ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }

    /// Runs `body` while no other thread holds the lock, to read or to write.
    @inlinable
    package func withWriteLock<Result, Failure: Error>(_ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
}
