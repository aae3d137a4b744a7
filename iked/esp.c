/* iked/esp — ESP packets and SAs (see esp.h). */
#include "iked/esp.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <nettle/cbc.h>
#include <nettle/memops.h>

#include "iked/codec.h"
#include "iked/crypto.h"
#include "iked/proposal.h"
#include "policy/schema.h"

#define GCM_IV_LEN   8
#define GCM_ICV_LEN  16
#define NH_IPV4      4
#define NH_IPV6      41
#define NH_NONE      59                  /* a dummy packet (RFC 4303 2.6) */

const char *esp_result_name(int r)
{
	static const char *const names[ESP_NRESULTS] = {
		[ESP_OK] = "ok",
		[ESP_DROP_MALFORMED] = "malformed",
		[ESP_DROP_PADDING] = "bad padding",
		[ESP_DROP_REPLAY] = "replay",
		[ESP_DROP_INTEGRITY] = "integrity",
		[ESP_DROP_UNKNOWN_SPI] = "unknown SPI",
		[ESP_DROP_SELECTOR] = "outside the selectors",
		[ESP_DROP_NO_SA] = "no SA",
		[ESP_DROP_SEQ_EXHAUSTED] = "sequence numbers exhausted",
		[ESP_DROP_EXPIRED] = "SA expired",
		[ESP_DROP_IO] = "I/O error",
	};
	return r >= 0 && r < ESP_NRESULTS ? names[r] : "?";
}

/* One thread writes a counter: no read-modify-write instruction needed. */
static void stat_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

uint32_t esp_spi(const uint8_t *p)
{
	return get32(p);
}

/* ---- setting up ------------------------------------------------------------ */

static const struct nettle_mac *mac_for(int alg, size_t *key_len, size_t *icv_len)
{
	switch (alg) {
	case AUTHALG_HMAC_SHA1: *key_len = 20; *icv_len = 12; return &nettle_hmac_sha1;
	case AUTHALG_HMAC_SHA2_256_128: *key_len = 32; *icv_len = 16; return &nettle_hmac_sha256;
	case AUTHALG_HMAC_SHA2_384_192: *key_len = 48; *icv_len = 24; return &nettle_hmac_sha384;
	case AUTHALG_HMAC_SHA2_512_256: *key_len = 64; *icv_len = 32; return &nettle_hmac_sha512;
	default: return NULL;
	}
}

/* The AES key schedule (16 or 32 bytes), for encrypting or decrypting. */
static void set_aes(struct esp_sa *sa, const uint8_t *key, size_t len, bool encrypt)
{
	sa->aes256 = len == 32;
	if (sa->aes256) {
		if (encrypt)
			aes256_set_encrypt_key(&sa->aes.a256, key);
		else
			aes256_set_decrypt_key(&sa->aes.a256, key);
		sa->aes_fn = (nettle_cipher_func *)(encrypt ? aes256_encrypt : aes256_decrypt);
	} else {
		if (encrypt)
			aes128_set_encrypt_key(&sa->aes.a128, key);
		else
			aes128_set_decrypt_key(&sa->aes.a128, key);
		sa->aes_fn = (nettle_cipher_func *)(encrypt ? aes128_encrypt : aes128_decrypt);
	}
}

static int init_gcm(struct esp_sa *sa, const struct kernel_sa *ks, char *err, size_t errlen)
{
	size_t klen = ks->enc_key_len - 4;
	if (ks->enc_key_len < 4 || (klen != 16 && klen != 32) || ks->icv_bits != 128) {
		snprintf(err, errlen, "AES-GCM with a %zu-byte key and salt and a %u-bit ICV",
			 ks->enc_key_len, ks->icv_bits);
		return -1;
	}
	sa->enc = ESP_ENC_GCM;
	sa->iv_len = GCM_IV_LEN;
	sa->icv_len = GCM_ICV_LEN;
	sa->align = 4;
	set_aes(sa, ks->enc_key, klen, true);
	gcm_set_key(&sa->gkey, &sa->aes, sa->aes_fn);
	memcpy(sa->salt, ks->enc_key + klen, 4);
	return 0;
}

