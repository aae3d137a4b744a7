/* iked/phase1 — Main Mode and Aggressive Mode (RFC 2409)
 * with pre-shared keys and RSA signatures, NAT-T discovery and float (RFC
 * 3947), as explicit state machines for both roles. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/strutil.h"
#include "iked/cert.h"
#include "iked/crypto.h"
#include "iked/dh.h"
#include "iked/exchange.h"
#include "iked/isakmp.h"
#include "iked/match.h"
#include "iked/natt.h"
#include "policy/policy.h"
#include "policy/schema.h"

static const char *peer_str(const struct p1sa *p1, char *buf, size_t len)
{
	ip_addr_format(&p1->remote.ip, buf, len);
	return buf;
}

/* ---- offers ----------------------------------------------------------------- */

/* Our transforms in the order to offer them: the SA cache entry's agreed
 * attributes first when there is one (and it still fits the policy), then
 * the KeyExchangeOffers in policy order. Aggressive Mode carries one KE
 * payload, so only offers of the first one's group can go with it. */
static size_t initiator_offers(struct iked *ike, const struct ike_rule *r, int exch,
			       const struct sacache_entry *ce, struct p1_attrs *out,
			       bool *from_cache)
{
	const struct ike_action *a = r->action;
	size_t n = 0;
	*from_cache = false;
	if (ce && ike->ip->fips && ce->p1.group == 1)
		ce = NULL;                       /* agreed before FIPS 140 mode was switched on */
	if (ce) {
		for (size_t k = 0; k < a->noffers && !*from_cache; k++) {
			struct p1_attrs o;
			p1_attrs_from_offer(a->offers[k], (int)k, a->auth_me, &o);
			if (p1_attrs_same(&o, &ce->p1)) {
				out[n] = ce->p1;
				out[n].offer = o.offer;
				str_copy(out[n].offer_name, o.offer_name, sizeof out[n].offer_name);
				n++;
				*from_cache = true;
			}
		}
	}
	for (size_t k = 0; k < a->noffers && n < MAX_OFFERS; k++) {
		struct p1_attrs o;
		p1_attrs_from_offer(a->offers[k], (int)k, a->auth_me, &o);
		if ((ike->ip->fips && o.group == 1) || !dh_group_supported(o.group))
			continue;
		if (*from_cache && p1_attrs_same(&o, &out[0]))
			continue;
		out[n++] = o;
	}
	if (exch == EXCH_AGGRESSIVE && n) {
		size_t m = 1;
		for (size_t i = 1; i < n; i++)
			if (out[i].group == out[0].group)
				out[m++] = out[i];
		n = m;
	}
	return n;
}

/* ---- payload helpers -------------------------------------------------------- */

static void add_vids(struct p1sa *p1, struct msgb *m)
{
	if (p1->rule->action->allow_nat)
		msgb_pl(m, PL_VID, vid_rfc3947, 16);
	msgb_pl(m, PL_VID, vid_dpd, 16);
}

static void read_vids(struct p1sa *p1, const struct msg *m)
{
	for (size_t i = 0; i < m->npl; i++) {
		if (vid_equals(&m->pl[i], vid_rfc3947))
			p1->peer_natt = p1->rule->action->allow_nat;
		else if (vid_equals(&m->pl[i], vid_dpd))
			p1->peer_dpd = true;
	}
}

static bool uses_rsa(const struct p1sa *p1)
{
	return p1->agreed.auth == AUTHMETH_RSA_SIGNATURE;
}

/* A CERT payload, or a CR naming a CA (DER subject; none: any CA). */
static void add_cert(struct msgb *m, uint8_t type, const uint8_t *der, size_t len)
{
	struct cert_payload c = { .encoding = CERT_X509_SIG, .data = der, .len = len };
	msgb_pl_begin(m, type);
	cert_encode(&m->b, &c);
	msgb_pl_end(m);
}

/* Certificate requests: one per CA the rule trusts (its CaLabel, else every
 * CA of the key ring), or one naming no CA ("any") when there are none or
 * more than CR_MAX: a key ring that holds a system trust store would
 * otherwise make a message larger than peers accept (charon: 10,000 bytes). */
#define CR_MAX 16

static void add_cr(struct p1sa *p1, struct msgb *m)
{
	const struct keyring *kr = p1->ike->keyring;
	const char *label = p1->rule ? p1->rule->remote.ca_label : NULL;
	size_t n = keyring_ncas(kr), want = 0;
	for (size_t i = 0; i < n; i++)
		want += keyring_ca_labelled(kr, i, label);
	if (want == 0 || want > CR_MAX) {
		add_cert(m, PL_CR, NULL, 0);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const uint8_t *der;
		size_t len;
		if (keyring_ca_labelled(kr, i, label) && !keyring_ca_subject(kr, i, &der, &len))
			add_cert(m, PL_CR, der, len);
	}
}

/* Main Mode messages 3 and 4: our KE and nonce, certificate requests when
 * signatures authenticate, NAT-D when both sides speak NAT-T. */
static void mm_ke_payloads(struct p1sa *p1, struct msgb *out, const uint8_t *gx,
			   const uint8_t *nonce, size_t nonce_len)
{
	msgb_pl(out, PL_KE, gx, p1->gx_len);
	msgb_pl(out, PL_NONCE, nonce, nonce_len);
	if (uses_rsa(p1))
		add_cr(p1, out);
	if (p1->peer_natt)
		natd_write(out, p1);
}

