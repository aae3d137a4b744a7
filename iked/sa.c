/* iked/sa — the SA database: phase 1 SAs by cookie, phase 2 SAs by message
 * ID and SPI, and the K/Y tunnels they belong to; and their end. Retiring an
 * SA or a tunnel unlinks it from every list and lookup and stops its timers,
 * but frees nothing: it goes on a reap list freed at the end of the turn
 * (sa_turn_end), so no caller ever holds a pointer to freed memory, and a
 * walk that keeps its next element stays valid as long as a delete unlinks
 * only what it deletes. A phase 1 SA first lingers: still found by its
 * cookies, it answers a retransmission of the peer's last message with its
 * own last message until its linger ends. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/strutil.h"
#include "iked/crypto.h"
#include "iked/dh.h"
#include "iked/exchange.h"
#include "iked/match.h"
#include "policy/policy.h"

static size_t bucket(const uint8_t *icky)
{
	return (size_t)get32(icky) % P1_HASH_BUCKETS;
}

/* A retired phase 1 SA's linger is over: reaped at the end of this turn. */
static void linger_over(void *arg)
{
	struct p1sa *p1 = arg;
	LIST_REMOVE(p1, all);
	LIST_INSERT_HEAD(&p1->ike->p1_dead, p1, all);
}

struct p1sa *p1_new(struct iked *ike, int role, int exch, const struct ikeaddr *local,
		    const struct ikeaddr *remote)
{
	struct p1sa *p1 = calloc(1, sizeof *p1);
	if (!p1)
		return NULL;
	p1->ike = ike;
	p1->role = role;
	p1->exch = exch;
	p1->local = *local;
	p1->remote = *remote;
	p1->state = P1_NONE;
	buf_init(&p1->sai_b);
	buf_init(&p1->idi_b);
	buf_init(&p1->idr_b);
	LIST_INIT(&p1->p2s);
	timer_init(&p1->t_linger, linger_over, p1);
	p1->created_ms = p1->last_heard_ms = iked_now(ike);
	if (role == IKE_INITIATOR) {
		do {
			random_bytes(p1->icky, 8);
		} while (get32(p1->icky) == 0 || p1_find(ike, p1->icky, NULL));
	} else {
		do {
			random_bytes(p1->rcky, 8);
		} while (get32(p1->rcky) == 0);
	}
	LIST_INSERT_HEAD(&ike->p1_all, p1, all);
	if (role == IKE_RESPONDER)
		ike->half_open++;
	return p1;
}

/* Responder SAs are hashed once the initiator cookie is known (at once). */
static void p1_hash(struct p1sa *p1)
{
	LIST_INSERT_HEAD(&p1->ike->p1_by_cookie[bucket(p1->icky)], p1, by_cookie);
}

static void p1_stop_timers(struct p1sa *p1)
{
	struct timers *ts = &p1->ike->timers;
	timer_cancel(ts, &p1->xmit.t);
	timer_cancel(ts, &p1->t_refresh);
	timer_cancel(ts, &p1->t_expire);
	timer_cancel(ts, &p1->t_dpd);
	timer_cancel(ts, &p1->t_keepalive);
	timer_cancel(ts, &p1->t_neg);
}

void p1_retire(struct p1sa *p1, uint64_t linger_ms)
{
	struct iked *ike = p1->ike;
	struct p2sa *p2;
	while ((p2 = LIST_FIRST(&p1->p2s)))
		p2_detach(p2);
	/* established phase 2 SAs outlive their phase 1 SA */
	LIST_FOREACH(p2, &ike->p2_all, all)
		if (p2->p1 == p1)
			p2->p1 = NULL;
	p1->kt = NULL;
	p1_stop_timers(p1);
	/* what it answers with is already built: no secret needs to linger */
	dh_free(p1->dh);
	p1->dh = NULL;
	if (p1->gxy)
		mem_wipe(p1->gxy, p1->gxy_len);
	mem_wipe(&p1->keys, sizeof p1->keys);
	p1->keys_ready = false;
	LIST_REMOVE(p1, all);
	/* only an answer to the peer is worth sending again */
	if (linger_ms && p1->xmit.pkt && p1->have_last_in && p1->by_cookie.le_prev) {
		LIST_INSERT_HEAD(&ike->p1_lingering, p1, all);
		timer_at(&ike->timers, &p1->t_linger, iked_now(ike) + linger_ms);
	} else {
		LIST_INSERT_HEAD(&ike->p1_dead, p1, all);
	}
}

