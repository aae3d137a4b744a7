/* iked/proposal — SA payloads: building, reading and choosing proposals. */
#include "iked/proposal.h"

#include <stdio.h>
#include <string.h>

#include "common/strutil.h"
#include "iked/dh.h"
#include "policy/schema.h"

/* ---- from policy --------------------------------------------------------- */

void p1_attrs_from_offer(const struct ike_offer *o, int index, int auth_me, struct p1_attrs *a)
{
	memset(a, 0, sizeof *a);
	a->enc_alg = o->enc_alg;
	a->keylen = o->keylen;
	a->hash = o->hash;
	/* IKEv1 negotiates one method for both sides: HowToAuthMe, when given,
	 * is that method; otherwise the offer's HowToAuthPeers. */
	a->auth = auth_me >= 0 ? auth_me : o->auth_method;
	a->group = o->dh_group;
	a->life_secs = o->life_proposed * 60u;
	a->life_kb = o->size_proposed;
	a->offer = index;
	str_copy(a->offer_name, o->name ? o->name : "", sizeof a->offer_name);
}

void p2_attrs_from_offer(const struct ipsec_data_offer *o, int index, int pfs_group, bool udp,
			 struct p2_attrs *a)
{
	memset(a, 0, sizeof *a);
	a->enc_alg = o->enc_alg;
	a->keylen = o->keylen;
	a->auth_alg = o->enc_alg == ENC_AES_GCM_16 ? AUTHALG_NULL : o->auth_alg;
	a->encap = o->encap;
	a->udp = udp;
	a->pfs_group = pfs_group;
	a->life_secs = o->life_proposed * 60u;
	a->life_kb = o->size_proposed;
	a->offer = index;
	str_copy(a->offer_name, o->name ? o->name : "", sizeof a->offer_name);
}

bool p1_attrs_same(const struct p1_attrs *a, const struct p1_attrs *b)
{
	return a->enc_alg == b->enc_alg && a->keylen == b->keylen && a->hash == b->hash &&
	       a->auth == b->auth && a->group == b->group;
}

bool p2_attrs_same(const struct p2_attrs *a, const struct p2_attrs *b)
{
	return a->enc_alg == b->enc_alg && a->keylen == b->keylen && a->auth_alg == b->auth_alg &&
	       a->encap == b->encap && a->udp == b->udp && a->pfs_group == b->pfs_group;
}

/* ---- wire values --------------------------------------------------------- */

static int p1_hash_wire(int hash)
{
	switch (hash) {
	case HASH_SHA1: return P1_HASH_SHA1;
	case HASH_SHA2_256: return P1_HASH_SHA2_256;
	case HASH_SHA2_384: return P1_HASH_SHA2_384;
	case HASH_SHA2_512: return P1_HASH_SHA2_512;
	default: return P1_HASH_MD5;
	}
}

static int p1_hash_from_wire(uint64_t v)
{
	switch (v) {
	case P1_HASH_SHA1: return HASH_SHA1;
	case P1_HASH_SHA2_256: return HASH_SHA2_256;
	case P1_HASH_SHA2_384: return HASH_SHA2_384;
	case P1_HASH_SHA2_512: return HASH_SHA2_512;
	default: return -1;
	}
}

static int p2_auth_wire(int alg)
{
	switch (alg) {
	case AUTHALG_HMAC_SHA1: return P2_AUTH_HMAC_SHA1;
	case AUTHALG_HMAC_SHA2_256_128: return P2_AUTH_HMAC_SHA2_256;
	case AUTHALG_HMAC_SHA2_384_192: return P2_AUTH_HMAC_SHA2_384;
	case AUTHALG_HMAC_SHA2_512_256: return P2_AUTH_HMAC_SHA2_512;
	default: return 0;
	}
}

