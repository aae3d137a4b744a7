/* iked/kernel_xfrm — Linux XFRM over netlink: SAs and policies, and the
 * kernel's expire messages (an SA reached its soft or hard limit).
 *
 * Two sockets: requests (add/delete, GETSA for the byte counters) wait for
 * their answer on one; the expire group is joined on the other, which the
 * event loop polls. On one socket an expire message could arrive while a
 * request waits for its acknowledgement and would have to be queued there,
 * since reporting it from inside the request (say, from kernel_install_p2 in install.c)
 * would let the daemon delete the SA pair it is installing. */
#include "iked/kernel.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/udp.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "iked/netlink.h"
#include "policy/schema.h"

#ifndef UDP_ENCAP_ESPINUDP
#define UDP_ENCAP_ESPINUDP 2
#endif

/* ---- encoding ------------------------------------------------------------ */

static void xaddr(xfrm_address_t *x, const struct ip_addr *a)
{
	memset(x, 0, sizeof *x);
	memcpy(x, a->b, a->family == AF_INET6 ? 16 : 4);
}

/* The longest prefix covering a range (the kernel selector has prefixes only). */
static uint8_t covering_prefix(const struct ip_range *r, xfrm_address_t *base)
{
	size_t bytes = r->family == AF_INET6 ? 16 : 4;
	unsigned bits = (unsigned)bytes * 8, p = 0;
	memset(base, 0, sizeof *base);
	if (r->kind == IPR_ALL || r->family == AF_UNSPEC)
		return 0;
	while (p < bits) {
		unsigned byte = p / 8, bit = 7 - p % 8;
		if (((r->lo[byte] >> bit) & 1) != ((r->hi[byte] >> bit) & 1))
			break;
		p++;
	}
	memcpy(base, r->lo, bytes);
	for (unsigned i = p; i < bits; i++)
		((uint8_t *)base)[i / 8] &= (uint8_t)~(1u << (7 - i % 8));
	return (uint8_t)p;
}

static uint16_t sel_family(const struct kernel_sel *s)
{
	if (s->src.family == AF_INET6 || s->dst.family == AF_INET6)
		return AF_INET6;
	return AF_INET;
}

static void fill_selector(struct xfrm_selector *x, const struct kernel_sel *s)
{
	memset(x, 0, sizeof *x);
	x->family = sel_family(s);
	x->prefixlen_s = covering_prefix(&s->src, &x->saddr);
	x->prefixlen_d = covering_prefix(&s->dst, &x->daddr);
	x->proto = s->proto;
	if (s->sport) {
		x->sport = htons(s->sport);
		x->sport_mask = 0xffff;
	}
	if (s->dport) {
		x->dport = htons(s->dport);
		x->dport_mask = 0xffff;
	}
}

static void fill_lifetime(struct xfrm_lifetime_cfg *l, uint64_t soft_bytes, uint64_t hard_bytes,
			  uint64_t soft_secs, uint64_t hard_secs)
{
	l->soft_byte_limit = soft_bytes ? soft_bytes : XFRM_INF;
	l->hard_byte_limit = hard_bytes ? hard_bytes : XFRM_INF;
	l->soft_packet_limit = XFRM_INF;
	l->hard_packet_limit = XFRM_INF;
	l->soft_add_expires_seconds = soft_secs;
	l->hard_add_expires_seconds = hard_secs;
}

static const char *auth_kernel_name(int alg)
{
	switch (alg) {
	case AUTHALG_HMAC_SHA1: return "hmac(sha1)";
	case AUTHALG_HMAC_SHA2_256_128: return "hmac(sha256)";
	case AUTHALG_HMAC_SHA2_384_192: return "hmac(sha384)";
	case AUTHALG_HMAC_SHA2_512_256: return "hmac(sha512)";
	default: return NULL;
	}
}

static void attr_algo(struct nlbuf *b, const char *name, const uint8_t *key, size_t keylen)
{
	uint8_t tmp[sizeof(struct xfrm_algo) + 96] = { 0 };
	struct xfrm_algo *a = (struct xfrm_algo *)tmp;
	snprintf(a->alg_name, sizeof a->alg_name, "%s", name);
	a->alg_key_len = (unsigned)(keylen * 8);
	memcpy(a->alg_key, key, keylen);
	nl_attr(b, XFRMA_ALG_CRYPT, tmp, sizeof *a + keylen);
}

