#include "eventcrm_crypto.h"

#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>

// The cipher and digest, fetched from the default provider once: fetching them implicitly, by passing
// EVP_aes_256_gcm() to every init, looks them up again each time (OpenSSL 3's "implicit fetch").
static EVP_CIPHER *aes256gcm;
static EVP_MD *sha256;
static pthread_key_t sealing_key;
static pthread_key_t opening_key;
static pthread_key_t digest_key;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void free_cipher_context(void *context) { EVP_CIPHER_CTX_free(context); }
static void free_digest_context(void *context) { EVP_MD_CTX_free(context); }

static void set_up(void) {
    aes256gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    pthread_key_create(&sealing_key, free_cipher_context);
    pthread_key_create(&opening_key, free_cipher_context);
    pthread_key_create(&digest_key, free_digest_context);
}

/// The thread's context for sealing (`encrypting` 1) or opening (0), set up with the cipher once: each call then
/// gives only the key and the nonce, which keeps the provider's context (given the cipher again, the context was
/// reset, freed and made anew at every call: a fifth of an open).
static EVP_CIPHER_CTX *cipher_context(int encrypting) {
    pthread_once(&once, set_up);
    if (aes256gcm == NULL) return NULL;
    pthread_key_t key = encrypting ? sealing_key : opening_key;
    EVP_CIPHER_CTX *context = pthread_getspecific(key);
    if (context == NULL) {
        context = EVP_CIPHER_CTX_new();
        if (context == NULL) return NULL;
        if (EVP_CipherInit_ex2(context, aes256gcm, NULL, NULL, encrypting, NULL) != 1) {
            EVP_CIPHER_CTX_free(context);
            return NULL;
        }
        pthread_setspecific(key, context);
    }
    return context;
}

static EVP_MD_CTX *digest_context(void) {
    pthread_once(&once, set_up);
    if (sha256 == NULL) return NULL;
    EVP_MD_CTX *context = pthread_getspecific(digest_key);
    if (context == NULL) {
        context = EVP_MD_CTX_new();
        if (context == NULL) return NULL;
        pthread_setspecific(digest_key, context);
    }
    return context;
}

/// Gives `context` (set up for one direction) `key` and `nonce`, feeds it `aad`, then turns `count` bytes of `input`
/// into `output`, setting `produced` to how many it wrote; the caller then gets or sets the tag and finishes. Returns
/// 1, or -1 when the library could not do it (no context, no cipher, a size beyond `int`).
static int run(EVP_CIPHER_CTX *context, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
               size_t aad_count, const uint8_t *input, size_t count, uint8_t *output, int *produced) {
    *produced = 0;
    if (context == NULL || aad_count > INT_MAX || count > INT_MAX) return -1;
    int ignored = 0;
    // No cipher (kept from the set-up), and -1: the direction stays the context's. GCM's default nonce length is
    // the 12 bytes given.
    if (EVP_CipherInit_ex2(context, NULL, key, nonce, -1, NULL) != 1) return -1;
    if (aad_count > 0 && EVP_CipherUpdate(context, NULL, &ignored, aad, (int)aad_count) != 1) return -1;
    return count == 0 || EVP_CipherUpdate(context, output, produced, input, (int)count) == 1 ? 1 : -1;
}

int eventcrm_aes256gcm_seal(const uint8_t *key, const uint8_t *nonce, const uint8_t *aad, size_t aad_count,
                            const uint8_t *plain, size_t count, uint8_t *sealed, uint8_t *tag) {
    EVP_CIPHER_CTX *context = cipher_context(1);
    int produced = 0, ignored = 0;
    if (run(context, key, nonce, aad, aad_count, plain, count, sealed, &produced) != 1) return 0;
    if (EVP_CipherFinal_ex(context, sealed + produced, &ignored) != 1) return 0;
    return EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_GET_TAG, 16, tag) == 1;
}

int eventcrm_aes256gcm_open(const uint8_t *key, const uint8_t *nonce, const uint8_t *aad, size_t aad_count,
                            const uint8_t *sealed, size_t count, const uint8_t *tag, uint8_t *plain) {
    EVP_CIPHER_CTX *context = cipher_context(0);
    int produced = 0, ignored = 0;
    if (run(context, key, nonce, aad, aad_count, sealed, count, plain, &produced) != 1) return -1;
    if (EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_SET_TAG, 16, (void *)tag) != 1) return -1;
    // Checks the tag: 0 here is the only "does not open".
    return EVP_CipherFinal_ex(context, plain + produced, &ignored) == 1 ? 1 : 0;
}

int eventcrm_sha256(const uint8_t *const *parts, const size_t *sizes, size_t count, uint8_t *digest) {
    EVP_MD_CTX *context = digest_context();
    if (context == NULL || EVP_DigestInit_ex2(context, sha256, NULL) != 1) return 0;
    for (size_t part = 0; part < count; part++) {
        if (sizes[part] > 0 && EVP_DigestUpdate(context, parts[part], sizes[part]) != 1) return 0;
    }
    unsigned int length = 0;
    return EVP_DigestFinal_ex(context, digest, &length) == 1 && length == 32;
}