static int p2_auth_from_wire(uint64_t v)
{
	switch (v) {
	case P2_AUTH_HMAC_SHA1: return AUTHALG_HMAC_SHA1;
	case P2_AUTH_HMAC_SHA2_256: return AUTHALG_HMAC_SHA2_256_128;
	case P2_AUTH_HMAC_SHA2_384: return AUTHALG_HMAC_SHA2_384_192;
	case P2_AUTH_HMAC_SHA2_512: return AUTHALG_HMAC_SHA2_512_256;
	default: return -1;
	}
}

static uint16_t encap_wire(int encap, bool udp)
{
	if (encap == ENCAP_TRANSPORT)
		return udp ? ENCAP_MODE_UDP_TRANSPORT : ENCAP_MODE_TRANSPORT;
	return udp ? ENCAP_MODE_UDP_TUNNEL : ENCAP_MODE_TUNNEL;
}

/* ---- writing ------------------------------------------------------------- */

/* The framing of SA payloads is the codec's; what goes here is which
 * attributes describe an offer. */

static void p1_xform_write(struct buf *b, const struct p1_attrs *a, uint8_t tnum, bool last)
{
	struct xform t = { .num = tnum, .id = KEY_IKE };
	size_t start = xform_encode_begin(b, &t, last);
	attr_tv(b, P1A_ENC, P1_ENC_AES_CBC);
	attr_tv(b, P1A_KEY_LENGTH, (uint16_t)a->keylen);
	attr_tv(b, P1A_HASH, (uint16_t)p1_hash_wire(a->hash));
	attr_tv(b, P1A_AUTH, a->auth == AUTHMETH_RSA_SIGNATURE ? P1_AUTH_RSA_SIG : P1_AUTH_PSK);
	attr_tv(b, P1A_GROUP_DESC, (uint16_t)a->group);
	if (a->life_secs) {
		attr_tv(b, P1A_LIFE_TYPE, LIFE_SECONDS);
		attr_life(b, P1A_LIFE_DURATION, a->life_secs);
	}
	if (a->life_kb) {
		attr_tv(b, P1A_LIFE_TYPE, LIFE_KILOBYTES);
		attr_life(b, P1A_LIFE_DURATION, a->life_kb);
	}
	sa_part_end(b, start);
}

/* Phase 1: one ISAKMP proposal with a transform per offer (numbered from
 * first, or the one chosen with its number). */
static void p1_sa_write_from(struct buf *b, const struct p1_attrs *a, size_t n, uint8_t first)
{
	struct proposal p = { .num = 1, .proto = PROTO_ISAKMP, .ntr_declared = (uint8_t)n };
	sa_encode_header(b, DOI_IPSEC, SIT_IDENTITY_ONLY);
	size_t start = proposal_encode_begin(b, &p, true);
	for (size_t i = 0; i < n; i++)
		p1_xform_write(b, &a[i], (uint8_t)(first + i), i + 1 == n);
	sa_part_end(b, start);
}

void p1_sa_write(struct buf *b, const struct p1_attrs *offers, size_t n)
{
	p1_sa_write_from(b, offers, n, 1);
}

void p1_sa_write_chosen(struct buf *b, const struct p1_attrs *a, uint8_t tnum)
{
	p1_sa_write_from(b, a, 1, tnum);
}

/* Phase 2: an ESP proposal of one transform per offer, all with our SPI. */
static void p2_proposal_write(struct buf *b, const struct p2_attrs *a, uint8_t pnum,
			      const uint8_t spi[4], bool last)
{
	struct proposal p = { .num = pnum, .proto = PROTO_IPSEC_ESP, .spi_size = 4, .spi = spi,
			      .ntr_declared = 1 };
	struct xform t = { .num = 1, .id = a->enc_alg == ENC_AES_GCM_16 ? ESP_AES_GCM_16 : ESP_AES_CBC };
	size_t start = proposal_encode_begin(b, &p, last);
	size_t tstart = xform_encode_begin(b, &t, true);
	if (a->life_secs) {
		attr_tv(b, P2A_LIFE_TYPE, LIFE_SECONDS);
		attr_life(b, P2A_LIFE_DURATION, a->life_secs);
	}
	if (a->life_kb) {
		attr_tv(b, P2A_LIFE_TYPE, LIFE_KILOBYTES);
		attr_life(b, P2A_LIFE_DURATION, a->life_kb);
	}
	if (a->pfs_group)
		attr_tv(b, P2A_GROUP_DESC, (uint16_t)a->pfs_group);
	attr_tv(b, P2A_ENCAP, encap_wire(a->encap, a->udp));
	if (a->enc_alg != ENC_AES_GCM_16)
		attr_tv(b, P2A_AUTH, (uint16_t)p2_auth_wire(a->auth_alg));
	attr_tv(b, P2A_KEY_LENGTH, (uint16_t)a->keylen);
	sa_part_end(b, tstart);
	sa_part_end(b, start);
}