static int init_cbc(struct esp_sa *sa, const struct kernel_sa *ks, char *err, size_t errlen)
{
	size_t key_len, icv_len;
	sa->mac = mac_for(ks->auth_alg, &key_len, &icv_len);
	if ((ks->enc_key_len != 16 && ks->enc_key_len != 32) || !sa->mac ||
	    ks->auth_key_len != key_len || ks->icv_bits != icv_len * 8) {
		snprintf(err, errlen, "AES-CBC with a %zu-byte key and %s with a %zu-byte key",
			 ks->enc_key_len, authalg_name(ks->auth_alg), ks->auth_key_len);
		return -1;
	}
	sa->enc = ESP_ENC_CBC;
	sa->iv_len = AES_BLOCK_SIZE;
	sa->icv_len = icv_len;
	sa->align = AES_BLOCK_SIZE;
	set_aes(sa, ks->enc_key, ks->enc_key_len, !sa->inbound);
	sa->mac->set_key(&sa->hmac, ks->auth_key);     /* key_size: the digest size, checked */
	if (!sa->inbound) {
		uint8_t k[16];
		if (random_bytes(k, sizeof k)) {
			snprintf(err, errlen, "no random bytes for the IV key");
			return -1;
		}
		aes128_set_encrypt_key(&sa->ivgen, k);
		mem_wipe(k, sizeof k);
	}
	return 0;
}

int esp_sa_init(struct esp_sa *sa, const struct kernel_sa *ks, char *err, size_t errlen)
{
	memset(sa, 0, sizeof *sa);
	sa->spi = ks->spi;
	sa->inbound = ks->inbound;
	sa->mode = ks->mode;
	if (ks->mode != ENCAP_TUNNEL && ks->mode != ENCAP_TRANSPORT) {
		snprintf(err, errlen, "encapsulation mode %d", ks->mode);
		return -1;
	}
	int rc;
	if (ks->enc_alg == ENC_AES_GCM_16)
		rc = init_gcm(sa, ks, err, errlen);
	else if (ks->enc_alg == ENC_AES_CBC)
		rc = init_cbc(sa, ks, err, errlen);
	else {
		snprintf(err, errlen, "encryption %s", enc_name(ks->enc_alg));
		rc = -1;
	}
	if (rc)
		esp_sa_wipe(sa);
	return rc;
}

void esp_sa_wipe(struct esp_sa *sa)
{
	mem_wipe(sa, sizeof *sa);
}

/* ---- sizes --------------------------------------------------------------------- */

static size_t pad_len(const struct esp_sa *sa, size_t len)
{
	size_t r = (len + 2) % sa->align;
	return r ? sa->align - r : 0;
}

size_t esp_overhead(const struct esp_sa *sa, size_t len)
{
	return ESP_HDR_LEN + sa->iv_len + pad_len(sa, len) + 2 + sa->icv_len;
}

uint64_t esp_seq_left(const struct esp_sa *sa)
{
	return UINT32_MAX - sa->seq;
}

/* ---- sealing ------------------------------------------------------------------ */

/* RFC 4303 2.4: padding bytes 1, 2, 3, ... then its length and the next
 * header. */
static size_t add_trailer(const struct esp_sa *sa, uint8_t *p, size_t len, uint8_t nh)
{
	size_t pad = pad_len(sa, len);
	for (size_t i = 0; i < pad; i++)
		p[len + i] = (uint8_t)(i + 1);
	p[len + pad] = (uint8_t)pad;
	p[len + pad + 1] = nh;
	return len + pad + 2;
}

static void cbc_iv(struct esp_sa *sa, uint8_t iv[AES_BLOCK_SIZE])
{
	uint8_t block[AES_BLOCK_SIZE] = { 0 };
	put32(block, (uint32_t)(sa->seq >> 32));
	put32(block + 4, (uint32_t)sa->seq);
	put32(block + 8, sa->spi);
	aes128_encrypt(&sa->ivgen, AES_BLOCK_SIZE, iv, block);
}

static void gcm_nonce(const struct esp_sa *sa, const uint8_t *iv, uint8_t nonce[12])
{
	memcpy(nonce, sa->salt, 4);
	memcpy(nonce + 4, iv, GCM_IV_LEN);
}

