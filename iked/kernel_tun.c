/* iked/kernel_tun — the tun backend: iked's own ESP data path, for kernels
 * without XFRM ESP (containers, most cloud hosts). Packets: esp.c; the
 * device, routes and rules: tun.c; this file: the SA table, the sockets and
 * the two data threads.
 *
 * Threads. The IKE thread (the event loop) installs and removes SAs and
 * routes; two data threads carry the packets, so a saturated transfer never
 * delays IKE. The outbound thread reads clear packets from the TUN device,
 * seals each with the newest outbound SA whose selectors cover it and
 * sends it (ESP in UDP, RFC 3948, from the NAT-T port; or plain ESP on a
 * raw socket). The inbound thread receives ESP, opens it with the inbound
 * SA of its SPI, checks the inner packet against that SA's selectors and
 * writes it to the device. An SA belongs to one direction, so to one data
 * thread: its ESP state (sequence numbers, replay window) needs no lock.
 *
 * Publication. The data threads see the SAs through an immutable table
 * that the IKE thread replaces for every change (one atomic pointer swap):
 * readers never wait and never lock. Each data thread counts its passes
 * (odd while it works on a batch, even while it waits for packets); a
 * replaced table, and a removed SA, are freed once each data thread was
 * idle when they were replaced or has finished the pass it was in
 * (quiescent-state reclamation, run whenever the IKE thread touches the
 * table). A refresh therefore loses nothing here: the old inbound SA opens
 * packets until it is deleted, and outbound packets take the new SA from
 * the first batch after it is installed.
 *
 * Port 4500. IKE's NAT-T socket and the data path's ESP socket are bound to
 * the same address and port (SO_REUSEPORT); a classic BPF program on that
 * group steers each datagram by its first four bytes: the non-ESP marker
 * (zero) and keepalives to IKE's socket, everything else (an SPI is never
 * zero) to the data path's. The kernel sorts, so neither thread touches the
 * other's packets and an ESP flood never fills IKE's receive queue.
 *
 * Limits. The bytes of the clear packets drive each SA's soft and hard
 * limits; sequence numbers about to run out count as a soft limit, spent
 * ones as a hard limit. The data thread marks the SA and wakes the IKE
 * thread through an eventfd (k->event_fd); receive() reports each mark once
 * through kernel_report(), after taking an SA at its hard limit out of the
 * table as a kernel would.
 */
#include "iked/kernel.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "iked/esp.h"
#include "iked/ippkt.h"
#include "iked/isakmp.h"
#include "iked/net.h"
#include "iked/offload.h"
#include "iked/tun.h"
#include "policy/schema.h"

#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF 51
#endif

#define TUN_MTU        1400              /* fits ESP in UDP in a 1500-byte link */
#define BATCH          32                /* datagrams per receive system call */
#define READS_PER_PASS 16                /* device reads between two table loads */
#define SLOT_HEAD      64                /* before a packet: ESP header and IV, or an IP header */
#define SLOT_DATA      65536             /* a datagram, or what UDP GRO joined */
#define SLOT_SIZE      (SLOT_HEAD + SLOT_DATA + ESP_TAILROOM)
#define SEQ_SOFT_LEFT  (1u << 28)        /* refresh with this many sequence numbers left */
#define MAX_DATA_SOCKS NET_MAX_SOCKETS

enum { TH_IN, TH_OUT };

/* One installed SA. */
struct tsa {
	struct esp_sa esp;                /* used by its direction's data thread only */
	struct kernel_sel sel;
	struct ip_addr src, dst;          /* outer addresses */
	bool inbound, udp_encap;
	uint64_t soft_bytes, hard_bytes;
	char label[32];
	/* outbound: where its packets go */
	int fd;
	struct sockaddr_storage to;
	socklen_t tolen;
	bool set_src;                     /* a wildcard socket: the source goes with each packet */
	/* marks from the data thread; what the IKE thread has reported */
	_Atomic bool soft_hit, hard_hit;
	bool soft_told, hard_told;
};

/* What the data threads see: immutable once published. Inbound SAs sorted
 * by SPI; outbound SAs in the order they were installed (newest last). */
struct table {
	size_t nin, nout;
	struct tsa **in, **out;
	struct tsa *v[];
};

struct retired {
	void *p;
	bool is_sa;
	uint64_t qs[2];                   /* the threads' passes when it was replaced */
};

struct route {
	struct tun_prefix p;
	struct ip_addr src;
	bool have_src;
	unsigned refs;
};

struct dsock {
	int fd;
	struct ip_addr local;
	uint16_t port;
	bool wildcard;
};

struct tunk {
	struct tun tun;
	struct dsock udp[MAX_DATA_SOCKS];
	size_t nudp;
	int raw4, raw6;
	int wake;                         /* eventfd: the data threads stop */
	int published;                    /* eventfd: the inbound thread, a new table */
	_Atomic bool stop;
	pthread_t th[2];
	bool started[2];
	_Atomic(struct table *) table;
	_Atomic uint64_t qs[2];
	struct retired *retired;
	size_t nretired, cap_retired;
	struct route *routes;
	size_t nroutes;
	_Atomic uint64_t drops[ESP_NRESULTS];
	_Atomic bool no_udp_gso;          /* UDP_SEGMENT failed once */
};

/* ---- drops ---------------------------------------------------------------------- */

/* Counted always; logged at debug, at most a few lines a second per thread. */
static void drop(struct tunk *t, int why, uint32_t spi)
{
	static _Thread_local time_t second;
	static _Thread_local unsigned lines;
	atomic_fetch_add_explicit(&t->drops[why], 1, memory_order_relaxed);
	time_t now = time(NULL);
	if (now != second) {
		second = now;
		lines = 0;
	}
	if (lines++ < 5)
		log_debug("kernel(tun): dropped a packet (spi %08x): %s", spi, esp_result_name(why));
}

/* ---- the table ------------------------------------------------------------------ */

static struct table *table_new(size_t nin, size_t nout)
{
	struct table *tb = calloc(1, sizeof *tb + (nin + nout + 1) * sizeof(struct tsa *));
	if (!tb)
		return NULL;
	tb->nin = nin;
	tb->nout = nout;
	tb->in = tb->v;
	tb->out = tb->v + nin;
	return tb;
}

static struct table *current(struct tunk *t)
{
	return atomic_load(&t->table);
}