/* Free the memory; p1 is on exactly one of the lists of struct iked. */
static void p1_free(struct p1sa *p1)
{
	struct iked *ike = p1->ike;
	struct p2sa *p2;
	while ((p2 = LIST_FIRST(&p1->p2s)))
		p2_detach(p2);
	p1_stop_timers(p1);
	timer_cancel(&ike->timers, &p1->t_linger);
	xmit_clear(ike, &p1->xmit);
	if (p1->by_cookie.le_prev)
		LIST_REMOVE(p1, by_cookie);
	LIST_REMOVE(p1, all);
	buf_free(&p1->sai_b);
	buf_free(&p1->idi_b);
	buf_free(&p1->idr_b);
	dh_free(p1->dh);
	free(p1->gxi);
	free(p1->gxr);
	if (p1->gxy)
		mem_wipe(p1->gxy, p1->gxy_len);
	free(p1->gxy);
	if (p1->pol)
		policy_unref(p1->pol);
	mem_wipe(&p1->keys, sizeof p1->keys);
	free(p1);
}

static bool cookie_zero(const uint8_t *c)
{
	static const uint8_t z[8];
	return memcmp(c, z, 8) == 0;
}

struct p1sa *p1_find(struct iked *ike, const uint8_t *icky, const uint8_t *rcky)
{
	struct p1sa *p1;
	LIST_FOREACH(p1, &ike->p1_by_cookie[bucket(icky)], by_cookie)
		if (memcmp(p1->icky, icky, 8) == 0 && (!rcky || memcmp(p1->rcky, rcky, 8) == 0))
			return p1;
	return NULL;
}

struct p1sa *p1_find_initiating(struct iked *ike, const uint8_t *icky,
				const struct ikeaddr *remote)
{
	struct p1sa *p1;
	LIST_FOREACH(p1, &ike->p1_by_cookie[bucket(icky)], by_cookie)
		if (p1->role == IKE_INITIATOR && memcmp(p1->icky, icky, 8) == 0 &&
		    cookie_zero(p1->rcky) &&
		    memcmp(&p1->remote.ip, &remote->ip, sizeof remote->ip) == 0)
			return p1;
	return NULL;
}

struct p1sa *p1_find_responder(struct iked *ike, const uint8_t *icky,
			       const struct ikeaddr *remote)
{
	struct p1sa *p1;
	LIST_FOREACH(p1, &ike->p1_by_cookie[bucket(icky)], by_cookie)
		if (p1->role == IKE_RESPONDER && memcmp(p1->icky, icky, 8) == 0 &&
		    memcmp(&p1->remote.ip, &remote->ip, sizeof remote->ip) == 0)
			return p1;
	return NULL;
}

struct p1sa *p1_find_peer(struct iked *ike, const struct ip_addr *local,
			  const struct ip_addr *remote, bool *negotiating)
{
	struct p1sa *p1, *best = NULL, *pending = NULL;
	LIST_FOREACH(p1, &ike->p1_all, all) {
		if (memcmp(&p1->remote.ip, remote, sizeof *remote) != 0)
			continue;
		if (local && memcmp(&p1->local.ip, local, sizeof *local) != 0)
			continue;
		if (p1->state == P1_ESTABLISHED && !p1->replaced) {
			if (!best || p1->established_ms > best->established_ms)
				best = p1;
		} else if (p1->state != P1_ESTABLISHED) {
			pending = p1;
		}
	}
	if (negotiating)
		*negotiating = !best && pending;
	return best ? best : pending;
}