int esp_encrypt(struct esp_sa *sa, uint8_t *p, size_t clen, uint8_t **out, size_t *outlen)
{
	if (sa->seq >= UINT32_MAX)
		return ESP_DROP_SEQ_EXHAUSTED;
	sa->seq++;
	uint8_t *h = p - ESP_HDR_LEN - sa->iv_len, *iv = h + ESP_HDR_LEN;
	put32(h, sa->spi);
	put32(h + 4, (uint32_t)sa->seq);
	if (sa->enc == ESP_ENC_GCM) {
		uint8_t nonce[12];
		put32(iv, 0);
		put32(iv + 4, (uint32_t)sa->seq);
		gcm_nonce(sa, iv, nonce);
		gcm_set_iv(&sa->gctx, &sa->gkey, sizeof nonce, nonce);
		gcm_update(&sa->gctx, &sa->gkey, ESP_HDR_LEN, h);
		gcm_encrypt(&sa->gctx, &sa->gkey, &sa->aes, sa->aes_fn, clen, p, p);
		gcm_digest(&sa->gctx, &sa->gkey, &sa->aes, sa->aes_fn, GCM_ICV_LEN, p + clen);
	} else {
		uint8_t chain[AES_BLOCK_SIZE];
		cbc_iv(sa, iv);
		memcpy(chain, iv, sizeof chain);
		/* nettle's CBC encryption for AES runs several blocks at once */
		if (sa->aes256)
			cbc_aes256_encrypt(&sa->aes.a256, chain, clen, p, p);
		else
			cbc_aes128_encrypt(&sa->aes.a128, chain, clen, p, p);
		sa->mac->update(&sa->hmac, ESP_HDR_LEN + sa->iv_len + clen, h);
		sa->mac->digest(&sa->hmac, sa->icv_len, p + clen);
	}
	*out = h;
	*outlen = ESP_HDR_LEN + sa->iv_len + clen + sa->icv_len;
	stat_add(&sa->st.packets, 1);
	return ESP_OK;
}

int esp_seal(struct esp_sa *sa, uint8_t *p, size_t len, uint8_t next_header, uint8_t **out,
	     size_t *outlen)
{
	if (sa->seq >= UINT32_MAX)
		return ESP_DROP_SEQ_EXHAUSTED;
	int rc = esp_encrypt(sa, p, add_trailer(sa, p, len, next_header), out, outlen);
	stat_add(&sa->st.bytes, len);
	return rc;
}

/* ---- the replay window -------------------------------------------------------- */

static bool window_has(const struct esp_sa *sa, uint32_t n)
{
	uint32_t bit = n % ESP_REPLAY_WINDOW;
	return (sa->window[bit / 64] >> (bit % 64)) & 1;
}

/* Before the ICV: a number that may be new. */
static bool replay_ok(const struct esp_sa *sa, uint32_t n)
{
	if (n == 0)
		return false;
	if (n > sa->top)
		return true;
	if (sa->top - n >= ESP_REPLAY_WINDOW)
		return false;
	return !window_has(sa, n);
}

/* After the ICV: take the number. Numbers between the old top and a new one
 * have not been seen: their bits are cleared (whole words where possible). */
static void replay_take(struct esp_sa *sa, uint32_t n)
{
	if (n > sa->top) {
		uint32_t gap = n - sa->top;
		if (gap >= ESP_REPLAY_WINDOW) {
			memset(sa->window, 0, sizeof sa->window);
		} else {
			for (uint32_t i = sa->top + 1; i != n + 1;) {
				uint32_t bit = i % ESP_REPLAY_WINDOW;
				if (bit % 64 == 0 && n + 1 - i >= 64) {
					sa->window[bit / 64] = 0;
					i += 64;
				} else {
					sa->window[bit / 64] &= ~(1ull << (bit % 64));
					i++;
				}
			}
		}
		sa->top = n;
	}
	uint32_t bit = n % ESP_REPLAY_WINDOW;
	sa->window[bit / 64] |= 1ull << (bit % 64);
}

/* ---- opening ------------------------------------------------------------------ */

static bool gcm_open(struct esp_sa *sa, uint8_t *h, uint8_t *c, size_t clen)
{
	uint8_t nonce[12], tag[GCM_ICV_LEN];
	gcm_nonce(sa, h + ESP_HDR_LEN, nonce);
	gcm_set_iv(&sa->gctx, &sa->gkey, sizeof nonce, nonce);
	gcm_update(&sa->gctx, &sa->gkey, ESP_HDR_LEN, h);
	gcm_decrypt(&sa->gctx, &sa->gkey, &sa->aes, sa->aes_fn, clen, c, c);
	gcm_digest(&sa->gctx, &sa->gkey, &sa->aes, sa->aes_fn, sizeof tag, tag);
	return memeql_sec(tag, c + clen, GCM_ICV_LEN);
}