static struct tsa *find_in(const struct table *tb, uint32_t spi)
{
	size_t lo = 0, hi = tb->nin;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint32_t s = tb->in[mid]->esp.spi;
		if (s == spi)
			return tb->in[mid];
		if (s < spi)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static struct tsa *find_out(const struct table *tb, const struct ip_flow *f)
{
	for (size_t i = tb->nout; i-- > 0;) {
		struct tsa *sa = tb->out[i];
		if (!atomic_load_explicit(&sa->hard_hit, memory_order_relaxed) &&
		    ip_flow_matches(&sa->sel, f))
			return sa;
	}
	return NULL;
}

static void retire(struct tunk *t, void *p, bool is_sa)
{
	if (t->nretired == t->cap_retired) {
		size_t cap = t->cap_retired ? 2 * t->cap_retired : 16;
		struct retired *r = realloc(t->retired, cap * sizeof *r);
		if (!r) {
			/* cannot wait for the readers: leak rather than free under them */
			log_warn("kernel(tun): out of memory; %s not freed", is_sa ? "an SA" : "a table");
			return;
		}
		t->retired = r;
		t->cap_retired = cap;
	}
	struct retired *r = &t->retired[t->nretired++];
	r->p = p;
	r->is_sa = is_sa;
	for (int i = 0; i < 2; i++)
		r->qs[i] = atomic_load(&t->qs[i]);
}

static void free_sa(struct tsa *sa)
{
	esp_sa_wipe(&sa->esp);
	free(sa);
}

/* Free what no data thread can still be reading: each thread was idle (an
 * even count) when it was retired, or has counted on since. */
static void reclaim(struct tunk *t)
{
	uint64_t now[2] = { atomic_load(&t->qs[0]), atomic_load(&t->qs[1]) };
	size_t keep = 0;
	for (size_t i = 0; i < t->nretired; i++) {
		struct retired *r = &t->retired[i];
		bool done = true;
		for (int th = 0; th < 2; th++)
			if (r->qs[th] % 2 == 1 && now[th] == r->qs[th])
				done = false;
		if (!done) {
			t->retired[keep++] = *r;
			continue;
		}
		if (r->is_sa)
			free_sa(r->p);
		else
			free(r->p);
	}
	t->nretired = keep;
}

static void publish(struct tunk *t, struct table *tb)
{
	struct table *old = atomic_exchange(&t->table, tb);
	if (old)
		retire(t, old, false);
	uint64_t one = 1;
	if (t->published >= 0 && write(t->published, &one, sizeof one) < 0 && errno != EAGAIN)
		log_debug("kernel(tun): cannot tell the inbound thread: %s", strerror(errno));
}

/* A copy of the current table with sa added (NULL) or without it. */
static struct table *table_with(struct tunk *t, struct tsa *add, const struct tsa *without)
{
	struct table *cur = current(t);
	size_t nin = cur->nin, nout = cur->nout;
	if (add)
		*(add->inbound ? &nin : &nout) += 1;
	if (without)
		*(without->inbound ? &nin : &nout) -= 1;
	struct table *tb = table_new(nin, nout);
	if (!tb)
		return NULL;
	size_t j = 0;
	bool placed = !add || !add->inbound;
	for (size_t i = 0; i < cur->nin; i++) {
		if (cur->in[i] == without)
			continue;
		if (!placed && add->esp.spi < cur->in[i]->esp.spi) {
			tb->in[j++] = add;
			placed = true;
		}
		tb->in[j++] = cur->in[i];
	}
	if (!placed)
		tb->in[j++] = add;
	j = 0;
	for (size_t i = 0; i < cur->nout; i++)
		if (cur->out[i] != without)
			tb->out[j++] = cur->out[i];
	if (add && !add->inbound)
		tb->out[j++] = add;
	return tb;
}

static bool same_addr(const struct ip_addr *a, const struct ip_addr *b)
{
	return a->family == b->family && memcmp(a->b, b->b, a->family == AF_INET6 ? 16 : 4) == 0;
}

static struct tsa *lookup(struct tunk *t, const struct ip_addr *dst, uint32_t spi)
{
	struct table *tb = current(t);
	for (size_t i = 0; i < tb->nin + tb->nout; i++) {
		struct tsa *sa = tb->v[i];
		if (sa->esp.spi == spi && same_addr(&sa->dst, dst))
			return sa;
	}
	return NULL;
}

/* ---- limits (data threads) ---------------------------------------------------------- */

static void wake_ike(struct kernel *k)
{
	uint64_t one = 1;
	if (write(k->event_fd, &one, sizeof one) < 0 && errno != EAGAIN)
		log_debug("kernel(tun): cannot wake the event loop: %s", strerror(errno));
}

static void check_limits(struct kernel *k, struct tsa *sa)
{
	uint64_t bytes = atomic_load_explicit(&sa->esp.st.bytes, memory_order_relaxed);
	uint64_t left = sa->inbound ? UINT64_MAX : esp_seq_left(&sa->esp);
	bool soft = (sa->soft_bytes && bytes >= sa->soft_bytes) || left < SEQ_SOFT_LEFT;
	bool hard = (sa->hard_bytes && bytes >= sa->hard_bytes) || left == 0;
	bool changed = false;
	if (soft && !atomic_load_explicit(&sa->soft_hit, memory_order_relaxed)) {
		atomic_store(&sa->soft_hit, true);
		changed = true;
	}
	if (hard && !atomic_load_explicit(&sa->hard_hit, memory_order_relaxed)) {
		atomic_store(&sa->hard_hit, true);
		changed = true;
	}
	if (changed)
		wake_ike(k);
}

/* ---- the outbound thread ---------------------------------------------------------- */

/* Up to a TSO packet's worth of sealed segments, sent together. */
#define OUT_BATCH      64
#define OUT_SLOT_DATA  2048               /* a packet of the device's MTU */

struct out_batch {
	struct mmsghdr m[OUT_BATCH];
	struct iovec iov[OUT_BATCH];
	int fd[OUT_BATCH];
	uint8_t ctl[OUT_BATCH][CMSG_SPACE(sizeof(struct in6_pktinfo))];
	uint8_t slot[OUT_BATCH][SLOT_HEAD + OUT_SLOT_DATA + ESP_TAILROOM];
	size_t n;
	uint8_t *gso;                     /* seal_gso's: GSO_SIZE bytes */
};

/* The source address of a packet from a wildcard socket, as a control
 * message at c; the room it takes. */
static size_t put_source(struct cmsghdr *c, const struct ip_addr *src)
{
	if (src->family == AF_INET6) {
		struct in6_pktinfo pi = { 0 };
		memcpy(&pi.ipi6_addr, src->b, 16);
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof pi);
		memcpy(CMSG_DATA(c), &pi, sizeof pi);
		return CMSG_SPACE(sizeof pi);
	}
	struct in_pktinfo pi = { 0 };
	memcpy(&pi.ipi_spec_dst, src->b, 4);
	c->cmsg_level = IPPROTO_IP;
	c->cmsg_type = IP_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof pi);
	memcpy(CMSG_DATA(c), &pi, sizeof pi);
	return CMSG_SPACE(sizeof pi);
}