static int make_dh(struct p1sa *p1)
{
	p1->dh = dh_new(p1->agreed.group);
	if (!p1->dh) {
		log_err("K%u: Diffie-Hellman group %d is not available", kid(p1), p1->agreed.group);
		return -1;
	}
	p1->gx_len = dh_public_len(p1->agreed.group);
	uint8_t **mine = p1->role == IKE_INITIATOR ? &p1->gxi : &p1->gxr;
	free(*mine);
	if (!(*mine = malloc(p1->gx_len)))
		return -1;
	memcpy(*mine, dh_public(p1->dh), p1->gx_len);
	return 0;
}

static int take_peer_ke(struct p1sa *p1, const struct payload *ke)
{
	if (!ke || ke->body_len != dh_public_len(p1->agreed.group)) {
		log_warn("K%u: KE payload of %zu bytes does not fit group %d", kid(p1),
			 ke ? ke->body_len : 0, p1->agreed.group);
		return -1;
	}
	uint8_t **theirs = p1->role == IKE_INITIATOR ? &p1->gxr : &p1->gxi;
	free(*theirs);
	if (!(*theirs = malloc(ke->body_len)))
		return -1;
	memcpy(*theirs, ke->body, ke->body_len);
	p1->gx_len = ke->body_len;
	return 0;
}

static void make_nonce(uint8_t *n, size_t *len)
{
	random_bytes(n, NONCE_LEN);
	*len = NONCE_LEN;
}

static int take_peer_nonce(struct p1sa *p1, const struct payload *np)
{
	if (!np)
		return -1;
	uint8_t *dst = p1->role == IKE_INITIATOR ? p1->nr : p1->ni;
	size_t *len = p1->role == IKE_INITIATOR ? &p1->nr_len : &p1->ni_len;
	memcpy(dst, np->body, np->body_len);     /* 8..256 bytes, checked by the codec */
	*len = np->body_len;
	return 0;
}

static void log_p1_keys(struct p1sa *p1)
{
	char t[24];
	size_t L = p1->keys.prf_len;
	if (!p1->ike->log_keys)
		return;
	snprintf(t, sizeof t, "K%u.%u", kid(p1), p1->generation);
	log_key(t, "SKEYID", p1->keys.skeyid, L);
	log_key(t, "SKEYID_d", p1->keys.skeyid_d, L);
	log_key(t, "SKEYID_a", p1->keys.skeyid_a, L);
	log_key(t, "SKEYID_e", p1->keys.skeyid_e, L);
	log_key(t, "ENC_KEY", p1->keys.enc, p1->keys.enc_len);
}

/* g^xy, SKEYID and its descendants, the first phase 1 IV. */
static int derive_keys(struct p1sa *p1)
{
	size_t sl = dh_secret_len(p1->agreed.group);
	const uint8_t *peer = p1->role == IKE_INITIATOR ? p1->gxr : p1->gxi;
	free(p1->gxy);
	if (!(p1->gxy = malloc(sl)))
		return -1;
	p1->gxy_len = sl;
	if (dh_shared(p1->dh, peer, p1->gx_len, p1->gxy)) {
		log_warn("K%u: the peer's Diffie-Hellman value is invalid", kid(p1));
		return -1;
	}
	p1->keys.hash = p1->agreed.hash;
	int rc;
	if (p1->agreed.auth == AUTHMETH_PRESHARED_KEY) {
		if (!p1->rule->psk) {
			log_err("K%u: KeyExchangeRule %s has no SharedKey", kid(p1), p1->rule->name);
			return -1;
		}
		rc = ike_skeyid_psk(&p1->keys, p1->rule->psk, p1->rule->psk_len, p1->ni, p1->ni_len,
				    p1->nr, p1->nr_len);
	} else {
		rc = ike_skeyid_sig(&p1->keys, p1->ni, p1->ni_len, p1->nr, p1->nr_len, p1->gxy,
				    p1->gxy_len);
	}
	if (rc || ike_derive_p1(&p1->keys, p1->gxy, p1->gxy_len, p1->icky, p1->rcky,
				(size_t)p1->agreed.keylen / 8) ||
	    ike_p1_iv(p1->agreed.hash, p1->gxi, p1->gx_len, p1->gxr, p1->gx_len, p1->iv))
		return -1;
	p1->keys_ready = true;
	log_p1_keys(p1);
	return 0;
}

static int our_identity(struct p1sa *p1)
{
	struct peer_id me;
	char err[200];
	if (local_identity(p1->rule, &p1->local.ip, p1->ike->keyring, &me, err, sizeof err)) {
		log_err("K%u: %s", kid(p1), err);
		return -1;
	}
	struct buf *b = p1->role == IKE_INITIATOR ? &p1->idi_b : &p1->idr_b;
	buf_reset(b);
	id_body_write(b, &me);
	id_format(&me, p1->local_id_str, sizeof p1->local_id_str);
	return b->err ? -1 : 0;
}

/* HASH_I (for = initiator) or HASH_R. */
static int auth_hash(const struct p1sa *p1, bool of_initiator, uint8_t *out)
{
	if (of_initiator)
		return ike_auth_hash(&p1->keys, p1->gxi, p1->gxr, p1->gx_len, p1->icky, p1->rcky,
				     p1->sai_b.d, p1->sai_b.len, p1->idi_b.d, p1->idi_b.len, out);
	return ike_auth_hash(&p1->keys, p1->gxr, p1->gxi, p1->gx_len, p1->rcky, p1->icky,
			     p1->sai_b.d, p1->sai_b.len, p1->idr_b.d, p1->idr_b.len, out);
}

