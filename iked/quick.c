/* iked/quick — Quick Mode (RFC 2409): phase 2 proposals with
 * and without PFS, identities as traffic selectors, NAT-T encapsulation
 * modes and NAT-OA (RFC 3947), RESPONDER-LIFETIME, KEYMAT (docs/iked.md,
 * Protocol rules iked relies on). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/strutil.h"
#include "iked/crypto.h"
#include "iked/dh.h"
#include "iked/exchange.h"
#include "iked/isakmp.h"
#include "iked/keys.h"
#include "iked/match.h"
#include "policy/policy.h"
#include "policy/schema.h"

int qm_iv(struct p1sa *p1, uint32_t msgid, uint8_t iv[16])
{
	return ike_p2_iv(p1->keys.hash, p1->iv, msgid, iv);
}

static bool nat_detected(const struct p1sa *p1)
{
	return p1->peer_natt && (p1->nat_local || p1->nat_remote);
}

static const struct ipsec_dynvpn *tunnel_action(struct iked *ike, const struct ytunnel *yt)
{
	const struct ipsec_filter_rule *r = find_filter_rule(ike->ip, yt->rule);
	return r && r->action == FILTER_IPSEC ? r->vpn : NULL;
}

/* The SA cache entry's agreed attributes first, then every IpDataOffer; the
 * PFS group is the agreed one when the cache has it, else InitiateWithPfs. */
static size_t initiator_offers(const struct ipsec_dynvpn *vpn, const struct sacache_entry *ce,
			       bool udp, bool fips, struct p2_attrs *out, bool *from_cache)
{
	size_t n = 0;
	if (ce && fips && ce->p2.pfs_group == 1)
		ce = NULL;                       /* agreed before FIPS 140 mode was switched on */
	int pfs = ce ? ce->p2.pfs_group : vpn->initiate_pfs;
	*from_cache = false;
	if (ce) {
		for (size_t k = 0; k < vpn->noffers && !*from_cache; k++) {
			struct p2_attrs o;
			p2_attrs_from_offer(vpn->offers[k], (int)k, pfs, udp, &o);
			if (p2_attrs_same(&o, &ce->p2)) {
				out[n] = ce->p2;
				out[n].offer = o.offer;
				str_copy(out[n].offer_name, o.offer_name, sizeof out[n].offer_name);
				n++;
				*from_cache = true;
			}
		}
		if (!*from_cache)
			pfs = vpn->initiate_pfs;
	}
	for (size_t k = 0; k < vpn->noffers && n < MAX_OFFERS; k++) {
		struct p2_attrs o;
		p2_attrs_from_offer(vpn->offers[k], (int)k, pfs, udp, &o);
		if (*from_cache && p2_attrs_same(&o, &out[0]))
			continue;
		out[n++] = o;
	}
	return n;
}

static void add_natoa(struct msgb *m, const struct ip_addr *a)
{
	bool v6 = a->family == AF_INET6;
	struct natoa_payload n = { .idtype = v6 ? IPSEC_ID_IPV6_ADDR : IPSEC_ID_IPV4_ADDR,
				   .addr = a->b, .alen = v6 ? 16 : 4 };
	msgb_pl_begin(m, PL_NAT_OA);
	natoa_encode(&m->b, &n);
	msgb_pl_end(m);
}

static void add_ids(struct p2sa *p2, struct msgb *m, bool initiator)
{
	/* IDci is the initiator's selector, IDcr the responder's */
	const struct selector *ci = initiator ? &p2->lsel : &p2->rsel;
	const struct selector *cr = initiator ? &p2->rsel : &p2->lsel;
	msgb_pl_begin(m, PL_ID);
	selector_id_write(&m->b, ci);
	msgb_pl_end(m);
	msgb_pl_begin(m, PL_ID);
	selector_id_write(&m->b, cr);
	msgb_pl_end(m);
}

static void label(const struct p2sa *p2, char *buf, size_t len)
{
	snprintf(buf, len, "Y%u.%u", p2->yt->id, p2->generation);
}