/* Send what the batch holds, one sendmmsg per run of packets for the same
 * socket. The sockets block: a full send buffer holds the thread back, and
 * the TUN queue in front of it drops, as a link would. */
static void flush(struct tunk *t, struct out_batch *b)
{
	size_t i = 0;
	while (i < b->n) {
		size_t j = i + 1;
		while (j < b->n && b->fd[j] == b->fd[i])
			j++;
		size_t sent = 0;
		while (sent < j - i) {
			int r = sendmmsg(b->fd[i], b->m + i + sent, (unsigned)(j - i - sent), 0);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				/* the first one failed (no route, message too long): skip it */
				drop(t, ESP_DROP_IO, 0);
				sent++;
				continue;
			}
			sent += (size_t)r;
		}
		i = j;
	}
	b->n = 0;
}

/* Seal the len bytes at pkt (a packet of flow f, in an out slot) with sa
 * and queue the result. */
static void seal_into(struct kernel *k, struct tunk *t, struct tsa *sa, const struct ip_flow *f,
		      uint8_t *pkt, size_t len, struct out_batch *b)
{
	uint8_t *p = pkt, nh = f->src.family == AF_INET6 ? 41 : 4, *esp;
	size_t plen = len, esplen;
	if (sa->esp.mode == ENCAP_TRANSPORT) {
		p += f->hdr_len;
		plen -= f->hdr_len;
		nh = f->proto;
	}
	int rc = esp_seal(&sa->esp, p, plen, nh, &esp, &esplen);
	check_limits(k, sa);
	if (rc != ESP_OK) {
		drop(t, rc, sa->esp.spi);
		return;
	}
	size_t n = b->n++;
	b->iov[n].iov_base = esp;
	b->iov[n].iov_len = esplen;
	struct msghdr *mh = &b->m[n].msg_hdr;
	memset(mh, 0, sizeof *mh);
	mh->msg_name = &sa->to;
	mh->msg_namelen = sa->tolen;
	mh->msg_iov = &b->iov[n];
	mh->msg_iovlen = 1;
	if (sa->set_src) {
		memset(b->ctl[n], 0, sizeof b->ctl[n]);
		mh->msg_control = b->ctl[n];
		mh->msg_controllen = put_source((struct cmsghdr *)b->ctl[n], &sa->src);
	}
	b->fd[n] = sa->fd;
}

/* One UDP GSO send: nseg ESP packets of size bytes back to back (the last
 * may be shorter). A kernel or device that cannot (EIO) gets them one by
 * one, now and from then on. */
static void send_gso(struct tunk *t, const struct tsa *sa, uint8_t *buf, size_t len, size_t size,
		     unsigned nseg)
{
	union {
		struct cmsghdr c;
		uint8_t b[CMSG_SPACE(sizeof(uint16_t)) + CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} ctl;
	memset(&ctl, 0, sizeof ctl);
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_name = (void *)&sa->to, .msg_namelen = sa->tolen, .msg_iov = &iov,
			     .msg_iovlen = 1, .msg_control = ctl.b };
	size_t cl = 0;
	if (nseg > 1 && !atomic_load_explicit(&t->no_udp_gso, memory_order_relaxed)) {
		struct cmsghdr *c = &ctl.c;
		uint16_t gso = (uint16_t)size;
		c->cmsg_level = SOL_UDP;
		c->cmsg_type = UDP_SEGMENT;
		c->cmsg_len = CMSG_LEN(sizeof gso);
		memcpy(CMSG_DATA(c), &gso, sizeof gso);
		cl = CMSG_SPACE(sizeof gso);
	} else {
		iov.iov_len = len < size ? len : size;
	}
	if (sa->set_src)
		cl += put_source((struct cmsghdr *)(ctl.b + cl), &sa->src);
	mh.msg_controllen = cl;
	if (nseg > 1 && iov.iov_len == len) {
		if (sendmsg(sa->fd, &mh, 0) >= 0)
			return;
		if (errno != EIO && errno != EINVAL) {
			drop(t, ESP_DROP_IO, sa->esp.spi);
			return;
		}
		log_info("kernel(tun): no UDP segmentation offload here (%s): one send per packet",
			 strerror(errno));
		atomic_store(&t->no_udp_gso, true);
		mh.msg_controllen = sa->set_src ? put_source(&ctl.c, &sa->src) : 0;
	}
	for (size_t off = 0; off < len; off += size) {
		iov.iov_base = buf + off;
		iov.iov_len = len - off < size ? len - off : size;
		if (sendmsg(sa->fd, &mh, 0) < 0)
			drop(t, ESP_DROP_IO, sa->esp.spi);
	}
}

#define GSO_BYTES 60000                   /* ESP bytes of one UDP GSO send */
#define GSO_SEGS  64
#define GSO_SIZE  (SLOT_HEAD + GSO_BYTES + OUT_SLOT_DATA + ESP_HEADROOM + ESP_TAILROOM)

/* ESP in UDP of a TSO packet's segments: sealed back to back and sent with
 * UDP_SEGMENT, so that the kernel makes the datagrams (one send and one
 * route lookup for all). In order after what the batch holds. */
static void seal_gso(struct kernel *k, struct tunk *t, struct tsa *sa, const struct ip_flow *f,
		     struct tso *s, struct out_batch *b)
{
	flush(t, b);
	uint8_t *base = b->gso + SLOT_HEAD, nh = f->src.family == AF_INET6 ? 41 : 4;
	size_t hdr = ESP_HDR_LEN + sa->esp.iv_len, used = 0, size = 0;
	unsigned nseg = 0;
	for (;;) {
		uint8_t *seg = base + used + hdr, *esp;
		size_t n = tso_next(s, seg, OUT_SLOT_DATA), esplen;
		if (!n)
			break;
		int rc = esp_seal(&sa->esp, seg, n, nh, &esp, &esplen);
		check_limits(k, sa);
		if (rc != ESP_OK) {
			drop(t, rc, sa->esp.spi);
			break;
		}
		if (!nseg)
			size = esplen;
		used += esplen;
		nseg++;
		/* a shorter one is the last of a send */
		if (esplen != size || nseg == GSO_SEGS || used + size > GSO_BYTES) {
			send_gso(t, sa, base, used, size, nseg);
			used = 0;
			nseg = 0;
		}
	}
	if (nseg)
		send_gso(t, sa, base, used, size, nseg);
}

/* One packet read from the device: pkt[0..len) with its virtio_net_hdr h
 * (NULL without offloads). A TSO packet is split into segments, each
 * sealed on its own; the SA is chosen once for all of them. */