static void attr_algo_auth(struct nlbuf *b, const char *name, const uint8_t *key, size_t keylen,
			   unsigned trunc_bits)
{
	uint8_t tmp[sizeof(struct xfrm_algo_auth) + 96] = { 0 };
	struct xfrm_algo_auth *a = (struct xfrm_algo_auth *)tmp;
	snprintf(a->alg_name, sizeof a->alg_name, "%s", name);
	a->alg_key_len = (unsigned)(keylen * 8);
	a->alg_trunc_len = trunc_bits;
	memcpy(a->alg_key, key, keylen);
	nl_attr(b, XFRMA_ALG_AUTH_TRUNC, tmp, sizeof *a + keylen);
}

static void attr_algo_aead(struct nlbuf *b, const uint8_t *key, size_t keylen, unsigned icv_bits)
{
	uint8_t tmp[sizeof(struct xfrm_algo_aead) + 96] = { 0 };
	struct xfrm_algo_aead *a = (struct xfrm_algo_aead *)tmp;
	snprintf(a->alg_name, sizeof a->alg_name, "rfc4106(gcm(aes))");
	a->alg_key_len = (unsigned)(keylen * 8);
	a->alg_icv_len = icv_bits;
	memcpy(a->alg_key, key, keylen);
	nl_attr(b, XFRMA_ALG_AEAD, tmp, sizeof *a + keylen);
}

size_t xfrm_encode_newsa(const struct kernel_sa *sa, uint32_t seq, uint8_t *buf, size_t cap)
{
	struct nlbuf b = { buf, 0, cap, false };
	if (sa->enc_key_len > 96 || sa->auth_key_len > 96)
		return 0;
	nl_begin(&b, XFRM_MSG_NEWSA, NLM_F_REQUEST | NLM_F_ACK, seq);
	struct xfrm_usersa_info *u = nl_put(&b, sizeof *u);
	if (!u)
		return 0;
	/* Tunnel-mode SAs carry no selector (the policies do the matching; the
	 * kernel takes the family from the SA, as for iproute2's "state add");
	 * transport-mode SAs are limited to their traffic. */
	if (sa->mode == ENCAP_TRANSPORT)
		fill_selector(&u->sel, &sa->sel);
	xaddr(&u->id.daddr, &sa->dst);
	u->id.spi = htonl(sa->spi);
	u->id.proto = IPPROTO_ESP;
	xaddr(&u->saddr, &sa->src);
	fill_lifetime(&u->lft, sa->soft_bytes, sa->hard_bytes, sa->soft_secs, sa->hard_secs);
	u->reqid = sa->reqid;
	u->family = sa->dst.family;
	u->mode = sa->mode == ENCAP_TRANSPORT ? XFRM_MODE_TRANSPORT : XFRM_MODE_TUNNEL;
	u->replay_window = sa->inbound ? 32 : 0;
	if (sa->enc_alg == ENC_AES_GCM_16) {
		attr_algo_aead(&b, sa->enc_key, sa->enc_key_len, sa->icv_bits);
	} else {
		const char *an = auth_kernel_name(sa->auth_alg);
		if (!an)
			return 0;
		attr_algo(&b, "cbc(aes)", sa->enc_key, sa->enc_key_len);
		attr_algo_auth(&b, an, sa->auth_key, sa->auth_key_len, sa->icv_bits);
	}
	if (sa->udp_encap) {
		struct xfrm_encap_tmpl e;
		memset(&e, 0, sizeof e);
		e.encap_type = UDP_ENCAP_ESPINUDP;
		e.encap_sport = htons(sa->encap_sport);
		e.encap_dport = htons(sa->encap_dport);
		if (sa->have_oa)
			xaddr(&e.encap_oa, &sa->encap_oa);
		nl_attr(&b, XFRMA_ENCAP, &e, sizeof e);
	}
	return nl_end(&b);
}

/* DELSA and GETSA name an SA the same way (iproute2's "state delete" and
 * "state get"). */
static size_t encode_sa_id(uint16_t type, uint16_t flags, const struct ip_addr *src,
			   const struct ip_addr *dst, uint32_t spi, uint32_t seq, uint8_t *buf,
			   size_t cap)
{
	struct nlbuf b = { buf, 0, cap, false };
	nl_begin(&b, type, flags, seq);
	struct xfrm_usersa_id *id = nl_put(&b, sizeof *id);
	if (!id)
		return 0;
	xaddr(&id->daddr, dst);
	id->spi = htonl(spi);
	id->family = dst->family;
	id->proto = IPPROTO_ESP;
	xfrm_address_t s;
	xaddr(&s, src);
	nl_attr(&b, XFRMA_SRCADDR, &s, sizeof s);
	return nl_end(&b);
}