static int derive_keymat(struct p2sa *p2)
{
	struct p1sa *p1 = p2->p1;
	size_t need = p2_enc_key_len(&p2->agreed) + p2_auth_key_len(&p2->agreed);
	if (need > sizeof p2->key_in)
		return -1;
	if (ike_keymat(&p1->keys, p2->gxy, p2->gxy_len, PROTO_IPSEC_ESP, p2->spi_in, p2->ni,
		       p2->ni_len, p2->nr, p2->nr_len, p2->key_in, need) ||
	    ike_keymat(&p1->keys, p2->gxy, p2->gxy_len, PROTO_IPSEC_ESP, p2->spi_out, p2->ni,
		       p2->ni_len, p2->nr, p2->nr_len, p2->key_out, need))
		return -1;
	if (p2->ike->log_keys) {
		char t[24], spi[12];
		size_t el = p2_enc_key_len(&p2->agreed), al = p2_auth_key_len(&p2->agreed);
		label(p2, t, sizeof t);
		snprintf(spi, sizeof spi, "%08x", p2->spi_in);
		log_info("keys %s ESP_IN_SPI=%s", t, spi);
		log_key(t, "ESP_IN_ENC", p2->key_in, el);
		if (al)
			log_key(t, "ESP_IN_INTEG", p2->key_in + el, al);
		snprintf(spi, sizeof spi, "%08x", p2->spi_out);
		log_info("keys %s ESP_OUT_SPI=%s", t, spi);
		log_key(t, "ESP_OUT_ENC", p2->key_out, el);
		if (al)
			log_key(t, "ESP_OUT_INTEG", p2->key_out + el, al);
	}
	return 0;
}

static int pfs_shared(struct p2sa *p2, const struct payload *ke)
{
	int g = p2->agreed.pfs_group;
	if (!g)
		return ke ? -1 : 0;
	if (!ke || ke->body_len != dh_public_len(g))
		return -1;
	size_t sl = dh_secret_len(g);
	free(p2->gxy);
	if (!(p2->gxy = malloc(sl)))
		return -1;
	p2->gxy_len = sl;
	return dh_shared(p2->dh, ke->body, ke->body_len, p2->gxy);
}

/* ---- initiator ------------------------------------------------------------------ */

int qm_initiate(struct p2sa *p2)
{
	struct iked *ike = p2->ike;
	struct p1sa *p1 = p2->p1;
	struct ytunnel *yt = p2->yt;
	const struct ipsec_dynvpn *vpn = tunnel_action(ike, yt);
	if (!p1 || p1->state != P1_ESTABLISHED || !vpn) {
		p2_failed(p2, vpn ? "no phase 1 SA" : "the IpFilterRule no longer has an IpDynVpnAction");
		return -1;
	}
	char key[SACACHE_KEY_LEN], t[24];
	cache_key_y(key, sizeof key, yt->rule, &yt->lsel, &yt->rsel, &yt->peer);
	/* a refresh, and also a renegotiation of a tunnel that was down, offers
	 * what was agreed for it before */
	const struct sacache_entry *ce = p2->no_cache ? NULL : sacache_get(&ike->cache, key);
	p2->noffered = initiator_offers(vpn, ce, nat_detected(p1), ike->ip->fips, p2->offered,
					&p2->from_cache);
	p2->generation = yt->generation + 1;
	label(p2, t, sizeof t);
	if (!p2->noffered) {
		p2_failed(p2, "IpDynVpnAction has no IpDataOffer");
		return -1;
	}
	int pfs = p2->offered[0].pfs_group;
	if (p2->from_cache)
		log_info("%s: %s offering IpDataOffer %s first with PFS %s%.0d (SA cache: agreed at "
			 "generation %u)", t, p2->refresh ? "refresh" : "negotiation",
			 p2->offered[0].offer_name, pfs ? "Group" : "None", pfs, ce->generation);
	else
		log_info("%s: %s offering IpDataOffer %s first with PFS %s%.0d (%s)", t,
			 p2->refresh ? "refresh" : "negotiation", p2->offered[0].offer_name,
			 pfs ? "Group" : "None", pfs, ce ? "SA cache entry no longer fits the policy"
							 : "no SA cache entry");
	p2->msgid = msgid_new(p1);
	p2->spi_in = spi_alloc(ike);
	random_bytes(p2->ni, NONCE_LEN);
	p2->ni_len = NONCE_LEN;
	if (qm_iv(p1, p2->msgid, p2->iv) || !p2->spi_in)
		return p2_failed(p2, "cannot start Quick Mode"), -1;
	if (pfs && !(p2->dh = dh_new(pfs)))
		return p2_failed(p2, "PFS group not available"), -1;
	struct msgb body;
	hashed_body_begin(p1, &body);
	msgb_pl_begin(&body, PL_SA);
	p2_sa_write(&body.b, p2->offered, p2->noffered, p2->spi_in);
	msgb_pl_end(&body);
	msgb_pl(&body, PL_NONCE, p2->ni, p2->ni_len);
	if (pfs)
		msgb_pl(&body, PL_KE, dh_public(p2->dh), dh_public_len(pfs));
	add_ids(p2, &body, true);
	if (nat_detected(p1) && p2->offered[0].encap == ENCAP_TRANSPORT) {
		add_natoa(&body, &p1->local.ip);
		add_natoa(&body, &p1->remote.ip);
	}
	if (p2_set_state(p2, P2_I_SENT)) {
		msgb_free(&body);
		return -1;
	}
	if (hashed_send(p1, EXCH_QUICK, p2->msgid, p2->iv, &body, NULL, 0, &p2->xmit, true))
		return p2_failed(p2, "cannot send Quick Mode message 1"), -1;
	return 0;
}