/* ID, [CERT], HASH or SIG of our side. */
static int add_auth(struct p1sa *p1, struct msgb *body, bool with_id)
{
	bool init = p1->role == IKE_INITIATOR;
	const struct buf *id = init ? &p1->idi_b : &p1->idr_b;
	uint8_t h[HASH_MAX_LEN];
	if (with_id)
		msgb_pl(body, PL_ID, id->d, id->len);
	if (auth_hash(p1, init, h))
		return -1;
	if (!uses_rsa(p1)) {
		msgb_pl(body, PL_HASH, h, p1->keys.prf_len);
		return 0;
	}
	const uint8_t *der;
	size_t len;
	uint8_t sig[1024];
	size_t siglen;
	if (keyring_cert(p1->ike->keyring, &der, &len) ||
	    keyring_sign(p1->ike->keyring, h, p1->keys.prf_len, sig, &siglen)) {
		log_err("K%u: cannot sign: no usable key and certificate in the Keyring", kid(p1));
		return -1;
	}
	add_cert(body, PL_CERT, der, len);
	msgb_pl(body, PL_SIG, sig, siglen);
	return 0;
}

static void add_initial_contact(struct p1sa *p1, struct msgb *body)
{
	notify_add(body, p1, N_INITIAL_CONTACT, PROTO_ISAKMP, NULL, 0, NULL, 0);
	p1->initial_contact_sent = true;
}

/* Send INITIAL-CONTACT when nothing else is up with this peer. */
static bool first_contact(struct p1sa *p1)
{
	struct p1sa *o;
	LIST_FOREACH(o, &p1->ike->p1_all, all)
		if (o != p1 && o->state == P1_ESTABLISHED &&
		    memcmp(&o->remote.ip, &p1->remote.ip, sizeof o->remote.ip) == 0)
			return false;
	return !p1->refresh;
}

/* The rule for the identity the peer showed; for a responder in Main Mode the
 * rule chosen by address at message 1 must still fit (z/OS: message 5
 * re-selects; an inconsistent choice fails). */
static int settle_rule(struct p1sa *p1)
{
	const struct ike_rule *r = p1->rule;
	if (match_remote_identity(r, &p1->peer, &p1->remote.ip))
		return 0;
	if (p1->role == IKE_RESPONDER) {
		const struct ike_rule *r2 = match_ke_rule(p1->pol ? policy_ipsec(p1->pol) : p1->ike->ip,
							  &p1->local.ip, &p1->remote.ip, &p1->peer);
		if (r2 && r2->action && (!r2->psk || !r->psk ||
					 (r2->psk_len == r->psk_len &&
					  memcmp(r2->psk, r->psk, r->psk_len) == 0))) {
			for (size_t k = 0; k < r2->action->noffers; k++) {
				struct p1_attrs o;
				p1_attrs_from_offer(r2->action->offers[k], (int)k, r2->action->auth_me, &o);
				if (p1_attrs_same(&o, &p1->agreed)) {
					log_info("K%u: identity %s selects KeyExchangeRule %s", kid(p1),
						 p1->peer_id_str, r2->name);
					p1->rule = r2;
					return 0;
				}
			}
		}
	}
	log_warn("K%u: peer identity %s does not match RemoteSecurityEndpoint of "
		 "KeyExchangeRule %s", kid(p1), p1->peer_id_str, r->name);
	return -1;
}

/* Check the peer's ID, [CERT] and HASH or SIG. Returns 0 or a notify type. */
static int check_auth(struct p1sa *p1, const struct msg *m, const struct payload *idp)
{
	bool peer_init = p1->role == IKE_RESPONDER;
	struct id_payload id;
	const char *why;
	if (!idp || id_decode(idp->body, idp->body_len, &id, &why) ||
	    id_from_payload(&id, &p1->peer)) {
		log_warn("K%u: no usable ID payload from the peer", kid(p1));
		return N_INVALID_ID_INFORMATION;
	}
	struct buf *b = peer_init ? &p1->idi_b : &p1->idr_b;
	buf_reset(b);
	buf_add(b, idp->body, idp->body_len);
	id_format(&p1->peer, p1->peer_id_str, sizeof p1->peer_id_str);
	if (settle_rule(p1))
		return N_INVALID_ID_INFORMATION;
	uint8_t h[HASH_MAX_LEN];
	if (auth_hash(p1, peer_init, h))
		return N_AUTHENTICATION_FAILED;
	if (!uses_rsa(p1)) {
		const struct payload *hp = msg_find(m, PL_HASH);
		if (!hp || hp->body_len != p1->keys.prf_len ||
		    !mem_equal(hp->body, h, p1->keys.prf_len)) {
			log_warn("K%u: %s from %s does not verify (a different pre-shared key?)",
				 kid(p1), peer_init ? "HASH_I" : "HASH_R", p1->peer_id_str);
			return N_INVALID_HASH_INFORMATION;
		}
		return 0;
	}
	const struct payload *cp = msg_find(m, PL_CERT), *sp = msg_find(m, PL_SIG);
	struct cert_payload cert;
	char err[256];
	if (!cp || !sp || cert_decode(cp->body, cp->body_len, &cert, &why) ||
	    cert.encoding != CERT_X509_SIG) {
		log_warn("K%u: RSA signature authentication without an X.509 certificate and a "
			 "signature", kid(p1));
		return N_CERTIFICATE_UNAVAILABLE;
	}
	struct peer_cert *pc = peer_cert_parse(cert.data, cert.len, err, sizeof err);
	if (!pc) {
		log_warn("K%u: peer certificate: %s", kid(p1), err);
		return N_INVALID_CERTIFICATE;
	}
	int rc = 0;
	if (peer_cert_verify(p1->ike->keyring, pc, p1->rule->remote.ca_label, err, sizeof err)) {
		log_warn("K%u: peer certificate %s not trusted: %s", kid(p1),
			 peer_cert_subject_text(pc), err);
		rc = N_INVALID_CERT_AUTHORITY;
	} else if (!peer_cert_has_id(pc, &p1->peer)) {
		log_warn("K%u: identity %s is not in certificate %s", kid(p1), p1->peer_id_str,
			 peer_cert_subject_text(pc));
		rc = N_INVALID_ID_INFORMATION;
	} else if (peer_cert_verify_sig(pc, h, p1->keys.prf_len, sp->body, sp->body_len)) {
		log_warn("K%u: signature of %s does not verify", kid(p1), p1->peer_id_str);
		rc = N_INVALID_SIGNATURE;
	} else {
		p1->peer_cert_ok = true;
	}
	peer_cert_free(pc);
	return rc;
}

