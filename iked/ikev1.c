/* iked/ikev1 — the IKEv1 message layer: header checks, finding the SA a
 * message belongs to, duplicate and replay detection, decryption with the
 * right IV, dispatch to the exchanges; and on the way out, encryption,
 * sending and retransmission with backoff. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "iked/crypto.h"
#include "iked/exchange.h"
#include "iked/isakmp.h"
#include "policy/schema.h"

/* ---- sending ----------------------------------------------------------------- */

void ike_send_raw(struct iked *ike, const struct ikeaddr *from, const struct ikeaddr *to,
		  bool natt, const uint8_t *pkt, size_t len)
{
	uint8_t framed[ISAKMP_MAX_MSG + NON_ESP_MARKER_LEN];
	const uint8_t *out = pkt;
	if (natt) {
		/* RFC 3948: IKE on the NAT-T port starts with four zero bytes */
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

static int hash_12(struct p1sa *p1, uint32_t msgid, const uint8_t *ni, size_t ni_len,
		   const uint8_t *rest, size_t rest_len, uint8_t *out)
{
	uint8_t m[4];
	put32(m, msgid);
	struct iov v[] = { { m, 4 }, { ni, ni ? ni_len : 0 }, { rest, rest_len } };
	return prf_iov(p1->keys.hash, p1->keys.skeyid_a, p1->keys.prf_len, v, 3, out);
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
	if (hash_12(p1, msgid, ni, ni_len, body->b.d + rest, body->b.len - rest, h)) {
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

bool hashed_verify(struct p1sa *p1, const struct msg *m, uint32_t msgid, const uint8_t *ni,
		   size_t ni_len)
{
	if (m->npl < 1 || m->pl[0].type != PL_HASH || m->pl[0].body_len != p1->keys.prf_len)
		return false;
	const uint8_t *rest = NULL;
	size_t rest_len = 0;
	if (m->npl > 1) {
		const struct payload *last = &m->pl[m->npl - 1];
		rest = m->pl[1].hdr;
		rest_len = (size_t)(last->hdr + last->len - rest);
	}
	uint8_t h[HASH_MAX_LEN];
	if (hash_12(p1, msgid, ni, ni_len, rest, rest_len, h))
		return false;
	return mem_equal(h, m->pl[0].body, p1->keys.prf_len);
}

void log_keys(struct iked *ike, const char *tunnel, const char *name, const uint8_t *v, size_t n)
{
	if (!ike->log_keys)
		return;
	char hex[2 * 512 + 1];
	size_t k = 0;
	for (size_t i = 0; i < n && k + 2 < sizeof hex; i++)
		k += (size_t)snprintf(hex + k, sizeof hex - k, "%02x", v[i]);
	hex[k] = '\0';
	log_info("keys %s %s=%s", tunnel, name, hex);
}

void packet_digest(const uint8_t *pkt, size_t len, uint8_t out[20])
{
	struct iov v = { pkt, len };
	hash_iov(HASH_SHA1, &v, 1, out);
}

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

void p1_message_verified(struct p1sa *p1)
{
	p1->last_heard_ms = iked_now(p1->ike);
	if (!p1->rx_natt || !p1->peer_natt)
		return;
	if (p1->natt_port && p1->remote.port == p1->rx_from.port)
		return;
	if (p1->natt_port)
		log_info("K%u: the peer's NAT-T port changed from %u to %u", kid(p1),
			 p1->remote.port, p1->rx_from.port);
	p1->remote.port = p1->rx_from.port;
	p1->local.port = p1->rx_to.port;
	p1->natt_port = true;
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

/* ---- receiving ---------------------------------------------------------------- */

/* Drops are common on the Internet and cheap to cause: one debug line each,
 * the counter tells the rest. */
static void drop(struct iked *ike, const struct ikeaddr *from, const char *why)
{
	char a[IP_STRLEN];
	ip_addr_format(&from->ip, a, sizeof a);
	ike->rx_dropped++;
	log_debug("dropped a message from %s:%u: %s", a, from->port, why);
}

static bool same_ip(const struct ip_addr *a, const struct ip_addr *b)
{
	return memcmp(a, b, sizeof *a) == 0;
}

/* Decrypt the body of pkt into out (which receives at most len-28 bytes) with
 * a copy of iv; iv_next gets the last ciphertext block. */
static int decrypt_body(struct p1sa *p1, const uint8_t *pkt, size_t len, const uint8_t iv[16],
			uint8_t *out, size_t *outlen, uint8_t iv_next[16])
{
	size_t n = len - ISAKMP_HDR_LEN;
	if (!p1->keys_ready || n == 0 || n % AES_BLOCK)
		return -1;
	uint8_t v[16];
	memcpy(v, iv, 16);
	memcpy(out, pkt + ISAKMP_HDR_LEN, n);
	memcpy(iv_next, pkt + len - AES_BLOCK, AES_BLOCK);
	if (aes_cbc_decrypt(p1->keys.enc, p1->keys.enc_len, v, out, n))
		return -1;
	*outlen = n;
	return 0;
}

static void first_message(struct iked *ike, const struct isakmp_hdr *h, const uint8_t *pkt,
			  size_t len, const struct ikeaddr *from, const struct ikeaddr *to, bool natt)
{
	const char *why = "";
	if ((h->exch != EXCH_MAIN && h->exch != EXCH_AGGRESSIVE) || (h->flags & ISAKMP_FLAG_ENC) ||
	    h->msgid != 0) {
		drop(ike, from, "responder cookie zero outside the first Main/Aggressive message");
		return;
	}
	struct p1sa *p1 = p1_find_responder(ike, h->icookie, from);
	if (p1) {
		uint8_t d[20];
		packet_digest(pkt, len, d);
		if (p1->have_last_in && memcmp(d, p1->last_in, 20) == 0)
			xmit_resend(p1, &p1->xmit);
		else
			drop(ike, from, "second first message with the same initiator cookie");
		return;
	}
	struct msg m;
	m.hdr = *h;
	m.raw = pkt;
	m.raw_len = len;
	int rc = payloads_decode(h->np, pkt + ISAKMP_HDR_LEN, len - ISAKMP_HDR_LEN, false, &m, &why);
	if (rc) {
		drop(ike, from, why);
		return;
	}
	p1_respond(ike, h, &m, pkt, len, to, from, natt);
}

/* Returns what became of the message: IN_OK, IN_IGNORED (dropped or not
 * verified: the SA is as before) or IN_GONE. */
static int phase1_message(struct p1sa *p1, const struct isakmp_hdr *h, const uint8_t *pkt,
			   size_t len, const struct ikeaddr *from, const uint8_t digest[20])
{
	struct iked *ike = p1->ike;
	const char *why = "";
	if (p1->have_last_in && memcmp(digest, p1->last_in, 20) == 0) {
		/* the peer did not get our answer: send it again, change nothing */
		xmit_resend(p1, &p1->xmit);
		return IN_IGNORED;
	}
	if (p1->state == P1_ESTABLISHED || p1->state == P1_DELETED) {
		drop(ike, from, "phase 1 message for a finished exchange");
		return IN_IGNORED;
	}
	struct msg m;
	m.hdr = *h;
	m.raw = pkt;
	m.raw_len = len;
	if (!(h->flags & ISAKMP_FLAG_ENC)) {
		if (payloads_decode(h->np, pkt + ISAKMP_HDR_LEN, len - ISAKMP_HDR_LEN, false, &m,
				    &why)) {
			drop(ike, from, why);
			return IN_IGNORED;
		}
		bool saved_have = p1->have_last_in;
		uint8_t saved_last[20];
		memcpy(saved_last, p1->last_in, 20);
		memcpy(p1->last_in, digest, 20);
		p1->have_last_in = true;
		int rc = p1_input(p1, &m, false);
		if (rc == IN_IGNORED) {
			memcpy(p1->last_in, saved_last, 20);
			p1->have_last_in = saved_have;
		} else if (rc == IN_OK) {
			p1->last_heard_ms = iked_now(ike);
		}
		return rc;
	}
	static uint8_t plain[ISAKMP_MAX_MSG];
	size_t plen;
	uint8_t iv_next[16];
	if (decrypt_body(p1, pkt, len, p1->iv, plain, &plen, iv_next)) {
		drop(ike, from, "encrypted phase 1 message cannot be decrypted");
		return IN_IGNORED;
	}
	if (payloads_decode(h->np, plain, plen, true, &m, &why)) {
		/* garbage after decryption: a forgery, or keys that differ - with
		 * pre-shared keys the usual cause is a different key, so say so
		 * (once) where an operator will look */
		drop(ike, from, why);
		if (!p1->warned_garbled) {
			char a[IP_STRLEN];
			ip_addr_format(&from->ip, a, sizeof a);
			log_warn("K%u: an encrypted phase 1 message from %s does not decrypt to a valid "
				 "message (a different pre-shared key?)", kid(p1), a);
			p1->warned_garbled = true;
		}
		return IN_IGNORED;
	}
	/* The IV moves on to the last ciphertext block; a message that does not
	 * verify must leave the SA as it was, so a forgery cannot desynchronise it. */
	uint8_t saved_iv[16], saved_last[20];
	bool saved_have = p1->have_last_in;
	memcpy(saved_iv, p1->iv, 16);
	memcpy(saved_last, p1->last_in, 20);
	memcpy(p1->last_in, digest, 20);
	p1->have_last_in = true;
	memcpy(p1->iv, iv_next, 16);
	int rc = p1_input(p1, &m, true);
	if (rc == IN_IGNORED) {
		memcpy(p1->iv, saved_iv, 16);
		memcpy(p1->last_in, saved_last, 20);
		p1->have_last_in = saved_have;
	} else if (rc == IN_OK) {
		p1_message_verified(p1);
	}
	return rc;
}

static void phase2_message(struct p1sa *p1, const struct isakmp_hdr *h, const uint8_t *pkt,
			   size_t len, const struct ikeaddr *from, const uint8_t digest[20])
{
	struct iked *ike = p1->ike;
	const char *why = "";
	if (!(h->flags & ISAKMP_FLAG_ENC) || !p1->keys_ready) {
		drop(ike, from, "unencrypted message under an ISAKMP SA");
		return;
	}
	if (h->exch != EXCH_QUICK && h->exch != EXCH_INFO) {
		drop(ike, from, "exchange other than Quick Mode or Informational with a message ID");
		return;
	}
	uint8_t iv[16];
	struct p2sa *p2 = NULL;
	if (h->exch == EXCH_QUICK) {
		if (p1->state != P1_ESTABLISHED) {
			drop(ike, from, "Quick Mode before phase 1 completed");
			return;
		}
		p2 = p2_find_msgid(p1, h->msgid);
		if (p2 && p2->have_last_in && memcmp(p2->last_in, digest, 20) == 0) {
			xmit_resend(p1, &p2->xmit);
			return;
		}
	}
	if (!p2 && mid_seen(p1, h->msgid)) {
		drop(ike, from, "message ID already used (replay)");
		return;
	}
	if (p2)
		memcpy(iv, p2->iv, 16);
	else if (qm_iv(p1, h->msgid, iv))
		return;
	static uint8_t plain[ISAKMP_MAX_MSG];
	size_t plen;
	uint8_t iv_next[16];
	struct msg m;
	m.hdr = *h;
	m.raw = pkt;
	m.raw_len = len;
	if (decrypt_body(p1, pkt, len, iv, plain, &plen, iv_next) ||
	    payloads_decode(h->np, plain, plen, true, &m, &why)) {
		drop(ike, from, *why ? why : "cannot decrypt");
		return;
	}
	if (h->exch == EXCH_QUICK)
		qm_input(p1, p2, &m, h->msgid, iv_next);
	else
		info_input(p1, &m, h->msgid, true);
	(void)digest;
}

void ike_input(struct iked *ike, const uint8_t *pkt, size_t len, const struct ikeaddr *from,
	       const struct ikeaddr *to, bool natt)
{
	struct isakmp_hdr h;
	const char *why = "";
	ike->rx_packets++;
	if (isakmp_hdr_decode(pkt, len, &h, &why)) {
		drop(ike, from, why);
		return;
	}
	static const uint8_t zero[8];
	if (memcmp(h.rcookie, zero, 8) == 0) {
		first_message(ike, &h, pkt, len, from, to, natt);
		return;
	}
	struct p1sa *p1 = p1_find(ike, h.icookie, h.rcookie);
	bool tentative_rcky = false;
	if (!p1 && (p1 = p1_find_initiating(ike, h.icookie, from))) {
		/* the responder's first answer names its cookie; it is kept only if
		 * that answer is taken, so a forged one cannot lock the real one out */
		if (h.exch == p1->exch && h.msgid == 0 && !(h.flags & ISAKMP_FLAG_ENC)) {
			memcpy(p1->rcky, h.rcookie, 8);
			tentative_rcky = true;
		} else if (h.exch == EXCH_INFO && !(h.flags & ISAKMP_FLAG_ENC)) {
			/* e.g. NO-PROPOSAL-CHOSEN for our first message */
		} else {
			p1 = NULL;
		}
	}
	if (!p1) {
		drop(ike, from, "no ISAKMP SA with these cookies");
		return;
	}
	if (!same_ip(&p1->remote.ip, &from->ip)) {
		drop(ike, from, "message for an ISAKMP SA from another address");
		return;
	}
	p1->rx_from = *from;
	p1->rx_to = *to;
	p1->rx_natt = natt;
	p1->bytes += len;
	uint8_t digest[20];
	packet_digest(pkt, len, digest);
	if (h.exch == EXCH_INFO && !(h.flags & ISAKMP_FLAG_ENC)) {
		struct msg m;
		m.hdr = h;
		m.raw = pkt;
		m.raw_len = len;
		if (payloads_decode(h.np, pkt + ISAKMP_HDR_LEN, len - ISAKMP_HDR_LEN, false, &m,
				    &why)) {
			drop(ike, from, why);
			return;
		}
		info_input(p1, &m, h.msgid, false);
		return;
	}
	if (h.msgid == 0) {
		if (h.exch != p1->exch) {
			drop(ike, from, "phase 1 message of another exchange type");
			return;
		}
		int rc = phase1_message(p1, &h, pkt, len, from, digest);
		if (tentative_rcky && rc == IN_IGNORED)
			memset(p1->rcky, 0, 8);
		return;
	}
	phase2_message(p1, &h, pkt, len, from, digest);
}
