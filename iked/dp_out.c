/* iked/dp_out — the tun backend's outbound thread: clear packets from the
 * TUN device become ESP on the wire.
 *
 * Each read from the device is one packet, or with offloads a TCP packet
 * of up to 64 KB that is split into segments (offload.c). The newest
 * outbound SA whose selectors cover the packet seals each segment; what is
 * sealed is sent in batches (sendmmsg) from the SA's socket: in UDP from
 * the NAT-T port (RFC 3948), where the segments of one large packet are
 * sealed back to back and sent in one UDP GSO send, or as IP protocol 50
 * on a raw socket. Nothing is allocated per packet: the read buffer and
 * the slots of a batch are the thread's own. */
#include "iked/datapath.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "common/log.h"
#include "iked/offload.h"

#define READS_PER_PASS 16                /* device reads between two table loads */

/* Up to a TSO packet's worth of sealed segments, sent together. */
#define OUT_BATCH      64
#define OUT_SLOT_DATA  2048               /* a packet of the device's MTU */

struct out_batch {
	struct mmsghdr m[OUT_BATCH];
	struct iovec iov[OUT_BATCH];
	int fd[OUT_BATCH];
	union {
		struct cmsghdr c;                 /* for its alignment */
		uint8_t b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} ctl[OUT_BATCH];
	uint8_t slot[OUT_BATCH][SLOT_HEAD + OUT_SLOT_DATA + ESP_TAILROOM];
	size_t n;
	uint8_t *gso;                     /* seal_gso's: GSO_SIZE bytes */
};

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
				dp_drop(t, ESP_DROP_IO, 0);
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
	dp_check_limits(k, sa);
	if (rc != ESP_OK) {
		dp_drop(t, rc, sa->esp.spi);
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
		memset(&b->ctl[n], 0, sizeof b->ctl[n]);
		mh->msg_control = b->ctl[n].b;
		mh->msg_controllen = net_put_source(&b->ctl[n].c, &sa->src);
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
		cl += net_put_source((struct cmsghdr *)(ctl.b + cl), &sa->src);
	mh.msg_controllen = cl;
	if (nseg > 1 && iov.iov_len == len) {
		if (sendmsg(sa->fd, &mh, 0) >= 0)
			return;
		if (errno != EIO && errno != EINVAL) {
			dp_drop(t, ESP_DROP_IO, sa->esp.spi);
			return;
		}
		log_info("kernel(tun): no UDP segmentation offload here (%s): one send per packet",
			 strerror(errno));
		atomic_store(&t->no_udp_gso, true);
		mh.msg_controllen = sa->set_src ? net_put_source(&ctl.c, &sa->src) : 0;
	}
	for (size_t off = 0; off < len; off += size) {
		iov.iov_base = buf + off;
		iov.iov_len = len - off < size ? len - off : size;
		if (sendmsg(sa->fd, &mh, 0) < 0)
			dp_drop(t, ESP_DROP_IO, sa->esp.spi);
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
		dp_check_limits(k, sa);
		if (rc != ESP_OK) {
			dp_drop(t, rc, sa->esp.spi);
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
		dp_drop(t, ESP_DROP_MALFORMED, 0);
		return;
	}
	struct tsa *sa = dp_find_out(tb, &f);
	if (!sa) {
		dp_drop(t, ESP_DROP_NO_SA, 0);
		return;
	}
	if (h && h->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		struct tso s;
		if (tso_init(&s, pkt, f.total, h)) {
			dp_drop(t, ESP_DROP_MALFORMED, 0);
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
		dp_drop(t, ESP_DROP_MALFORMED, 0);
		return;
	}
	if (f.total > OUT_SLOT_DATA) {
		dp_drop(t, ESP_DROP_MALFORMED, 0);
		return;
	}
	if (b->n == OUT_BATCH)
		flush(t, b);
	uint8_t *slot = b->slot[b->n] + SLOT_HEAD;
	memcpy(slot, pkt, f.total);
	seal_into(k, t, sa, &f, slot, f.total, b);
}

void *dp_outbound_main(void *arg)
{
	struct kernel *k = arg;
	struct tunk *t = k->priv;
	size_t cap = VNET_HDR_LEN + GSO_MAX_LEN;
	uint8_t *rbuf = malloc(cap);
	struct out_batch *b = calloc(1, sizeof *b);
	if (b)
		b->gso = malloc(GSO_SIZE);
	int ep = dp_thread_epoll(t, &t->tun.fd, 1);
	if (!rbuf || !b || !b->gso || ep < 0) {
		log_err("kernel(tun): the outbound thread cannot start: %s", strerror(errno));
		goto out;
	}
	while (!atomic_load(&t->stop)) {
		struct epoll_event evs[2];
		if (epoll_wait(ep, evs, 2, -1) < 0 && errno != EINTR)
			break;
		dp_pass_begin(t, TH_OUT);
		const struct table *tb = dp_current(t);
		for (size_t i = 0; i < READS_PER_PASS; i++) {
			ssize_t n = read(t->tun.fd, rbuf, cap);
			if (n <= 0)
				break;
			if (!t->tun.vnet) {
				seal_read(k, t, tb, NULL, rbuf, (size_t)n, b);
				continue;
			}
			if ((size_t)n < VNET_HDR_LEN) {
				dp_drop(t, ESP_DROP_MALFORMED, 0);
				continue;
			}
			struct virtio_net_hdr h;
			vnet_hdr_read(rbuf, &h);
			seal_read(k, t, tb, &h, rbuf + VNET_HDR_LEN, (size_t)n - VNET_HDR_LEN, b);
		}
		flush(t, b);
		dp_pass_end(t, TH_OUT);
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