static void begin_msg(struct p1sa *p1, struct msgb *m, uint8_t flags)
{
	msgb_begin(m, p1->icky, p1->rcky, (uint8_t)p1->exch, flags, 0);
}

/* A step of the exchange: move to state s and send m, kept for
 * retransmission (waiting: resent until an answer comes). -1 when the step
 * is refused or m cannot go; m is used up either way. */
static int step(struct p1sa *p1, enum p1_state s, struct msgb *m, bool waiting)
{
	if (p1_set_state(p1, s)) {
		msgb_free(m);
		return -1;
	}
	return p1_send(p1, m, &p1->xmit, waiting);
}

/* Encrypt body under the phase 1 IV and send. */
static int send_encrypted(struct p1sa *p1, struct msgb *body, bool waiting)
{
	struct msgb m;
	begin_msg(p1, &m, ISAKMP_FLAG_ENC);
	if (ike_encrypt_into(p1, &m, body, p1->iv)) {
		msgb_free(&m);
		return -1;
	}
	return p1_send(p1, &m, &p1->xmit, waiting);
}

/* Both sides float to the NAT-T port once a NAT is seen (docs/iked.md, NAT
 * traversal). */
static void maybe_float(struct p1sa *p1)
{
	if (!p1->peer_natt || !(p1->nat_local || p1->nat_remote) || p1->natt_port)
		return;
	p1->local.port = p1->ike->ip->ike.nat_port;
	p1->remote.port = p1->ike->ip->ike.nat_port;
	p1->natt_port = true;
}

static void log_nat(struct p1sa *p1)
{
	if (p1->nat_local)
		log_info("K%u: NAT detected in front of this host", kid(p1));
	if (p1->nat_remote)
		log_info("K%u: NAT detected in front of the peer", kid(p1));
}

/* Fail the exchange, telling the peer what went wrong when keys exist. */
static int fail_with(struct p1sa *p1, uint16_t notify, const char *why)
{
	if (notify && p1->keys_ready)
		notify_send(p1, notify, PROTO_ISAKMP, NULL, 0, NULL, 0);
	p1_failed(p1, why);
	return IN_GONE;
}

/* ---- initiator ---------------------------------------------------------------- */

static int send_mm1(struct p1sa *p1)
{
	struct msgb m;
	msgb_begin(&m, p1->icky, NULL, EXCH_MAIN, 0, 0);
	buf_reset(&p1->sai_b);
	p1_sa_write(&p1->sai_b, p1->offered, p1->noffered);
	msgb_pl(&m, PL_SA, p1->sai_b.d, p1->sai_b.len);
	add_vids(p1, &m);
	return step(p1, P1_MM_I_SA, &m, true);
}

static int send_am1(struct p1sa *p1)
{
	p1->agreed = p1->offered[0];          /* the group travels in the KE payload */
	if (make_dh(p1) || our_identity(p1))
		return -1;
	make_nonce(p1->ni, &p1->ni_len);
	struct msgb m;
	msgb_begin(&m, p1->icky, NULL, EXCH_AGGRESSIVE, 0, 0);
	buf_reset(&p1->sai_b);
	p1_sa_write(&p1->sai_b, p1->offered, p1->noffered);
	msgb_pl(&m, PL_SA, p1->sai_b.d, p1->sai_b.len);
	msgb_pl(&m, PL_KE, p1->gxi, p1->gx_len);
	msgb_pl(&m, PL_NONCE, p1->ni, p1->ni_len);
	msgb_pl(&m, PL_ID, p1->idi_b.d, p1->idi_b.len);
	if (uses_rsa(p1))
		add_cr(p1, &m);
	add_vids(p1, &m);
	return step(p1, P1_AM_I_SA, &m, true);
}

