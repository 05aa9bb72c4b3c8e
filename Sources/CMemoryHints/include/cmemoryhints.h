#ifndef CMEMORYHINTS_H
#define CMEMORYHINTS_H

#include <stddef.h>
#include <stdint.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

/// Asks the CPU to bring the cache line holding `address` into its caches ahead of a read. Never faults, whatever
/// the address. Swift has no way to say this.
static inline void crm_prefetch(const void *address) {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(address, 0, 3);
#endif
}

/// Asks the kernel to back the memory of the `length` bytes at `start` with huge pages where it can (Linux's
/// `MADV_HUGEPAGE`; a machine may give transparent huge pages only to memory that asks for them). The advice covers
/// every page the bytes touch, so that a block that is a mapping of its own stays one mapping (`mremap`, which grows
/// it, refuses a range of mappings with different advice). A hint only: nothing happens where the kernel has no huge
/// pages to give, or on other systems.
static inline void crm_advise_huge_pages(void *start, size_t length) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t page = 4096;
    uintptr_t first = (uintptr_t)start & ~(page - 1);
    uintptr_t end = ((uintptr_t)start + length + page - 1) & ~(page - 1);
    (void)madvise((void *)first, end - first, MADV_HUGEPAGE);
#endif
}

#endif
