#ifndef EVENTCRM_CRYPTO_H
#define EVENTCRM_CRYPTO_H
// AES-256-GCM and SHA-256 from the system's libcrypto (Debian's libssl-dev), for the engine's sealed personal parts
// and its hashes. Each call uses a context its thread keeps (made on first use, freed when the thread ends): making
// one per call was about half of opening a 100-byte part. Every function returns 1 on success and 0 on failure,
// but for opening, which tells a tag that does not match from the library failing.
#include <stddef.h>
#include <stdint.h>

/// Encrypts `count` bytes of `plain` into `sealed` (as many bytes) under the 32-byte `key` and 12-byte `nonce`,
/// authenticating `aad` with them, and writes the 16-byte tag.
int eventcrm_aes256gcm_seal(const uint8_t *key, const uint8_t *nonce, const uint8_t *aad, size_t aad_count,
                            const uint8_t *plain, size_t count, uint8_t *sealed, uint8_t *tag);

/// Decrypts `count` bytes of `sealed` into `plain` (as many bytes) and checks the 16-byte `tag` over them and `aad`:
/// 1 when it matches; 0 when it does not (altered, or another key); -1 when the library could not try (no AES-256-GCM,
/// a size beyond `int`). `plain` must be ignored unless 1.
int eventcrm_aes256gcm_open(const uint8_t *key, const uint8_t *nonce, const uint8_t *aad, size_t aad_count,
                            const uint8_t *sealed, size_t count, const uint8_t *tag, uint8_t *plain);

/// SHA-256 of the concatenation of `parts` (`count` of them), written to the 32 bytes at `digest`.
int eventcrm_sha256(const uint8_t *const *parts, const size_t *sizes, size_t count, uint8_t *digest);

#endif