size_t xfrm_encode_delsa(const struct ip_addr *src, const struct ip_addr *dst, uint32_t spi,
			 uint32_t seq, uint8_t *buf, size_t cap)
{
	return encode_sa_id(XFRM_MSG_DELSA, NLM_F_REQUEST | NLM_F_ACK, src, dst, spi, seq, buf,
			    cap);
}

/* No ACK flag: the answer is the SA (a NEWSA message) or an error. */
size_t xfrm_encode_getsa(const struct ip_addr *src, const struct ip_addr *dst, uint32_t spi,
			 uint32_t seq, uint8_t *buf, size_t cap)
{
	return encode_sa_id(XFRM_MSG_GETSA, NLM_F_REQUEST, src, dst, spi, seq, buf, cap);
}

static uint8_t kdir(int dir)
{
	return dir == KDIR_IN ? XFRM_POLICY_IN : dir == KDIR_OUT ? XFRM_POLICY_OUT : XFRM_POLICY_FWD;
}

size_t xfrm_encode_policy(const struct kernel_policy *p, bool add, uint32_t seq, uint8_t *buf,
			  size_t cap)
{
	struct nlbuf b = { buf, 0, cap, false };
	if (!add) {
		nl_begin(&b, XFRM_MSG_DELPOLICY, NLM_F_REQUEST | NLM_F_ACK, seq);
		struct xfrm_userpolicy_id *id = nl_put(&b, sizeof *id);
		if (!id)
			return 0;
		fill_selector(&id->sel, &p->sel);
		id->dir = kdir(p->dir);
		return nl_end(&b);
	}
	nl_begin(&b, XFRM_MSG_NEWPOLICY, NLM_F_REQUEST | NLM_F_ACK, seq);
	struct xfrm_userpolicy_info *u = nl_put(&b, sizeof *u);
	if (!u)
		return 0;
	fill_selector(&u->sel, &p->sel);
	fill_lifetime(&u->lft, 0, 0, 0, 0);
	u->priority = p->priority;
	u->dir = kdir(p->dir);
	u->action = XFRM_POLICY_ALLOW;
	u->share = XFRM_SHARE_ANY;
	struct xfrm_user_tmpl t;
	memset(&t, 0, sizeof t);
	xaddr(&t.id.daddr, &p->tdst);
	t.id.proto = IPPROTO_ESP;
	t.family = p->tdst.family;
	xaddr(&t.saddr, &p->tsrc);
	t.reqid = p->reqid;
	t.mode = p->mode == ENCAP_TRANSPORT ? XFRM_MODE_TRANSPORT : XFRM_MODE_TUNNEL;
	t.aalgos = t.ealgos = t.calgos = ~0u;
	nl_attr(&b, XFRMA_TMPL, &t, sizeof t);
	return nl_end(&b);
}

/* ---- decoding --------------------------------------------------------------- */

static bool addr_from_xfrm(struct ip_addr *a, const xfrm_address_t *x, uint16_t family)
{
	memset(a, 0, sizeof *a);
	if (family != AF_INET && family != AF_INET6)
		return false;
	a->family = (uint8_t)family;
	memcpy(a->b, x, family == AF_INET6 ? 16 : 4);
	return true;
}

/* One XFRM_MSG_EXPIRE payload of plen bytes; false when it cannot be one. */
static bool expire_event(const uint8_t *p, size_t plen, struct kernel_event *ev)
{
	struct xfrm_user_expire x;
	if (plen < sizeof x)
		return false;
	memcpy(&x, p, sizeof x);
	const struct xfrm_usersa_info *s = &x.state;
	memset(ev, 0, sizeof *ev);
	if (!addr_from_xfrm(&ev->dst, &s->id.daddr, s->family) ||
	    !addr_from_xfrm(&ev->src, &s->saddr, s->family))
		return false;
	ev->spi = ntohl(s->id.spi);
	ev->proto = s->id.proto;
	ev->hard = x.hard != 0;
	ev->bytes = s->curlft.bytes;
	/* the message does not say which limit: the one the count has reached
	 * (a time limit leaves the bytes below theirs) */
	uint64_t limit = ev->hard ? s->lft.hard_byte_limit : s->lft.soft_byte_limit;
	ev->lifesize = limit != XFRM_INF && s->curlft.bytes >= limit;
	return true;
}

