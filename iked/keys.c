/* iked/keys — IKEv1 key derivation and authentication hashes. */
#include "iked/keys.h"

#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "iked/isakmp.h"

int ike_skeyid_psk(struct p1keys *k, const uint8_t *psk, size_t psk_len,
		   const uint8_t *ni, size_t ni_len, const uint8_t *nr, size_t nr_len)
{
	k->prf_len = hash_size(k->hash);
	struct iov v[] = { { ni, ni_len }, { nr, nr_len } };
	return k->prf_len ? prf_iov(k->hash, psk, psk_len, v, 2, k->skeyid) : -1;
}

int ike_skeyid_sig(struct p1keys *k, const uint8_t *ni, size_t ni_len, const uint8_t *nr,
		   size_t nr_len, const uint8_t *gxy, size_t gxy_len)
{
	uint8_t key[2 * NONCE_MAX];
	if (ni_len > NONCE_MAX || nr_len > NONCE_MAX)
		return -1;
	k->prf_len = hash_size(k->hash);
	if (!k->prf_len)
		return -1;
	memcpy(key, ni, ni_len);
	memcpy(key + ni_len, nr, nr_len);
	int rc = prf1(k->hash, key, ni_len + nr_len, gxy, gxy_len, k->skeyid);
	mem_wipe(key, sizeof key);
	return rc;
}

int ike_derive_p1(struct p1keys *k, const uint8_t *gxy, size_t gxy_len, const uint8_t *icky,
		  const uint8_t *rcky, size_t enc_len)
{
	const uint8_t n0 = 0, n1 = 1, n2 = 2;
	size_t L = k->prf_len;
	if (!L || enc_len > sizeof k->enc)
		return -1;
	struct iov vd[] = { { gxy, gxy_len }, { icky, 8 }, { rcky, 8 }, { &n0, 1 } };
	struct iov va[] = { { k->skeyid_d, L }, { gxy, gxy_len }, { icky, 8 }, { rcky, 8 }, { &n1, 1 } };
	struct iov ve[] = { { k->skeyid_a, L }, { gxy, gxy_len }, { icky, 8 }, { rcky, 8 }, { &n2, 1 } };
	if (prf_iov(k->hash, k->skeyid, L, vd, 4, k->skeyid_d) ||
	    prf_iov(k->hash, k->skeyid, L, va, 5, k->skeyid_a) ||
	    prf_iov(k->hash, k->skeyid, L, ve, 5, k->skeyid_e))
		return -1;
	k->enc_len = enc_len;
	if (enc_len <= L) {
		memcpy(k->enc, k->skeyid_e, enc_len);
		return 0;
	}
	/* K1 = prf(SKEYID_e, 0), Kn = prf(SKEYID_e, Kn-1) */
	uint8_t block[HASH_MAX_LEN];
	size_t have = 0;
	if (prf1(k->hash, k->skeyid_e, L, &n0, 1, block))
		return -1;
	for (;;) {
		size_t take = enc_len - have < L ? enc_len - have : L;
		memcpy(k->enc + have, block, take);
		have += take;
		if (have == enc_len)
			break;
		if (prf1(k->hash, k->skeyid_e, L, block, L, block))
			return -1;
	}
	mem_wipe(block, sizeof block);
	return 0;
}

int ike_p1_iv(int hash, const uint8_t *gxi, size_t gxi_len, const uint8_t *gxr,
	      size_t gxr_len, uint8_t iv[AES_BLOCK])
{
	uint8_t h[HASH_MAX_LEN];
	struct iov v[] = { { gxi, gxi_len }, { gxr, gxr_len } };
	if (hash_iov(hash, v, 2, h))
		return -1;
	memcpy(iv, h, AES_BLOCK);
	return 0;
}

