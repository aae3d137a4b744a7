/* iked/crypto — hashes, HMAC, AES-CBC and randomness on top of nettle. */
#include "iked/crypto.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>

#include <nettle/aes.h>
#include <nettle/cbc.h>
#include <nettle/hmac.h>
#include <nettle/nettle-meta.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>

#include "policy/schema.h"

static const struct nettle_hash *nettle_for(int hash)
{
	switch (hash) {
	case HASH_SHA1: return &nettle_sha1;
	case HASH_SHA2_256: return &nettle_sha256;
	case HASH_SHA2_384: return &nettle_sha384;
	case HASH_SHA2_512: return &nettle_sha512;
	default: return NULL;
	}
}

size_t hash_size(int hash)
{
	const struct nettle_hash *h = nettle_for(hash);
	return h ? h->digest_size : 0;
}

const char *hash_name(int hash)
{
	switch (hash) {
	case HASH_MD5: return "MD5";
	case HASH_SHA1: return "SHA1";
	case HASH_SHA2_256: return "SHA2_256";
	case HASH_SHA2_384: return "SHA2_384";
	case HASH_SHA2_512: return "SHA2_512";
	default: return "unknown";
	}
}

/* Big enough for every context iked uses (SHA-512 is the largest). */
union hash_ctx {
	struct sha1_ctx sha1;
	struct sha256_ctx sha256;
	struct sha512_ctx sha512;
};

int hash_iov(int hash, const struct iov *v, size_t n, uint8_t *out)
{
	const struct nettle_hash *h = nettle_for(hash);
	if (!h)
		return -1;
	union hash_ctx ctx;
	h->init(&ctx);
	for (size_t i = 0; i < n; i++)
		if (v[i].n)
			h->update(&ctx, v[i].n, v[i].p);
	h->digest(&ctx, h->digest_size, out);
	return 0;
}

int prf_iov(int hash, const uint8_t *key, size_t klen, const struct iov *v, size_t n,
	    uint8_t *out)
{
	const struct nettle_hash *h = nettle_for(hash);
	if (!h)
		return -1;
	union hash_ctx outer, inner, state;
	hmac_set_key(&outer, &inner, &state, h, klen, key);
	for (size_t i = 0; i < n; i++)
		if (v[i].n)
			hmac_update(&state, h, v[i].n, v[i].p);
	hmac_digest(&outer, &inner, &state, h, h->digest_size, out);
	mem_wipe(&outer, sizeof outer);
	mem_wipe(&inner, sizeof inner);
	mem_wipe(&state, sizeof state);
	return 0;
}

int prf1(int hash, const uint8_t *key, size_t klen, const void *d, size_t dlen, uint8_t *out)
{
	struct iov v = { d, dlen };
	return prf_iov(hash, key, klen, &v, 1, out);
}

union aes_any_ctx {
	struct aes128_ctx a128;
	struct aes192_ctx a192;
	struct aes256_ctx a256;
};

static int aes_setup(union aes_any_ctx *c, const uint8_t *key, size_t keylen, bool enc,
		     nettle_cipher_func **fn)
{
	switch (keylen) {
	case 16:
		(enc ? aes128_set_encrypt_key : aes128_set_decrypt_key)(&c->a128, key);
		*fn = enc ? (nettle_cipher_func *)aes128_encrypt : (nettle_cipher_func *)aes128_decrypt;
		return 0;
	case 24:
		(enc ? aes192_set_encrypt_key : aes192_set_decrypt_key)(&c->a192, key);
		*fn = enc ? (nettle_cipher_func *)aes192_encrypt : (nettle_cipher_func *)aes192_decrypt;
		return 0;
	case 32:
		(enc ? aes256_set_encrypt_key : aes256_set_decrypt_key)(&c->a256, key);
		*fn = enc ? (nettle_cipher_func *)aes256_encrypt : (nettle_cipher_func *)aes256_decrypt;
		return 0;
	default:
		return -1;
	}
}

int aes_cbc_encrypt(const uint8_t *key, size_t keylen, uint8_t iv[AES_BLOCK], uint8_t *buf,
		    size_t len)
{
	union aes_any_ctx c;
	nettle_cipher_func *fn;
	if (len % AES_BLOCK || aes_setup(&c, key, keylen, true, &fn))
		return -1;
	cbc_encrypt(&c, fn, AES_BLOCK, iv, len, buf, buf);  /* leaves iv = last block */
	mem_wipe(&c, sizeof c);
	return 0;
}

int aes_cbc_decrypt(const uint8_t *key, size_t keylen, uint8_t iv[AES_BLOCK], uint8_t *buf,
		    size_t len)
{
	union aes_any_ctx c;
	nettle_cipher_func *fn;
	if (len % AES_BLOCK || aes_setup(&c, key, keylen, false, &fn))
		return -1;
	cbc_decrypt(&c, fn, AES_BLOCK, iv, len, buf, buf);  /* leaves iv = last input block */
	mem_wipe(&c, sizeof c);
	return 0;
}

static int getrandom_all(uint8_t *q, size_t n)
{
	while (n) {
		ssize_t r = getrandom(q, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		q += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Kernel randomness is fetched RND_POOL bytes at a time: a responder asks
 * for it eight times per negotiation (cookie, nonces, SPI, DH keys) and each
 * getrandom is a system call. The pool lives in a page the kernel wipes in a
 * forked child (MADV_WIPEONFORK): a child finds it empty and refills, so it
 * never hands out bytes its parent had left. Bytes leave the pool once and
 * are wiped as they go. Without such a page (an old kernel), and for large
 * requests, every request goes to getrandom. */
#define RND_POOL 512

struct rnd_pool {
	size_t avail;                     /* the last avail bytes of b are unused */
	uint8_t b[RND_POOL];
};

static struct rnd_pool *pool;
static bool pool_tried;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;

static void pool_init(void)
{
	pool_tried = true;
	void *m = mmap(NULL, sizeof *pool, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	if (m == MAP_FAILED)
		return;
	if (madvise(m, sizeof *pool, MADV_WIPEONFORK) || madvise(m, sizeof *pool, MADV_DONTDUMP)) {
		munmap(m, sizeof *pool);
		return;
	}
	pool = m;
}

static int pool_take(uint8_t *q, size_t n)
{
	int rc = -1;
	pthread_mutex_lock(&pool_lock);
	if (!pool_tried)
		pool_init();
	if (pool) {
		if (pool->avail < n && getrandom_all(pool->b, RND_POOL) == 0)
			pool->avail = RND_POOL;
		if (pool->avail >= n) {
			uint8_t *src = pool->b + RND_POOL - pool->avail;
			memcpy(q, src, n);
			mem_wipe(src, n);
			pool->avail -= n;
			rc = 0;
		}
	}
	pthread_mutex_unlock(&pool_lock);
	return rc;
}

int random_bytes(void *p, size_t n)
{
	if (n <= RND_POOL / 8 && pool_take(p, n) == 0)
		return 0;
	return getrandom_all(p, n);
}

uint32_t random_u32(void)
{
	uint32_t v = 0;
	if (random_bytes(&v, sizeof v))
		v = 0;
	return v;
}

bool mem_equal(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t d = 0;
	for (size_t i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

void mem_wipe(void *p, size_t n)
{
	volatile uint8_t *q = p;
	while (n--)
		*q++ = 0;
}