size_t xfrm_parse_expire(const uint8_t *buf, size_t len, struct kernel_event *ev, size_t max,
			 size_t *bad)
{
	struct nlwalk w = { buf, len, 0, false };
	struct nlmsghdr h;
	const uint8_t *p;
	size_t plen, n = 0, nbad = 0;
	while (nl_next(&w, &h, &p, &plen)) {
		if (h.nlmsg_type != XFRM_MSG_EXPIRE)
			continue;                /* POLEXPIRE: iked's policies do not expire */
		if (n == max)
			break;
		if (expire_event(p, plen, &ev[n]))
			n++;
		else
			nbad++;
	}
	if (bad)
		*bad = nbad + w.bad;
	return n;
}

int xfrm_parse_getsa_reply(const uint8_t *buf, size_t len, uint32_t seq, uint64_t *bytes,
			   int *error)
{
	struct nlwalk w = { buf, len, 0, false };
	struct nlmsghdr h;
	const uint8_t *p;
	size_t plen;
	while (nl_next(&w, &h, &p, &plen)) {
		if (h.nlmsg_seq != seq)
			continue;
		if (h.nlmsg_type == NLMSG_ERROR && plen >= sizeof(struct nlmsgerr)) {
			struct nlmsgerr e;
			memcpy(&e, p, sizeof e);
			if (e.error == 0)
				continue;        /* an acknowledgement, not the SA */
			*error = e.error < 0 ? -e.error : e.error;
			return -1;
		}
		if (h.nlmsg_type == XFRM_MSG_NEWSA && plen >= sizeof(struct xfrm_usersa_info)) {
			struct xfrm_usersa_info u;
			memcpy(&u, p, sizeof u);
			*bytes = u.curlft.bytes;
			return 1;
		}
	}
	return 0;
}

/* ---- the sockets ------------------------------------------------------------ */

static int getsa_answer(const uint8_t *buf, size_t len, uint32_t seq, void *bytes, int *error)
{
	return xfrm_parse_getsa_reply(buf, len, seq, bytes, error);
}

/* Send one request and read its answer: the acknowledgement, or with bytes
 * (GETSA) the SA and its byte count. */
static int xfrm_request(struct kernel *k, uint8_t *msg, size_t len, uint64_t *bytes)
{
	if (bytes)
		return nl_transact(k->fd, msg, len, getsa_answer, bytes, k->err, sizeof k->err);
	return nl_request(k->fd, msg, len, k->err, sizeof k->err);
}

static int x_add_sa(struct kernel *k, const struct kernel_sa *sa)
{
	uint8_t msg[1024];
	size_t n = xfrm_encode_newsa(sa, ++k->seq, msg, sizeof msg);
	if (!n) {
		snprintf(k->err, sizeof k->err, "SA cannot be encoded");
		return -1;
	}
	return xfrm_request(k, msg, n, NULL);
}

static int x_del_sa(struct kernel *k, const struct ip_addr *src, const struct ip_addr *dst,
		    uint32_t spi, const char *label)
{
	uint8_t msg[256];
	size_t n = xfrm_encode_delsa(src, dst, spi, ++k->seq, msg, sizeof msg);
	return n ? xfrm_request(k, msg, n, NULL) : -1;
}

static int x_sa_bytes(struct kernel *k, const struct ip_addr *src, const struct ip_addr *dst,
		      uint32_t spi, uint64_t *bytes)
{
	uint8_t msg[256];
	size_t n = xfrm_encode_getsa(src, dst, spi, ++k->seq, msg, sizeof msg);
	return n ? xfrm_request(k, msg, n, bytes) : -1;
}

static int x_policy(struct kernel *k, const struct kernel_policy *p, bool add)
{
	uint8_t msg[512];
	size_t n = xfrm_encode_policy(p, add, ++k->seq, msg, sizeof msg);
	return n ? xfrm_request(k, msg, n, NULL) : -1;
}

static int x_add_policy(struct kernel *k, const struct kernel_policy *p)
{
	return x_policy(k, p, true);
}

static int x_del_policy(struct kernel *k, const struct kernel_policy *p)
{
	return x_policy(k, p, false);
}

/* What the expire group has: each datagram from the kernel is parsed and
 * its events reported. Level-triggered polling brings us back for more, so
 * one call reads a bounded number. */
static void x_receive(struct kernel *k)
{
	uint8_t rx[8192];
	for (int i = 0; i < 64; i++) {
		bool foreign;
		ssize_t n = nl_recv_kernel(k->event_fd, rx, sizeof rx, &foreign);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				/* the SAs whose events were lost still expire at their hard
				 * limits; the refresh before it is what is missed */
				log_warn("kernel xfrm: expire messages were lost (receive buffer full)");
				continue;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("kernel xfrm: reading expire messages: %s", strerror(errno));
			return;
		}
		if (foreign) {
			log_debug("kernel xfrm: dropped a message not from the kernel or too long "
				  "(%zd bytes)", n);
			continue;
		}
		struct kernel_event ev[16];
		size_t bad, nev = xfrm_parse_expire(rx, (size_t)n, ev, 16, &bad);
		if (bad)
			log_warn("kernel xfrm: %zu malformed expire message(s) ignored", bad);
		for (size_t j = 0; j < nev; j++)
			kernel_report(k, &ev[j]);
	}
}

