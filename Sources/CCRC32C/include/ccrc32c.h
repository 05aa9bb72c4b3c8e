#ifndef EVENTCRM_CCRC32C_H
#define EVENTCRM_CCRC32C_H
#include <stddef.h>
#include <stdint.h>

/// CRC32C (Castagnoli) of `length` bytes at `data`, continuing from `crc` (0 to start). Uses the SSE4.2 crc32
/// instruction when the CPU has it (the ARMv8 CRC instructions on arm64), a table otherwise.
uint32_t eventcrm_crc32c(uint32_t crc, const void *data, size_t length);

/// The same with the table only, whatever the CPU (for tests that compare both ways).
uint32_t eventcrm_crc32c_portable(uint32_t crc, const void *data, size_t length);

#endif
