/* iked/lifecycle — what happens to SAs after and around negotiation: the
 * tunnel generations, the SA cache, the z/OS-style log messages, lifetimes
 * with refresh before expiry, deletion and expiry, peers that vanish, and
 * the operator's commands (activate, refresh, deactivate). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/strutil.h"
#include "iked/crypto.h"
#include "iked/dh.h"
#include "iked/exchange.h"
#include "iked/install.h"
#include "iked/kernel.h"
#include "iked/match.h"
#include "policy/policy.h"
#include "policy/schema.h"

/* How long a replaced generation lives on: the peer may still be finishing
 * the exchange that replaced it (charon handles the last Quick Mode message
 * and a Delete on different threads, and a Delete that overtakes the message
 * finds nothing to delete), and packets already on their way still decrypt. */
#define REPLACED_GRACE_MS 5000

/* How long a deleted phase 1 SA is still found by its cookies to answer a
 * retransmission of the peer's last message with its own (our answer may be
 * what was lost; charon's first retransmission comes after 4 s). It answers
 * nothing else. */
#define P1_LINGER_MS 10000

/* Refresh at a fraction of the lifetime, the initiator of the SA first so
 * the two sides rarely refresh at once; a little jitter spreads many SAs.
 * The soft byte limit uses the same fractions (kernel_soft_bytes). */
unsigned refresh_percent(int role)
{
	return role == IKE_INITIATOR ? 85 : 92;
}

static uint64_t refresh_delay_ms(uint32_t life_secs, int role)
{
	uint64_t life = (uint64_t)life_secs * 1000;
	uint64_t pct = refresh_percent(role);
	uint64_t jitter = life / 50 ? random_u32() % (life / 50) : 0;   /* up to 2% */
	return life * pct / 100 - jitter;
}

static const char *role_name(int role)
{
	return role == IKE_INITIATOR ? "initiator" : "responder";
}

static const char *auth_name(int auth)
{
	return auth == AUTHMETH_RSA_SIGNATURE ? "RsaSignature" : "PresharedKey";
}

/* ---- creation: where each SA's timers lead ------------------------------------ */

struct p1sa *p1_create(struct iked *ike, int role, int exch, const struct ikeaddr *local,
		       const struct ikeaddr *remote)
{
	struct p1sa *p1 = p1_new(ike, role, exch, local, remote);
	if (!p1)
		return NULL;
	xmit_init(&p1->xmit, p1_xmit_timeout, p1);
	timer_init(&p1->t_refresh, p1_refresh_timeout, p1);
	timer_init(&p1->t_expire, p1_expire_timeout, p1);
	timer_init(&p1->t_dpd, dpd_timeout, p1);
	timer_init(&p1->t_keepalive, keepalive_timeout, p1);
	timer_init(&p1->t_neg, p1_neg_timeout, p1);
	return p1;
}

struct p2sa *p2_create(struct iked *ike, struct ytunnel *yt, struct p1sa *p1, int role)
{
	struct p2sa *p2 = p2_new(ike, yt, p1, role);
	if (!p2)
		return NULL;
	xmit_init(&p2->xmit, qm_xmit_timeout, p2);
	timer_init(&p2->t_refresh, p2_refresh_timeout, p2);
	timer_init(&p2->t_expire, p2_expire_timeout, p2);
	timer_init(&p2->t_neg, p2_neg_timeout, p2);
	return p2;
}

/* ---- phase 1 ------------------------------------------------------------------ */

static bool ktunnel_unused(struct iked *ike, const struct ktunnel *kt)
{
	struct p1sa *p1;
	LIST_FOREACH(p1, &ike->p1_all, all)
		if (p1->kt == kt)
			return false;
	return true;
}

static void cache_p1(struct p1sa *p1)
{
	struct sacache_entry e;
	memset(&e, 0, sizeof e);
	e.kind = 'K';
	cache_key_k(e.key, sizeof e.key, p1->rule->name, &p1->local.ip, &p1->remote.ip);
	e.tunnel_id = p1->kt->id;
	e.generation = p1->generation;
	str_copy(e.rule, p1->rule->name, sizeof e.rule);
	str_copy(e.action, p1->rule->action->name, sizeof e.action);
	e.exch = p1->exch;
	e.p1 = p1->agreed;
	str_copy(e.local_id, p1->local_id_str, sizeof e.local_id);
	str_copy(e.remote_id, p1->peer_id_str, sizeof e.remote_id);
	if (sacache_put(&p1->ike->cache, &e))
		log_warn("K%u: SA cache full, agreed attributes not kept", p1->kt->id);
}

