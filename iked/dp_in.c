/* iked/dp_in — the tun backend's inbound thread: ESP from the wire becomes
 * clear packets on the TUN device.
 *
 * ESP arrives in UDP on the data path's NAT-T socket (the kernel steers it
 * there, and joins datagrams of one flow: UDP GRO) or as IP protocol 50 on a
 * raw socket. Each packet is opened by the inbound SA of its SPI (esp.c:
 * replay window, ICV before decryption, padding), gets its IP header back
 * in transport mode, must lie within the SA's selectors, and goes to the
 * device; with offloads, consecutive TCP segments of one flow are joined
 * into one write (offload.c). Packets for an SPI not yet installed wait a
 * little (see hold()). Nothing is allocated per packet. */
#include "iked/datapath.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "iked/offload.h"

#define BATCH          32                /* datagrams per receive system call */
#define SLOT_DATA      65536             /* a datagram, or what UDP GRO joined */
#define SLOT_SIZE      (SLOT_HEAD + SLOT_DATA + ESP_TAILROOM)

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
	union {
		struct cmsghdr c;                 /* for its alignment */
		uint8_t b[CMSG_SPACE(sizeof(int))];
	} ctl[BATCH];
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
		dp_drop(in->t, ESP_DROP_IO, 0);
}

/* An opened packet for the device: with offloads, joined to the segments
 * before it when it continues them (written at the end of the batch). */
static void deliver(struct inbound *in, const uint8_t *p, size_t len)
{
	if (!in->t->tun.vnet) {
		if (write(in->t->tun.fd, p, len) < 0)
			dp_drop(in->t, ESP_DROP_IO, 0);
		return;
	}
	if (gro_add(&in->gro, p, len))
		return;
	deliver_flush(in);
	if (!gro_add(&in->gro, p, len))
		dp_drop(in->t, ESP_DROP_MALFORMED, 0);
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
		dp_drop(t, ESP_DROP_MALFORMED, 0);
		return;
	}
	uint32_t spi = esp_spi(esp);
	struct tsa *sa = dp_find_in(tb, spi);
	if (!sa) {
		if (!may_hold || !hold(in, esp, len, spi))
			dp_drop(t, ESP_DROP_UNKNOWN_SPI, spi);
		return;
	}
	if (atomic_load_explicit(&sa->hard_hit, memory_order_relaxed)) {
		dp_drop(t, ESP_DROP_EXPIRED, spi);
		return;
	}
	uint8_t *p, nh;
	size_t plen;
	int rc = esp_open(&sa->esp, esp, len, &p, &plen, &nh);
	if (rc != ESP_OK) {
		dp_drop(t, rc, spi);
		return;
	}
	dp_check_limits(in->k, sa);
	if (sa->esp.mode == ENCAP_TRANSPORT) {
		size_t hl = ip_build_header(p, plen, &sa->src, &sa->dst, nh, 64);
		if (!hl) {
			dp_drop(t, ESP_DROP_MALFORMED, spi);
			return;
		}
		p -= hl;
		plen += hl;
	}
	struct ip_flow f;
	if (ip_flow_parse(p, plen, &f)) {
		dp_drop(t, ESP_DROP_MALFORMED, spi);
		return;
	}
	if (!ip_flow_matches(&sa->sel, &f)) {
		dp_drop(t, ESP_DROP_SELECTOR, spi);
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
		if (dp_find_in(tb, h->spi)) {
			open_one(in, tb, pkt, h->len, false);
			continue;
		}
		if (now - h->since_ms >= HOLD_MS) {
			dp_drop(in->t, ESP_DROP_UNKNOWN_SPI, h->spi);
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
		dp_drop(in->t, ESP_DROP_MALFORMED, 0);
		return;
	}
	size_t total = (size_t)pkt[2] << 8 | pkt[3];
	if (total < ihl || total > len) {
		dp_drop(in->t, ESP_DROP_MALFORMED, 0);
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
		in->m[i].msg_hdr.msg_control = in->ctl[i].b;
		in->m[i].msg_hdr.msg_controllen = sizeof in->ctl[i].b;
	}
	int n = recvmmsg(fd, in->m, BATCH, MSG_DONTWAIT, NULL);
	for (int i = 0; i < n; i++) {
		uint8_t *pkt = in->iov[i].iov_base;
		size_t len = in->m[i].msg_len;
		if (in->m[i].msg_hdr.msg_flags & MSG_TRUNC) {
			dp_drop(in->t, ESP_DROP_MALFORMED, 0);
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

void *dp_inbound_main(void *arg)
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
	int ep = dp_thread_epoll(t, fds, nfds);
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
		dp_pass_begin(t, TH_IN);
		const struct table *tb = dp_current(t);
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
		dp_pass_end(t, TH_IN);
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

