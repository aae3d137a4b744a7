/* iked/info — Informational exchanges: notifications (errors, INITIAL-CONTACT,
 * RESPONDER-LIFETIME in Quick Mode is read in quick.c), Delete payloads,
 * dead peer detection (RFC 3706) and NAT-T keepalives (RFC 3948). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "iked/crypto.h"
#include "iked/exchange.h"
#include "iked/isakmp.h"
#include "iked/match.h"

/* ---- sending ------------------------------------------------------------------ */

/* A protected informational message whose body (begun by hashed_body_begin)
 * is complete: a message ID of its own, never retransmitted. A deleted SA
 * says nothing more (its Delete went before it was deleted). */
static void info_send(struct p1sa *p1, struct msgb *body)
{
	uint32_t msgid = msgid_new(p1);
	uint8_t iv[16];
	if (!p1->keys_ready || p1->state == P1_DELETED || qm_iv(p1, msgid, iv)) {
		msgb_free(body);
		return;
	}
	mid_remember(p1, msgid);
	struct xmit x;
	xmit_init(&x, NULL, NULL);
	hashed_send(p1, EXCH_INFO, msgid, iv, body, NULL, 0, &x, false);
	xmit_clear(p1->ike, &x);
}

void notify_add(struct msgb *m, const struct p1sa *p1, uint16_t type, uint8_t proto,
		const uint8_t *spi, size_t spi_size, const uint8_t *data, size_t dlen)
{
	uint8_t cookies[ISAKMP_SPI_LEN];
	if (proto == PROTO_ISAKMP && !spi) {
		isakmp_spi(cookies, p1->icky, p1->rcky);
		spi = cookies;
		spi_size = sizeof cookies;
	}
	struct notify_payload n = { .doi = DOI_IPSEC, .proto = proto, .spi_size = (uint8_t)spi_size,
				    .type = type, .spi = spi, .data = data, .data_len = dlen };
	msgb_pl_begin(m, PL_N);
	notify_encode(&m->b, &n);
	msgb_pl_end(m);
}

void notify_send(struct p1sa *p1, uint16_t type, uint8_t proto, const uint8_t *spi,
		 size_t spi_size, const uint8_t *data, size_t dlen)
{
	struct msgb body;
	hashed_body_begin(p1, &body);
	notify_add(&body, p1, type, proto, spi, spi_size, data, dlen);
	info_send(p1, &body);
}

void notify_plain(struct iked *ike, const struct isakmp_hdr *h, const struct ikeaddr *local,
		  const struct ikeaddr *remote, bool natt, uint16_t type)
{
	uint8_t spi[ISAKMP_SPI_LEN];
	isakmp_spi(spi, h->icookie, h->rcookie);
	struct notify_payload n = { .doi = DOI_IPSEC, .proto = PROTO_ISAKMP, .spi_size = sizeof spi,
				    .type = type, .spi = spi };
	struct msgb m;
	msgb_begin(&m, h->icookie, h->rcookie, EXCH_INFO, 0, 0);
	msgb_pl_begin(&m, PL_N);
	notify_encode(&m.b, &n);
	msgb_pl_end(&m);
	if (!msgb_finish(&m))
		ike_send_raw(ike, local, remote, natt, m.b.d, m.b.len);
	msgb_free(&m);
}

static void delete_send(struct p1sa *p1, uint8_t proto, const uint8_t *spi, uint8_t spi_size)
{
	struct delete_payload d = { .doi = DOI_IPSEC, .proto = proto, .spi_size = spi_size,
				    .nspi = 1, .spis = spi };
	struct msgb body;
	hashed_body_begin(p1, &body);
	msgb_pl_begin(&body, PL_D);
	delete_encode(&body.b, &d);
	msgb_pl_end(&body);
	info_send(p1, &body);
}

void delete_send_p1(struct p1sa *p1)
{
	uint8_t spi[ISAKMP_SPI_LEN];
	isakmp_spi(spi, p1->icky, p1->rcky);
	delete_send(p1, PROTO_ISAKMP, spi, sizeof spi);
}

void delete_send_p2(struct p1sa *p1, const struct p2sa *p2)
{
	uint8_t spi[4];
	put32(spi, p2->spi_in);           /* the SPI the peer knows as its outbound */
	delete_send(p1, PROTO_IPSEC_ESP, spi, sizeof spi);
}