void p1_established(struct p1sa *p1)
{
	struct iked *ike = p1->ike;
	if (p1_set_state(p1, P1_ESTABLISHED))
		return;
	if (p1->role == IKE_RESPONDER && ike->half_open)
		ike->half_open--;
	p1->established_ms = iked_now(ike);
	p1->established_wall = time(NULL);
	timer_cancel(&ike->timers, &p1->t_neg);
	/* a responder may have settled on another rule when it saw the identity */
	if (!p1->kt || strcmp(p1->kt->rule, p1->rule->name) != 0) {
		struct ktunnel *old = p1->kt;
		p1->kt = ktunnel_get(ike, p1->rule->name, p1->rule->action->name, &p1->local,
				     &p1->remote);
		if (old && old->cur == p1)
			old->cur = NULL;
		if (old && ktunnel_unused(ike, old))
			ktunnel_retire(ike, old);
		if (!p1->kt) {
			p1_failed(p1, "out of memory");
			return;
		}
	}
	struct ktunnel *kt = p1->kt;
	struct p1sa *prev = kt->cur && kt->cur != p1 && kt->cur->state == P1_ESTABLISHED ? kt->cur
											   : NULL;
	p1->generation = ++kt->generation;
	kt->cur = p1;
	kt->local = p1->local;
	char peer[IP_STRLEN], local[IP_STRLEN];
	ip_addr_format(&p1->remote.ip, peer, sizeof peer);
	ip_addr_format(&p1->local.ip, local, sizeof local);
	const struct p1_attrs *a = &p1->agreed;
	log_info("IKE tunnel K%u %s: generation %u, KeyExchangeRule %s, KeyExchangeAction %s, "
		 "%s Mode, %s, %s[%s] <-> %s[%s], %s-%d %s %s %s, offer %s%s, lifetime %us%s%s",
		 kt->id, p1->generation == 1 ? "activated" : "refreshed", p1->generation,
		 p1->rule->name, p1->rule->action->name, exch_name((uint8_t)p1->exch),
		 role_name(p1->role), local, p1->local_id_str, peer, p1->peer_id_str,
		 enc_name(a->enc_alg), a->keylen, hash_name(a->hash), dh_group_name(a->group),
		 auth_name(a->auth), a->offer_name, p1->from_cache ? " (from the SA cache)" : "",
		 a->life_secs, p1->natt_port ? ", NAT-T" : "",
		 p1->nat_local || p1->nat_remote ? " (NAT detected)" : "");
	cache_p1(p1);
	if (a->life_secs) {
		timer_at(&ike->timers, &p1->t_expire, p1->established_ms + (uint64_t)a->life_secs * 1000);
		timer_at(&ike->timers, &p1->t_refresh,
			 p1->established_ms + refresh_delay_ms(a->life_secs, p1->role));
	}
	dpd_arm(p1);
	if (p1->nat_local && p1->natt_port && ike->ip->nat_keepalive)
		timer_at(&ike->timers, &p1->t_keepalive,
			 iked_now(ike) + (uint64_t)ike->ip->nat_keepalive * 1000);
	if (prev) {
		/* the old generation goes once the new one can carry Quick Modes;
		 * a few seconds let exchanges still running on it finish */
		prev->replaced = true;
		timer_cancel(&ike->timers, &prev->t_refresh);
		timer_cancel(&ike->timers, &prev->t_dpd);
		timer_at(&ike->timers, &prev->t_expire, iked_now(ike) + REPLACED_GRACE_MS);
	}
	start_waiting_quick_modes(ike, p1);
}

static void fail_negotiations(struct p1sa *p1, const char *why)
{
	struct p2sa *p2;
	while ((p2 = LIST_FIRST(&p1->p2s))) {
		if (p2->state == P2_ESTABLISHED) {
			p2_detach(p2);
			continue;
		}
		p2_failed(p2, why);
	}
}

