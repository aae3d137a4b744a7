/*
 * iked/crypto — the primitives iked uses, from nettle: hashes (SHA-1 and
 * SHA-2 256/384/512), HMAC as the IKEv1 PRF, AES-CBC for phase 1 encryption,
 * and random bytes from the kernel. Inputs are given as lists of pieces
 * (struct iov) so callers never concatenate into temporary buffers.
 * Algorithms are named by the policy's HASH_* values.
 */
#ifndef ATTLS_IKED_CRYPTO_H
#define ATTLS_IKED_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HASH_MAX_LEN   64
#define AES_BLOCK      16

struct iov {
	const void *p;
	size_t n;
};

/* Output size of a hash (0 when iked does not implement it). */
size_t hash_size(int hash);
const char *hash_name(int hash);          /* "SHA1", "SHA2_256", ... */
int hash_iov(int hash, const struct iov *v, size_t n, uint8_t *out);
/* HMAC with the given hash: the IKEv1 PRF when no PRF attribute is negotiated. */
int prf_iov(int hash, const uint8_t *key, size_t klen, const struct iov *v, size_t n,
	    uint8_t *out);
int prf1(int hash, const uint8_t *key, size_t klen, const void *d, size_t dlen, uint8_t *out);

/* AES-CBC in place; len must be a multiple of the block size and keylen 16,
 * 24 or 32. iv is updated to the last ciphertext block (the IKEv1 rule for
 * the next message's IV). */
int aes_cbc_encrypt(const uint8_t *key, size_t keylen, uint8_t iv[AES_BLOCK], uint8_t *buf,
		    size_t len);
int aes_cbc_decrypt(const uint8_t *key, size_t keylen, uint8_t iv[AES_BLOCK], uint8_t *buf,
		    size_t len);

/* Kernel randomness (getrandom, served from a small fork-safe pool for
 * requests up to 64 bytes); returns 0 or -1. Thread-safe. */
int random_bytes(void *p, size_t n);
uint32_t random_u32(void);

/* Constant-time comparison. */
bool mem_equal(const void *a, const void *b, size_t n);
/* Wipe key material so the compiler cannot drop it. */
void mem_wipe(void *p, size_t n);

#endif