unsigned half_open_for_peer(struct iked *ike, const struct ip_addr *remote)
{
	unsigned n = 0;
	struct p1sa *p1;
	LIST_FOREACH(p1, &ike->p1_all, all)
		if (p1->role == IKE_RESPONDER && p1->state != P1_ESTABLISHED &&
		    memcmp(&p1->remote.ip, remote, sizeof *remote) == 0)
			n++;
	return n;
}

/* Set the cookie a responder SA is found by, and hash it. */
void p1_set_icky(struct p1sa *p1, const uint8_t *icky)
{
	memcpy(p1->icky, icky, 8);
	p1_hash(p1);
}

/* An initiator SA is hashed at once by its own cookie. */
void p1_hash_initiator(struct p1sa *p1)
{
	p1_hash(p1);
}

/* ---- tunnels ----------------------------------------------------------------- */

struct ktunnel *ktunnel_get(struct iked *ike, const char *rule, const char *action,
			    const struct ikeaddr *local, const struct ikeaddr *remote)
{
	struct ktunnel *kt;
	TAILQ_FOREACH(kt, &ike->ktunnels, all)
		if (strcmp(kt->rule, rule) == 0 &&
		    memcmp(&kt->local.ip, &local->ip, sizeof local->ip) == 0 &&
		    memcmp(&kt->remote.ip, &remote->ip, sizeof remote->ip) == 0)
			return kt;
	if (!(kt = calloc(1, sizeof *kt)))
		return NULL;
	kt->id = ++ike->next_kid;
	str_copy(kt->rule, rule, sizeof kt->rule);
	str_copy(kt->action, action ? action : "", sizeof kt->action);
	kt->local = *local;
	kt->remote = *remote;
	kt->created_ms = iked_now(ike);
	TAILQ_INSERT_TAIL(&ike->ktunnels, kt, all);
	return kt;
}

struct ktunnel *ktunnel_by_id(struct iked *ike, unsigned id)
{
	struct ktunnel *kt;
	TAILQ_FOREACH(kt, &ike->ktunnels, all)
		if (kt->id == id)
			return kt;
	return NULL;
}

void ktunnel_retire(struct iked *ike, struct ktunnel *kt)
{
	if (kt->retired)
		return;
	kt->retired = true;
	TAILQ_REMOVE(&ike->ktunnels, kt, all);
	TAILQ_INSERT_TAIL(&ike->kt_dead, kt, all);
}

struct ytunnel *ytunnel_get(struct iked *ike, const char *rule, const char *action,
			    const struct selector *lsel, const struct selector *rsel,
			    const struct ip_addr *local_ep, const struct ip_addr *peer)
{
	struct ytunnel *yt;
	TAILQ_FOREACH(yt, &ike->ytunnels, all)
		if (strcmp(yt->rule, rule) == 0 && selector_equal(&yt->lsel, lsel) &&
		    selector_equal(&yt->rsel, rsel) &&
		    memcmp(&yt->peer, peer, sizeof *peer) == 0)
			return yt;
	if (!(yt = calloc(1, sizeof *yt)))
		return NULL;
	yt->id = ++ike->next_yid;
	str_copy(yt->rule, rule, sizeof yt->rule);
	str_copy(yt->action, action ? action : "", sizeof yt->action);
	yt->lsel = *lsel;
	yt->rsel = *rsel;
	yt->local_ep = *local_ep;
	yt->peer = *peer;
	yt->created_ms = iked_now(ike);
	LIST_INIT(&yt->sas);
	TAILQ_INSERT_TAIL(&ike->ytunnels, yt, all);
	return yt;
}

struct ytunnel *ytunnel_by_id(struct iked *ike, unsigned id)
{
	struct ytunnel *yt;
	TAILQ_FOREACH(yt, &ike->ytunnels, all)
		if (yt->id == id)
			return yt;
	return NULL;
}