void p2_sa_write(struct buf *b, const struct p2_attrs *offers, size_t n, uint32_t spi)
{
	uint8_t s[4];
	put32(s, spi);
	sa_encode_header(b, DOI_IPSEC, SIT_IDENTITY_ONLY);
	for (size_t i = 0; i < n; i++)
		p2_proposal_write(b, &offers[i], (uint8_t)(i + 1), s, i + 1 == n);
}

void p2_sa_write_chosen(struct buf *b, const struct p2_attrs *a, uint8_t pnum, uint32_t spi)
{
	uint8_t s[4];
	put32(s, spi);
	sa_encode_header(b, DOI_IPSEC, SIT_IDENTITY_ONLY);
	p2_proposal_write(b, a, pnum, s, true);
}

/* ---- reading ------------------------------------------------------------- */

/* A life duration follows its life type; a duration without a type is a
 * syntax error (docs/iked.md, Protocol rules iked relies on). */
static int read_life(uint64_t type, const struct attr *at, uint32_t *secs, uint64_t *kb,
		     const char **why)
{
	if (!at->num_ok) {
		*why = "life duration longer than 8 bytes";
		return N_ATTRIBUTES_NOT_SUPPORTED;
	}
	if (type == LIFE_SECONDS)
		*secs = at->num > 0xffffffffu ? 0xffffffffu : (uint32_t)at->num;
	else if (type == LIFE_KILOBYTES)
		*kb = at->num;
	else {
		*why = "life duration without a known life type";
		return N_BAD_PROPOSAL_SYNTAX;
	}
	return 0;
}

int p1_xform_read(const struct xform *t, struct p1_attrs *a, const char **why)
{
	memset(a, 0, sizeof *a);
	a->offer = -1;
	a->enc_alg = a->hash = a->auth = -1;
	if (t->id != KEY_IKE) {
		*why = "transform is not KEY_IKE";
		return N_INVALID_TRANSFORM_ID;
	}
	const uint8_t *p = t->attrs;
	size_t left = t->attrs_len;
	struct attr at;
	uint64_t life_type = 0;
	int rc;
	while ((rc = attr_next(&p, &left, &at, why)) > 0) {
		if (!at.num_ok && at.type != P1A_LIFE_DURATION) {
			*why = "attribute value too long";
			return N_ATTRIBUTES_NOT_SUPPORTED;
		}
		switch (at.type) {
		case P1A_ENC:
			if (at.num != P1_ENC_AES_CBC) {
				*why = "encryption other than AES-CBC";
				return N_ATTRIBUTES_NOT_SUPPORTED;
			}
			a->enc_alg = ENC_AES_CBC;
			break;
		case P1A_KEY_LENGTH:
			a->keylen = (int)at.num;
			break;
		case P1A_HASH:
			if ((a->hash = p1_hash_from_wire(at.num)) < 0) {
				*why = "hash other than SHA1 or SHA2";
				return N_ATTRIBUTES_NOT_SUPPORTED;
			}
			break;
		case P1A_AUTH:
			if (at.num == P1_AUTH_PSK)
				a->auth = AUTHMETH_PRESHARED_KEY;
			else if (at.num == P1_AUTH_RSA_SIG)
				a->auth = AUTHMETH_RSA_SIGNATURE;
			else {
				*why = "authentication other than pre-shared key or RSA signature";
				return N_ATTRIBUTES_NOT_SUPPORTED;
			}
			break;
		case P1A_GROUP_DESC:
			a->group = (int)at.num;
			break;
		case P1A_GROUP_TYPE:
			break;                   /* implied by the group description */
		case P1A_LIFE_TYPE:
			life_type = at.num;
			break;
		case P1A_LIFE_DURATION:
			if ((rc = read_life(life_type, &at, &a->life_secs, &a->life_kb, why)))
				return rc;
			break;
		default:
			*why = "unsupported phase 1 attribute";
			return N_ATTRIBUTES_NOT_SUPPORTED;
		}
	}
	if (rc < 0)
		return -rc;
	if (a->enc_alg < 0 || a->hash < 0 || a->auth < 0 || a->group == 0) {
		*why = "transform without encryption, hash, authentication or group";
		return N_BAD_PROPOSAL_SYNTAX;
	}
	if (a->keylen == 0)
		a->keylen = 128;                 /* RFC 3602: AES default key length */
	if (a->keylen != 128 && a->keylen != 192 && a->keylen != 256) {
		*why = "AES key length other than 128, 192 or 256";
		return N_ATTRIBUTES_NOT_SUPPORTED;
	}
	return 0;
}