static void seal_read(struct kernel *k, struct tunk *t, const struct table *tb,
		      const struct virtio_net_hdr *h, uint8_t *pkt, size_t len,
		      struct out_batch *b)
{
	struct ip_flow f;
	if (ip_flow_parse(pkt, len, &f)) {
		drop(t, ESP_DROP_MALFORMED, 0);
		return;
	}
	struct tsa *sa = find_out(tb, &f);
	if (!sa) {
		drop(t, ESP_DROP_NO_SA, 0);
		return;
	}
	if (h && h->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		struct tso s;
		if (tso_init(&s, pkt, f.total, h)) {
			drop(t, ESP_DROP_MALFORMED, 0);
			return;
		}
		if (sa->udp_encap && sa->esp.mode == ENCAP_TUNNEL) {
			seal_gso(k, t, sa, &f, &s, b);
			return;
		}
		for (;;) {
			if (b->n == OUT_BATCH)
				flush(t, b);
			uint8_t *slot = b->slot[b->n] + SLOT_HEAD;
			size_t n = tso_next(&s, slot, OUT_SLOT_DATA);
			if (!n)
				break;
			/* a segment's flow: the super-packet's, but for its length */
			struct ip_flow sf = f;
			sf.total = n;
			seal_into(k, t, sa, &sf, slot, n, b);
		}
		return;
	}
	if (h && (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    offload_finish_csum(pkt, f.total, h)) {
		drop(t, ESP_DROP_MALFORMED, 0);
		return;
	}
	if (f.total > OUT_SLOT_DATA) {
		drop(t, ESP_DROP_MALFORMED, 0);
		return;
	}
	if (b->n == OUT_BATCH)
		flush(t, b);
	uint8_t *slot = b->slot[b->n] + SLOT_HEAD;
	memcpy(slot, pkt, f.total);
	seal_into(k, t, sa, &f, slot, f.total, b);
}

static void pass_begin(struct tunk *t, int th)
{
	atomic_fetch_add(&t->qs[th], 1);          /* odd: reading the table */
}

static void pass_end(struct tunk *t, int th)
{
	atomic_fetch_add(&t->qs[th], 1);          /* even: holding nothing */
}

static int thread_epoll(struct tunk *t, const int *fds, size_t n)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return -1;
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = t->wake };
	epoll_ctl(ep, EPOLL_CTL_ADD, t->wake, &ev);
	for (size_t i = 0; i < n; i++) {
		ev.data.fd = fds[i];
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) < 0) {
			close(ep);
			return -1;
		}
	}
	return ep;
}

static void *outbound_main(void *arg)
{
	struct kernel *k = arg;
	struct tunk *t = k->priv;
	size_t cap = VNET_HDR_LEN + GSO_MAX_LEN;
	uint8_t *rbuf = malloc(cap);
	struct out_batch *b = calloc(1, sizeof *b);
	if (b)
		b->gso = malloc(GSO_SIZE);
	int ep = thread_epoll(t, &t->tun.fd, 1);
	if (!rbuf || !b || !b->gso || ep < 0) {
		log_err("kernel(tun): the outbound thread cannot start: %s", strerror(errno));
		goto out;
	}
	while (!atomic_load(&t->stop)) {
		struct epoll_event evs[2];
		if (epoll_wait(ep, evs, 2, -1) < 0 && errno != EINTR)
			break;
		pass_begin(t, TH_OUT);
		const struct table *tb = current(t);
		for (size_t i = 0; i < READS_PER_PASS; i++) {
			ssize_t n = read(t->tun.fd, rbuf, cap);
			if (n <= 0)
				break;
			if (!t->tun.vnet) {
				seal_read(k, t, tb, NULL, rbuf, (size_t)n, b);
				continue;
			}
			if ((size_t)n < VNET_HDR_LEN) {
				drop(t, ESP_DROP_MALFORMED, 0);
				continue;
			}
			struct virtio_net_hdr h;
			vnet_hdr_read(rbuf, &h);
			seal_read(k, t, tb, &h, rbuf + VNET_HDR_LEN, (size_t)n - VNET_HDR_LEN, b);
		}
		flush(t, b);
		pass_end(t, TH_OUT);
	}
out:
	if (ep >= 0)
		close(ep);
	if (b)
		free(b->gso);
	free(b);
	free(rbuf);
	return NULL;
}

/* ---- the inbound thread ---------------------------------------------------------- */

/* Packets for an SPI not installed yet wait a little: an IKEv1 responder
 * installs its SAs when Quick Mode message 3 arrives, and the initiator
 * sends on them as soon as it has sent that message, so during a refresh
 * the first packets of the new SA can overtake it (RFC 2409's commit bit
 * was meant for this; nobody sets it). They are tried again whenever the
 * table changes, and dropped as unknown after HOLD_MS. */
#define HOLD_MAX   256
#define HOLD_SLOT  2048
#define HOLD_MS    250

struct held {
	uint32_t spi;
	size_t len;
	uint64_t since_ms;
};

struct inbound {
	struct kernel *k;
	struct tunk *t;
	struct gro gro;                   /* with offloads: what goes to the device next */
	uint8_t *slots;
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	uint8_t ctl[BATCH][CMSG_SPACE(sizeof(int))];
	uint8_t *hold;                    /* HOLD_MAX slots of HOLD_SLOT (+ head and tail room) */
	struct held held[HOLD_MAX];
	size_t nheld;
};

#define HOLD_SIZE (SLOT_HEAD + HOLD_SLOT + ESP_TAILROOM)

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* What is coalesced so far goes to the device. */
static void deliver_flush(struct inbound *in)
{
	uint8_t *out;
	size_t n = gro_take(&in->gro, &out);
	if (n && write(in->t->tun.fd, out, n) < 0)
		drop(in->t, ESP_DROP_IO, 0);
}

/* An opened packet for the device: with offloads, joined to the segments
 * before it when it continues them (written at the end of the batch). */
static void deliver(struct inbound *in, const uint8_t *p, size_t len)
{
	if (!in->t->tun.vnet) {
		if (write(in->t->tun.fd, p, len) < 0)
			drop(in->t, ESP_DROP_IO, 0);
		return;
	}
	if (gro_add(&in->gro, p, len))
		return;
	deliver_flush(in);
	if (!gro_add(&in->gro, p, len))
		drop(in->t, ESP_DROP_MALFORMED, 0);
}

static bool hold(struct inbound *in, const uint8_t *esp, size_t len, uint32_t spi)
{
	if (in->nheld == HOLD_MAX || len > HOLD_SLOT)
		return false;
	struct held *h = &in->held[in->nheld];
	memcpy(in->hold + in->nheld * HOLD_SIZE + SLOT_HEAD, esp, len);
	h->spi = spi;
	h->len = len;
	h->since_ms = now_ms();
	in->nheld++;
	return true;
}