/* ---- receiving ----------------------------------------------------------------- */

static struct p2sa *negotiation_for(struct p1sa *p1, const struct notify_payload *n)
{
	struct p2sa *p2, *only = NULL;
	size_t count = 0;
	LIST_FOREACH(p2, &p1->p2s, by_p1) {
		if (p2->state != P2_I_SENT)
			continue;
		if (n->spi_size == 4 && get32(n->spi) == p2->spi_in)
			return p2;
		only = p2;
		count++;
	}
	return count == 1 ? only : NULL;
}

static void dpd_answer(struct p1sa *p1, const struct notify_payload *n)
{
	uint8_t self[ISAKMP_SPI_LEN];
	isakmp_spi(self, p1->icky, p1->rcky);
	if (n->spi_size != sizeof self || memcmp(n->spi, self, sizeof self) || n->data_len != 4) {
		log_debug("K%u: malformed DPD notification ignored", kid(p1));
		return;
	}
	if (n->type == N_DPD_R_U_THERE) {
		notify_send(p1, N_DPD_R_U_THERE_ACK, PROTO_ISAKMP, NULL, 0, n->data, 4);
		return;
	}
	uint32_t seq = get32(n->data);
	log_debug("K%u: DPD R-U-THERE-ACK %u received", kid(p1), seq);
	if (p1->dpd_outstanding && seq <= p1->dpd_seq) {
		p1->dpd_outstanding = false;
		p1->dpd_missed = 0;
	}
}

static void notify_input(struct p1sa *p1, const struct notify_payload *n, bool protected)
{
	char peer[IP_STRLEN];
	ip_addr_format(&p1->remote.ip, peer, sizeof peer);
	if (protected && (n->type == N_DPD_R_U_THERE || n->type == N_DPD_R_U_THERE_ACK)) {
		dpd_answer(p1, n);
		return;
	}
	if (protected && n->type == N_INITIAL_CONTACT) {
		log_info("K%u: INITIAL-CONTACT from %s", kid(p1), peer);
		peer_gone(p1->ike, &p1->remote.ip, p1, "the peer sent INITIAL-CONTACT");
		return;
	}
	if (n->type >= 1 && n->type < 16384) {
		/* an error: which negotiation does it end? */
		if (p1->state != P1_ESTABLISHED) {
			log_warn("K%u: %s from %s: phase 1 refused by the peer", kid(p1),
				 notify_name(n->type), peer);
			/* an unprotected refusal can be forged: believe it only while
			 * waiting for the first answer; a protected one ends the exchange */
			bool first = p1->state == P1_MM_I_SA || p1->state == P1_AM_I_SA;
			if (protected || (p1->role == IKE_INITIATOR && first)) {
				char why[80];
				snprintf(why, sizeof why, "the peer answered %s", notify_name(n->type));
				p1_failed(p1, why);
			}
			return;
		}
		if (!protected)
			return;
		struct p2sa *p2 = n->proto == PROTO_IPSEC_ESP ? negotiation_for(p1, n) : NULL;
		if (p2) {
			char why[80];
			snprintf(why, sizeof why, "the peer answered %s", notify_name(n->type));
			log_warn("Y%u: Quick Mode refused by %s: %s", p2->yt->id, peer,
				 notify_name(n->type));
			p2_failed(p2, why);
			return;
		}
		log_warn("K%u: %s from %s", kid(p1), notify_name(n->type), peer);
		return;
	}
	log_info("K%u: notification %s (%u) from %s", kid(p1), notify_name(n->type), n->type, peer);
}

static void delete_input(struct p1sa *p1, const struct delete_payload *d)
{
	struct iked *ike = p1->ike;
	for (uint16_t i = 0; i < d->nspi; i++) {
		const uint8_t *spi = d->spis + (size_t)i * d->spi_size;
		if (d->proto == PROTO_ISAKMP && d->spi_size == 16) {
			struct p1sa *x = p1_find(ike, spi, spi + 8);
			if (!x || memcmp(&x->remote.ip, &p1->remote.ip, sizeof x->remote.ip) != 0)
				continue;
			p1_delete(x, false, "deleted by the peer");
		} else if (d->proto == PROTO_IPSEC_ESP && d->spi_size == 4) {
			/* the sender names its inbound SPI, our outbound; a peer that
			 * failed to install an SA may name the other one */
			struct p2sa *p2 = p2_find_spi_out(ike, &p1->remote.ip, get32(spi));
			if (!p2 && (p2 = p2_find_spi_in(ike, get32(spi))) &&
			    (p2->state != P2_ESTABLISHED ||
			     memcmp(&p2->yt->peer, &p1->remote.ip, sizeof p1->remote.ip) != 0))
				p2 = NULL;
			if (p2)
				p2_delete(p2, false, "deleted by the peer");
		}
	}
}

