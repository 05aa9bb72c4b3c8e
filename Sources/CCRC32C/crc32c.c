// CRC32C in hardware where the CPU can, in software otherwise. It is the checksum of every frame, so it sits on
// the append and replay hot paths; the table version runs at about 1.5 GB/s, the instruction at 8 GB/s or more.
#include "ccrc32c.h"
#include <string.h>

static uint32_t table[256];

static void build_table(void) {
    for (uint32_t byte = 0; byte < 256; byte++) {
        uint32_t crc = byte;
        for (int bit = 0; bit < 8; bit++) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
        table[byte] = crc;
    }
}

static uint32_t crc32c_table(uint32_t crc, const uint8_t *bytes, size_t length) {
    static int ready = 0;
    if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
        build_table();  // idempotent: concurrent first calls write the same values
        __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
    }
    while (length--) crc = table[(crc ^ *bytes++) & 0xFF] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc32c_hardware(uint32_t crc, const uint8_t *bytes, size_t length) {
    uint64_t wide = crc;
    while (length >= 8) {
        uint64_t word;
        memcpy(&word, bytes, 8);
        wide = __builtin_ia32_crc32di(wide, word);
        bytes += 8;
        length -= 8;
    }
    crc = (uint32_t)wide;
    while (length--) crc = __builtin_ia32_crc32qi(crc, *bytes++);
    return crc;
}

static int has_hardware(void) { return __builtin_cpu_supports("sse4.2"); }
#elif defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
#include <arm_acle.h>
static uint32_t crc32c_hardware(uint32_t crc, const uint8_t *bytes, size_t length) {
    while (length >= 8) {
        uint64_t word;
        memcpy(&word, bytes, 8);
        crc = __crc32cd(crc, word);
        bytes += 8;
        length -= 8;
    }
    while (length--) crc = __crc32cb(crc, *bytes++);
    return crc;
}

static int has_hardware(void) { return 1; }
#else
static uint32_t crc32c_hardware(uint32_t crc, const uint8_t *bytes, size_t length) {
    return crc32c_table(crc, bytes, length);
}

static int has_hardware(void) { return 0; }
#endif

uint32_t eventcrm_crc32c(uint32_t crc, const void *data, size_t length) {
    static int mode = -1;  // -1 unknown, 0 table, 1 hardware
    int current = __atomic_load_n(&mode, __ATOMIC_RELAXED);
    if (current < 0) {
        current = has_hardware() ? 1 : 0;
        __atomic_store_n(&mode, current, __ATOMIC_RELAXED);
    }
    crc = ~crc;
    crc = current ? crc32c_hardware(crc, (const uint8_t *)data, length)
                  : crc32c_table(crc, (const uint8_t *)data, length);
    return ~crc;
}

uint32_t eventcrm_crc32c_portable(uint32_t crc, const void *data, size_t length) {
    return ~crc32c_table(~crc, (const uint8_t *)data, length);
}