static void open_one(struct inbound *in, const struct table *tb, uint8_t *esp, size_t len,
		     bool may_hold)
{
	struct tunk *t = in->t;
	if (len < ESP_HDR_LEN) {
		/* a stray keepalive or IKE message where the BPF program was
		 * not yet attached: nothing of the data path's */
		drop(t, ESP_DROP_MALFORMED, 0);
		return;
	}
	uint32_t spi = esp_spi(esp);
	struct tsa *sa = find_in(tb, spi);
	if (!sa) {
		if (!may_hold || !hold(in, esp, len, spi))
			drop(t, ESP_DROP_UNKNOWN_SPI, spi);
		return;
	}
	if (atomic_load_explicit(&sa->hard_hit, memory_order_relaxed)) {
		drop(t, ESP_DROP_EXPIRED, spi);
		return;
	}
	uint8_t *p, nh;
	size_t plen;
	int rc = esp_open(&sa->esp, esp, len, &p, &plen, &nh);
	if (rc != ESP_OK) {
		drop(t, rc, spi);
		return;
	}
	check_limits(in->k, sa);
	if (sa->esp.mode == ENCAP_TRANSPORT) {
		size_t hl = ip_build_header(p, plen, &sa->src, &sa->dst, nh, 64);
		if (!hl) {
			drop(t, ESP_DROP_MALFORMED, spi);
			return;
		}
		p -= hl;
		plen += hl;
	}
	struct ip_flow f;
	if (ip_flow_parse(p, plen, &f)) {
		drop(t, ESP_DROP_MALFORMED, spi);
		return;
	}
	if (!ip_flow_matches(&sa->sel, &f)) {
		drop(t, ESP_DROP_SELECTOR, spi);
		return;
	}
	deliver(in, p, f.total);
}

/* Held packets whose SA has come are opened (in the order they came);
 * those waiting too long are dropped; the rest wait on. */
static void retry_held(struct inbound *in, const struct table *tb)
{
	uint64_t now = now_ms();
	size_t keep = 0;
	for (size_t i = 0; i < in->nheld; i++) {
		struct held *h = &in->held[i];
		uint8_t *pkt = in->hold + i * HOLD_SIZE + SLOT_HEAD;
		if (find_in(tb, h->spi)) {
			open_one(in, tb, pkt, h->len, false);
			continue;
		}
		if (now - h->since_ms >= HOLD_MS) {
			drop(in->t, ESP_DROP_UNKNOWN_SPI, h->spi);
			continue;
		}
		if (keep != i) {
			memcpy(in->hold + keep * HOLD_SIZE + SLOT_HEAD, pkt, h->len);
			in->held[keep] = *h;
		}
		keep++;
	}
	in->nheld = keep;
}

/* A raw IPv4 socket delivers the IP header too. */
static void open_raw4(struct inbound *in, const struct table *tb, uint8_t *pkt, size_t len)
{
	size_t ihl = len ? (size_t)(pkt[0] & 0x0f) * 4 : 0;
	if (len < IPV4_HDR_LEN || ihl < IPV4_HDR_LEN || ihl > len) {
		drop(in->t, ESP_DROP_MALFORMED, 0);
		return;
	}
	size_t total = (size_t)pkt[2] << 8 | pkt[3];
	if (total < ihl || total > len) {
		drop(in->t, ESP_DROP_MALFORMED, 0);
		return;
	}
	open_one(in, tb, pkt + ihl, total - ihl, true);
}

/* The datagram size UDP GRO coalesced by (0: one datagram). */
static size_t gro_size(struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(int))) {
			int v;
			memcpy(&v, CMSG_DATA(c), sizeof v);
			return v > 0 ? (size_t)v : 0;
		}
	}
	return 0;
}

static void receive_batch(struct inbound *in, const struct table *tb, int fd)
{
	for (size_t i = 0; i < BATCH; i++) {
		in->iov[i].iov_base = in->slots + i * SLOT_SIZE + SLOT_HEAD;
		in->iov[i].iov_len = SLOT_DATA;
		memset(&in->m[i].msg_hdr, 0, sizeof in->m[i].msg_hdr);
		in->m[i].msg_hdr.msg_iov = &in->iov[i];
		in->m[i].msg_hdr.msg_iovlen = 1;
		in->m[i].msg_hdr.msg_control = in->ctl[i];
		in->m[i].msg_hdr.msg_controllen = sizeof in->ctl[i];
	}
	int n = recvmmsg(fd, in->m, BATCH, MSG_DONTWAIT, NULL);
	for (int i = 0; i < n; i++) {
		uint8_t *pkt = in->iov[i].iov_base;
		size_t len = in->m[i].msg_len;
		if (in->m[i].msg_hdr.msg_flags & MSG_TRUNC) {
			drop(in->t, ESP_DROP_MALFORMED, 0);
			continue;
		}
		if (fd == in->t->raw4) {
			open_raw4(in, tb, pkt, len);
			continue;
		}
		/* datagrams UDP GRO joined: each one in turn, in place (what an
		 * opened packet leaves behind is already delivered) */
		size_t step = gro_size(&in->m[i].msg_hdr);
		if (!step || step > len)
			step = len;
		for (size_t off = 0; off < len; off += step)
			open_one(in, tb, pkt + off, len - off < step ? len - off : step, true);
	}
}

static void *inbound_main(void *arg)
{
	struct kernel *k = arg;
	struct tunk *t = k->priv;
	int fds[MAX_DATA_SOCKS + 3];
	size_t nfds = 0;
	for (size_t i = 0; i < t->nudp; i++)
		fds[nfds++] = t->udp[i].fd;
	if (t->raw4 >= 0)
		fds[nfds++] = t->raw4;
	if (t->raw6 >= 0)
		fds[nfds++] = t->raw6;
	fds[nfds++] = t->published;
	struct inbound *in = calloc(1, sizeof *in);
	int ep = thread_epoll(t, fds, nfds);
	if (in) {
		in->k = k;
		in->t = t;
		in->slots = malloc((size_t)BATCH * SLOT_SIZE);
		in->hold = malloc((size_t)HOLD_MAX * HOLD_SIZE);
		in->gro.buf = malloc(VNET_HDR_LEN + GSO_MAX_LEN);
	}
	if (!in || !in->slots || !in->hold || !in->gro.buf || ep < 0) {
		log_err("kernel(tun): the inbound thread cannot start: %s", strerror(errno));
		goto out;
	}
	while (!atomic_load(&t->stop)) {
		struct epoll_event evs[MAX_DATA_SOCKS + 3];
		int n = epoll_wait(ep, evs, MAX_DATA_SOCKS + 3, in->nheld ? HOLD_MS / 5 : -1);
		if (n < 0 && errno != EINTR)
			break;
		pass_begin(t, TH_IN);
		const struct table *tb = current(t);
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			uint64_t v;
			if (fd == t->published) {
				if (read(fd, &v, sizeof v) < 0 && errno != EAGAIN)
					log_debug("kernel(tun): published: %s", strerror(errno));
			} else if (fd != t->wake) {
				receive_batch(in, tb, fd);
			}
		}
		if (in->nheld)
			retry_held(in, tb);
		deliver_flush(in);
		pass_end(t, TH_IN);
	}
