/*
 * iked/proposal — phase 1 and phase 2 proposals: turning policy offers
 * (KeyExchangeOffer, IpDataOffer) into attribute sets, writing them as SA
 * payloads, reading the peer's SA payload, and choosing. The responder's
 * choice of a phase 2 proposal includes the PFS decision (AcceptablePfs); a
 * refusal says why, so the log can name what was offered and what is
 * acceptable (EZD1021I / EZD1022I).
 */
#ifndef ATTLS_IKED_PROPOSAL_H
#define ATTLS_IKED_PROPOSAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iked/codec.h"
#include "policy/ipsec.h"

#define MAX_OFFERS 16

/* One phase 1 transform, offered or agreed. */
struct p1_attrs {
	int enc_alg;                      /* ENC_AES_CBC */
	int keylen;                       /* bits */
	int hash;                         /* HASH_* (the PRF is its HMAC) */
	int auth;                         /* AUTHMETH_PRESHARED_KEY or AUTHMETH_RSA_SIGNATURE */
	int group;                        /* DH group */
	uint32_t life_secs;               /* 0 = none */
	uint64_t life_kb;                 /* 0 = none */
	int offer;                        /* index of the KeyExchangeOffer, -1 = none */
	char offer_name[49];
};

/* One phase 2 (ESP) transform, offered or agreed. */
struct p2_attrs {
	int enc_alg;                      /* ENC_AES_CBC or ENC_AES_GCM_16 */
	int keylen;                       /* bits */
	int auth_alg;                     /* AUTHALG_*; AUTHALG_NULL with GCM */
	int encap;                        /* ENCAP_TUNNEL or ENCAP_TRANSPORT */
	bool udp;                         /* UDP-encapsulated (NAT-T) */
	int pfs_group;                    /* 0 = no PFS */
	uint32_t life_secs;
	uint64_t life_kb;
	int offer;                        /* index of the IpDataOffer, -1 = none */
	char offer_name[49];
};

/* From policy */
void p1_attrs_from_offer(const struct ike_offer *o, int index, int auth_me, struct p1_attrs *a);
void p2_attrs_from_offer(const struct ipsec_data_offer *o, int index, int pfs_group, bool udp,
			 struct p2_attrs *a);
bool p1_attrs_same(const struct p1_attrs *a, const struct p1_attrs *b);   /* algorithms */
bool p2_attrs_same(const struct p2_attrs *a, const struct p2_attrs *b);

/* Writing SA payload bodies (DOI, situation, proposals). */
void p1_sa_write(struct buf *b, const struct p1_attrs *offers, size_t n);
void p1_sa_write_chosen(struct buf *b, const struct p1_attrs *a, uint8_t tnum);
void p2_sa_write(struct buf *b, const struct p2_attrs *offers, size_t n, uint32_t spi);
void p2_sa_write_chosen(struct buf *b, const struct p2_attrs *a, uint8_t pnum, uint32_t spi);

/* Reading one phase 1 transform / phase 2 transform. Returns 0, or N_*. */
int p1_xform_read(const struct xform *t, struct p1_attrs *a, const char **why);
int p2_xform_read(const struct proposal *p, const struct xform *t, struct p2_attrs *a,
		  const char **why);

/* Responder's choice of a phase 1 transform: the first transform of the
 * peer (in its order) that equals one of ours with a lifetime in range.
 * Returns 0 with *chosen filled and *tnum the transform number, or N_*.
 * Group1 is refused when fips is set. */
int p1_select(const struct sa_payload *sa, const struct ike_action *act, bool fips,
	      struct p1_attrs *chosen, uint8_t *tnum, char *why, size_t whylen);

/* Responder's choice of a phase 2 proposal. nat says UDP encapsulation is
 * required (NAT detected); have_ke whether the message carried a KE payload.
 * Returns 0 with *chosen, *pnum and the peer's SPI, or N_*; on
 * NO-PROPOSAL-CHOSEN, why names the offered and the acceptable PFS groups
 * when PFS was the reason. */
int p2_select(const struct sa_payload *sa, const struct ipsec_dynvpn *vpn, bool nat,
	      bool have_ke, bool fips, struct p2_attrs *chosen, uint8_t *pnum, uint32_t *peer_spi,
	      bool *pfs_refused, char *why, size_t whylen);

/* Initiator: which of our offers did the responder pick? Returns the index
 * into offers, or -1. */
int p1_match_reply(const struct sa_payload *sa, const struct p1_attrs *offers, size_t n,
		   struct p1_attrs *agreed);
int p2_match_reply(const struct sa_payload *sa, const struct p2_attrs *offers, size_t n,
		   struct p2_attrs *agreed, uint32_t *peer_spi);

/* "None Group2 Group14" */
void pfs_set_format(uint32_t set, char *buf, size_t len);
const char *enc_name(int enc_alg);        /* "AES_CBC", "AES_GCM_16" */
const char *authalg_name(int auth_alg);   /* "HMAC_SHA2_256_128", ... */
/* Key sizes of a phase 2 transform (bytes of KEYMAT per direction). */
size_t p2_enc_key_len(const struct p2_attrs *a);   /* GCM: key + 4 bytes salt */
size_t p2_auth_key_len(const struct p2_attrs *a);
size_t p2_icv_bits(const struct p2_attrs *a);

#endif
