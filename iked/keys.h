/*
 * iked/keys — IKEv1 key derivation (RFC 2409; each formula below):
 * SKEYID for pre-shared keys and for signatures, SKEYID_d/_a/_e, the phase 1
 * encryption key, the phase 1 and phase 2 IVs, KEYMAT for the IPsec SAs, and
 * the HASH_I / HASH_R authentication hashes. Pure functions of their inputs,
 * so the unit tests check them against values charon computed.
 */
#ifndef ATTLS_IKED_KEYS_H
#define ATTLS_IKED_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "iked/crypto.h"

struct p1keys {
	int hash;                         /* HASH_*: the PRF is HMAC with it */
	size_t prf_len;
	uint8_t skeyid[HASH_MAX_LEN];
	uint8_t skeyid_d[HASH_MAX_LEN];
	uint8_t skeyid_a[HASH_MAX_LEN];
	uint8_t skeyid_e[HASH_MAX_LEN];
	uint8_t enc[32];                  /* Ka */
	size_t enc_len;
};

/* SKEYID = prf(pre-shared-key, Ni_b | Nr_b) */
int ike_skeyid_psk(struct p1keys *k, const uint8_t *psk, size_t psk_len,
		   const uint8_t *ni, size_t ni_len, const uint8_t *nr, size_t nr_len);
/* SKEYID = prf(Ni_b | Nr_b, g^xy) */
int ike_skeyid_sig(struct p1keys *k, const uint8_t *ni, size_t ni_len, const uint8_t *nr,
		   size_t nr_len, const uint8_t *gxy, size_t gxy_len);
/* SKEYID_d/_a/_e and the encryption key of enc_len bytes: SKEYID_e's first
 * bytes, or when it is shorter K1 | K2 | ... with K1 = prf(SKEYID_e, 0) and
 * Kn = prf(SKEYID_e, Kn-1). k->skeyid must be set. */
int ike_derive_p1(struct p1keys *k, const uint8_t *gxy, size_t gxy_len, const uint8_t *icky,
		  const uint8_t *rcky, size_t enc_len);
/* Phase 1 IV = hash(g^xi | g^xr), first block. */
int ike_p1_iv(int hash, const uint8_t *gxi, size_t gxi_len, const uint8_t *gxr,
	      size_t gxr_len, uint8_t iv[AES_BLOCK]);
/* IV of a phase 2 or informational exchange = hash(last phase 1 IV | M-ID). */
int ike_p2_iv(int hash, const uint8_t p1_last_iv[AES_BLOCK], uint32_t msgid,
	      uint8_t iv[AES_BLOCK]);
/* KEYMAT = K1 | K2 | ... with K1 = prf(SKEYID_d, [g(qm)^xy |] protocol | SPI |
 * Ni_b | Nr_b) and Kn = prf(SKEYID_d, Kn-1 | ...); gxy may be NULL (no PFS). */
int ike_keymat(const struct p1keys *k, const uint8_t *gxy, size_t gxy_len, uint8_t proto,
	       uint32_t spi, const uint8_t *ni, size_t ni_len, const uint8_t *nr, size_t nr_len,
	       uint8_t *out, size_t out_len);
/* HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b);
 * HASH_R is the same with the DH values and cookies swapped and IDir_b. */
int ike_auth_hash(const struct p1keys *k, const uint8_t *gx_a, const uint8_t *gx_b,
		  size_t gx_len, const uint8_t *cky_a, const uint8_t *cky_b, const uint8_t *sai,
		  size_t sai_len, const uint8_t *idb, size_t id_len, uint8_t *out);

/* The hash that protects a phase 2 or informational message:
 * HASH(1) = prf(SKEYID_a, M-ID | the message after the HASH payload), and
 * HASH(2) the same with Ni_b after the M-ID (ni non-NULL). */
int ike_msg_hash(const struct p1keys *k, uint32_t msgid, const uint8_t *ni, size_t ni_len,
		 const uint8_t *rest, size_t rest_len, uint8_t *out);
/* Quick Mode's HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b). */
int ike_qm_hash3(const struct p1keys *k, uint32_t msgid, const uint8_t *ni, size_t ni_len,
		 const uint8_t *nr, size_t nr_len, uint8_t *out);

/* One derived key in the log, for interoperability tests (--log-keys):
 * "keys TUNNEL NAME=HEX". */
void log_key(const char *tunnel, const char *name, const uint8_t *v, size_t n);

#endif