static bool cbc_verify(struct esp_sa *sa, const uint8_t *h, size_t covered)
{
	uint8_t icv[ESP_MAX_ICV];
	sa->mac->update(&sa->hmac, covered, h);
	sa->mac->digest(&sa->hmac, sa->icv_len, icv);
	return memeql_sec(icv, h + covered, sa->icv_len);
}

static void cbc_decrypt_in_place(struct esp_sa *sa, const uint8_t *iv, uint8_t *c, size_t clen)
{
	uint8_t chain[AES_BLOCK_SIZE];
	memcpy(chain, iv, sizeof chain);
	cbc_decrypt(&sa->aes, sa->aes_fn, AES_BLOCK_SIZE, chain, clen, c, c);
}

/* The trailer: padding 1, 2, 3, ..., its length, a next header the mode can
 * carry. Returns the payload length or -1. */
static long check_trailer(const struct esp_sa *sa, const uint8_t *c, size_t clen, uint8_t *nh)
{
	size_t pad = c[clen - 2];
	*nh = c[clen - 1];
	if (pad + 2 > clen)
		return -1;
	size_t len = clen - 2 - pad;
	for (size_t i = 0; i < pad; i++)
		if (c[len + i] != (uint8_t)(i + 1))
			return -1;
	if (*nh == NH_NONE)
		return -1;
	if (sa->mode == ENCAP_TUNNEL && *nh != NH_IPV4 && *nh != NH_IPV6)
		return -1;
	return (long)len;
}

/* Tunnel mode: the inner packet must be the IP version the next header
 * says, no longer than what arrived; what follows it is TFC padding
 * (RFC 4303 2.7). */
static long inner_length(const uint8_t *c, size_t len, uint8_t nh)
{
	if (nh == NH_IPV4) {
		if (len < 20 || c[0] >> 4 != 4)
			return -1;
		size_t total = (size_t)c[2] << 8 | c[3];
		return total >= 20 && total <= len ? (long)total : -1;
	}
	if (len < 40 || c[0] >> 4 != 6)
		return -1;
	size_t total = 40 + ((size_t)c[4] << 8 | c[5]);
	return total <= len ? (long)total : -1;
}

static int drop(struct esp_sa *sa, int why)
{
	if (why == ESP_DROP_REPLAY)
		stat_add(&sa->st.replay, 1);
	else if (why == ESP_DROP_INTEGRITY)
		stat_add(&sa->st.integrity, 1);
	else
		stat_add(&sa->st.malformed, 1);
	return why;
}

int esp_open(struct esp_sa *sa, uint8_t *p, size_t len, uint8_t **payload, size_t *plen,
	     uint8_t *next_header)
{
	size_t fixed = ESP_HDR_LEN + sa->iv_len + sa->icv_len;
	if (len >= 4 && get32(p) != sa->spi)
		return ESP_DROP_UNKNOWN_SPI;     /* another SA's packet: not this one's count */
	if (len < fixed + sa->align || (len - fixed) % sa->align)
		return drop(sa, ESP_DROP_MALFORMED);
	uint32_t seq = get32(p + 4);
	if (!replay_ok(sa, seq))
		return drop(sa, ESP_DROP_REPLAY);
	uint8_t *c = p + ESP_HDR_LEN + sa->iv_len;
	size_t clen = len - fixed;
	if (sa->enc == ESP_ENC_GCM) {
		if (!gcm_open(sa, p, c, clen))
			return drop(sa, ESP_DROP_INTEGRITY);
	} else {
		if (!cbc_verify(sa, p, len - sa->icv_len))
			return drop(sa, ESP_DROP_INTEGRITY);
		cbc_decrypt_in_place(sa, p + ESP_HDR_LEN, c, clen);
	}
	/* authentic: the number is taken even if what it carries is refused */
	replay_take(sa, seq);
	long n = check_trailer(sa, c, clen, next_header);
	if (n < 0)
		return drop(sa, ESP_DROP_PADDING);
	if (sa->mode == ENCAP_TUNNEL && (n = inner_length(c, (size_t)n, *next_header)) < 0)
		return drop(sa, ESP_DROP_MALFORMED);
	*payload = c;
	*plen = (size_t)n;
	stat_add(&sa->st.bytes, (uint64_t)n);
	stat_add(&sa->st.packets, 1);
	return ESP_OK;
}