static void x_close(struct kernel *k)
{
	if (k->fd >= 0)
		close(k->fd);
	if (k->event_fd >= 0)
		close(k->event_fd);
	k->fd = -1;
	k->event_fd = -1;
}

/* The expire group on a socket of its own (see the top). Without it iked
 * still works; SAs then run to their hard byte limit without a refresh. */
static int open_events(char *err, size_t errlen)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_XFRM);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int group = XFRMNLGRP_EXPIRE;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0) {
		snprintf(err, errlen, "joining the expire group: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int x_open(struct kernel *k, const struct kernel_args *a, char *err, size_t errlen)
{
	k->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_XFRM);
	if (k->fd < 0) {
		snprintf(err, errlen, "netlink XFRM socket: %s", strerror(errno));
		return -1;
	}
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	if (bind(k->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		snprintf(err, errlen, "netlink XFRM bind: %s", strerror(errno));
		x_close(k);
		return -1;
	}
	struct timeval tv = { .tv_sec = 2 };
	setsockopt(k->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	char why[160];
	k->event_fd = open_events(why, sizeof why);
	if (k->event_fd < 0)
		log_warn("kernel xfrm: no expire messages (%s): SAs will not be refreshed at "
			 "their lifesize", why);
	return 0;
}

/* ---- does this kernel do ESP? ----------------------------------------------------- */

/* In the probing child: one tunnel-mode ESP SA (AES-CBC, HMAC-SHA2-256) to
 * the loopback address, in a network namespace of its own when the child
 * may make one (it goes with the child); else here, with a one-second hard
 * lifetime, deleted at once. */
static bool probe_here(char *why, size_t whylen)
{
	bool own_ns = unshare(CLONE_NEWNET) == 0;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_XFRM);
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		snprintf(why, whylen, "no XFRM netlink socket: %s", strerror(errno));
		return false;
	}
	struct timeval tv = { .tv_sec = 2 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	static const uint8_t key[32];
	struct kernel_sa ks = {
		.spi = 0x100, .mode = ENCAP_TUNNEL, .enc_alg = ENC_AES_CBC, .enc_key = key,
		.enc_key_len = 16, .auth_alg = AUTHALG_HMAC_SHA2_256_128, .auth_key = key,
		.auth_key_len = 32, .icv_bits = 128, .hard_secs = 1,
	};
	ks.src.family = ks.dst.family = AF_INET;
	ks.src.b[0] = ks.dst.b[0] = 127;
	ks.src.b[3] = ks.dst.b[3] = 1;
	uint8_t msg[1024];
	char err[160];
	size_t n = xfrm_encode_newsa(&ks, 1, msg, sizeof msg);
	if (nl_request(fd, msg, n, err, sizeof err)) {
		snprintf(why, whylen, "the kernel refused an ESP SA: %s", err);
		close(fd);
		return false;
	}
	if (!own_ns) {
		n = xfrm_encode_delsa(&ks.src, &ks.dst, ks.spi, 2, msg, sizeof msg);
		nl_request(fd, msg, n, err, sizeof err);
	}
	close(fd);
	snprintf(why, whylen, "the kernel takes ESP SAs");
	return true;
}

int kernel_xfrm_probe(char *why, size_t whylen)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		return 0;
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return 0;
	}
	if (pid == 0) {
		close(p[0]);
		char msg[200];
		bool ok = probe_here(msg, sizeof msg);
		ssize_t w = write(p[1], msg, strlen(msg));
		_exit(ok && w > 0 ? 0 : 1);
	}
	close(p[1]);
	ssize_t r = read(p[0], why, whylen - 1);
	why[r > 0 ? r : 0] = '\0';
	close(p[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r <= 0)
		snprintf(why, whylen, "the probe did not answer");
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

const struct kernel_ops kernel_xfrm_ops = {
	.name = "xfrm",
	.open = x_open,
	.add_sa = x_add_sa,
	.del_sa = x_del_sa,
	.add_policy = x_add_policy,
	.del_policy = x_del_policy,
	.close = x_close,
	.receive = x_receive,
	.sa_bytes = x_sa_bytes,
};