out:
	if (ep >= 0)
		close(ep);
	if (in) {
		free(in->gro.buf);
		free(in->hold);
		free(in->slots);
	}
	free(in);
	return NULL;
}

/* ---- kernel_ops: SAs ------------------------------------------------------------------ */

static socklen_t to_sockaddr(const struct ip_addr *a, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, a->b, 16);
		return sizeof *s6;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	memcpy(&s4->sin_addr, a->b, 4);
	return sizeof *s4;
}

/* Where an outbound SA's packets leave: the ESP-in-UDP socket of its source
 * address and port (or the wildcard one of its family), or the raw socket. */
static int route_sa(struct tunk *t, struct tsa *sa, const struct kernel_sa *ks, char *err,
		    size_t errlen)
{
	if (!ks->udp_encap) {
		sa->fd = ks->src.family == AF_INET6 ? t->raw6 : t->raw4;
		sa->set_src = true;
		sa->tolen = to_sockaddr(&ks->dst, 0, &sa->to);
		if (sa->fd < 0) {
			snprintf(err, errlen, "no raw ESP socket for this address family");
			return -1;
		}
		return 0;
	}
	struct dsock *wild = NULL;
	for (size_t i = 0; i < t->nudp; i++) {
		struct dsock *d = &t->udp[i];
		if (d->port != ks->encap_sport || d->local.family != ks->src.family)
			continue;
		if (same_addr(&d->local, &ks->src)) {
			sa->fd = d->fd;
			sa->tolen = to_sockaddr(&ks->dst, ks->encap_dport, &sa->to);
			return 0;
		}
		if (d->wildcard)
			wild = d;
	}
	if (!wild) {
		snprintf(err, errlen, "no ESP socket for source port %u", ks->encap_sport);
		return -1;
	}
	sa->fd = wild->fd;
	sa->set_src = true;
	sa->tolen = to_sockaddr(&ks->dst, ks->encap_dport, &sa->to);
	return 0;
}

static int t_add_sa(struct kernel *k, const struct kernel_sa *ks)
{
	struct tunk *t = k->priv;
	reclaim(t);
	if (ks->inbound && find_in(current(t), ks->spi)) {
		snprintf(k->err, sizeof k->err, "an inbound SA with SPI %08x is installed", ks->spi);
		return -1;
	}
	struct tsa *sa = calloc(1, sizeof *sa);
	if (!sa) {
		snprintf(k->err, sizeof k->err, "out of memory");
		return -1;
	}
	char why[128];
	if (esp_sa_init(&sa->esp, ks, why, sizeof why)) {
		snprintf(k->err, sizeof k->err, "unsupported: %s", why);
		free(sa);
		return -1;
	}
	sa->sel = ks->sel;
	sa->src = ks->src;
	sa->dst = ks->dst;
	sa->inbound = ks->inbound;
	sa->udp_encap = ks->udp_encap;
	sa->soft_bytes = ks->soft_bytes;
	sa->hard_bytes = ks->hard_bytes;
	sa->fd = -1;
	snprintf(sa->label, sizeof sa->label, "%s", ks->label ? ks->label : "");
	if (!ks->inbound && route_sa(t, sa, ks, k->err, sizeof k->err)) {
		free_sa(sa);
		return -1;
	}
	struct table *tb = table_with(t, sa, NULL);
	if (!tb) {
		snprintf(k->err, sizeof k->err, "out of memory");
		free_sa(sa);
		return -1;
	}
	publish(t, tb);
	k->installed_sas++;
	char what[3 * IP_RANGE_STRLEN + 256];
	kernel_sa_format(ks, what, sizeof what);
	log_info("kernel(tun): add SA %s", what);
	return 0;
}

static void log_counts(const struct tsa *sa, const char *what)
{
	const struct esp_stats *s = &sa->esp.st;
	log_info("kernel(tun): %s SA %s spi 0x%08x: %" PRIu64 " packets, %" PRIu64 " bytes; dropped "
		 "%" PRIu64 " replayed, %" PRIu64 " failing integrity, %" PRIu64 " malformed",
		 what, sa->label, sa->esp.spi, (uint64_t)s->packets, (uint64_t)s->bytes,
		 (uint64_t)s->replay, (uint64_t)s->integrity, (uint64_t)s->malformed);
}

static void remove_sa(struct tunk *t, struct tsa *sa, const char *what)
{
	struct table *tb = table_with(t, NULL, sa);
	if (!tb) {
		/* keep it in the table, unusable, rather than free it under a reader */
		atomic_store(&sa->hard_hit, true);
		log_warn("kernel(tun): out of memory removing SA %s", sa->label);
		return;
	}
	log_counts(sa, what);
	publish(t, tb);
	retire(t, sa, true);
}

static int t_del_sa(struct kernel *k, const struct ip_addr *src, const struct ip_addr *dst,
		    uint32_t spi, const char *label)
{
	struct tunk *t = k->priv;
	reclaim(t);
	struct tsa *sa = lookup(t, dst, spi);
	if (!sa || !same_addr(&sa->src, src)) {
		snprintf(k->err, sizeof k->err, "No such process");   /* as the kernel says it */
		return -1;
	}
	remove_sa(t, sa, "removed");
	if (k->installed_sas)
		k->installed_sas--;
	return 0;
}

static struct tsa *lookup_from(struct tunk *t, const struct ip_addr *src, const struct ip_addr *dst,
			       uint32_t spi)
{
	struct tsa *sa = lookup(t, dst, spi);
	return sa && same_addr(&sa->src, src) ? sa : NULL;
}

static int t_sa_stats(struct kernel *k, const struct ip_addr *src, const struct ip_addr *dst,
		      uint32_t spi, struct kernel_sa_stats *st)
{
	struct tsa *sa = lookup_from(k->priv, src, dst, spi);
	if (!sa) {
		snprintf(k->err, sizeof k->err, "No such process");
		return -1;
	}
	const struct esp_stats *s = &sa->esp.st;
	st->bytes = s->bytes;
	st->packets = s->packets;
	st->replay = s->replay;
	st->integrity = s->integrity;
	st->malformed = s->malformed;
	return 0;
}

static int t_sa_bytes(struct kernel *k, const struct ip_addr *src, const struct ip_addr *dst,
		      uint32_t spi, uint64_t *bytes)
{
	struct kernel_sa_stats st;
	if (t_sa_stats(k, src, dst, spi, &st))
		return -1;
	*bytes = st.bytes;
	return 0;
}

/* The limits the data threads marked, reported once each; an SA at its hard
 * limit leaves the table first (the daemon then removes the pair and does
 * not ask us to delete this one). */