int p2_xform_read(const struct proposal *pr, const struct xform *t, struct p2_attrs *a,
		  const char **why)
{
	memset(a, 0, sizeof *a);
	a->offer = -1;
	a->auth_alg = -1;
	a->encap = ENCAP_TUNNEL;
	if (pr->proto != PROTO_IPSEC_ESP) {
		*why = "protocol other than ESP";
		return N_INVALID_PROTOCOL_ID;
	}
	if (pr->spi_size != 4) {
		*why = "ESP SPI not 4 bytes";
		return N_INVALID_SPI;
	}
	if (t->id == ESP_AES_CBC)
		a->enc_alg = ENC_AES_CBC;
	else if (t->id == ESP_AES_GCM_16)
		a->enc_alg = ENC_AES_GCM_16;
	else {
		*why = "ESP transform other than AES-CBC or AES-GCM-16";
		return N_INVALID_TRANSFORM_ID;
	}
	const uint8_t *p = t->attrs;
	size_t left = t->attrs_len;
	struct attr at;
	uint64_t life_type = 0;
	int rc;
	while ((rc = attr_next(&p, &left, &at, why)) > 0) {
		if (!at.num_ok) {
			*why = "attribute value too long";
			return N_ATTRIBUTES_NOT_SUPPORTED;
		}
		switch (at.type) {
		case P2A_LIFE_TYPE:
			life_type = at.num;
			break;
		case P2A_LIFE_DURATION:
			if ((rc = read_life(life_type, &at, &a->life_secs, &a->life_kb, why)))
				return rc;
			break;
		case P2A_GROUP_DESC:
			a->pfs_group = (int)at.num;
			break;
		case P2A_ENCAP:
			switch (at.num) {
			case ENCAP_MODE_TUNNEL: a->encap = ENCAP_TUNNEL; break;
			case ENCAP_MODE_TRANSPORT: a->encap = ENCAP_TRANSPORT; break;
			case ENCAP_MODE_UDP_TUNNEL: a->encap = ENCAP_TUNNEL; a->udp = true; break;
			case ENCAP_MODE_UDP_TRANSPORT: a->encap = ENCAP_TRANSPORT; a->udp = true; break;
			default:
				*why = "encapsulation mode other than (UDP-)tunnel or (UDP-)transport";
				return N_ATTRIBUTES_NOT_SUPPORTED;
			}
			break;
		case P2A_AUTH:
			if ((a->auth_alg = p2_auth_from_wire(at.num)) < 0) {
				*why = "authentication other than HMAC-SHA1 or HMAC-SHA2";
				return N_ATTRIBUTES_NOT_SUPPORTED;
			}
			break;
		case P2A_KEY_LENGTH:
			a->keylen = (int)at.num;
			break;
		case P2A_ESN:
			if (at.num != 0) {
				*why = "extended sequence numbers";
				return N_ATTRIBUTES_NOT_SUPPORTED;
			}
			break;
		case P2A_ECN_TUNNEL:
			break;
		default:
			*why = "unsupported phase 2 attribute";
			return N_ATTRIBUTES_NOT_SUPPORTED;
		}
	}
	if (rc < 0)
		return -rc;
	if (a->enc_alg == ENC_AES_GCM_16) {
		if (a->auth_alg >= 0) {
			*why = "AES-GCM with a separate authentication algorithm";
			return N_ATTRIBUTES_NOT_SUPPORTED;
		}
		a->auth_alg = AUTHALG_NULL;
	} else if (a->auth_alg < 0) {
		*why = "AES-CBC without authentication";
		return N_ATTRIBUTES_NOT_SUPPORTED;
	}
	if (a->keylen == 0)
		a->keylen = 128;
	if (a->keylen != 128 && a->keylen != 256 && !(a->enc_alg == ENC_AES_CBC && a->keylen == 192)) {
		*why = "AES key length not supported";
		return N_ATTRIBUTES_NOT_SUPPORTED;
	}
	return 0;
}