struct p1sa *p1_initiate(struct iked *ike, const struct ike_rule *rule, const struct ikeaddr *local,
			 const struct ikeaddr *remote, bool refresh, bool use_cache)
{
	const struct ike_action *a = rule->action;
	char peer[IP_STRLEN];
	ip_addr_format(&remote->ip, peer, sizeof peer);
	if (!a || a->how_to_initiate == HOWINIT_DONOT) {
		log_warn("KeyExchangeRule %s: HowToInitiate DoNot, not starting phase 1 with %s",
			 rule->name, peer);
		return NULL;
	}
	if (a->how_to_initiate == HOWINIT_IKEV2) {
		log_err("KeyExchangeRule %s: HowToInitiate IKEv2 is not supported by iked", rule->name);
		return NULL;
	}
	int exch = a->how_to_initiate == HOWINIT_AGGRESSIVE ? EXCH_AGGRESSIVE : EXCH_MAIN;
	struct ktunnel *kt = ktunnel_get(ike, rule->name, a->name, local, remote);
	if (!kt)
		return NULL;
	char key[SACACHE_KEY_LEN];
	cache_key_k(key, sizeof key, rule->name, &local->ip, &remote->ip);
	const struct sacache_entry *ce = use_cache ? sacache_get(&ike->cache, key) : NULL;
	struct p1sa *p1 = p1_create(ike, IKE_INITIATOR, exch, local, remote);
	if (!p1)
		return NULL;
	p1->pol = policy_ref(ike->pol);
	p1->rule = rule;
	p1->kt = kt;
	p1->refresh = refresh;
	p1->generation = kt->generation + 1;
	p1->noffered = initiator_offers(ike, rule, exch, ce, p1->offered, &p1->from_cache);
	p1_hash_initiator(p1);
	if (!kt->cur || kt->cur->state != P1_ESTABLISHED)
		kt->cur = p1;
	if (p1->noffered == 0) {
		log_err("K%u: KeyExchangeAction %s has no offer iked can use", kt->id, a->name);
		p1_failed(p1, "no usable KeyExchangeOffer");
		return NULL;
	}
	if (p1->from_cache)
		log_info("K%u: %s offering KeyExchangeOffer %s first (SA cache: agreed at "
			 "generation %u) to %s", kt->id, refresh ? "refresh" : "negotiation",
			 p1->offered[0].offer_name, ce->generation, peer);
	else
		log_info("K%u: %s offering KeyExchangeOffer %s first (%s) to %s", kt->id,
			 refresh ? "refresh" : "negotiation", p1->offered[0].offer_name,
			 ce ? "SA cache entry no longer fits the policy" : "no SA cache entry", peer);
	log_info("K%u: initiating %s Mode with %s, rule %s, %zu offer(s)", kt->id, exch_name((uint8_t)exch),
		 peer, rule->name, p1->noffered);
	if ((exch == EXCH_MAIN ? send_mm1(p1) : send_am1(p1))) {
		p1_failed(p1, "cannot send the first message");
		return NULL;
	}
	return p1;
}

static int mm_i_got_sa(struct p1sa *p1, const struct msg *m)
{
	const struct payload *sap = msg_find(m, PL_SA);
	struct sa_payload sa;
	const char *why;
	if (!sap || sa_decode(sap->body, sap->body_len, &sa, &why) ||
	    p1_match_reply(&sa, p1->offered, p1->noffered, &p1->agreed) < 0) {
		log_warn("K%u: the responder's SA payload is not one of our offers", kid(p1));
		return IN_IGNORED;
	}
	read_vids(p1, m);
	if (make_dh(p1))
		return fail_with(p1, 0, "cannot make a Diffie-Hellman key");
	make_nonce(p1->ni, &p1->ni_len);
	struct msgb out;
	begin_msg(p1, &out, 0);
	mm_ke_payloads(p1, &out, p1->gxi, p1->ni, p1->ni_len);
	if (step(p1, P1_MM_I_KE, &out, true))
		return fail_with(p1, 0, "cannot send message 3");
	return IN_OK;
}

static int mm_i_got_ke(struct p1sa *p1, const struct msg *m)
{
	if (take_peer_ke(p1, msg_find(m, PL_KE)) || take_peer_nonce(p1, msg_find(m, PL_NONCE)))
		return IN_IGNORED;
	if (derive_keys(p1))
		return fail_with(p1, 0, "key derivation failed");
	if (p1->peer_natt && natd_check(p1, m))
		log_nat(p1);
	maybe_float(p1);
	if (our_identity(p1))
		return fail_with(p1, 0, "no local identity");
	if (p1_set_state(p1, P1_MM_I_AUTH))
		return fail_with(p1, 0, "message 5 is not the next step");
	struct msgb body;
	msgb_begin_body(&body);
	if (add_auth(p1, &body, true)) {
		msgb_free(&body);
		return fail_with(p1, 0, "cannot authenticate");
	}
	if (first_contact(p1))
		add_initial_contact(p1, &body);
	if (send_encrypted(p1, &body, true))
		return fail_with(p1, 0, "cannot send message 5");
	return IN_OK;
}

static void note_initial_contact(struct p1sa *p1, const struct msg *m)
{
	for (size_t i = 0; i < msg_count(m, PL_N); i++) {
		const struct payload *np = msg_find_nth(m, PL_N, i);
		struct notify_payload n;
		const char *why;
		if (!notify_decode(np->body, np->body_len, &n, &why) && n.type == N_INITIAL_CONTACT) {
			log_info("K%u: INITIAL-CONTACT from %s", kid(p1), p1->peer_id_str);
			peer_gone(p1->ike, &p1->remote.ip, p1, "the peer sent INITIAL-CONTACT");
		}
	}
}