/* Ends p1: its state machine ends in DELETED, its negotiations fail, its K
 * tunnel keeps the newest other established generation as the current one or
 * goes with its last SA, and the store retires it (freed at the end of the
 * turn, after a linger in which it answers retransmissions). */
static void p1_end(struct p1sa *p1, const char *why)
{
	struct iked *ike = p1->ike;
	struct ktunnel *kt = p1->kt;
	if (p1->role == IKE_RESPONDER && p1->state != P1_ESTABLISHED && ike->half_open)
		ike->half_open--;
	p1_set_state(p1, P1_DELETED);
	fail_negotiations(p1, why);
	p1_retire(p1, P1_LINGER_MS);
	if (!kt)
		return;
	if (kt->cur == p1) {
		struct p1sa *o;
		kt->cur = NULL;
		LIST_FOREACH(o, &ike->p1_all, all)
			if (o->kt == kt && o->state == P1_ESTABLISHED &&
			    (!kt->cur || o->established_ms > kt->cur->established_ms))
				kt->cur = o;
	}
	if (ktunnel_unused(ike, kt))
		ktunnel_retire(ike, kt);
}

void p1_failed(struct p1sa *p1, const char *why)
{
	if (p1->state == P1_DELETED)
		return;
	if (p1->state == P1_ESTABLISHED) {
		p1_delete(p1, true, why);
		return;
	}
	char peer[IP_STRLEN];
	ip_addr_format(&p1->remote.ip, peer, sizeof peer);
	log_warn("IKE tunnel K%u: %s Mode with %s failed (%s, state %s): %s",
		 kid(p1), exch_name((uint8_t)p1->exch), peer, role_name(p1->role),
		 p1_state_name(p1->state), why);
	p1_end(p1, "phase 1 failed");
}

void p1_delete(struct p1sa *p1, bool tell_peer, const char *why)
{
	if (p1->state == P1_DELETED)
		return;
	if (p1->state != P1_ESTABLISHED) {
		p1_failed(p1, why);
		return;
	}
	if (tell_peer)
		delete_send_p1(p1);
	log_info("EZD0812I IKE tunnel K%u generation %u deleted: %s", kid(p1), p1->generation, why);
	p1_end(p1, "its phase 1 SA was deleted");
}

void start_waiting_quick_modes(struct iked *ike, struct p1sa *p1)
{
	/* qm_initiate moves each waiting SA on, or ends it (unlinking only it) */
	struct p2sa *p2, *next;
	for (p2 = LIST_FIRST(&ike->p2_all); p2; p2 = next) {
		next = LIST_NEXT(p2, all);
		if (p2->state != P2_WAIT_P1 ||
		    memcmp(&p2->yt->peer, &p1->remote.ip, sizeof p1->remote.ip) != 0 ||
		    memcmp(&p2->yt->local_ep, &p1->local.ip, sizeof p1->local.ip) != 0)
			continue;
		timer_cancel(&ike->timers, &p2->t_neg);
		p2_attach(p2, p1);
		qm_initiate(p2);
	}
}

void p1_refresh_timeout(void *arg)
{
	struct p1sa *p1 = arg;
	char err[200];
	if (!p1->kt || p1->kt->cur != p1 || p1->replaced)
		return;
	if (ktunnel_refresh(p1->ike, p1->kt, true, err, sizeof err))
		log_warn("K%u: refresh not started: %s", p1->kt->id, err);
}

void p1_expire_timeout(void *arg)
{
	struct p1sa *p1 = arg;
	if (p1->replaced) {
		p1_delete(p1, true, "replaced by a newer generation");
		return;
	}
	log_info("EZD0995I IKE tunnel K%u generation %u expired", kid(p1),
		 p1->generation);
	p1_delete(p1, true, "lifetime expired");
}

void p1_neg_timeout(void *arg)
{
	struct p1sa *p1 = arg;
	if (p1->state != P1_ESTABLISHED)
		p1_failed(p1, "negotiation timed out");
}

static const struct ike_rule *rule_by_name(struct iked *ike, const char *name)
{
	for (size_t i = 0; i < ike->ip->nke; i++)
		if (strcmp(ike->ip->ke_rules[i]->name, name) == 0)
			return ike->ip->ke_rules[i];
	return NULL;
}