static void responder_lifetime(struct p2sa *p2, const struct msg *m)
{
	for (size_t i = 0; i < msg_count(m, PL_N); i++) {
		const struct payload *np = msg_find_nth(m, PL_N, i);
		struct notify_payload n;
		const char *why;
		if (notify_decode(np->body, np->body_len, &n, &why) || n.type != N_RESPONDER_LIFETIME ||
		    attrs_validate(n.data, n.data_len, &why))
			continue;
		const uint8_t *p = n.data;
		size_t left = n.data_len;
		struct attr a;
		uint64_t type = 0;
		while (attr_next(&p, &left, &a, &why) > 0) {
			if (a.type == P2A_LIFE_TYPE)
				type = a.num;
			else if (a.type == P2A_LIFE_DURATION && a.num_ok && type == LIFE_SECONDS &&
				 (!p2->agreed.life_secs || a.num < p2->agreed.life_secs))
				p2->agreed.life_secs = (uint32_t)a.num;
			else if (a.type == P2A_LIFE_DURATION && a.num_ok && type == LIFE_KILOBYTES &&
				 (!p2->agreed.life_kb || a.num < p2->agreed.life_kb))
				p2->agreed.life_kb = a.num;
		}
		if (p2->agreed.life_kb)
			log_info("Y%u: RESPONDER-LIFETIME: lifetime %us, lifesize %" PRIu64 "K",
				 p2->yt->id, p2->agreed.life_secs, p2->agreed.life_kb);
		else
			log_info("Y%u: RESPONDER-LIFETIME: lifetime %us", p2->yt->id,
				 p2->agreed.life_secs);
	}
}

static void natoa_read(struct p2sa *p2, const struct msg *m)
{
	for (size_t i = 0; i < 2 && i < msg_count(m, PL_NAT_OA) + msg_count(m, PL_NAT_OA_DRAFT); i++) {
		const struct payload *p = msg_find_nth(m, PL_NAT_OA, i);
		if (!p)
			p = msg_find_nth(m, PL_NAT_OA_DRAFT, i);
		struct natoa_payload oa;
		const char *why;
		if (!p || natoa_decode(p->body, p->body_len, &oa, &why))
			continue;
		struct ip_addr *dst = i == 0 ? &p2->natoa_i : &p2->natoa_r;
		memset(dst, 0, sizeof *dst);
		dst->family = oa.alen == 16 ? AF_INET6 : AF_INET;
		memcpy(dst->b, oa.addr, oa.alen);
		p2->have_natoa = true;
	}
}

static bool ids_echoed(const struct p2sa *p2, const struct msg *m)
{
	size_t nid = msg_count(m, PL_ID);
	if (nid == 0)
		return true;
	if (nid != 2)
		return false;
	struct id_payload a, b;
	struct selector ci, cr;
	const char *why;
	const struct payload *pa = msg_find_nth(m, PL_ID, 0), *pb = msg_find_nth(m, PL_ID, 1);
	return !id_decode(pa->body, pa->body_len, &a, &why) &&
	       !id_decode(pb->body, pb->body_len, &b, &why) && !selector_from_id(&a, &ci) &&
	       !selector_from_id(&b, &cr) && selector_equal(&ci, &p2->lsel) &&
	       selector_equal(&cr, &p2->rsel);
}

