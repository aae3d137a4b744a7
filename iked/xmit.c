/* iked/xmit — the IKEv1 message layer on the way out: framing for the NAT-T
 * port, encryption, the HASH(1)/HASH(2) protection of phase 2 and
 * informational messages, and keeping an exchange's last message to
 * retransmit it with backoff or to answer a retransmitted request. Uses
 * nothing of the SA database: an SA is only where addresses, keys and the
 * message to keep come from. */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "iked/crypto.h"
#include "iked/exchange.h"
#include "iked/isakmp.h"

void ike_send_raw(struct iked *ike, const struct ikeaddr *from, const struct ikeaddr *to,
		  bool natt, const uint8_t *pkt, size_t len)
{
	const uint8_t *out = pkt;
	if (natt) {
		/* RFC 3948: IKE on the NAT-T port starts with four zero bytes */
		uint8_t *framed = ike->tx_framed;
		if (len > ISAKMP_MAX_MSG)
			return;
		memset(framed, 0, NON_ESP_MARKER_LEN);
		memcpy(framed + NON_ESP_MARKER_LEN, pkt, len);
		out = framed;
		len += NON_ESP_MARKER_LEN;
	}
	ike->tx_packets++;
	if (ike->net.send && ike->net.send(ike->net.ctx, from, to, out, len) < 0)
		log_debug("send to peer failed");
}

void xmit_init(struct xmit *x, timer_fn *fn, void *arg)
{
	memset(x, 0, sizeof *x);
	timer_init(&x->t, fn, arg);
}

void xmit_clear(struct iked *ike, struct xmit *x)
{
	timer_cancel(&ike->timers, &x->t);
	free(x->pkt);
	x->pkt = NULL;
	x->len = 0;
	x->tries = 0;
	x->waiting = false;
}

uint64_t xmit_backoff(struct iked *ike, unsigned tries)
{
	unsigned init = ike->ip->ike.init_wait ? ike->ip->ike.init_wait : 2;
	unsigned max = ike->ip->ike.max_wait ? ike->ip->ike.max_wait : 8;
	uint64_t s = init;
	for (unsigned i = 0; i < tries && s < max; i++)
		s *= 2;
	if (s > max)
		s = max;
	return s * 1000;
}

uint64_t xmit_patience(struct iked *ike)
{
	return (uint64_t)(ike->ip->ike.retries + 1) * xmit_backoff(ike, ike->ip->ike.retries) + 1000;
}

static int xmit_store(struct iked *ike, struct xmit *x, const uint8_t *pkt, size_t len,
		      bool waiting)
{
	xmit_clear(ike, x);
	if (!(x->pkt = malloc(len)))
		return -1;
	memcpy(x->pkt, pkt, len);
	x->len = len;
	x->waiting = waiting;
	if (waiting)
		timer_at(&ike->timers, &x->t, iked_now(ike) + xmit_backoff(ike, 0));
	return 0;
}

void xmit_resend(struct p1sa *p1, struct xmit *x)
{
	if (!x->pkt)
		return;
	p1->bytes += x->len;
	ike_send_raw(p1->ike, &p1->local, &p1->remote, p1->natt_port, x->pkt, x->len);
}

bool xmit_retry(struct p1sa *p1, struct xmit *x)
{
	struct iked *ike = p1->ike;
	if (!x->pkt || !x->waiting)
		return true;
	if (x->tries >= ike->ip->ike.retries)
		return false;
	x->tries++;
	xmit_resend(p1, x);
	timer_at(&ike->timers, &x->t, iked_now(ike) + xmit_backoff(ike, x->tries));
	return true;
}

int p1_send(struct p1sa *p1, struct msgb *m, struct xmit *x, bool waiting)
{
	if (msgb_finish(m)) {
		log_err("K%u: cannot build a message (out of memory)", kid(p1));
		msgb_free(m);
		return -1;
	}
	int rc = xmit_store(p1->ike, x, m->b.d, m->b.len, waiting);
	p1->bytes += m->b.len;
	ike_send_raw(p1->ike, &p1->local, &p1->remote, p1->natt_port, m->b.d, m->b.len);
	msgb_free(m);
	return rc;
}

int ike_encrypt_into(struct p1sa *p1, struct msgb *hdr, struct msgb *body, uint8_t iv[16])
{
	if (body->b.err || hdr->b.err) {
		msgb_free(body);
		return -1;
	}
	size_t pad = (16 - body->b.len % 16) % 16;
	buf_zero(&body->b, pad);
	if (body->b.err ||
	    aes_cbc_encrypt(p1->keys.enc, p1->keys.enc_len, iv, body->b.d, body->b.len)) {
		msgb_free(body);
		return -1;
	}
	hdr->b.d[16] = body->first;
	buf_add(&hdr->b, body->b.d, body->b.len);
	msgb_free(body);
	return hdr->b.err ? -1 : 0;
}

void hashed_body_begin(struct p1sa *p1, struct msgb *body)
{
	msgb_begin_body(body);
	msgb_pl_begin(body, PL_HASH);
	buf_zero(&body->b, p1->keys.prf_len);
	msgb_pl_end(body);
}

int hashed_send(struct p1sa *p1, uint8_t exch, uint32_t msgid, uint8_t iv[16],
		struct msgb *body, const uint8_t *ni, size_t ni_len, struct xmit *x, bool waiting)
{
	size_t rest = ISAKMP_GEN_LEN + p1->keys.prf_len;
	if (body->b.err || body->b.len < rest) {
		msgb_free(body);
		return -1;
	}
	uint8_t h[HASH_MAX_LEN];
	if (ike_msg_hash(&p1->keys, msgid, ni, ni_len, body->b.d + rest, body->b.len - rest, h)) {
		msgb_free(body);
		return -1;
	}
	memcpy(body->b.d + ISAKMP_GEN_LEN, h, p1->keys.prf_len);
	struct msgb m;
	msgb_begin(&m, p1->icky, p1->rcky, exch, ISAKMP_FLAG_ENC, msgid);
	if (ike_encrypt_into(p1, &m, body, iv)) {
		msgb_free(&m);
		return -1;
	}
	return p1_send(p1, &m, x, waiting);
}