int ike_p2_iv(int hash, const uint8_t p1_last_iv[AES_BLOCK], uint32_t msgid,
	      uint8_t iv[AES_BLOCK])
{
	uint8_t h[HASH_MAX_LEN], m[4] = { (uint8_t)(msgid >> 24), (uint8_t)(msgid >> 16),
					  (uint8_t)(msgid >> 8), (uint8_t)msgid };
	struct iov v[] = { { p1_last_iv, AES_BLOCK }, { m, 4 } };
	if (hash_iov(hash, v, 2, h))
		return -1;
	memcpy(iv, h, AES_BLOCK);
	return 0;
}

int ike_keymat(const struct p1keys *k, const uint8_t *gxy, size_t gxy_len, uint8_t proto,
	       uint32_t spi, const uint8_t *ni, size_t ni_len, const uint8_t *nr, size_t nr_len,
	       uint8_t *out, size_t out_len)
{
	size_t L = k->prf_len;
	uint8_t s[4] = { (uint8_t)(spi >> 24), (uint8_t)(spi >> 16), (uint8_t)(spi >> 8),
			 (uint8_t)spi };
	uint8_t prev[HASH_MAX_LEN];
	size_t have = 0;
	bool first = true;
	if (!L)
		return -1;
	while (have < out_len) {
		struct iov v[] = { { prev, first ? 0 : L }, { gxy, gxy ? gxy_len : 0 },
				   { &proto, 1 }, { s, 4 }, { ni, ni_len }, { nr, nr_len } };
		if (prf_iov(k->hash, k->skeyid_d, L, v, 6, prev))
			return -1;
		size_t take = out_len - have < L ? out_len - have : L;
		memcpy(out + have, prev, take);
		have += take;
		first = false;
	}
	mem_wipe(prev, sizeof prev);
	return 0;
}

int ike_auth_hash(const struct p1keys *k, const uint8_t *gx_a, const uint8_t *gx_b,
		  size_t gx_len, const uint8_t *cky_a, const uint8_t *cky_b, const uint8_t *sai,
		  size_t sai_len, const uint8_t *idb, size_t id_len, uint8_t *out)
{
	struct iov v[] = { { gx_a, gx_len }, { gx_b, gx_len }, { cky_a, 8 }, { cky_b, 8 },
			   { sai, sai_len }, { idb, id_len } };
	return prf_iov(k->hash, k->skeyid, k->prf_len, v, 6, out);
}

static void be32(uint8_t out[4], uint32_t v)
{
	out[0] = (uint8_t)(v >> 24);
	out[1] = (uint8_t)(v >> 16);
	out[2] = (uint8_t)(v >> 8);
	out[3] = (uint8_t)v;
}

int ike_msg_hash(const struct p1keys *k, uint32_t msgid, const uint8_t *ni, size_t ni_len,
		 const uint8_t *rest, size_t rest_len, uint8_t *out)
{
	uint8_t m[4];
	be32(m, msgid);
	struct iov v[] = { { m, 4 }, { ni, ni ? ni_len : 0 }, { rest, rest_len } };
	return prf_iov(k->hash, k->skeyid_a, k->prf_len, v, 3, out);
}

int ike_qm_hash3(const struct p1keys *k, uint32_t msgid, const uint8_t *ni, size_t ni_len,
		 const uint8_t *nr, size_t nr_len, uint8_t *out)
{
	uint8_t zero = 0, m[4];
	be32(m, msgid);
	struct iov v[] = { { &zero, 1 }, { m, 4 }, { ni, ni_len }, { nr, nr_len } };
	return prf_iov(k->hash, k->skeyid_a, k->prf_len, v, 4, out);
}

void log_key(const char *tunnel, const char *name, const uint8_t *v, size_t n)
{
	char hex[2 * 512 + 1];
	size_t k = 0;
	for (size_t i = 0; i < n && k + 2 < sizeof hex; i++)
		k += (size_t)snprintf(hex + k, sizeof hex - k, "%02x", v[i]);
	hex[k] = '\0';
	log_info("keys %s %s=%s", tunnel, name, hex);
}