void ytunnel_retire(struct iked *ike, struct ytunnel *yt)
{
	if (yt->retired)
		return;
	yt->retired = true;
	TAILQ_REMOVE(&ike->ytunnels, yt, all);
	TAILQ_INSERT_TAIL(&ike->yt_dead, yt, all);
}

/* ---- phase 2 ----------------------------------------------------------------- */

struct p2sa *p2_new(struct iked *ike, struct ytunnel *yt, struct p1sa *p1, int role)
{
	struct p2sa *p2 = calloc(1, sizeof *p2);
	if (!p2)
		return NULL;
	p2->ike = ike;
	p2->yt = yt;
	p2->role = role;
	p2->state = P2_NONE;
	p2->created_ms = iked_now(ike);
	p2->lsel = yt->lsel;
	p2->rsel = yt->rsel;
	p2->send_ids = true;
	LIST_INSERT_HEAD(&yt->sas, p2, in_tunnel);
	LIST_INSERT_HEAD(&ike->p2_all, p2, all);
	if (p1)
		p2_attach(p2, p1);
	return p2;
}

void p2_attach(struct p2sa *p2, struct p1sa *p1)
{
	if (p2->by_p1.le_prev)
		LIST_REMOVE(p2, by_p1);
	p2->p1 = p1;
	p2->parent_kid = kid(p1);
	LIST_INSERT_HEAD(&p1->p2s, p2, by_p1);
}

void p2_detach(struct p2sa *p2)
{
	if (p2->by_p1.le_prev) {
		LIST_REMOVE(p2, by_p1);
		p2->by_p1.le_prev = NULL;
	}
}

static void p2_stop_timers(struct p2sa *p2)
{
	struct timers *ts = &p2->ike->timers;
	timer_cancel(ts, &p2->xmit.t);
	timer_cancel(ts, &p2->t_refresh);
	timer_cancel(ts, &p2->t_expire);
	timer_cancel(ts, &p2->t_neg);
}

void p2_retire(struct p2sa *p2)
{
	p2_detach(p2);
	p2_stop_timers(p2);
	LIST_REMOVE(p2, in_tunnel);
	p2->in_tunnel.le_prev = NULL;
	LIST_REMOVE(p2, all);
	LIST_INSERT_HEAD(&p2->ike->p2_dead, p2, all);
}

/* Free the memory; p2 is on p2_all or p2_dead. */
static void p2_free(struct p2sa *p2)
{
	p2_detach(p2);
	p2_stop_timers(p2);
	xmit_clear(p2->ike, &p2->xmit);
	if (p2->in_tunnel.le_prev)
		LIST_REMOVE(p2, in_tunnel);
	LIST_REMOVE(p2, all);
	dh_free(p2->dh);
	if (p2->gxy)
		mem_wipe(p2->gxy, p2->gxy_len);
	free(p2->gxy);
	mem_wipe(p2->key_in, sizeof p2->key_in);
	mem_wipe(p2->key_out, sizeof p2->key_out);
	free(p2);
}

struct p2sa *p2_find_msgid(struct p1sa *p1, uint32_t msgid)
{
	struct p2sa *p2;
	LIST_FOREACH(p2, &p1->p2s, by_p1)
		if (p2->msgid == msgid)
			return p2;
	return NULL;
}

struct p2sa *p2_find_spi_in(struct iked *ike, uint32_t spi)
{
	struct p2sa *p2;
	LIST_FOREACH(p2, &ike->p2_all, all)
		if (p2->spi_in == spi)
			return p2;
	return NULL;
}

struct p2sa *p2_find_spi_out(struct iked *ike, const struct ip_addr *peer, uint32_t spi)
{
	struct p2sa *p2;
	LIST_FOREACH(p2, &ike->p2_all, all)
		if (p2->spi_out == spi && p2->state == P2_ESTABLISHED &&
		    memcmp(&p2->yt->peer, peer, sizeof *peer) == 0)
			return p2;
	return NULL;
}