static void t_receive(struct kernel *k)
{
	struct tunk *t = k->priv;
	uint64_t v;
	if (read(k->event_fd, &v, sizeof v) < 0 && errno != EAGAIN)
		log_debug("kernel(tun): reading the event counter: %s", strerror(errno));
	reclaim(t);
	const struct table *tb = current(t);
	size_t n = tb->nin + tb->nout, nev = 0;
	struct kernel_event *ev = calloc(n ? 2 * n : 1, sizeof *ev);
	if (!ev) {
		wake_ike(k);                       /* try again on the next turn */
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct tsa *sa = tb->v[i];
		bool soft = atomic_load(&sa->soft_hit) && !sa->soft_told;
		bool hard = atomic_load(&sa->hard_hit) && !sa->hard_told;
		for (int h = 0; h < 2; h++) {
			if (!(h ? hard : soft))
				continue;
			struct kernel_event *e = &ev[nev++];
			e->src = sa->src;
			e->dst = sa->dst;
			e->spi = sa->esp.spi;
			e->proto = IPPROTO_ESP;
			e->hard = h;
			e->bytes = sa->esp.st.bytes;
			uint64_t limit = h ? sa->hard_bytes : sa->soft_bytes;
			e->lifesize = limit && e->bytes >= limit;
		}
		sa->soft_told |= soft;
		sa->hard_told |= hard;
		if (hard)
			remove_sa(t, sa, "hard limit reached,");
	}
	for (size_t i = 0; i < nev; i++)
		kernel_report(k, &ev[i]);
	free(ev);
}

/* ---- kernel_ops: policies are routes ---------------------------------------------------- */

static int route_family(const struct kernel_policy *p)
{
	if (p->sel.dst.kind != IPR_ALL && p->sel.dst.family != AF_UNSPEC)
		return p->sel.dst.family;
	if (p->sel.src.kind != IPR_ALL && p->sel.src.family != AF_UNSPEC)
		return p->sel.src.family;
	return p->tdst.family;
}

static struct route *find_route(struct tunk *t, const struct tun_prefix *p)
{
	for (size_t i = 0; i < t->nroutes; i++)
		if (t->routes[i].p.len == p->len && same_addr(&t->routes[i].p.base, &p->base))
			return &t->routes[i];
	return NULL;
}

static int route_ref(struct kernel *k, const struct tun_prefix *p, const struct ip_addr *src,
		     const char *label)
{
	struct tunk *t = k->priv;
	struct route *r = find_route(t, p);
	if (r) {
		r->refs++;
		return 0;
	}
	r = realloc(t->routes, (t->nroutes + 1) * sizeof *r);
	if (!r) {
		snprintf(k->err, sizeof k->err, "out of memory");
		return -1;
	}
	t->routes = r;
	if (tun_route(&t->tun, true, p, src, k->err, sizeof k->err))
		return -1;
	r = &t->routes[t->nroutes++];
	memset(r, 0, sizeof *r);
	r->p = *p;
	r->refs = 1;
	if (src) {
		r->src = *src;
		r->have_src = true;
	}
	char a[IP_STRLEN], s[IP_STRLEN] = "none";
	ip_addr_format(&p->base, a, sizeof a);
	if (src)
		ip_addr_format(src, s, sizeof s);
	log_info("kernel(tun): route %s/%u dev %s src %s table %d (%s)", a, p->len, t->tun.name, s,
		 TUN_ROUTE_TABLE, label ? label : "");
	return 0;
}

static void route_unref(struct kernel *k, const struct tun_prefix *p)
{
	struct tunk *t = k->priv;
	struct route *r = find_route(t, p);
	if (!r || --r->refs)
		return;
	char why[160];
	if (tun_route(&t->tun, false, &r->p, r->have_src ? &r->src : NULL, why, sizeof why))
		log_warn("kernel(tun): removing a route: %s", why);
	*r = t->routes[--t->nroutes];
}

#define MAX_ROUTE_PREFIXES 256

/* The outbound policy of a tunnel is its routes: each prefix of the remote
 * selector, through the device, with a local address inside the local
 * selector as source when this host has one (traffic this host starts
 * then leaves from inside the tunnel's selectors; a gateway forwards
 * traffic from behind it without one). Inbound and forward policies have
 * nothing to install: every opened packet is checked against its SA. */
static int t_policy(struct kernel *k, const struct kernel_policy *p, bool add)
{
	if (p->dir != KDIR_OUT)
		return 0;
	struct tunk *t = k->priv;
	struct tun_prefix pfx[MAX_ROUTE_PREFIXES];
	size_t n = tun_range_prefixes(&p->sel.dst, route_family(p), pfx, MAX_ROUTE_PREFIXES);
	if (!n) {
		snprintf(k->err, sizeof k->err, "the remote selector needs more than %d routes",
			 MAX_ROUTE_PREFIXES);
		return -1;
	}
	struct ip_addr src;
	bool have_src = tun_local_addr(&p->sel.src, &src);
	for (size_t i = 0; i < n; i++) {
		if (!add) {
			route_unref(k, &pfx[i]);
			continue;
		}
		if (route_ref(k, &pfx[i], have_src ? &src : NULL, p->label)) {
			while (i-- > 0)
				route_unref(k, &pfx[i]);
			return -1;
		}
	}
	(void)t;
	return 0;
}

static int t_add_policy(struct kernel *k, const struct kernel_policy *p)
{
	return t_policy(k, p, true);
}

static int t_del_policy(struct kernel *k, const struct kernel_policy *p)
{
	return t_policy(k, p, false);
}

/* ---- opening and closing ---------------------------------------------------------------- */

static void stop_threads(struct tunk *t)
{
	atomic_store(&t->stop, true);
	uint64_t one = 1;
	if (t->wake >= 0 && write(t->wake, &one, sizeof one) < 0)
		log_warn("kernel(tun): cannot wake the data threads: %s", strerror(errno));
	for (int i = 0; i < 2; i++)
		if (t->started[i])
			pthread_join(t->th[i], NULL);
	t->started[0] = t->started[1] = false;
}

static void log_drops(struct tunk *t)
{
	char line[512];
	size_t len = 0;
	for (int r = 1; r < ESP_NRESULTS; r++) {
		uint64_t n = atomic_load(&t->drops[r]);
		if (n && len < sizeof line)
			len += (size_t)snprintf(line + len, sizeof line - len, "%s%" PRIu64 " %s",
						len ? ", " : "", n, esp_result_name(r));
	}
	log_info("kernel(tun): data path stopped; packets dropped: %s", len ? line : "none");
}

