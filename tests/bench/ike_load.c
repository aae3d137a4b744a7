/*
 * tests/bench/ike_load — an IKEv1 initiator built to load a responder: it
 * keeps K negotiations in flight (Main Mode with a pre-shared key, then one
 * Quick Mode with PFS, then Deletes for both SAs) from many source
 * addresses, and reports how many completed per second. Run by
 * scripts/bench-ike against iked and against charon; never part of a test
 * except its smoke run.
 *
 * It is cheap on purpose, so that on a small machine the responder is what
 * runs out of CPU: one Diffie-Hellman key pair per group for the whole run
 * (computed once), one shared secret per negotiation (phase 1; the PFS
 * secret and KEYMAT are never computed because no ESP packet is ever sent),
 * nonces and cookies from a fast generator, no allocation per message. The
 * responder sees an ordinary initiator behind a NAT: the initiator's NAT-D
 * hash is deliberately off, so both iked and charon (whose kernel-libipsec
 * forces NAT-T anyway) float to port 4500 and negotiate UDP-encapsulated
 * tunnel mode: the same exchange on both.
 *
 * Uses iked's own codec, crypto, DH and key derivation.
 *
 *   ike_load --peer ADDR --src ADDR --nsrc N --psk TEXT --remote-ts ADDR
 *            [--group 14|19|...] [--concurrency K] [--count N] [--seconds S]
 *            [--timeout-ms MS] [--retries R] [--no-delete] [--verbose]
 *
 * Prints one line of key=value pairs; exits 0 when every negotiation it
 * started completed, 1 otherwise (2: usage or setup error).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "iked/codec.h"
#include "iked/crypto.h"
#include "iked/dh.h"
#include "iked/isakmp.h"
#include "iked/keys.h"
#include "policy/schema.h"

#define IKE_PORT     500
#define NATT_PORT    4500
#define LOAD_NONCE   32
#define LIFE_SECS    3600
#define MAX_SLOTS    4096
#define MAX_PKT      4096
#define MAX_FAIL_LOG 5

/* ---- configuration ------------------------------------------------------- */

struct config {
	struct in_addr peer, src, local_ts, remote_ts;
	unsigned nsrc, concurrency, count, retries;
	double seconds;
	unsigned timeout_ms, delete_after_ms;
	int group;
	const char *psk;
	bool delete, verbose;
};

static int usage(void)
{
	fprintf(stderr,
		"usage: ike_load --peer ADDR --src ADDR --nsrc N --psk TEXT\n"
		"                --local-ts ADDR --remote-ts ADDR [--group N] [--concurrency K]\n"
		"                [--count N] [--seconds S] [--timeout-ms MS] [--retries R]\n"
		"                [--delete-after-ms MS] [--no-delete] [--verbose]\n");
	return 2;
}

static int parse_args(int argc, char **argv, struct config *c)
{
	static const struct option opts[] = {
		{ "peer", required_argument, NULL, 'p' },
		{ "src", required_argument, NULL, 's' },
		{ "nsrc", required_argument, NULL, 'n' },
		{ "psk", required_argument, NULL, 'k' },
		{ "local-ts", required_argument, NULL, 'l' },
		{ "remote-ts", required_argument, NULL, 'r' },
		{ "delete-after-ms", required_argument, NULL, 'd' },
		{ "group", required_argument, NULL, 'g' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "count", required_argument, NULL, 'N' },
		{ "seconds", required_argument, NULL, 'S' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "retries", required_argument, NULL, 'R' },
		{ "no-delete", no_argument, NULL, 'D' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	*c = (struct config){ .nsrc = 1, .concurrency = 1, .retries = 3, .timeout_ms = 2000,
			      .group = 14, .delete = true, .delete_after_ms = 100 };
	bool have_peer = false, have_src = false, have_lts = false, have_ts = false;
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'p': have_peer = inet_pton(AF_INET, optarg, &c->peer) == 1; break;
		case 's': have_src = inet_pton(AF_INET, optarg, &c->src) == 1; break;
		case 'l': have_lts = inet_pton(AF_INET, optarg, &c->local_ts) == 1; break;
		case 'r': have_ts = inet_pton(AF_INET, optarg, &c->remote_ts) == 1; break;
		case 'd': c->delete_after_ms = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'n': c->nsrc = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'k': c->psk = optarg; break;
		case 'g': c->group = atoi(optarg); break;
		case 'c': c->concurrency = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'N': c->count = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'S': c->seconds = strtod(optarg, NULL); break;
		case 't': c->timeout_ms = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'R': c->retries = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'D': c->delete = false; break;
		case 'v': c->verbose = true; break;
		default: return usage();
		}
	}
	if (optind != argc || !have_peer || !have_src || !have_lts || !have_ts || !c->psk || !c->nsrc ||
	    c->nsrc > 65536 || !c->concurrency || c->concurrency > MAX_SLOTS ||
	    !dh_group_supported(c->group) || !c->timeout_ms || (!c->count && c->seconds <= 0))
		return usage();
	return 0;
}

/* ---- small helpers --------------------------------------------------------- */

static uint64_t rng_state;

/* xorshift64*: cookies, nonces, message IDs and SPIs of a load generator
 * need to be distinct, not secret. */