static void qm_i_got_reply(struct p1sa *p1, struct p2sa *p2, const struct msg *m,
			   const uint8_t iv_next[16])
{
	char t[24];
	label(p2, t, sizeof t);
	if (!hashed_verify(p1, m, p2->msgid, p2->ni, p2->ni_len)) {
		log_warn("%s: HASH(2) of the Quick Mode answer does not verify", t);
		return;
	}
	p1_message_verified(p1);
	const struct payload *sap = msg_find(m, PL_SA), *np = msg_find(m, PL_NONCE);
	struct sa_payload sa;
	const char *why;
	if (!sap || !np || sa_decode(sap->body, sap->body_len, &sa, &why) ||
	    p2_match_reply(&sa, p2->offered, p2->noffered, &p2->agreed, &p2->spi_out) < 0) {
		p2_failed(p2, "the responder's SA payload is not one of our offers");
		return;
	}
	memcpy(p2->iv, iv_next, 16);
	memcpy(p2->nr, np->body, np->body_len);
	p2->nr_len = np->body_len;
	if (pfs_shared(p2, msg_find(m, PL_KE))) {
		p2_failed(p2, "the responder's KE payload does not fit the PFS group");
		return;
	}
	if (!ids_echoed(p2, m)) {
		p2_failed(p2, "the responder changed the identities (selectors)");
		return;
	}
	responder_lifetime(p2, m);
	natoa_read(p2, m);
	packet_digest(m->raw, m->raw_len, p2->last_in);
	p2->have_last_in = true;
	if (derive_keymat(p2)) {
		p2_failed(p2, "KEYMAT derivation failed");
		return;
	}
	uint8_t h[HASH_MAX_LEN];
	if (ike_qm_hash3(&p1->keys, p2->msgid, p2->ni, p2->ni_len, p2->nr, p2->nr_len, h)) {
		p2_failed(p2, "cannot compute HASH(3)");
		return;
	}
	struct msgb body, out;
	msgb_begin_body(&body);
	msgb_pl(&body, PL_HASH, h, p1->keys.prf_len);
	msgb_begin(&out, p1->icky, p1->rcky, EXCH_QUICK, ISAKMP_FLAG_ENC, p2->msgid);
	if (ike_encrypt_into(p1, &out, &body, p2->iv) || p1_send(p1, &out, &p2->xmit, false)) {
		p2_failed(p2, "cannot send Quick Mode message 3");
		return;
	}
	mid_remember(p1, p2->msgid);
	p2_established(p2);
}

/* ---- responder ------------------------------------------------------------------- */

static void refuse(struct p1sa *p1, const struct sa_payload *sa, uint16_t type)
{
	/* name the initiator's SPI so it can tell which negotiation failed */
	if (sa && sa->np && sa->p[0].spi_size == 4)
		notify_send(p1, type, PROTO_IPSEC_ESP, sa->p[0].spi, 4, NULL, 0);
	else
		notify_send(p1, type, PROTO_IPSEC_ESP, NULL, 0, NULL, 0);
}

static int responder_selectors(struct p1sa *p1, const struct msg *m, struct selector *lsel,
			       struct selector *rsel)
{
	size_t nid = msg_count(m, PL_ID);
	if (nid == 0) {
		selector_host(lsel, &p1->local.ip);
		selector_host(rsel, &p1->remote.ip);
		return 0;
	}
	if (nid != 2)
		return -1;
	struct id_payload ci, cr;
	const char *why;
	const struct payload *pa = msg_find_nth(m, PL_ID, 0), *pb = msg_find_nth(m, PL_ID, 1);
	if (id_decode(pa->body, pa->body_len, &ci, &why) || id_decode(pb->body, pb->body_len, &cr, &why) ||
	    selector_from_id(&ci, rsel) || selector_from_id(&cr, lsel))
		return -1;
	return 0;
}

/* A responder that shortens the lifetime or the lifesize says so in
 * RESPONDER-LIFETIME (our answer's transform carries the shorter values too, but peers
 * look here). */
static void add_responder_lifetime(struct msgb *m, const struct p2sa *p2,
				   const struct p2_attrs *proposed)
{
	bool secs = proposed->life_secs && p2->agreed.life_secs < proposed->life_secs;
	bool kb = proposed->life_kb && p2->agreed.life_kb < proposed->life_kb;
	if (!secs && !kb)
		return;
	uint8_t spi[4];
	put32(spi, p2->spi_in);
	struct buf life;
	buf_init(&life);
	if (secs) {
		attr_tv(&life, P2A_LIFE_TYPE, LIFE_SECONDS);
		attr_life(&life, P2A_LIFE_DURATION, p2->agreed.life_secs);
	}
	if (kb) {
		attr_tv(&life, P2A_LIFE_TYPE, LIFE_KILOBYTES);
		attr_life(&life, P2A_LIFE_DURATION, p2->agreed.life_kb);
	}
	if (life.err)
		m->b.err = true;
	notify_add(m, p2->p1, N_RESPONDER_LIFETIME, PROTO_IPSEC_ESP, spi, sizeof spi, life.d,
		   life.len);
	buf_free(&life);
}