static void t_close(struct kernel *k)
{
	struct tunk *t = k->priv;
	if (!t)
		return;
	stop_threads(t);
	struct table *tb = atomic_exchange(&t->table, NULL);
	if (tb) {
		for (size_t i = 0; i < tb->nin + tb->nout; i++) {
			log_counts(tb->v[i], "removed at exit:");
			free_sa(tb->v[i]);
		}
		free(tb);
	}
	for (size_t i = 0; i < t->nretired; i++) {
		if (t->retired[i].is_sa)
			free_sa(t->retired[i].p);
		else
			free(t->retired[i].p);
	}
	free(t->retired);
	free(t->routes);
	log_drops(t);
	tun_close(&t->tun);
	for (size_t i = 0; i < t->nudp; i++)
		close(t->udp[i].fd);
	if (t->raw4 >= 0)
		close(t->raw4);
	if (t->raw6 >= 0)
		close(t->raw6);
	if (t->wake >= 0)
		close(t->wake);
	if (t->published >= 0)
		close(t->published);
	if (k->event_fd >= 0)
		close(k->event_fd);
	k->event_fd = -1;
	free(t);
	k->priv = NULL;
}

/* The NAT-T port's steering (see the top): IKE's socket joined the group
 * first (index 0), ours second (index 1). Reads are at the UDP payload. */
static int attach_steering(int fd, char *err, size_t errlen)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, NON_ESP_MARKER_LEN, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, 1),             /* an SPI: the data path */
		BPF_STMT(BPF_RET | BPF_K, 0),             /* a marker or a keepalive: IKE */
	};
	struct sock_fprog prog = { .len = sizeof code / sizeof code[0], .filter = code };
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog) < 0) {
		snprintf(err, errlen, "steering ESP away from IKE (SO_ATTACH_REUSEPORT_CBPF): %s",
			 strerror(errno));
		return -1;
	}
	return 0;
}

static void big_buffers(int fd)
{
	int size = 4 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
}

static int mark(int fd, char *err, size_t errlen)
{
	uint32_t m = TUN_FWMARK;
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &m, sizeof m) < 0) {
		snprintf(err, errlen, "SO_MARK: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* The data path's twin of one of IKE's NAT-T sockets. */
static int open_udp(struct tunk *t, const struct net_socket *ns, char *err, size_t errlen)
{
	int af = ns->local.ip.family == AF_INET6 ? AF_INET6 : AF_INET, on = 1;
	int fd = socket(af, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "ESP socket: %s", strerror(errno));
		return -1;
	}
	struct dsock *d = &t->udp[t->nudp++];
	d->fd = fd;
	d->local = ns->local.ip;
	d->port = ns->local.port;
	static const uint8_t zero[16];
	d->wildcard = memcmp(d->local.b, zero, af == AF_INET6 ? 16 : 4) == 0;
	int pmtu = af == AF_INET6 ? IPV6_PMTUDISC_DONT : IP_PMTUDISC_DONT;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
	/* the kernel may join ESP datagrams of one flow: one receive for many */
	setsockopt(fd, IPPROTO_UDP, UDP_GRO, &on, sizeof on);
	if (af == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
		setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtu, sizeof pmtu);
	} else {
		setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu);
	}
	big_buffers(fd);
	struct sockaddr_storage ss;
	socklen_t sl = to_sockaddr(&d->local, d->port, &ss);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) < 0 || mark(fd, err, errlen) ||
	    bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		if (!*err)
			snprintf(err, errlen, "ESP socket on port %u: %s", d->port, strerror(errno));
		return -1;
	}
	return attach_steering(fd, err, errlen);
}

static int open_raw(int af, char *err, size_t errlen)
{
	int fd = socket(af, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ESP);
	if (fd < 0) {
		snprintf(err, errlen, "raw ESP socket: %s", strerror(errno));
		return -1;
	}
	big_buffers(fd);
	if (mark(fd, err, errlen)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int open_sockets(struct tunk *t, struct net *net, char *err, size_t errlen)
{
	bool fam[2] = { false, false };
	for (size_t i = 0; i < net->n; i++) {
		struct net_socket *ns = &net->s[i];
		/* IKE's own packets go around the tunnel's routes */
		if (mark(ns->fd, err, errlen))
			return -1;
		fam[ns->local.ip.family == AF_INET6] = true;
		if (ns->natt && open_udp(t, ns, err, errlen))
			return -1;
	}
	if (fam[0] && (t->raw4 = open_raw(AF_INET, err, errlen)) < 0)
		return -1;
	if (fam[1] && (t->raw6 = open_raw(AF_INET6, err, errlen)) < 0)
		return -1;
	return 0;
}

static int start_threads(struct kernel *k, char *err, size_t errlen)
{
	struct tunk *t = k->priv;
	static const char *const names[2] = { "iked-esp-in", "iked-esp-out" };
	void *(*mains[2])(void *) = { inbound_main, outbound_main };
	/* every signal stays with the event loop's signalfd */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = 0;
	for (int i = 0; i < 2 && !rc; i++) {
		rc = pthread_create(&t->th[i], NULL, mains[i], k);
		if (rc) {
			snprintf(err, errlen, "data thread: %s", strerror(rc));
			break;
		}
		t->started[i] = true;
		pthread_setname_np(t->th[i], names[i]);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc ? -1 : 0;
}

struct kernel *kernel_tun_open(const char *device, struct net *net, char *err, size_t errlen)
{
	struct kernel *k = calloc(1, sizeof *k);
	struct tunk *t = calloc(1, sizeof *t);
	struct table *empty = table_new(0, 0);
	if (!k || !t || !empty) {
		snprintf(err, errlen, "out of memory");
		free(k);
		free(t);
		free(empty);
		return NULL;
	}
	err[0] = '\0';
	k->ops = &kernel_tun_ops;
	k->priv = t;
	k->fd = -1;
	t->raw4 = t->raw6 = -1;
	t->tun.fd = t->tun.nl = -1;
	atomic_store(&t->table, empty);
	k->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	t->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	t->published = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (k->event_fd < 0 || t->wake < 0 || t->published < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	if (tun_open(&t->tun, device, TUN_MTU, true, err, errlen) || open_sockets(t, net, err, errlen) ||
	    start_threads(k, err, errlen))
		goto fail;
	log_info("kernel(tun): ESP data path on %s (MTU %d%s), routes in table %d for packets "
		 "without mark 0x%x", t->tun.name, TUN_MTU,
		 t->tun.vnet ? ", TCP segmentation offload" : "", TUN_ROUTE_TABLE, TUN_FWMARK);
	return k;
fail:
	t_close(k);
	free(k);
	return NULL;
}

const struct kernel_ops kernel_tun_ops = {
	.name = "tun",
	.add_sa = t_add_sa,
	.del_sa = t_del_sa,
	.add_policy = t_add_policy,
	.del_policy = t_del_policy,
	.close = t_close,
	.receive = t_receive,
	.sa_bytes = t_sa_bytes,
	.sa_stats = t_sa_stats,
};