static int mm_i_got_auth(struct p1sa *p1, const struct msg *m, bool encrypted)
{
	if (!encrypted)
		return IN_IGNORED;
	int n = check_auth(p1, m, msg_find(m, PL_ID));
	if (n)
		return fail_with(p1, (uint16_t)n, "the responder did not authenticate");
	xmit_clear(p1->ike, &p1->xmit);
	p1_established(p1);
	note_initial_contact(p1, m);
	return IN_OK;
}

static int am_i_got_reply(struct p1sa *p1, const struct msg *m)
{
	const struct payload *sap = msg_find(m, PL_SA);
	struct sa_payload sa;
	const char *why;
	struct p1_attrs agreed;
	if (!sap || sa_decode(sap->body, sap->body_len, &sa, &why) ||
	    p1_match_reply(&sa, p1->offered, p1->noffered, &agreed) < 0 ||
	    agreed.group != p1->agreed.group) {
		log_warn("K%u: the responder's SA payload is not one of our offers", kid(p1));
		return IN_IGNORED;
	}
	p1->agreed = agreed;
	read_vids(p1, m);
	if (take_peer_ke(p1, msg_find(m, PL_KE)) || take_peer_nonce(p1, msg_find(m, PL_NONCE)))
		return IN_IGNORED;
	if (derive_keys(p1))
		return fail_with(p1, 0, "key derivation failed");
	int n = check_auth(p1, m, msg_find(m, PL_ID));
	if (n)
		return fail_with(p1, (uint16_t)n, "the responder did not authenticate");
	if (p1->peer_natt && natd_check(p1, m))
		log_nat(p1);
	maybe_float(p1);
	struct msgb body;
	msgb_begin_body(&body);
	if (add_auth(p1, &body, false)) {
		msgb_free(&body);
		return fail_with(p1, 0, "cannot authenticate");
	}
	if (p1->peer_natt)
		natd_write(&body, p1);
	if (first_contact(p1))
		add_initial_contact(p1, &body);
	/* The third message ends the exchange: keep it for a responder that
	 * retransmits its answer, but expect nothing. */
	if (send_encrypted(p1, &body, false))
		return fail_with(p1, 0, "cannot send message 3");
	p1_established(p1);
	return IN_OK;
}

/* ---- responder ------------------------------------------------------------------ */

static bool respond_allowed(const struct ike_rule *r, int exch)
{
	int h = r->action->how_to_respond;
	return h == HOWRESP_EITHER || (h == HOWRESP_MAIN && exch == EXCH_MAIN) ||
	       (h == HOWRESP_AGGRESSIVE && exch == EXCH_AGGRESSIVE);
}

static void no_proposal(struct iked *ike, const struct isakmp_hdr *h, const struct ikeaddr *local,
			const struct ikeaddr *remote, bool natt, const char *rule, const char *why)
{
	char a[IP_STRLEN];
	ip_addr_format(&remote->ip, a, sizeof a);
	log_warn("EZD1021I no proposal chosen for %s Mode from %s, KeyExchangeRule %s: %s",
		 exch_name(h->exch), a, rule ? rule : "(none)", why);
	notify_plain(ike, h, local, remote, natt, N_NO_PROPOSAL_CHOSEN);
}

static bool half_open_full(struct iked *ike, const struct ikeaddr *remote)
{
	if (ike->half_open >= ike->limits.half_open_total ||
	    half_open_for_peer(ike, &remote->ip) >= ike->limits.half_open_per_peer) {
		char a[IP_STRLEN];
		ip_addr_format(&remote->ip, a, sizeof a);
		log_warn("half-open ISAKMP SA limit reached (%u total, %u per peer): ignoring a new "
			 "exchange from %s", ike->limits.half_open_total, ike->limits.half_open_per_peer,
			 a);
		return true;
	}
	return false;
}

static int send_mm2(struct p1sa *p1, uint8_t tnum)
{
	struct msgb m;
	begin_msg(p1, &m, 0);
	msgb_pl_begin(&m, PL_SA);
	p1_sa_write_chosen(&m.b, &p1->agreed, tnum);
	msgb_pl_end(&m);
	add_vids(p1, &m);
	return step(p1, P1_MM_R_SA, &m, false);
}

static struct p1sa *responder_sa(struct iked *ike, const struct isakmp_hdr *h,
				 const struct ike_rule *rule, const struct p1_attrs *chosen,
				 const struct payload *sap, const uint8_t *pkt, size_t len,
				 const struct ikeaddr *local, const struct ikeaddr *remote, bool natt)
{
	struct p1sa *p1 = p1_create(ike, IKE_RESPONDER, h->exch, local, remote);
	if (!p1)
		return NULL;
	p1_set_icky(p1, h->icookie);
	p1->pol = policy_ref(ike->pol);
	p1->rule = rule;
	p1->agreed = *chosen;
	p1->natt_port = natt;
	buf_add(&p1->sai_b, sap->body, sap->body_len);
	packet_digest(pkt, len, p1->last_in);
	p1->have_last_in = true;
	p1->kt = ktunnel_get(ike, rule->name, rule->action->name, local, remote);
	p1->generation = p1->kt ? p1->kt->generation + 1 : 1;
	if (p1->kt && (!p1->kt->cur || p1->kt->cur->state != P1_ESTABLISHED))
		p1->kt->cur = p1;
	/* a responder does not retransmit Main Mode messages: give up when the
	 * initiator has had time for all of its retransmissions */
	timer_at(&ike->timers, &p1->t_neg, iked_now(ike) + xmit_patience(ike));
	return p1;
}

