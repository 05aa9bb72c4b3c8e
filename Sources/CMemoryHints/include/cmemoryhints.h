#ifndef CMEMORYHINTS_H
#define CMEMORYHINTS_H

/// Asks the CPU to bring the cache line holding `address` into its caches ahead of a read. Never faults, whatever
/// the address. Swift has no way to say this.
static inline void crm_prefetch(const void *address) {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(address, 0, 3);
#endif
}

#endif