int ktunnel_refresh(struct iked *ike, struct ktunnel *kt, bool use_cache, char *err, size_t errlen)
{
	const struct ike_rule *r = rule_by_name(ike, kt->rule);
	if (!r || !r->action) {
		snprintf(err, errlen, "KeyExchangeRule %s is no longer in the policy", kt->rule);
		return -1;
	}
	struct p1sa *p1;
	LIST_FOREACH(p1, &ike->p1_all, all)
		if (p1->kt == kt && p1->state != P1_ESTABLISHED) {
			snprintf(err, errlen, "a negotiation for K%u is already running", kt->id);
			return -1;
		}
	struct ikeaddr local = kt->local, remote = kt->remote;
	local.port = ike->ip->ike.ike_port;
	remote.port = ike->ip->ike.ike_port;
	if (!p1_initiate(ike, r, &local, &remote, kt->generation > 0, use_cache)) {
		snprintf(err, errlen, "phase 1 could not be started (see the log)");
		return -1;
	}
	return 0;
}

/* ---- phase 2 ------------------------------------------------------------------- */

static void cache_p2(struct p2sa *p2)
{
	struct sacache_entry e;
	memset(&e, 0, sizeof e);
	e.kind = 'Y';
	cache_key_y(e.key, sizeof e.key, p2->yt->rule, &p2->yt->lsel, &p2->yt->rsel, &p2->yt->peer);
	e.tunnel_id = p2->yt->id;
	e.generation = p2->generation;
	str_copy(e.rule, p2->yt->rule, sizeof e.rule);
	str_copy(e.action, p2->yt->action, sizeof e.action);
	e.p2 = p2->agreed;
	if (p2->p1) {
		str_copy(e.local_id, p2->p1->local_id_str, sizeof e.local_id);
		str_copy(e.remote_id, p2->p1->peer_id_str, sizeof e.remote_id);
	}
	if (sacache_put(&p2->ike->cache, &e))
		log_warn("Y%u: SA cache full, agreed attributes not kept", p2->yt->id);
}

void p2_established(struct p2sa *p2)
{
	struct iked *ike = p2->ike;
	struct ytunnel *yt = p2->yt;
	struct p2sa *prev = yt->cur && yt->cur != p2 && yt->cur->state == P2_ESTABLISHED ? yt->cur
											   : NULL;
	if (p2_set_state(p2, P2_ESTABLISHED))
		return;
	p2->established_ms = iked_now(ike);
	p2->established_wall = time(NULL);
	/* it stays on its phase 1 SA's list: a retransmitted message 2 (our
	 * message 3 was lost) must still find it and get message 3 again */
	timer_cancel(&ike->timers, &p2->t_neg);
	p2->generation = ++yt->generation;
	yt->cur = p2;
	yt->activation_pending = false;
	if (kernel_install_p2(ike, p2)) {
		/* an SA the data path does not have only black-holes traffic */
		p2_delete(p2, true, "the kernel refused the SA");
		return;
	}
	const struct p2_attrs *a = &p2->agreed;
	char ls[128], rs[128], peer[IP_STRLEN], pfs[16] = "None";
	selector_format(&p2->lsel, ls, sizeof ls);
	selector_format(&p2->rsel, rs, sizeof rs);
	ip_addr_format(&yt->peer, peer, sizeof peer);
	if (a->pfs_group)
		snprintf(pfs, sizeof pfs, "Group%d", a->pfs_group);
	log_info("Dynamic tunnel Y%u %s: generation %u, IpFilterRule %s, IpDynVpnAction %s, %s, "
		 "%s <-> %s via %s, ESP %s-%d %s, %s%s, PFS %s, SPI in %08x out %08x, offer %s%s, "
		 "lifetime %us, IKE tunnel K%u",
		 yt->id, p2->generation == 1 ? "activated" : "refreshed", p2->generation, yt->rule,
		 yt->action, role_name(p2->role), ls, rs, peer, enc_name(a->enc_alg), a->keylen,
		 authalg_name(a->auth_alg), a->encap == ENCAP_TRANSPORT ? "transport" : "tunnel",
		 a->udp ? " (UDP-encapsulated)" : "", pfs, p2->spi_in, p2->spi_out, a->offer_name,
		 p2->from_cache ? " (from the SA cache)" : "", a->life_secs, p2->parent_kid);
	cache_p2(p2);
	if (a->life_secs) {
		timer_at(&ike->timers, &p2->t_expire, p2->established_ms + (uint64_t)a->life_secs * 1000);
		timer_at(&ike->timers, &p2->t_refresh,
			 p2->established_ms + refresh_delay_ms(a->life_secs, p2->role));
	}
	if (prev) {
		prev->replaced = true;
		timer_cancel(&ike->timers, &prev->t_refresh);
		timer_at(&ike->timers, &prev->t_expire, iked_now(ike) + REPLACED_GRACE_MS);
	}
}