/* A responder's first message of either mode, after its rule is known: the
 * rule must allow the mode and one offer must fit. The SA it makes, with the
 * transform number to answer with, or NULL (answered with NO_PROPOSAL_CHOSEN). */
static struct p1sa *accept_offer(struct iked *ike, const struct isakmp_hdr *h,
				 const struct msg *m, const struct ike_rule *rule,
				 const struct sa_payload *sa, const struct payload *sap,
				 const uint8_t *pkt, size_t len, const struct ikeaddr *local,
				 const struct ikeaddr *remote, bool natt, uint8_t *tnum)
{
	const char *mode = h->exch == EXCH_MAIN ? "Main Mode" : "Aggressive Mode";
	char reason[200];
	if (!respond_allowed(rule, h->exch)) {
		snprintf(reason, sizeof reason, "HowToRespondIKEv1 excludes %s", mode);
		no_proposal(ike, h, local, remote, natt, rule->name, reason);
		return NULL;
	}
	struct p1_attrs chosen;
	if (p1_select(sa, rule->action, ike->ip->fips, &chosen, tnum, reason, sizeof reason)) {
		no_proposal(ike, h, local, remote, natt, rule->name, reason);
		return NULL;
	}
	struct p1sa *p1 = responder_sa(ike, h, rule, &chosen, sap, pkt, len, local, remote, natt);
	if (!p1)
		return NULL;
	read_vids(p1, m);
	char a[IP_STRLEN];
	log_info("K%u: %s from %s, KeyExchangeRule %s, chose KeyExchangeOffer %s",
		 kid(p1), mode, peer_str(p1, a, sizeof a), rule->name, chosen.offer_name);
	return p1;
}

static void mm_r_first(struct iked *ike, const struct isakmp_hdr *h, const struct msg *m,
		       const uint8_t *pkt, size_t len, const struct ikeaddr *local,
		       const struct ikeaddr *remote, bool natt)
{
	const struct payload *sap = msg_find(m, PL_SA);
	struct sa_payload sa;
	const char *why = "";
	if (!sap || sa_decode(sap->body, sap->body_len, &sa, &why)) {
		no_proposal(ike, h, local, remote, natt, NULL, sap ? why : "no SA payload");
		return;
	}
	const struct ike_rule *rule = match_ke_rule(ike->ip, &local->ip, &remote->ip, NULL);
	if (!rule) {
		no_proposal(ike, h, local, remote, natt, NULL, "no KeyExchangeRule for these addresses");
		return;
	}
	uint8_t tnum;
	struct p1sa *p1 = accept_offer(ike, h, m, rule, &sa, sap, pkt, len, local, remote, natt, &tnum);
	if (!p1)
		return;
	if (send_mm2(p1, tnum))
		p1_failed(p1, "cannot send message 2");
}

static int mm_r_got_ke(struct p1sa *p1, const struct msg *m)
{
	if (take_peer_ke(p1, msg_find(m, PL_KE)) || take_peer_nonce(p1, msg_find(m, PL_NONCE)))
		return IN_IGNORED;
	if (make_dh(p1))
		return fail_with(p1, 0, "cannot make a Diffie-Hellman key");
	make_nonce(p1->nr, &p1->nr_len);
	if (p1->peer_natt && natd_check(p1, m))
		log_nat(p1);
	struct msgb out;
	begin_msg(p1, &out, 0);
	mm_ke_payloads(p1, &out, p1->gxr, p1->nr, p1->nr_len);
	if (derive_keys(p1))
		return fail_with(p1, 0, "key derivation failed");
	if (step(p1, P1_MM_R_KE, &out, false))
		return fail_with(p1, 0, "cannot send message 4");
	return IN_OK;
}

static int mm_r_got_auth(struct p1sa *p1, const struct msg *m, bool encrypted)
{
	if (!encrypted)
		return IN_IGNORED;
	int n = check_auth(p1, m, msg_find(m, PL_ID));
	if (n)
		return fail_with(p1, (uint16_t)n, "the initiator did not authenticate");
	p1_message_verified(p1);          /* answer where the authenticated message came from */
	if (our_identity(p1))
		return fail_with(p1, 0, "no local identity");
	struct msgb body;
	msgb_begin_body(&body);
	if (add_auth(p1, &body, true)) {
		msgb_free(&body);
		return fail_with(p1, 0, "cannot authenticate");
	}
	if (send_encrypted(p1, &body, false))
		return fail_with(p1, 0, "cannot send message 6");
	p1_established(p1);
	note_initial_contact(p1, m);
	return IN_OK;
}