/* ---- choosing ------------------------------------------------------------ */

/* Lifetime acceptance: a proposal below the accepted minimum is refused; one
 * above the maximum is accepted with the maximum (RESPONDER-LIFETIME). */
static bool life_ok(uint32_t proposed, uint32_t acc_min_min, uint32_t acc_max_min,
		    uint32_t dflt_min, uint32_t *agreed)
{
	uint64_t lo = (uint64_t)acc_min_min * 60, hi = (uint64_t)acc_max_min * 60;
	if (proposed == 0) {
		*agreed = dflt_min * 60u;
		return true;
	}
	if (proposed < lo)
		return false;
	*agreed = proposed > hi ? (uint32_t)hi : proposed;
	return true;
}

static bool size_ok(uint64_t proposed, uint64_t acc_min, uint64_t acc_max, uint64_t *agreed)
{
	*agreed = proposed;
	if (!proposed || (!acc_min && !acc_max))
		return true;
	if (proposed < acc_min)
		return false;
	if (acc_max && proposed > acc_max)
		*agreed = acc_max;
	return true;
}

/* What a KeyExchangeOffer or IpDataOffer accepts (minutes, kilobytes). */
struct life_limits {
	uint32_t proposed, acc_min, acc_max;
	uint64_t size_min, size_max;
};
#define LIFE_LIMITS(o) \
	((struct life_limits){ (o)->life_proposed, (o)->life_acc_min, (o)->life_acc_max, \
			       (o)->size_acc_min, (o)->size_acc_max })

/* The lifetime and lifesize to agree on for what the peer proposed; false
 * when one is below the offer's accepted minimum. */
static bool agree_life(struct life_limits l, uint32_t peer_secs, uint64_t peer_kb, uint32_t *secs,
		       uint64_t *kb)
{
	return life_ok(peer_secs, l.acc_min, l.acc_max, l.proposed, secs) &&
	       size_ok(peer_kb, l.size_min, l.size_max, kb);
}