static uint64_t rnd64(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static void rnd_fill(uint8_t *p, size_t n)
{
	while (n) {
		uint64_t v = rnd64();
		size_t k = n < 8 ? n : 8;
		memcpy(p, &v, k);
		p += k;
		n -= k;
	}
}

static uint32_t rnd_nonzero32(void)
{
	uint32_t v;
	do
		v = (uint32_t)rnd64();
	while (v < 256);                  /* also a valid SPI */
	return v;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- one negotiation ---------------------------------------------------------- */

enum nstate { N_IDLE, N_MM1, N_MM3, N_MM5, N_QM1 };

/* What it takes to talk under an ISAKMP SA: all a Delete needs. */
struct peer_sa {
	struct in_addr src, ts;           /* our address; our side's selector */
	bool floated;                     /* talking on port 4500 */
	uint8_t icky[8], rcky[8];
	struct p1keys keys;
	uint8_t iv[AES_BLOCK];            /* phase 1 IV; after message 6, the last one */
	uint32_t spi_in;
};

struct neg {
	enum nstate state;
	unsigned slot;
	struct peer_sa sa;
	uint8_t ni[LOAD_NONCE], nr[NONCE_MAX];
	size_t nr_len;
	uint8_t gxr[DH_MAX_PUBLIC];
	uint8_t idi[8];                   /* our phase 1 ID payload body */
	uint32_t msgid;
	uint8_t qiv[AES_BLOCK], qni[LOAD_NONCE];
	uint8_t pkt[MAX_PKT];             /* the last message, for retransmission */
	size_t pkt_len;
	uint64_t deadline_ms;
	unsigned tries;
	double started;
};

/* Deletes wait a little after Quick Mode: a responder that runs several
 * threads (charon) may otherwise take a Delete before the message 3 it
 * arrived just after. Due times only grow, so this is a FIFO. */
struct pending {
	uint64_t due_ms;
	struct peer_sa sa;
};

struct load {
	struct config cfg;
	int fd500, fd4500;
	struct dh *dh;                    /* the one key pair of the run */
	size_t gx_len;
	struct buf sai;                   /* our phase 1 SA payload body (the same for all) */
	struct neg *negs;
	unsigned next_src;
	uint64_t started, completed, failed, retransmits, stray, send_errors;
	unsigned fail_logged;
	struct pending *pend;             /* ring of Deletes to send */
	size_t pend_head, pend_n, pend_cap;
	double *lat;                      /* completion times (ms), for the percentiles */
	size_t nlat, cap_lat;
	bool draining;
};

static void neg_fail(struct load *L, struct neg *n, const char *why);
static void neg_start(struct load *L, struct neg *n);

/* Put framed bytes on the wire from the negotiation's own address (a /32 of
 * this namespace, chosen per packet with IP_PKTINFO). */
static int send_from(struct load *L, const struct peer_sa *sa, const uint8_t *pkt, size_t len)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr = L->cfg.peer,
				  .sin_port = htons(sa->floated ? NATT_PORT : IKE_PORT) };
	struct iovec iov = { (void *)pkt, len };
	union {
		uint8_t b[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} cbuf;
	memset(&cbuf, 0, sizeof cbuf);
	struct msghdr mh = { .msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &iov,
			     .msg_iovlen = 1, .msg_control = cbuf.b, .msg_controllen = sizeof cbuf.b };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = IPPROTO_IP;
	cm->cmsg_type = IP_PKTINFO;
	cm->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
	struct in_pktinfo pi = { .ipi_spec_dst = sa->src };
	memcpy(CMSG_DATA(cm), &pi, sizeof pi);
	int fd = sa->floated ? L->fd4500 : L->fd500;
	for (int tries = 0; tries < 3; tries++) {
		if (sendmsg(fd, &mh, 0) >= 0)
			return 0;
		if (errno != EINTR && errno != EAGAIN && errno != ENOBUFS)
			break;
	}
	L->send_errors++;
	return -1;
}

/* msg as it goes on the wire: on 4500 behind the non-ESP marker once
 * floated. Returns the framed length, 0 when it does not fit. */
static size_t frame(const struct peer_sa *sa, const struct msgb *m, uint8_t *out, size_t room)
{
	size_t off = sa->floated ? NON_ESP_MARKER_LEN : 0;
	if (m->b.err || m->b.len + off > room)
		return 0;
	memset(out, 0, off);
	memcpy(out + off, m->b.d, m->b.len);
	return m->b.len + off;
}

/* Send a message that expects no answer. */
static int sa_send(struct load *L, const struct peer_sa *sa, struct msgb *m)
{
	uint8_t framed[MAX_PKT];
	size_t len = msgb_finish(m) ? 0 : frame(sa, m, framed, sizeof framed);
	msgb_free(m);
	return len ? send_from(L, sa, framed, len) : -1;
}

/* Send a message that expects an answer: kept for retransmission. */
static int neg_send_kept(struct load *L, struct neg *n, struct msgb *m)
{
	size_t len = msgb_finish(m) ? 0 : frame(&n->sa, m, n->pkt, sizeof n->pkt);
	msgb_free(m);
	if (!len)
		return -1;
	n->pkt_len = len;
	n->tries = 0;
	n->deadline_ms = now_ms() + L->cfg.timeout_ms;
	return send_from(L, &n->sa, n->pkt, len);
}

/* Encrypt body (padded with zeros to the block size) after hdr with iv,
 * which moves on to the last ciphertext block. On failure both are freed. */
static int encrypt_into(const struct peer_sa *sa, struct msgb *hdr, struct msgb *body,
			uint8_t iv[16])
{
	buf_zero(&body->b, (AES_BLOCK - body->b.len % AES_BLOCK) % AES_BLOCK);
	if (body->b.err || hdr->b.err ||
	    aes_cbc_encrypt(sa->keys.enc, sa->keys.enc_len, iv, body->b.d, body->b.len)) {
		msgb_free(body);
		msgb_free(hdr);
		return -1;
	}
	hdr->b.d[16] = body->first;
	buf_add(&hdr->b, body->b.d, body->b.len);
	msgb_free(body);
	return 0;
}

/* Decrypt the body of pkt with a copy of iv into out; iv_next gets the last
 * ciphertext block, as the IKEv1 IV chain wants. */
static int decrypt_body(const struct peer_sa *sa, const uint8_t *pkt, size_t len, const uint8_t iv[16],
			uint8_t *out, size_t *out_len, uint8_t iv_next[16])
{
	size_t body = len - ISAKMP_HDR_LEN;
	if (!body || body % AES_BLOCK || body > MAX_PKT)
		return -1;
	uint8_t v[AES_BLOCK];
	memcpy(v, iv, AES_BLOCK);
	memcpy(out, pkt + ISAKMP_HDR_LEN, body);
	memcpy(iv_next, pkt + len - AES_BLOCK, AES_BLOCK);
	if (aes_cbc_decrypt(sa->keys.enc, sa->keys.enc_len, v, out, body))
		return -1;
	*out_len = body;
	return 0;
}

/* An encrypted message's payloads, decrypted with iv into plain (MAX_PKT
 * bytes); iv_next gets the IV that follows it. */
static int open_encrypted(const struct peer_sa *sa, const struct isakmp_hdr *h,
			  const uint8_t *pkt, size_t len, const uint8_t iv[16], uint8_t *plain,
			  struct msg *m, uint8_t iv_next[16])
{
	size_t plen;
	const char *why;
	if (!(h->flags & ISAKMP_FLAG_ENC) || decrypt_body(sa, pkt, len, iv, plain, &plen, iv_next))
		return -1;
	return payloads_decode(h->np, plain, plen, true, m, &why) ? -1 : 0;
}

/* HASH(1)/HASH(2) = prf(SKEYID_a, M-ID [| Ni_b] | rest of the body). */
static int hash_12(const struct peer_sa *sa, uint32_t msgid, const uint8_t *ni, size_t ni_len,
		   const uint8_t *rest, size_t rest_len, uint8_t *out)
{
	uint8_t m[4];
	put32(m, msgid);
	struct iov v[] = { { m, 4 }, { ni, ni ? ni_len : 0 }, { rest, rest_len } };
	return prf_iov(sa->keys.hash, sa->keys.skeyid_a, sa->keys.prf_len, v, 3, out);
}

/* Our phase 1 SA payload body: one proposal, one transform, the run's group. */
static void sa_p1_build(struct buf *b, int group)
{
	buf_u32(b, DOI_IPSEC);
	buf_u32(b, SIT_IDENTITY_ONLY);
	size_t prop = b->len;
	buf_u8(b, PL_NONE);
	buf_u8(b, 0);
	buf_u16(b, 0);                    /* proposal length, patched */
	buf_u8(b, 1);                     /* proposal #1 */
	buf_u8(b, PROTO_ISAKMP);
	buf_u8(b, 0);                     /* no SPI */
	buf_u8(b, 1);                     /* one transform */
	size_t tr = b->len;
	buf_u8(b, PL_NONE);
	buf_u8(b, 0);
	buf_u16(b, 0);                    /* transform length, patched */
	buf_u8(b, 1);
	buf_u8(b, KEY_IKE);
	buf_u16(b, 0);
	attr_tv(b, P1A_ENC, P1_ENC_AES_CBC);
	attr_tv(b, P1A_KEY_LENGTH, 128);
	attr_tv(b, P1A_HASH, P1_HASH_SHA2_256);
	attr_tv(b, P1A_AUTH, P1_AUTH_PSK);
	attr_tv(b, P1A_GROUP_DESC, (uint16_t)group);
	attr_tv(b, P1A_LIFE_TYPE, LIFE_SECONDS);
	attr_life(b, P1A_LIFE_DURATION, LIFE_SECS);
	if (!b->err) {
		put16(b->d + tr + 2, (uint16_t)(b->len - tr));
		put16(b->d + prop + 2, (uint16_t)(b->len - prop));
	}
}

/* Our Quick Mode SA payload: ESP, AES-CBC-128, HMAC-SHA2-256, PFS with the
 * run's group, UDP-encapsulated tunnel (the NAT we pretend to be behind). */
static void sa_p2_build(struct buf *b, int group, uint32_t spi)
{
	buf_u32(b, DOI_IPSEC);
	buf_u32(b, SIT_IDENTITY_ONLY);
	size_t prop = b->len;
	buf_u8(b, PL_NONE);
	buf_u8(b, 0);
	buf_u16(b, 0);
	buf_u8(b, 1);
	buf_u8(b, PROTO_IPSEC_ESP);
	buf_u8(b, 4);
	buf_u8(b, 1);
	buf_u32(b, spi);
	size_t tr = b->len;
	buf_u8(b, PL_NONE);
	buf_u8(b, 0);
	buf_u16(b, 0);
	buf_u8(b, 1);
	buf_u8(b, ESP_AES_CBC);
	buf_u16(b, 0);
	attr_tv(b, P2A_LIFE_TYPE, LIFE_SECONDS);
	attr_life(b, P2A_LIFE_DURATION, LIFE_SECS);
	attr_tv(b, P2A_GROUP_DESC, (uint16_t)group);
	attr_tv(b, P2A_ENCAP, ENCAP_MODE_UDP_TUNNEL);
	attr_tv(b, P2A_AUTH, P2_AUTH_HMAC_SHA2_256);
	attr_tv(b, P2A_KEY_LENGTH, 128);
	if (!b->err) {
		put16(b->d + tr + 2, (uint16_t)(b->len - tr));
		put16(b->d + prop + 2, (uint16_t)(b->len - prop));
	}
}

/* An IPv4 address as an ID payload body (phase 1 and phase 2 alike). */
static void id_ipv4(uint8_t out[8], struct in_addr a)
{
	out[0] = IPSEC_ID_IPV4_ADDR;
	out[1] = 0;
	out[2] = out[3] = 0;
	memcpy(out + 4, &a, 4);
}

/* NAT-D = HASH(CKY-I | CKY-R | IP | port). */
static void natd(const struct peer_sa *sa, struct in_addr a, uint16_t port, uint8_t *out)
{
	uint8_t p[2] = { (uint8_t)(port >> 8), (uint8_t)port };
	struct iov v[] = { { sa->icky, 8 }, { sa->rcky, 8 }, { &a, 4 }, { p, 2 } };
	hash_iov(HASH_SHA2_256, v, 4, out);
}

static bool has_vid(const struct msg *m, const uint8_t *vid)
{
	for (size_t i = 0; i < m->npl; i++)
		if (m->pl[i].type == PL_VID && m->pl[i].body_len == 16 &&
		    memcmp(m->pl[i].body, vid, 16) == 0)
			return true;
	return false;
}

/* MD5("RFC 3947"), as iked/natt.c has it (not linked: it needs the daemon). */
static const uint8_t vid_natt[16] = { 0x4a, 0x13, 0x1c, 0x81, 0x07, 0x03, 0x58, 0x45,
				      0x5c, 0x57, 0x28, 0xf2, 0x0e, 0x95, 0x45, 0x2f };

/* ---- the exchange, message by message ---------------------------------------- */

static void send_mm1(struct load *L, struct neg *n)
{
	struct msgb m;
	msgb_begin(&m, n->sa.icky, NULL, EXCH_MAIN, 0, 0);
	msgb_pl(&m, PL_SA, L->sai.d, L->sai.len);
	msgb_pl(&m, PL_VID, vid_natt, 16);
	n->state = N_MM1;
	if (neg_send_kept(L, n, &m))
		neg_fail(L, n, "cannot send message 1");
}

static void got_mm2(struct load *L, struct neg *n, const struct isakmp_hdr *h, const struct msg *m)
{
	const struct payload *sap = msg_find(m, PL_SA);
	struct sa_payload sa;
	const char *why;
	if (!sap || sa_decode(sap->body, sap->body_len, &sa, &why) || sa.np != 1 ||
	    sa.p[0].ntr != 1 || sa.p[0].tr[0].id != KEY_IKE)
		return neg_fail(L, n, "message 2 does not choose our transform");
	if (!has_vid(m, vid_natt))
		return neg_fail(L, n, "the responder does not speak NAT-T (RFC 3947)");
	memcpy(n->sa.rcky, h->rcookie, 8);
	rnd_fill(n->ni, sizeof n->ni);
	uint8_t hr[HASH_MAX_LEN], hi[HASH_MAX_LEN];
	natd(&n->sa, L->cfg.peer, IKE_PORT, hr);
	/* our own NAT-D with a port we do not use: the responder sees a NAT */
	natd(&n->sa, n->sa.src, 1, hi);
	struct msgb out;
	msgb_begin(&out, n->sa.icky, n->sa.rcky, EXCH_MAIN, 0, 0);
	msgb_pl(&out, PL_KE, dh_public(L->dh), L->gx_len);
	msgb_pl(&out, PL_NONCE, n->ni, sizeof n->ni);
	msgb_pl(&out, PL_NAT_D, hr, hash_size(HASH_SHA2_256));
	msgb_pl(&out, PL_NAT_D, hi, hash_size(HASH_SHA2_256));
	n->state = N_MM3;
	if (neg_send_kept(L, n, &out))
		neg_fail(L, n, "cannot send message 3");
}

static void got_mm4(struct load *L, struct neg *n, const struct msg *m)
{
	const struct payload *ke = msg_find(m, PL_KE), *np = msg_find(m, PL_NONCE);
	if (!ke || ke->body_len != L->gx_len || !np)
		return neg_fail(L, n, "message 4 without a fitting KE and a nonce");
	memcpy(n->gxr, ke->body, ke->body_len);
	memcpy(n->nr, np->body, np->body_len);
	n->nr_len = np->body_len;
	uint8_t gxy[DH_MAX_SECRET];
	size_t gxy_len = dh_secret_len(L->cfg.group);
	n->sa.keys.hash = HASH_SHA2_256;
	if (dh_shared(L->dh, n->gxr, L->gx_len, gxy) ||
	    ike_skeyid_psk(&n->sa.keys, (const uint8_t *)L->cfg.psk, strlen(L->cfg.psk), n->ni,
			   sizeof n->ni, n->nr, n->nr_len) ||
	    ike_derive_p1(&n->sa.keys, gxy, gxy_len, n->sa.icky, n->sa.rcky, 16) ||
	    ike_p1_iv(HASH_SHA2_256, dh_public(L->dh), L->gx_len, n->gxr, L->gx_len, n->sa.iv))
		return neg_fail(L, n, "key derivation failed");
	n->sa.floated = true;                /* a NAT was "detected": RFC 3947 section 4 */
	id_ipv4(n->idi, n->sa.src);
	uint8_t h[HASH_MAX_LEN];
	if (ike_auth_hash(&n->sa.keys, dh_public(L->dh), n->gxr, L->gx_len, n->sa.icky, n->sa.rcky,
			  L->sai.d, L->sai.len, n->idi, sizeof n->idi, h))
		return neg_fail(L, n, "HASH_I failed");
	struct msgb body, out;
	msgb_begin_body(&body);
	msgb_pl(&body, PL_ID, n->idi, sizeof n->idi);
	msgb_pl(&body, PL_HASH, h, n->sa.keys.prf_len);
	msgb_begin(&out, n->sa.icky, n->sa.rcky, EXCH_MAIN, ISAKMP_FLAG_ENC, 0);
	n->state = N_MM5;
	if (encrypt_into(&n->sa, &out, &body, n->sa.iv) || neg_send_kept(L, n, &out))
		neg_fail(L, n, "cannot send message 5");
}

static void send_qm1(struct load *L, struct neg *n)
{
	n->msgid = rnd_nonzero32();
	n->sa.spi_in = rnd_nonzero32();
	rnd_fill(n->qni, sizeof n->qni);
	if (ike_p2_iv(HASH_SHA2_256, n->sa.iv, n->msgid, n->qiv))
		return neg_fail(L, n, "Quick Mode IV");
	uint8_t idci[8], idcr[8];
	id_ipv4(idci, n->sa.ts);
	id_ipv4(idcr, L->cfg.remote_ts);
	struct msgb body, out;
	msgb_begin_body(&body);
	msgb_pl_begin(&body, PL_HASH);
	buf_zero(&body.b, n->sa.keys.prf_len);
	msgb_pl_end(&body);
	msgb_pl_begin(&body, PL_SA);
	sa_p2_build(&body.b, L->cfg.group, n->sa.spi_in);
	msgb_pl_end(&body);
	msgb_pl(&body, PL_NONCE, n->qni, sizeof n->qni);
	msgb_pl(&body, PL_KE, dh_public(L->dh), L->gx_len);
	msgb_pl(&body, PL_ID, idci, sizeof idci);
	msgb_pl(&body, PL_ID, idcr, sizeof idcr);
	size_t rest = ISAKMP_GEN_LEN + n->sa.keys.prf_len;
	uint8_t h[HASH_MAX_LEN];
	if (body.b.err || hash_12(&n->sa, n->msgid, NULL, 0, body.b.d + rest, body.b.len - rest, h)) {
		msgb_free(&body);
		return neg_fail(L, n, "HASH(1) failed");
	}
	memcpy(body.b.d + ISAKMP_GEN_LEN, h, n->sa.keys.prf_len);
	msgb_begin(&out, n->sa.icky, n->sa.rcky, EXCH_QUICK, ISAKMP_FLAG_ENC, n->msgid);
	n->state = N_QM1;
	if (encrypt_into(&n->sa, &out, &body, n->qiv) || neg_send_kept(L, n, &out))
		neg_fail(L, n, "cannot send Quick Mode message 1");
}

static void got_mm6(struct load *L, struct neg *n, const struct isakmp_hdr *h,
		    const uint8_t *pkt, size_t len)
{
	uint8_t plain[MAX_PKT], iv_next[AES_BLOCK];
	struct msg m;
	if (open_encrypted(&n->sa, h, pkt, len, n->sa.iv, plain, &m, iv_next))
		return neg_fail(L, n, "message 6 does not decrypt");
	const struct payload *id = msg_find(&m, PL_ID), *hp = msg_find(&m, PL_HASH);
	uint8_t want[HASH_MAX_LEN];
	if (!id || !hp || hp->body_len != n->sa.keys.prf_len ||
	    ike_auth_hash(&n->sa.keys, n->gxr, dh_public(L->dh), L->gx_len, n->sa.rcky, n->sa.icky,
			  L->sai.d, L->sai.len, id->body, id->body_len, want) ||
	    !mem_equal(want, hp->body, n->sa.keys.prf_len))
		return neg_fail(L, n, "HASH_R does not verify");
	memcpy(n->sa.iv, iv_next, AES_BLOCK);
	send_qm1(L, n);
}

/* An informational exchange under the ISAKMP SA carrying one payload. */
static int send_info(struct load *L, const struct peer_sa *sa, uint8_t type, const uint8_t *body_pl,
		     size_t len)
{
	uint32_t msgid = rnd_nonzero32();
	uint8_t iv[AES_BLOCK], h[HASH_MAX_LEN];
	if (ike_p2_iv(HASH_SHA2_256, sa->iv, msgid, iv))
		return -1;
	struct msgb body, out;
	msgb_begin_body(&body);
	msgb_pl_begin(&body, PL_HASH);
	buf_zero(&body.b, sa->keys.prf_len);
	msgb_pl_end(&body);
	msgb_pl(&body, type, body_pl, len);
	size_t rest = ISAKMP_GEN_LEN + sa->keys.prf_len;
	if (body.b.err || hash_12(sa, msgid, NULL, 0, body.b.d + rest, body.b.len - rest, h)) {
		msgb_free(&body);
		return -1;
	}
	memcpy(body.b.d + ISAKMP_GEN_LEN, h, sa->keys.prf_len);
	msgb_begin(&out, sa->icky, sa->rcky, EXCH_INFO, ISAKMP_FLAG_ENC, msgid);
	if (encrypt_into(sa, &out, &body, iv))
		return -1;
	return sa_send(L, sa, &out);
}

/* Delete the ESP SA (by our inbound SPI) and then the ISAKMP SA. */
static void send_deletes(struct load *L, const struct peer_sa *sa)
{
	uint8_t d[12 + 16];
	put32(d, DOI_IPSEC);
	d[4] = PROTO_IPSEC_ESP;
	d[5] = 4;
	put16(d + 6, 1);
	put32(d + 8, sa->spi_in);
	send_info(L, sa, PL_D, d, 12);
	d[4] = PROTO_ISAKMP;
	d[5] = 16;
	memcpy(d + 8, sa->icky, 8);
	memcpy(d + 16, sa->rcky, 8);
	send_info(L, sa, PL_D, d, 24);
}

static void defer_deletes(struct load *L, const struct peer_sa *sa)
{
	if (L->pend_n == L->pend_cap) {
		size_t cap = L->pend_cap ? 2 * L->pend_cap : 256;
		struct pending *p = malloc(cap * sizeof *p);
		if (!p) {
			send_deletes(L, sa);
			return;
		}
		for (size_t i = 0; i < L->pend_n; i++)
			p[i] = L->pend[(L->pend_head + i) % L->pend_cap];
		free(L->pend);
		L->pend = p;
		L->pend_cap = cap;
		L->pend_head = 0;
	}
	struct pending *e = &L->pend[(L->pend_head + L->pend_n) % L->pend_cap];
	e->due_ms = now_ms() + L->cfg.delete_after_ms;
	e->sa = *sa;
	L->pend_n++;
}

static void send_due_deletes(struct load *L, uint64_t now)
{
	while (L->pend_n && L->pend[L->pend_head].due_ms <= now) {
		send_deletes(L, &L->pend[L->pend_head].sa);
		mem_wipe(&L->pend[L->pend_head].sa, sizeof L->pend[L->pend_head].sa);
		L->pend_head = (L->pend_head + 1) % L->pend_cap;
		L->pend_n--;
	}
}

static void record_latency(struct load *L, double ms)
{
	if (L->nlat == L->cap_lat) {
		size_t cap = L->cap_lat ? 2 * L->cap_lat : 4096;
		double *p = realloc(L->lat, cap * sizeof *p);
		if (!p)
			return;
		L->lat = p;
		L->cap_lat = cap;
	}
	L->lat[L->nlat++] = ms;
}

static void got_qm2(struct load *L, struct neg *n, const struct isakmp_hdr *h,
		    const uint8_t *pkt, size_t len)
{
	uint8_t plain[MAX_PKT], iv_next[AES_BLOCK];
	struct msg m;
	const char *why;
	if (open_encrypted(&n->sa, h, pkt, len, n->qiv, plain, &m, iv_next))
		return neg_fail(L, n, "Quick Mode message 2 does not decrypt");
	if (m.npl < 2 || m.pl[0].type != PL_HASH || m.pl[0].body_len != n->sa.keys.prf_len)
		return neg_fail(L, n, "Quick Mode message 2 without HASH(2)");
	const struct payload *last = &m.pl[m.npl - 1];
	uint8_t want[HASH_MAX_LEN];
	if (hash_12(&n->sa, n->msgid, n->qni, sizeof n->qni, m.pl[1].hdr,
		    (size_t)(last->hdr + last->len - m.pl[1].hdr), want) ||
	    !mem_equal(want, m.pl[0].body, n->sa.keys.prf_len))
		return neg_fail(L, n, "HASH(2) does not verify");
	const struct payload *sap = msg_find(&m, PL_SA), *np = msg_find(&m, PL_NONCE);
	struct sa_payload sa;
	if (!sap || !np || sa_decode(sap->body, sap->body_len, &sa, &why) || sa.np != 1 ||
	    sa.p[0].spi_size != 4 || !msg_find(&m, PL_KE))
		return neg_fail(L, n, "Quick Mode message 2 without SA, nonce and KE");
	/* HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b) */
	uint8_t zero = 0, mid[4], h3[HASH_MAX_LEN];
	put32(mid, n->msgid);
	struct iov v[] = { { &zero, 1 }, { mid, 4 }, { n->qni, sizeof n->qni },
			   { np->body, np->body_len } };
	if (prf_iov(n->sa.keys.hash, n->sa.keys.skeyid_a, n->sa.keys.prf_len, v, 4, h3))
		return neg_fail(L, n, "HASH(3) failed");
	struct msgb body, out;
	msgb_begin_body(&body);
	msgb_pl(&body, PL_HASH, h3, n->sa.keys.prf_len);
	msgb_begin(&out, n->sa.icky, n->sa.rcky, EXCH_QUICK, ISAKMP_FLAG_ENC, n->msgid);
	memcpy(n->qiv, iv_next, AES_BLOCK);
	if (encrypt_into(&n->sa, &out, &body, n->qiv) || sa_send(L, &n->sa, &out))
		return neg_fail(L, n, "cannot send Quick Mode message 3");
	L->completed++;
	record_latency(L, (now_s() - n->started) * 1000.0);
	if (L->cfg.delete)
		defer_deletes(L, &n->sa);
	n->state = N_IDLE;
	neg_start(L, n);
}

/* An informational message from the responder: an error notification ends
 * the negotiation (it refused); anything else (INITIAL-CONTACT, a Delete of
 * an older SA) is not ours to act on. Encrypted ones are read once phase 1
 * is done (their IV derives from its last one). */
static void got_info(struct load *L, struct neg *n, const struct isakmp_hdr *h,
		     const uint8_t *pkt, size_t len)
{
	uint8_t plain[MAX_PKT], iv[AES_BLOCK], iv_next[AES_BLOCK];
	const uint8_t *body = pkt + ISAKMP_HDR_LEN;
	size_t blen = len - ISAKMP_HDR_LEN;
	if (h->flags & ISAKMP_FLAG_ENC) {
		if (n->state != N_QM1 || ike_p2_iv(HASH_SHA2_256, n->sa.iv, h->msgid, iv) ||
		    decrypt_body(&n->sa, pkt, len, iv, plain, &blen, iv_next)) {
			L->stray++;
			return;
		}
		body = plain;
	}
	struct msg m;
	const char *why;
	const struct payload *np;
	struct notify_payload nt;
	if (payloads_decode(h->np, body, blen, (h->flags & ISAKMP_FLAG_ENC) != 0, &m, &why) ||
	    !(np = msg_find(&m, PL_N)) || notify_decode(np->body, np->body_len, &nt, &why) ||
	    nt.type >= N_RESPONDER_LIFETIME) {
		L->stray++;
		return;
	}
	char msg[96];
	snprintf(msg, sizeof msg, "the responder sent %s", notify_name(nt.type));
	neg_fail(L, n, msg);
}

static void dispatch(struct load *L, const uint8_t *pkt, size_t len)
{
	struct isakmp_hdr h;
	const char *why;
	if (isakmp_hdr_decode(pkt, len, &h, &why)) {
		L->stray++;
		return;
	}
	uint32_t slot = get32(h.icookie + 4);
	struct neg *n = slot < L->cfg.concurrency ? &L->negs[slot] : NULL;
	if (!n || n->state == N_IDLE || memcmp(n->sa.icky, h.icookie, 8) != 0 ||
	    (n->state != N_MM1 && memcmp(n->sa.rcky, h.rcookie, 8) != 0)) {
		L->stray++;                   /* late answers of a finished negotiation */
		return;
	}
	if (h.exch == EXCH_INFO) {
		got_info(L, n, &h, pkt, len);
		return;
	}
	struct msg m;
	switch (n->state) {
	case N_MM1:
	case N_MM3:
		if (h.exch != EXCH_MAIN || (h.flags & ISAKMP_FLAG_ENC) || h.msgid ||
		    payloads_decode(h.np, pkt + ISAKMP_HDR_LEN, len - ISAKMP_HDR_LEN, false, &m,
				    &why)) {
			L->stray++;
			return;
		}
		if (n->state == N_MM1)
			got_mm2(L, n, &h, &m);
		else
			got_mm4(L, n, &m);
		return;
	case N_MM5:
		if (h.exch == EXCH_MAIN && h.msgid == 0)
			got_mm6(L, n, &h, pkt, len);
		else
			L->stray++;
		return;
	case N_QM1:
		if (h.exch == EXCH_QUICK && h.msgid == n->msgid)
			got_qm2(L, n, &h, pkt, len);
		else
			L->stray++;
		return;
	case N_IDLE:
		return;
	}
}

/* ---- slots ------------------------------------------------------------------------ */

static bool may_start(const struct load *L)
{
	if (L->draining)
		return false;
	return !L->cfg.count || L->started < L->cfg.count;
}

static void neg_start(struct load *L, struct neg *n)
{
	if (!may_start(L))
		return;
	unsigned slot = n->slot;
	memset(n, 0, offsetof(struct neg, pkt));
	n->slot = slot;
	uint32_t base = ntohl(L->cfg.src.s_addr);
	n->sa.src.s_addr = htonl(base + L->next_src);
	n->sa.ts.s_addr = htonl(ntohl(L->cfg.local_ts.s_addr) + L->next_src);
	L->next_src = (L->next_src + 1) % L->cfg.nsrc;
	uint32_t r = (uint32_t)rnd64() | 1;
	put32(n->sa.icky, r);
	put32(n->sa.icky + 4, slot);
	n->started = now_s();
	L->started++;
	send_mm1(L, n);
}

static void neg_fail(struct load *L, struct neg *n, const char *why)
{
	L->failed++;
	if (n->state == N_QM1 && L->cfg.delete)
		defer_deletes(L, &n->sa);     /* phase 1 is up at the responder */
	if (L->fail_logged < MAX_FAIL_LOG || L->cfg.verbose) {
		char a[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &n->sa.src, a, sizeof a);
		fprintf(stderr, "ike_load: negotiation from %s failed: %s\n", a, why);
		L->fail_logged++;
	}
	n->state = N_IDLE;
	neg_start(L, n);
}

static void check_timeouts(struct load *L, uint64_t now)
{
	for (unsigned i = 0; i < L->cfg.concurrency; i++) {
		struct neg *n = &L->negs[i];
		if (n->state == N_IDLE || now < n->deadline_ms)
			continue;
		if (n->tries >= L->cfg.retries) {
			neg_fail(L, n, "no answer");
			continue;
		}
		n->tries++;
		L->retransmits++;
		n->deadline_ms = now + ((uint64_t)L->cfg.timeout_ms << n->tries);
		if (send_from(L, &n->sa, n->pkt, n->pkt_len) && L->cfg.verbose)
			perror("ike_load: retransmit");
	}
}

static bool any_active(const struct load *L)
{
	for (unsigned i = 0; i < L->cfg.concurrency; i++)
		if (L->negs[i].state != N_IDLE)
			return true;
	return false;
}

static uint64_t next_deadline(const struct load *L)
{
	uint64_t d = UINT64_MAX;
	for (unsigned i = 0; i < L->cfg.concurrency; i++)
		if (L->negs[i].state != N_IDLE && L->negs[i].deadline_ms < d)
			d = L->negs[i].deadline_ms;
	return d;
}

static void receive_all(struct load *L, int fd, bool natt)
{
	static uint8_t buf[ISAKMP_MAX_MSG + NON_ESP_MARKER_LEN];
	for (int k = 0; k < 256; k++) {
		ssize_t r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (r < 0)
			return;
		size_t len = (size_t)r, off = 0;
		if (natt) {
			static const uint8_t marker[NON_ESP_MARKER_LEN];
			if (len < NON_ESP_MARKER_LEN || memcmp(buf, marker, NON_ESP_MARKER_LEN)) {
				L->stray++;       /* keepalives, ESP */
				continue;
			}
			off = NON_ESP_MARKER_LEN;
		}
		dispatch(L, buf + off, len - off);
	}
}

static int open_socket(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int on = 1, size = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double percentile(double *v, size_t n, double p)
{
	if (!n)
		return 0;
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i];
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Run until the count is reached or the time is up, then let the
 * negotiations in flight finish (bounded by their retransmissions). */
static void run(struct load *L)
{
	double t0 = now_s();
	for (unsigned i = 0; i < L->cfg.concurrency; i++) {
		L->negs[i].slot = i;
		neg_start(L, &L->negs[i]);
	}
	while (any_active(L) || L->pend_n) {
		if (!L->draining && L->cfg.seconds > 0 && now_s() - t0 >= L->cfg.seconds)
			L->draining = true;
		uint64_t now = now_ms(), d = next_deadline(L);
		if (L->pend_n && L->pend[L->pend_head].due_ms < d)
			d = L->pend[L->pend_head].due_ms;
		int wait = d <= now ? 0 : d - now > 100 ? 100 : (int)(d - now);
		struct pollfd p[2] = { { L->fd500, POLLIN, 0 }, { L->fd4500, POLLIN, 0 } };
		int r = poll(p, 2, wait);
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0 && (p[0].revents & POLLIN))
			receive_all(L, L->fd500, false);
		if (r > 0 && (p[1].revents & POLLIN))
			receive_all(L, L->fd4500, true);
		now = now_ms();
		check_timeouts(L, now);
		send_due_deletes(L, now);
	}
}

int main(int argc, char **argv)
{
	struct load L;
	memset(&L, 0, sizeof L);
	if (parse_args(argc, argv, &L.cfg))
		return 2;
	if (random_bytes(&rng_state, sizeof rng_state) || !rng_state)
		rng_state = 0x9e3779b97f4a7c15ull;
	L.fd500 = open_socket(IKE_PORT);
	L.fd4500 = open_socket(NATT_PORT);
	L.dh = dh_new(L.cfg.group);
	L.negs = calloc(L.cfg.concurrency, sizeof *L.negs);
	if (L.fd500 < 0 || L.fd4500 < 0 || !L.dh || !L.negs) {
		fprintf(stderr, "ike_load: setup failed: %s\n", strerror(errno));
		return 2;
	}
	L.gx_len = dh_public_len(L.cfg.group);
	buf_init(&L.sai);
	sa_p1_build(&L.sai, L.cfg.group);
	double cpu0 = cpu_seconds(), t0 = now_s();
	run(&L);
	double elapsed = now_s() - t0, cpu = cpu_seconds() - cpu0;
	qsort(L.lat, L.nlat, sizeof *L.lat, cmp_double);
	printf("started=%llu completed=%llu failed=%llu retransmits=%llu stray=%llu "
	       "send_errors=%llu elapsed_s=%.3f rate=%.1f cpu_s=%.3f p50_ms=%.2f p99_ms=%.2f\n",
	       (unsigned long long)L.started, (unsigned long long)L.completed,
	       (unsigned long long)L.failed, (unsigned long long)L.retransmits,
	       (unsigned long long)L.stray, (unsigned long long)L.send_errors, elapsed,
	       elapsed > 0 ? (double)L.completed / elapsed : 0,
	       cpu, percentile(L.lat, L.nlat, 0.5), percentile(L.lat, L.nlat, 0.99));
	bool ok = L.completed == L.started && L.started > 0;
	free(L.lat);
	free(L.pend);
	free(L.negs);
	buf_free(&L.sai);
	dh_free(L.dh);
	close(L.fd500);
	close(L.fd4500);
	return ok ? 0 : 1;
}