/* Ends p2: DELETED, retired (freed at the end of the turn), its tunnel's
 * current SA the newest other established one, the tunnel retired with its
 * last SA. */
static void p2_end(struct p2sa *p2)
{
	struct iked *ike = p2->ike;
	struct ytunnel *yt = p2->yt;
	p2_set_state(p2, P2_DELETED);
	p2_retire(p2);
	if (yt->cur == p2) {
		struct p2sa *o;
		yt->cur = NULL;
		LIST_FOREACH(o, &yt->sas, in_tunnel)
			if (o->state == P2_ESTABLISHED && (!yt->cur || o->generation > yt->cur->generation))
				yt->cur = o;
	}
	if (LIST_EMPTY(&yt->sas))
		ytunnel_retire(ike, yt);
}

void p2_failed(struct p2sa *p2, const char *why)
{
	if (p2->state == P2_DELETED)
		return;
	if (p2->state == P2_ESTABLISHED) {
		p2_delete(p2, true, why);
		return;
	}
	log_warn("Dynamic tunnel Y%u: Quick Mode %s failed (%s): %s", p2->yt->id,
		 p2->refresh ? "refresh" : "negotiation", role_name(p2->role), why);
	if (p2->p1 && p2->msgid)
		mid_remember(p2->p1, p2->msgid);
	p2_end(p2);
}

static struct p1sa *p1_for_peer(struct iked *ike, const struct ytunnel *yt)
{
	bool negotiating;
	struct p1sa *p1 = p1_find_peer(ike, &yt->local_ep, &yt->peer, &negotiating);
	return p1 && p1->state == P1_ESTABLISHED ? p1 : NULL;
}

void p2_delete(struct p2sa *p2, bool tell_peer, const char *why)
{
	struct iked *ike = p2->ike;
	struct ytunnel *yt = p2->yt;
	if (p2->state == P2_DELETED)
		return;
	if (p2->state != P2_ESTABLISHED) {
		p2_failed(p2, why);
		return;
	}
	/* The Delete goes under the newest ISAKMP SA with the peer, not the one
	 * the SA was negotiated under: a peer that refreshed phase 1 (charon's
	 * reauthentication) has moved its SAs to the new one and looks a Delete
	 * up there. */
	struct p1sa *p1 = p1_for_peer(ike, yt);
	if (!p1 && p2->p1 && p2->p1->state == P1_ESTABLISHED)
		p1 = p2->p1;
	if (tell_peer && p1)
		delete_send_p2(p1, p2);
	kernel_remove_p2(ike, p2);
	log_info("EZD0812I dynamic tunnel Y%u generation %u deleted: %s", yt->id, p2->generation,
		 why);
	bool last = LIST_FIRST(&yt->sas) == p2 && !LIST_NEXT(p2, in_tunnel);
	if (last)
		kernel_remove_policies(ike, yt);
	p2_end(p2);
}

/* Start a Quick Mode for yt: under the established phase 1 SA with its peer,
 * or after one that is being negotiated, or after a new one. */