static void am_r_first(struct iked *ike, const struct isakmp_hdr *h, const struct msg *m,
		       const uint8_t *pkt, size_t len, const struct ikeaddr *local,
		       const struct ikeaddr *remote, bool natt)
{
	const struct payload *sap = msg_find(m, PL_SA), *kep = msg_find(m, PL_KE);
	const struct payload *np = msg_find(m, PL_NONCE), *idp = msg_find(m, PL_ID);
	struct sa_payload sa;
	struct id_payload id;
	struct peer_id peer;
	const char *why = "";
	if (!sap || !kep || !np || !idp || sa_decode(sap->body, sap->body_len, &sa, &why) ||
	    id_decode(idp->body, idp->body_len, &id, &why) || id_from_payload(&id, &peer)) {
		no_proposal(ike, h, local, remote, natt, NULL,
			    *why ? why : "Aggressive Mode without SA, KE, nonce and ID");
		return;
	}
	const struct ike_rule *rule = match_ke_rule(ike->ip, &local->ip, &remote->ip, &peer);
	if (!rule) {
		char ids[160];
		id_format(&peer, ids, sizeof ids);
		char r[220];
		snprintf(r, sizeof r, "no KeyExchangeRule for identity %s", ids);
		no_proposal(ike, h, local, remote, natt, NULL, r);
		return;
	}
	uint8_t tnum;
	struct p1sa *p1 = accept_offer(ike, h, m, rule, &sa, sap, pkt, len, local, remote, natt, &tnum);
	if (!p1)
		return;
	if (take_peer_ke(p1, kep) || take_peer_nonce(p1, np) || make_dh(p1)) {
		p1_failed(p1, "the KE payload does not fit the chosen group");
		return;
	}
	make_nonce(p1->nr, &p1->nr_len);
	buf_add(&p1->idi_b, idp->body, idp->body_len);
	p1->peer = peer;
	id_format(&peer, p1->peer_id_str, sizeof p1->peer_id_str);
	if (derive_keys(p1) || our_identity(p1)) {
		p1_failed(p1, "key derivation failed");
		return;
	}
	if (p1->peer_natt && natd_check(p1, m))
		log_nat(p1);
	struct msgb out;
	begin_msg(p1, &out, 0);
	msgb_pl_begin(&out, PL_SA);
	p1_sa_write_chosen(&out.b, &p1->agreed, tnum);
	msgb_pl_end(&out);
	msgb_pl(&out, PL_KE, p1->gxr, p1->gx_len);
	msgb_pl(&out, PL_NONCE, p1->nr, p1->nr_len);
	if (add_auth(p1, &out, true)) {
		msgb_free(&out);
		p1_failed(p1, "cannot authenticate");
		return;
	}
	add_vids(p1, &out);
	if (p1->peer_natt)
		natd_write(&out, p1);
	/* retransmit until the third message: nothing else would recover its loss */
	if (step(p1, P1_AM_R_SA, &out, true))
		p1_failed(p1, "cannot send message 2");
}

static int am_r_got_auth(struct p1sa *p1, const struct msg *m)
{
	/* the identity came in message 1; only the proof is new */
	struct buf saved;
	buf_init(&saved);
	int n = 0;
	uint8_t h[HASH_MAX_LEN];
	if (auth_hash(p1, true, h))
		n = N_AUTHENTICATION_FAILED;
	if (!n && !uses_rsa(p1)) {
		const struct payload *hp = msg_find(m, PL_HASH);
		if (!hp || hp->body_len != p1->keys.prf_len ||
		    !mem_equal(hp->body, h, p1->keys.prf_len)) {
			log_warn("K%u: HASH_I from %s does not verify (a different pre-shared key?)",
				 kid(p1), p1->peer_id_str);
			n = N_INVALID_HASH_INFORMATION;
		}
	} else if (!n) {
		/* RSA: check_auth needs the ID payload, which came in message 1 */
		struct payload idp = { .type = PL_ID, .body = p1->idi_b.d, .body_len = p1->idi_b.len };
		buf_add(&saved, p1->idi_b.d, p1->idi_b.len);
		idp.body = saved.d;
		n = check_auth(p1, m, &idp);
	}
	buf_free(&saved);
	if (!n && !match_remote_identity(p1->rule, &p1->peer, &p1->remote.ip))
		n = N_INVALID_ID_INFORMATION;
	if (n)
		return fail_with(p1, (uint16_t)n, "the initiator did not authenticate");
	p1_message_verified(p1);
	if (p1->peer_natt && natd_check(p1, m))
		log_nat(p1);
	xmit_clear(p1->ike, &p1->xmit);
	p1_established(p1);
	note_initial_contact(p1, m);
	return IN_OK;
}

void p1_respond(struct iked *ike, const struct isakmp_hdr *h, const struct msg *m,
		const uint8_t *pkt, size_t len, const struct ikeaddr *local,
		const struct ikeaddr *remote, bool natt)
{
	if (ike->stopping || half_open_full(ike, remote))
		return;
	if (h->exch == EXCH_MAIN)
		mm_r_first(ike, h, m, pkt, len, local, remote, natt);
	else
		am_r_first(ike, h, m, pkt, len, local, remote, natt);
}

/* ---- dispatch ------------------------------------------------------------------ */

int p1_input(struct p1sa *p1, const struct msg *m, bool encrypted)
{
	switch (p1->state) {
	case P1_MM_I_SA:
		return encrypted ? IN_IGNORED : mm_i_got_sa(p1, m);
	case P1_MM_I_KE:
		return encrypted ? IN_IGNORED : mm_i_got_ke(p1, m);
	case P1_MM_I_AUTH:
		return mm_i_got_auth(p1, m, encrypted);
	case P1_MM_R_SA:
		return encrypted ? IN_IGNORED : mm_r_got_ke(p1, m);
	case P1_MM_R_KE:
		return mm_r_got_auth(p1, m, encrypted);
	case P1_AM_I_SA:
		return encrypted ? IN_IGNORED : am_i_got_reply(p1, m);
	case P1_AM_R_SA:
		return am_r_got_auth(p1, m);
	default:
		return IN_IGNORED;
	}
}

void p1_xmit_timeout(void *arg)
{
	struct p1sa *p1 = arg;
	if (!xmit_retry(p1, &p1->xmit)) {
		char why[80];
		snprintf(why, sizeof why, "no answer after %u retransmissions", p1->ike->ip->ike.retries);
		p1_failed(p1, why);
	}
}