int p1_select(const struct sa_payload *sa, const struct ike_action *act, bool fips,
	      struct p1_attrs *chosen, uint8_t *tnum, char *why, size_t whylen)
{
	const char *last_why = "no transform matches a KeyExchangeOffer";
	bool lifetime_refused = false;
	for (size_t i = 0; i < sa->np; i++) {
		const struct proposal *pr = &sa->p[i];
		if (pr->proto != PROTO_ISAKMP)
			continue;
		for (size_t t = 0; t < pr->ntr; t++) {
			struct p1_attrs peer;
			const char *w = NULL;
			if (p1_xform_read(&pr->tr[t], &peer, &w)) {
				last_why = w;
				continue;
			}
			if (fips && peer.group == 1)
				continue;
			for (size_t k = 0; k < act->noffers; k++) {
				struct p1_attrs ours;
				const struct ike_offer *o = act->offers[k];
				p1_attrs_from_offer(o, (int)k, act->auth_me, &ours);
				if (!p1_attrs_same(&peer, &ours) || !dh_group_supported(peer.group))
					continue;
				if (!agree_life(LIFE_LIMITS(o), peer.life_secs, peer.life_kb,
						&ours.life_secs, &ours.life_kb)) {
					lifetime_refused = true;
					continue;
				}
				*chosen = ours;
				*tnum = pr->tr[t].num;
				return 0;
			}
		}
	}
	snprintf(why, whylen, "%s", lifetime_refused ? "proposed lifetime below RefreshLifetimeAccepted"
						     : last_why);
	return N_NO_PROPOSAL_CHOSEN;
}

static bool pfs_acceptable(uint32_t set, int group)
{
	if (group == 0)
		return (set & PFS_NONE_BIT) != 0;
	return group < 32 && (set & PFS_BIT(group)) && dh_group_supported(group);
}

static bool proposal_number_unique(const struct sa_payload *sa, size_t i)
{
	for (size_t j = 0; j < sa->np; j++)
		if (j != i && sa->p[j].num == sa->p[i].num)
			return false;
	return true;
}

int p2_select(const struct sa_payload *sa, const struct ipsec_dynvpn *vpn, bool nat,
	      bool have_ke, bool fips, struct p2_attrs *chosen, uint8_t *pnum, uint32_t *peer_spi,
	      bool *pfs_refused, char *why, size_t whylen)
{
	int refused_group = -1;
	const char *last_why = "no transform matches an IpDataOffer";
	*pfs_refused = false;
	for (size_t i = 0; i < sa->np; i++) {
		const struct proposal *pr = &sa->p[i];
		if (!proposal_number_unique(sa, i)) {
			last_why = "protocol bundles (AH+ESP) are not supported";
			continue;
		}
		for (size_t t = 0; t < pr->ntr; t++) {
			struct p2_attrs peer;
			const char *w = NULL;
			if (p2_xform_read(pr, &pr->tr[t], &peer, &w)) {
				last_why = w;
				continue;
			}
			if ((peer.pfs_group != 0) != have_ke) {
				last_why = "PFS group and KE payload disagree";
				continue;
			}
			if (!pfs_acceptable(vpn->acceptable_pfs, peer.pfs_group) ||
			    (fips && peer.pfs_group == 1)) {
				refused_group = peer.pfs_group;
				continue;
			}
			if (peer.udp != nat) {
				last_why = nat ? "NAT detected but the proposal is not UDP-encapsulated"
					       : "UDP encapsulation proposed but no NAT detected";
				continue;
			}
			for (size_t k = 0; k < vpn->noffers; k++) {
				const struct ipsec_data_offer *o = vpn->offers[k];
				struct p2_attrs ours;
				p2_attrs_from_offer(o, (int)k, peer.pfs_group, nat, &ours);
				if (!p2_attrs_same(&peer, &ours))
					continue;
				if (!agree_life(LIFE_LIMITS(o), peer.life_secs, peer.life_kb,
						&ours.life_secs, &ours.life_kb)) {
					last_why = "proposed lifetime below RefreshLifetimeAccepted";
					continue;
				}
				*chosen = ours;
				*pnum = pr->num;
				*peer_spi = get32(pr->spi);
				return 0;
			}
		}
	}
	if (refused_group >= 0) {
		char acc[160];
		pfs_set_format(vpn->acceptable_pfs, acc, sizeof acc);
		*pfs_refused = true;
		if (refused_group)
			snprintf(why, whylen, "offered PFS Group%d, acceptable PFS: %s", refused_group, acc);
		else
			snprintf(why, whylen, "offered no PFS, acceptable PFS: %s", acc);
	} else {
		snprintf(why, whylen, "%s", last_why);
	}
	return N_NO_PROPOSAL_CHOSEN;
}