static int start_quick_mode(struct iked *ike, struct ytunnel *yt, bool refresh, bool use_cache,
			    char *err, size_t errlen)
{
	bool negotiating;
	struct p1sa *p1 = p1_find_peer(ike, &yt->local_ep, &yt->peer, &negotiating);
	struct p2sa *p2 = p2_create(ike, yt, NULL, IKE_INITIATOR);
	if (!p2) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	p2->refresh = refresh;
	p2->no_cache = !use_cache;
	if (p1 && p1->state == P1_ESTABLISHED) {
		p2_attach(p2, p1);
		return qm_initiate(p2) ? (snprintf(err, errlen, "Quick Mode not started"), -1) : 0;
	}
	p2_set_state(p2, P2_WAIT_P1);
	/* bounded wait for phase 1 */
	timer_at(&ike->timers, &p2->t_neg, iked_now(ike) + 2 * xmit_patience(ike));
	if (p1)
		return 0;                        /* starts when that phase 1 is up */
	const struct ike_rule *r = match_ke_rule(ike->ip, &yt->local_ep, &yt->peer, NULL);
	if (!r) {
		p2_failed(p2, "no KeyExchangeRule for the peer");
		snprintf(err, errlen, "no KeyExchangeRule for the peer");
		return -1;
	}
	struct ikeaddr local = { yt->local_ep, ike->ip->ike.ike_port };
	struct ikeaddr remote = { yt->peer, ike->ip->ike.ike_port };
	if (!p1_initiate(ike, r, &local, &remote, false, true)) {
		snprintf(err, errlen, "phase 1 could not be started (see the log)");
		p2_failed(p2, "phase 1 could not be started");
		return -1;
	}
	return 0;
}

static bool ytunnel_negotiating(const struct ytunnel *yt)
{
	struct p2sa *p2;
	LIST_FOREACH(p2, &yt->sas, in_tunnel)
		if (p2->state == P2_I_SENT || p2->state == P2_WAIT_P1 || p2->state == P2_R_SENT)
			return true;
	return false;
}

int ytunnel_refresh(struct iked *ike, struct ytunnel *yt, bool use_cache, char *err,
		    size_t errlen)
{
	if (ytunnel_negotiating(yt)) {
		snprintf(err, errlen, "a negotiation for Y%u is already running", yt->id);
		return -1;
	}
	return start_quick_mode(ike, yt, yt->generation > 0, use_cache, err, errlen);
}

enum refresher { REFRESH_HERE, REFRESH_PEER, REFRESH_NONE };

/* Who refreshes a dynamic tunnel before its SA runs out (lifetime or
 * lifesize): nobody past VpnLife; a responder not when its rule says
 * Initiation RemoteOnly (or is gone from the policy): the peer does. */
static enum refresher who_refreshes(struct iked *ike, const struct ytunnel *yt)
{
	if (yt->vpnlife_ms && iked_now(ike) - yt->created_ms >= yt->vpnlife_ms) {
		log_info("Dynamic tunnel Y%u: VpnLife reached, not refreshed", yt->id);
		return REFRESH_NONE;
	}
	if (yt->role == IKE_RESPONDER) {
		const struct ipsec_filter_rule *r = find_filter_rule(ike->ip, yt->rule);
		if (!r || !r->vpn || r->vpn->initiation == INITIATION_REMOTE_ONLY)
			return REFRESH_PEER;
	}
	return REFRESH_HERE;
}

void p2_refresh_timeout(void *arg)
{
	struct p2sa *p2 = arg;
	struct ytunnel *yt = p2->yt;
	struct iked *ike = p2->ike;
	char err[200];
	if (yt->cur != p2 || who_refreshes(ike, yt) != REFRESH_HERE)
		return;
	if (ytunnel_refresh(ike, yt, true, err, sizeof err))
		log_warn("Y%u: refresh not started: %s", yt->id, err);
}

static void p2_expire(struct p2sa *p2, bool lifesize)
{
	if (p2->replaced) {
		p2_delete(p2, true, "replaced by a newer generation");
		return;
	}
	if (lifesize) {
		log_info("EZD0813I dynamic tunnel Y%u generation %u expired: lifesize %" PRIu64
			 "K reached", p2->yt->id, p2->generation, p2->agreed.life_kb);
		p2_delete(p2, true, "lifesize reached");
		return;
	}
	log_info("EZD0813I dynamic tunnel Y%u generation %u expired", p2->yt->id, p2->generation);
	p2_delete(p2, true, "lifetime expired");
}

void p2_expire_timeout(void *arg)
{
	p2_expire(arg, false);
}

