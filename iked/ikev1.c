/* iked/ikev1 — the IKEv1 message layer on the way in: header checks,
 * finding the SA a message belongs to, duplicate and replay detection,
 * decryption with the right IV and its rollback when a message does not
 * verify, and dispatch to the exchanges. The way out is xmit.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "iked/crypto.h"
#include "iked/exchange.h"
#include "iked/isakmp.h"

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
	if (ike_msg_hash(&p1->keys, msgid, ni, ni_len, rest, rest_len, h))
		return false;
	return mem_equal(h, m->pl[0].body, p1->keys.prf_len);
}

void packet_digest(const uint8_t *pkt, size_t len, uint8_t out[20])
{
	struct iov v = { pkt, len };
	hash_iov(HASH_SHA1, &v, 1, out);
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
		if (p1->have_last_in && memcmp(d, p1->last_in, 20) == 0) {
			xmit_resend(p1, &p1->xmit);
			return;
		}
		/* a deleted SA's cookie may start a new exchange */
		if (p1->state != P1_DELETED) {
			drop(ike, from, "second first message with the same initiator cookie");
			return;
		}
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
	if (p1->state == P1_ESTABLISHED) {
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
	uint8_t *plain = ike->rx_plain;
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
	uint8_t *plain = ike->rx_plain;
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

/* A deleted phase 1 SA lingers to answer the peer's last message again, in
 * case our answer was lost; nothing else reaches it. */
static void to_deleted(struct p1sa *p1, const uint8_t *pkt, size_t len,
		       const struct ikeaddr *from)
{
	uint8_t d[20];
	packet_digest(pkt, len, d);
	if (p1->have_last_in && memcmp(d, p1->last_in, 20) == 0)
		xmit_resend(p1, &p1->xmit);
	else
		drop(p1->ike, from, "message for a deleted ISAKMP SA");
}

static void input(struct iked *ike, const uint8_t *pkt, size_t len, const struct ikeaddr *from,
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
	if (p1->state == P1_DELETED) {
		to_deleted(p1, pkt, len, from);
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

void ike_input(struct iked *ike, const uint8_t *pkt, size_t len, const struct ikeaddr *from,
	       const struct ikeaddr *to, bool natt)
{
	sa_turn_begin(ike);
	input(ike, pkt, len, from, to, natt);
	sa_turn_end(ike);
}