void info_input(struct p1sa *p1, const struct msg *m, uint32_t msgid, bool encrypted)
{
	if (encrypted) {
		if (!hashed_verify(p1, m, msgid, NULL, 0)) {
			log_warn("K%u: informational message whose HASH does not verify ignored",
				 kid(p1));
			return;
		}
		mid_remember(p1, msgid);
		p1_message_verified(p1);
	}
	/* Deletes last: one may end the SA this message came under, and a
	 * deleted SA sends nothing more (info_send), so a DPD answer must go
	 * first. */
	for (size_t i = 0; i < m->npl; i++) {
		const struct payload *p = &m->pl[i];
		struct notify_payload n;
		const char *why;
		if (p->type == PL_N && !notify_decode(p->body, p->body_len, &n, &why))
			notify_input(p1, &n, encrypted);
	}
	if (!encrypted)
		return;
	for (size_t i = 0; i < m->npl; i++) {
		const struct payload *p = &m->pl[i];
		struct delete_payload d;
		const char *why;
		if (p->type == PL_D && !delete_decode(p->body, p->body_len, &d, &why))
			delete_input(p1, &d);
	}
}

/* ---- dead peer detection and keepalives ------------------------------------------- */

void dpd_arm(struct p1sa *p1)
{
	struct iked *ike = p1->ike;
	unsigned interval = ike->ip->liveness;
	if (!interval || !p1->peer_dpd || p1->state != P1_ESTABLISHED || p1->replaced)
		return;
	timer_at(&ike->timers, &p1->t_dpd, p1->last_heard_ms + (uint64_t)interval * 1000);
}

void dpd_timeout(void *arg)
{
	struct p1sa *p1 = arg;
	struct iked *ike = p1->ike;
	uint64_t now = iked_now(ike), interval = (uint64_t)ike->ip->liveness * 1000;
	if (p1->state != P1_ESTABLISHED || p1->replaced || !interval)
		return;
	if (p1->dpd_outstanding && p1->last_heard_ms >= p1->dpd_sent_ms) {
		/* heard from the peer since the last probe */
		p1->dpd_outstanding = false;
		p1->dpd_missed = 0;
	}
	if (!p1->dpd_outstanding && now - p1->last_heard_ms < interval) {
		dpd_arm(p1);
		return;
	}
	if (p1->dpd_outstanding && p1->dpd_missed > ike->ip->ike.retries) {
		char peer[IP_STRLEN];
		ip_addr_format(&p1->remote.ip, peer, sizeof peer);
		log_warn("K%u: dead peer detection: %s did not answer %u R-U-THERE messages", kid(p1),
			 peer, p1->dpd_missed);
		peer_gone(ike, &p1->remote.ip, NULL, "dead peer detection: the peer does not answer");
		return;
	}
	uint8_t seq[4];
	put32(seq, ++p1->dpd_seq);
	if (!p1->dpd_outstanding)
		p1->dpd_sent_ms = now;
	p1->dpd_outstanding = true;
	log_debug("K%u: DPD R-U-THERE %u sent", kid(p1), p1->dpd_seq);
	notify_send(p1, N_DPD_R_U_THERE, PROTO_ISAKMP, NULL, 0, seq, 4);
	timer_at(&ike->timers, &p1->t_dpd, now + xmit_backoff(ike, p1->dpd_missed));
	p1->dpd_missed++;
}

void keepalive_timeout(void *arg)
{
	struct p1sa *p1 = arg;
	struct iked *ike = p1->ike;
	unsigned every = ike->ip->nat_keepalive;
	if (p1->state != P1_ESTABLISHED || !p1->nat_local || !p1->natt_port || !every)
		return;
	uint8_t ka = NATT_KEEPALIVE_BYTE;
	ike_send_raw(ike, &p1->local, &p1->remote, false, &ka, 1);
	timer_at(&ike->timers, &p1->t_keepalive, iked_now(ike) + (uint64_t)every * 1000);
}