/* A soft limit: the refresh the timer would start, with the SA cache. Both
 * SAs of the pair report theirs, so only the first one counts; a pair that
 * a newer generation replaces, or that a Quick Mode running for the tunnel
 * is about to replace, needs no refresh. */
static void p2_soft_expired(struct p2sa *p2, const struct kernel_event *ev, bool inbound)
{
	struct iked *ike = p2->ike;
	struct ytunnel *yt = p2->yt;
	const char *what = ev->lifesize ? "lifesize" : "soft limit";
	if (p2->lifesize_reached || p2->replaced || yt->cur != p2 || ytunnel_negotiating(yt)) {
		log_debug("Y%u.%u: %s reached on the %s SA (spi %08x): %s", yt->id, p2->generation,
			  what, inbound ? "inbound" : "outbound", ev->spi,
			  p2->lifesize_reached ? "the pair's other SA reached it first"
					       : "already being replaced");
		return;
	}
	p2->lifesize_reached = true;
	enum refresher who = who_refreshes(ike, yt);
	if (who == REFRESH_PEER)
		log_info("Dynamic tunnel Y%u: %s reached, the peer refreshes", yt->id, what);
	if (who != REFRESH_HERE)
		return;
	char bytes[40] = "";
	if (ev->bytes)
		snprintf(bytes, sizeof bytes, ", %" PRIu64 " bytes", ev->bytes);
	log_info("Dynamic tunnel Y%u: %s reached, refreshing (generation %u, %s SA spi %08x%s)",
		 yt->id, what, p2->generation, inbound ? "inbound" : "outbound", ev->spi, bytes);
	char err[200];
	if (ytunnel_refresh(ike, yt, true, err, sizeof err))
		log_warn("Y%u: refresh not started: %s", yt->id, err);
}

static void kernel_event(struct iked *ike, const struct kernel_event *ev)
{
	bool inbound = false;
	struct p2sa *p2 = kernel_event_p2(ike, ev, &inbound);
	if (!p2) {
		char dst[IP_STRLEN];
		ip_addr_format(&ev->dst, dst, sizeof dst);
		log_debug("kernel: %s limit of SA spi %08x to %s proto %u: not an installed SA",
			  ev->hard ? "hard" : "soft", ev->spi, dst, ev->proto);
		return;
	}
	if (!ev->hard) {
		p2_soft_expired(p2, ev, inbound);
		return;
	}
	/* the data path has removed this SA already; the other one goes with
	 * the pair, and the peer is told, as at the end of the lifetime */
	if (inbound)
		p2->gone_in = true;
	else
		p2->gone_out = true;
	p2_expire(p2, ev->lifesize);
}

void p2_kernel_event(void *ctx, const struct kernel_event *ev)
{
	struct iked *ike = ctx;
	if (ike->stopping)
		return;
	sa_turn_begin(ike);
	kernel_event(ike, ev);
	sa_turn_end(ike);
}

void p2_neg_timeout(void *arg)
{
	struct p2sa *p2 = arg;
	if (p2->state != P2_ESTABLISHED)
		p2_failed(p2, "negotiation timed out");
}

/* ---- peers -------------------------------------------------------------------- */

void peer_gone(struct iked *ike, const struct ip_addr *peer, struct p1sa *except,
	       const char *why)
{
	const bool tell = false;          /* a dead or rebooted peer has no state to delete */
	/* each delete unlinks only what it deletes, so the next element stays */
	struct p2sa *p2, *p2next;
	for (p2 = LIST_FIRST(&ike->p2_all); p2; p2 = p2next) {
		p2next = LIST_NEXT(p2, all);
		if (memcmp(&p2->yt->peer, peer, sizeof *peer) == 0 && (!except || p2->p1 != except))
			p2_delete(p2, tell, why);
	}
	struct p1sa *p1, *p1next;
	for (p1 = LIST_FIRST(&ike->p1_all); p1; p1 = p1next) {
		p1next = LIST_NEXT(p1, all);
		if (p1 != except && memcmp(&p1->remote.ip, peer, sizeof *peer) == 0)
			p1_delete(p1, tell, why);
	}
}

/* ---- commands ------------------------------------------------------------------ */

/* The rule to reach a peer from this host: its local location must be one
 * address (the source of the IKE messages). */