/* The lifetime and lifesize the peer proposed in proposal pnum (0: none). */
static struct p2_attrs proposed_life(const struct sa_payload *sa, uint8_t pnum)
{
	struct p2_attrs none = { 0 };
	for (size_t i = 0; i < sa->np; i++) {
		if (sa->p[i].num != pnum)
			continue;
		for (size_t t = 0; t < sa->p[i].ntr; t++) {
			struct p2_attrs a;
			const char *why;
			if (!p2_xform_read(&sa->p[i], &sa->p[i].tr[t], &a, &why))
				return a;
		}
	}
	return none;
}

static void qm_r_first(struct p1sa *p1, const struct msg *m, uint32_t msgid,
		       const uint8_t iv_next[16])
{
	struct iked *ike = p1->ike;
	char peer[IP_STRLEN];
	ip_addr_format(&p1->remote.ip, peer, sizeof peer);
	if (!hashed_verify(p1, m, msgid, NULL, 0)) {
		log_warn("Quick Mode from %s: HASH(1) does not verify", peer);
		return;
	}
	p1_message_verified(p1);
	mid_remember(p1, msgid);
	const struct payload *sap = msg_find(m, PL_SA), *np = msg_find(m, PL_NONCE);
	const struct payload *ke = msg_find(m, PL_KE);
	struct sa_payload sa;
	const char *why = "";
	if (!sap || !np || sa_decode(sap->body, sap->body_len, &sa, &why)) {
		log_warn("Quick Mode from %s: %s", peer, sap && np ? why : "no SA or nonce payload");
		refuse(p1, NULL, N_PAYLOAD_MALFORMED);
		return;
	}
	struct selector lsel, rsel;
	if (responder_selectors(p1, m, &lsel, &rsel)) {
		log_warn("Quick Mode from %s: identities are not usable selectors", peer);
		refuse(p1, &sa, N_INVALID_ID_INFORMATION);
		return;
	}
	char ls[128], rs[128];
	selector_format(&lsel, ls, sizeof ls);
	selector_format(&rsel, rs, sizeof rs);
	const struct ipsec_filter_rule *rule = match_filter_rule(ike->ip, &lsel, &rsel);
	if (!rule) {
		log_warn("EZD1022I no proposal chosen for Quick Mode from %s: no IpFilterRule with an "
			 "IpDynVpnAction covers %s <-> %s", peer, ls, rs);
		refuse(p1, &sa, N_INVALID_ID_INFORMATION);
		return;
	}
	const struct ipsec_dynvpn *vpn = rule->vpn;
	if (vpn->initiation == INITIATION_LOCAL_ONLY) {
		log_warn("EZD1022I no proposal chosen for Quick Mode from %s: IpDynVpnAction %s is "
			 "Initiation LocalOnly", peer, vpn->name);
		refuse(p1, &sa, N_NO_PROPOSAL_CHOSEN);
		return;
	}
	struct p2_attrs chosen;
	uint8_t pnum;
	uint32_t peer_spi;
	bool pfs_refused;
	char reason[256];
	if (p2_select(&sa, vpn, nat_detected(p1), ke != NULL, ike->ip->fips, &chosen, &pnum,
		      &peer_spi, &pfs_refused, reason, sizeof reason)) {
		log_warn("EZD1022I no proposal chosen for IpDynVpnAction %s (IpFilterRule %s) from %s, "
			 "%s <-> %s: %s", vpn->name, rule->name, peer, ls, rs, reason);
		refuse(p1, &sa, N_NO_PROPOSAL_CHOSEN);
		return;
	}
	struct ytunnel *yt = ytunnel_get(ike, rule->name, vpn->name, &lsel, &rsel, &p1->local.ip,
					 &p1->remote.ip);
	if (!yt)
		return;
	if (!yt->cur && !yt->generation)
		yt->role = IKE_RESPONDER;
	if (!yt->vpnlife_ms)
		yt->vpnlife_ms = (uint64_t)vpn->vpnlife * 60000u;
	struct p2sa *p2 = p2_create(ike, yt, p1, IKE_RESPONDER);
	if (!p2)
		return;
	p2->msgid = msgid;
	memcpy(p2->iv, iv_next, 16);
	p2->agreed = chosen;
	p2->spi_out = peer_spi;
	p2->spi_in = spi_alloc(ike);
	p2->generation = yt->generation + 1;
	p2->send_ids = msg_count(m, PL_ID) == 2;
	memcpy(p2->ni, np->body, np->body_len);
	p2->ni_len = np->body_len;
	random_bytes(p2->nr, NONCE_LEN);
	p2->nr_len = NONCE_LEN;
	packet_digest(m->raw, m->raw_len, p2->last_in);
	p2->have_last_in = true;
	natoa_read(p2, m);
	char t[24];
	label(p2, t, sizeof t);
	log_info("%s: Quick Mode from %s for IpFilterRule %s, chose IpDataOffer %s, PFS %s%.0d",
		 t, peer, rule->name, chosen.offer_name, chosen.pfs_group ? "Group" : "None",
		 chosen.pfs_group);
	if (chosen.pfs_group && !(p2->dh = dh_new(chosen.pfs_group))) {
		p2_failed(p2, "PFS group not available");
		return;
	}
	if (pfs_shared(p2, ke)) {
		p2_failed(p2, "the initiator's KE payload is invalid");
		return;
	}
	if (!p2->spi_in || derive_keymat(p2)) {
		p2_failed(p2, "KEYMAT derivation failed");
		return;
	}
	struct msgb body;
	hashed_body_begin(p1, &body);
	msgb_pl_begin(&body, PL_SA);
	p2_sa_write_chosen(&body.b, &p2->agreed, pnum, p2->spi_in);
	msgb_pl_end(&body);
	msgb_pl(&body, PL_NONCE, p2->nr, p2->nr_len);
	if (chosen.pfs_group)
		msgb_pl(&body, PL_KE, dh_public(p2->dh), dh_public_len(chosen.pfs_group));
	if (p2->send_ids)
		add_ids(p2, &body, false);
	struct p2_attrs proposed = proposed_life(&sa, pnum);
	add_responder_lifetime(&body, p2, &proposed);
	if (p2_set_state(p2, P2_R_SENT)) {
		msgb_free(&body);
		return;
	}
	/* retransmit until message 3: its loss would otherwise go unnoticed */
	if (hashed_send(p1, EXCH_QUICK, msgid, p2->iv, &body, p2->ni, p2->ni_len, &p2->xmit, true))
		p2_failed(p2, "cannot send Quick Mode message 2");
}