static const struct xform *single_transform(const struct sa_payload *sa)
{
	if (sa->np != 1 || sa->p[0].ntr != 1)
		return NULL;
	return &sa->p[0].tr[0];
}

/* The responder may only shorten the lifetimes we offered (0 = none). */
static void take_shorter_life(uint32_t *secs, uint64_t *kb, uint32_t peer_secs, uint64_t peer_kb)
{
	if (peer_secs && (!*secs || peer_secs < *secs))
		*secs = peer_secs;
	if (peer_kb && (!*kb || peer_kb < *kb))
		*kb = peer_kb;
}

int p1_match_reply(const struct sa_payload *sa, const struct p1_attrs *offers, size_t n,
		   struct p1_attrs *agreed)
{
	const struct xform *t = single_transform(sa);
	struct p1_attrs peer;
	const char *why;
	if (!t || sa->p[0].proto != PROTO_ISAKMP || p1_xform_read(t, &peer, &why))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!p1_attrs_same(&peer, &offers[i]))
			continue;
		*agreed = offers[i];
		take_shorter_life(&agreed->life_secs, &agreed->life_kb, peer.life_secs, peer.life_kb);
		return (int)i;
	}
	return -1;
}

int p2_match_reply(const struct sa_payload *sa, const struct p2_attrs *offers, size_t n,
		   struct p2_attrs *agreed, uint32_t *peer_spi)
{
	const struct xform *t = single_transform(sa);
	struct p2_attrs peer;
	const char *why;
	if (!t || p2_xform_read(&sa->p[0], t, &peer, &why))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!p2_attrs_same(&peer, &offers[i]))
			continue;
		*agreed = offers[i];
		take_shorter_life(&agreed->life_secs, &agreed->life_kb, peer.life_secs, peer.life_kb);
		*peer_spi = get32(sa->p[0].spi);
		return (int)i;
	}
	return -1;
}

/* ---- names and sizes ----------------------------------------------------- */

void pfs_set_format(uint32_t set, char *buf, size_t len)
{
	size_t k = 0;
	buf[0] = '\0';
	if (set & PFS_NONE_BIT)
		k += (size_t)snprintf(buf + k, len - k, "None");
	for (int g = 1; g < 32 && k < len; g++)
		if (set & PFS_BIT(g))
			k += (size_t)snprintf(buf + k, len - k, "%sGroup%d", k ? " " : "", g);
}

const char *enc_name(int enc_alg)
{
	switch (enc_alg) {
	case ENC_AES_CBC: return "AES_CBC";
	case ENC_AES_GCM_16: return "AES_GCM_16";
	case ENC_DES: return "DES";
	case ENC_3DES: return "3DES";
	default: return "unknown";
	}
}

const char *authalg_name(int a)
{
	if (a >= 0 && a <= AUTHALG_AES128_XCBC_96)
		return enum_authalg[a];
	return "unknown";
}

size_t p2_enc_key_len(const struct p2_attrs *a)
{
	return (size_t)a->keylen / 8 + (a->enc_alg == ENC_AES_GCM_16 ? 4 : 0);
}

size_t p2_auth_key_len(const struct p2_attrs *a)
{
	switch (a->auth_alg) {
	case AUTHALG_HMAC_SHA1: return 20;
	case AUTHALG_HMAC_SHA2_256_128: return 32;
	case AUTHALG_HMAC_SHA2_384_192: return 48;
	case AUTHALG_HMAC_SHA2_512_256: return 64;
	default: return 0;
	}
}

size_t p2_icv_bits(const struct p2_attrs *a)
{
	switch (a->auth_alg) {
	case AUTHALG_HMAC_SHA1: return 96;
	case AUTHALG_HMAC_SHA2_256_128: return 128;
	case AUTHALG_HMAC_SHA2_384_192: return 192;
	case AUTHALG_HMAC_SHA2_512_256: return 256;
	default: return a->enc_alg == ENC_AES_GCM_16 ? 128 : 0;
	}
}