static const struct ike_rule *rule_to_peer(struct iked *ike, const struct ip_addr *peer,
					   struct ip_addr *local)
{
	for (size_t i = 0; i < ike->ip->nke; i++) {
		const struct ike_rule *r = ike->ip->ke_rules[i];
		if (!r->action || !match_location(&r->remote, peer) || r->local.any_family >= 0 ||
		    r->local.loc.kind != IPR_SINGLE || r->local.loc.family != peer->family)
			continue;
		memset(local, 0, sizeof *local);
		local->family = r->local.loc.family;
		memcpy(local->b, r->local.loc.lo, 16);
		return r;
	}
	return NULL;
}

int ytunnel_activate(struct iked *ike, const char *name, char *out, size_t outlen)
{
	const struct ipsec_filter_rule *r = find_filter_rule(ike->ip, name);
	struct selector lsel, rsel;
	struct ip_addr peer, local;
	if (!r) {
		snprintf(out, outlen, "no IpFilterRule named %s", name);
		return -1;
	}
	if (filter_rule_selectors(r, &lsel, &rsel, out, outlen) ||
	    filter_rule_peer(r, &rsel, &peer, out, outlen))
		return -1;
	if (r->vpn->initiation == INITIATION_REMOTE_ONLY) {
		snprintf(out, outlen, "IpDynVpnAction %s is Initiation RemoteOnly", r->vpn->name);
		return -1;
	}
	const struct ike_rule *kr = rule_to_peer(ike, &peer, &local);
	if (!kr) {
		char p[IP_STRLEN];
		ip_addr_format(&peer, p, sizeof p);
		snprintf(out, outlen, "no KeyExchangeRule with a single-address local Location "
				      "reaches %s", p);
		return -1;
	}
	struct ytunnel *yt = ytunnel_get(ike, r->name, r->vpn->name, &lsel, &rsel, &local, &peer);
	if (!yt) {
		snprintf(out, outlen, "out of memory");
		return -1;
	}
	if (yt->cur && yt->cur->state == P2_ESTABLISHED) {
		snprintf(out, outlen, "Y%u %s already active", yt->id, r->name);
		return 0;
	}
	yt->role = IKE_INITIATOR;
	yt->activation_pending = true;
	yt->vpnlife_ms = (uint64_t)r->vpn->vpnlife * 60000u;
	unsigned id = yt->id;
	char err[200];
	if (ytunnel_refresh(ike, yt, true, err, sizeof err)) {
		snprintf(out, outlen, "Y%u %s not activated: %s", id, r->name, err);
		return -1;
	}
	snprintf(out, outlen, "Y%u %s activation started", id, r->name);
	log_info("Dynamic tunnel Y%u: activation of IpFilterRule %s started by command", id, r->name);
	return 0;
}

void ktunnel_deactivate(struct iked *ike, struct ktunnel *kt, const char *why)
{
	struct p1sa *p1, *next;
	for (p1 = LIST_FIRST(&ike->p1_all); p1; p1 = next) {
		next = LIST_NEXT(p1, all);
		if (p1->kt == kt)
			p1_delete(p1, true, why);
	}
	ktunnel_retire(ike, kt);          /* gone already when it had an SA */
}

void ytunnel_deactivate(struct iked *ike, struct ytunnel *yt, const char *why)
{
	struct p2sa *p2, *next;
	for (p2 = LIST_FIRST(&yt->sas); p2; p2 = next) {
		next = LIST_NEXT(p2, in_tunnel);
		p2_delete(p2, true, why);
	}
	ytunnel_retire(ike, yt);          /* gone already when it had an SA */
}

void iked_shutdown(struct iked *ike)
{
	const char *why = "iked is stopping";
	ike->stopping = true;
	sa_turn_begin(ike);
	struct ytunnel *yt;
	while ((yt = TAILQ_FIRST(&ike->ytunnels)))
		ytunnel_deactivate(ike, yt, why);
	struct ktunnel *kt;
	while ((kt = TAILQ_FIRST(&ike->ktunnels)))
		ktunnel_deactivate(ike, kt, why);
	struct p1sa *p1;
	while ((p1 = LIST_FIRST(&ike->p1_all)))
		p1_delete(p1, true, why);
	sa_turn_end(ike);
}