static void qm_r_got_final(struct p1sa *p1, struct p2sa *p2, const struct msg *m)
{
	uint8_t h[HASH_MAX_LEN];
	if (ike_qm_hash3(&p1->keys, p2->msgid, p2->ni, p2->ni_len, p2->nr, p2->nr_len, h) ||
	    m->npl < 1 || m->pl[0].type != PL_HASH || m->pl[0].body_len != p1->keys.prf_len ||
	    !mem_equal(m->pl[0].body, h, p1->keys.prf_len)) {
		log_warn("Y%u: HASH(3) does not verify", p2->yt->id);
		return;
	}
	p1_message_verified(p1);
	xmit_clear(p1->ike, &p2->xmit);
	p2_established(p2);
}

void qm_input(struct p1sa *p1, struct p2sa *p2, const struct msg *m, uint32_t msgid,
	      const uint8_t iv_next[16])
{
	if (!p2) {
		qm_r_first(p1, m, msgid, iv_next);
		return;
	}
	if (p2->state == P2_I_SENT && p2->role == IKE_INITIATOR)
		qm_i_got_reply(p1, p2, m, iv_next);
	else if (p2->state == P2_R_SENT && p2->role == IKE_RESPONDER)
		qm_r_got_final(p1, p2, m);
}

void qm_xmit_timeout(void *arg)
{
	struct p2sa *p2 = arg;
	if (!p2->p1 || !xmit_retry(p2->p1, &p2->xmit)) {
		char why[80];
		snprintf(why, sizeof why, "no answer after %u retransmissions",
			 p2->ike->ip->ike.retries);
		p2_failed(p2, why);
	}
}