uint32_t spi_alloc(struct iked *ike)
{
	for (int tries = 0; tries < 64; tries++) {
		uint32_t spi = random_u32();
		if (spi >= 256 && !p2_find_spi_in(ike, spi))
			return spi;
	}
	return 0;
}

/* ---- message IDs used under a phase 1 SA --------------------------------------- */

bool mid_seen(struct p1sa *p1, uint32_t msgid)
{
	for (size_t i = 0; i < p1->ndone_mids && i < P1_MAX_IDLE_MIDS; i++)
		if (p1->done_mids[i] == msgid)
			return true;
	return false;
}

void mid_remember(struct p1sa *p1, uint32_t msgid)
{
	p1->done_mids[p1->ndone_mids % P1_MAX_IDLE_MIDS] = msgid;
	p1->ndone_mids++;
}

uint32_t msgid_new(struct p1sa *p1)
{
	for (int tries = 0; tries < 64; tries++) {
		uint32_t m = random_u32();
		if (m && !mid_seen(p1, m) && !p2_find_msgid(p1, m))
			return m;
	}
	return 1;
}

/* ---- SA cache keys -------------------------------------------------------------- */

void cache_key_k(char *buf, size_t len, const char *rule, const struct ip_addr *local,
		 const struct ip_addr *remote)
{
	char l[IP_STRLEN], r[IP_STRLEN];
	ip_addr_format(local, l, sizeof l);
	ip_addr_format(remote, r, sizeof r);
	snprintf(buf, len, "K|%s|%s|%s", rule, l, r);
}

void cache_key_y(char *buf, size_t len, const char *rule, const struct selector *l,
		 const struct selector *r, const struct ip_addr *peer)
{
	char a[IP_RANGE_STRLEN + 32], b[IP_RANGE_STRLEN + 32], p[IP_STRLEN];
	selector_format(l, a, sizeof a);
	selector_format(r, b, sizeof b);
	ip_addr_format(peer, p, sizeof p);
	snprintf(buf, len, "Y|%s|%s|%s|%s", rule, a, b, p);
}

/* ---- the end of a turn ------------------------------------------------------------ */

void sa_turn_begin(struct iked *ike)
{
	ike->turn_depth++;
}

/* Free what the turn retired: SA pairs before their tunnels, phase 1 SAs
 * whose linger is over before theirs (nothing retired points at a live
 * object, and nothing live at a retired one). */
static void reap(struct iked *ike)
{
	struct p2sa *p2;
	while ((p2 = LIST_FIRST(&ike->p2_dead)))
		p2_free(p2);
	struct ytunnel *yt;
	while ((yt = TAILQ_FIRST(&ike->yt_dead))) {
		TAILQ_REMOVE(&ike->yt_dead, yt, all);
		free(yt);
	}
	struct p1sa *p1;
	while ((p1 = LIST_FIRST(&ike->p1_dead)))
		p1_free(p1);
	struct ktunnel *kt;
	while ((kt = TAILQ_FIRST(&ike->kt_dead))) {
		TAILQ_REMOVE(&ike->kt_dead, kt, all);
		free(kt);
	}
}

void sa_turn_end(struct iked *ike)
{
	if (ike->turn_depth && --ike->turn_depth)
		return;
	reap(ike);
}

void sa_free_all(struct iked *ike)
{
	struct p2sa *p2;
	while ((p2 = LIST_FIRST(&ike->p2_all)))
		p2_free(p2);
	struct ytunnel *yt;
	while ((yt = TAILQ_FIRST(&ike->ytunnels)))
		ytunnel_retire(ike, yt);
	struct p1sa *p1;
	while ((p1 = LIST_FIRST(&ike->p1_all)))
		p1_free(p1);
	while ((p1 = LIST_FIRST(&ike->p1_lingering)))
		p1_free(p1);
	struct ktunnel *kt;
	while ((kt = TAILQ_FIRST(&ike->ktunnels)))
		ktunnel_retire(ike, kt);
	reap(ike);
}
