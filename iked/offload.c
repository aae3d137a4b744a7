/* iked/offload — splitting TSO packets and coalescing received segments
 * (see offload.h). */
#include "iked/offload.h"

#include <endian.h>
#include <netinet/in.h>
#include <string.h>

#include "iked/codec.h"
#include "iked/ippkt.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_URG 0x20
#define TCP_CWR 0x80

void vnet_hdr_read(const uint8_t *p, struct virtio_net_hdr *h)
{
	memcpy(h, p, sizeof *h);
	h->hdr_len = le16toh(h->hdr_len);
	h->gso_size = le16toh(h->gso_size);
	h->csum_start = le16toh(h->csum_start);
	h->csum_offset = le16toh(h->csum_offset);
}

static void vnet_hdr_write(uint8_t *p, const struct virtio_net_hdr *h)
{
	struct virtio_net_hdr le = *h;
	le.hdr_len = htole16(h->hdr_len);
	le.gso_size = htole16(h->gso_size);
	le.csum_start = htole16(h->csum_start);
	le.csum_offset = htole16(h->csum_offset);
	memcpy(p, &le, sizeof le);
}

int offload_finish_csum(uint8_t *pkt, size_t len, const struct virtio_net_hdr *h)
{
	size_t start = h->csum_start, at = start + h->csum_offset;
	if (start >= len || at + 2 > len)
		return -1;
	ip_sum_put(pkt + at, (uint16_t)~ip_sum_fold(ip_sum(pkt + start, len - start, 0)));
	return 0;
}

/* The addresses of the IP header at pkt. */
static void addresses(const uint8_t *pkt, bool v6, struct ip_addr *src, struct ip_addr *dst)
{
	memset(src, 0, sizeof *src);
	memset(dst, 0, sizeof *dst);
	src->family = dst->family = v6 ? AF_INET6 : AF_INET;
	memcpy(src->b, pkt + (v6 ? 8 : 12), v6 ? 16 : 4);
	memcpy(dst->b, pkt + (v6 ? 24 : 16), v6 ? 16 : 4);
}

/* ---- splitting ----------------------------------------------------------------- */

int tso_init(struct tso *s, const uint8_t *pkt, size_t len, const struct virtio_net_hdr *h)
{
	memset(s, 0, sizeof *s);
	uint8_t type = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
	if (type != VIRTIO_NET_HDR_GSO_TCPV4 && type != VIRTIO_NET_HDR_GSO_TCPV6)
		return -1;
	s->v6 = type == VIRTIO_NET_HDR_GSO_TCPV6;
	if (len < 1 || pkt[0] >> 4 != (s->v6 ? 6 : 4))
		return -1;
	/* where TCP starts: the kernel says so with a partial checksum; the
	 * IPv4 header length says it otherwise (IPv6: no extensions) */
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		s->l4 = h->csum_start;
	else
		s->l4 = s->v6 ? IPV6_HDR_LEN : (size_t)(pkt[0] & 0x0f) * 4;
	if (s->l4 < (s->v6 ? IPV6_HDR_LEN : IPV4_HDR_LEN) || s->l4 + 20 > len ||
	    (!s->v6 && s->l4 != (size_t)(pkt[0] & 0x0f) * 4))
		return -1;
	s->hlen = s->l4 + (size_t)(pkt[s->l4 + 12] >> 4) * 4;
	s->mss = h->gso_size;
	if (s->hlen < s->l4 + 20 || s->hlen > len || s->mss == 0)
		return -1;
	s->pkt = pkt;
	s->len = len;
	s->off = s->hlen;
	s->seq = get32(pkt + s->l4 + 4);
	s->id = s->v6 ? 0 : get16(pkt + 4);
	return 0;
}

size_t tso_next(struct tso *s, uint8_t *out, size_t cap)
{
	if (s->off >= s->len && s->n > 0)
		return 0;
	size_t pay = s->len - s->off < s->mss ? s->len - s->off : s->mss;
	size_t n = s->hlen + pay;
	if (n > cap)
		return 0;
	bool last = s->off + pay >= s->len;
	memcpy(out, s->pkt, s->hlen);
	memcpy(out + s->hlen, s->pkt + s->off, pay);
	if (s->v6) {
		put16(out + 4, (uint16_t)(n - IPV6_HDR_LEN));
	} else {
		put16(out + 2, (uint16_t)n);
		put16(out + 4, (uint16_t)(s->id + s->n));
		put16(out + 10, 0);
		put16(out + 10, ip_checksum(out, s->l4));
	}
	uint8_t *tcp = out + s->l4;
	put32(tcp + 4, s->seq + (uint32_t)(s->off - s->hlen));
	if (!last)
		tcp[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
	if (s->n > 0)
		tcp[13] &= (uint8_t)~TCP_CWR;
	struct ip_addr src, dst;
	addresses(out, s->v6, &src, &dst);
	size_t tlen = n - s->l4;
	put16(tcp + 16, 0);
	ip_sum_put(tcp + 16, (uint16_t)~ip_sum_fold(ip_sum(tcp, tlen,
							   ip_pseudo_sum(&src, &dst, IPPROTO_TCP,
									 tlen))));
	s->off += pay;
	s->n++;
	return n;
}

/* ---- coalescing ------------------------------------------------------------------ */

/* A TCP segment that may join others: IPv4 without options or fragments,
 * IPv6 without extension headers, no SYN, FIN, RST or URG, some payload.
 * Returns the TCP header offset, or 0. */
static size_t joinable(const uint8_t *pkt, size_t len, bool *v6)
{
	if (len < 1)
		return 0;
	size_t l4;
	if (pkt[0] == 0x45) {
		if (len < IPV4_HDR_LEN || pkt[9] != IPPROTO_TCP || get16(pkt + 2) != len ||
		    (get16(pkt + 6) & 0x3fff) != 0)
			return 0;
		l4 = IPV4_HDR_LEN;
		*v6 = false;
	} else if (pkt[0] >> 4 == 6) {
		if (len < IPV6_HDR_LEN || pkt[6] != IPPROTO_TCP ||
		    (size_t)get16(pkt + 4) + IPV6_HDR_LEN != len)
			return 0;
		l4 = IPV6_HDR_LEN;
		*v6 = true;
	} else {
		return 0;
	}
	if (len < l4 + 20)
		return 0;
	size_t hlen = l4 + (size_t)(pkt[l4 + 12] >> 4) * 4;
	if (hlen < l4 + 20 || hlen >= len || (pkt[l4 + 13] & (TCP_SYN | TCP_FIN | TCP_RST | TCP_URG)))
		return 0;
	return l4;
}

/* Whether pkt continues the packet being built: the same flow and headers
 * (but for lengths, IPv4 ID and checksums, sequence number and PSH), the
 * next sequence number, no more payload than the first segment had. */
static bool continues(const struct gro *g, const uint8_t *pkt, size_t len, size_t l4, bool v6)
{
	const uint8_t *cur = g->buf + VNET_HDR_LEN;
	size_t hlen = l4 + (size_t)(pkt[l4 + 12] >> 4) * 4, pay = len - hlen;
	if (g->closed || v6 != g->v6 || l4 != g->l4 || hlen != g->hlen || pay > g->mss ||
	    g->len + pay > GSO_MAX_LEN || get32(pkt + l4 + 4) != g->next_seq)
		return false;
	if (v6) {
		if (memcmp(cur, pkt, 4) != 0 || memcmp(cur + 6, pkt + 6, 34) != 0)
			return false;
	} else if (memcmp(cur + 1, pkt + 1, 1) != 0 || memcmp(cur + 6, pkt + 6, 4) != 0 ||
		   memcmp(cur + 12, pkt + 12, 8) != 0) {
		return false;
	}
	const uint8_t *a = cur + l4, *b = pkt + l4;
	return memcmp(a, b, 4) == 0 && memcmp(a + 8, b + 8, 5) == 0 &&
	       (a[13] & ~TCP_PSH) == (b[13] & ~TCP_PSH) && memcmp(a + 14, b + 14, 2) == 0 &&
	       memcmp(a + 18, b + 18, hlen - l4 - 18) == 0;
}

bool gro_add(struct gro *g, const uint8_t *pkt, size_t len)
{
	uint8_t *cur = g->buf + VNET_HDR_LEN;
	bool v6 = false;
	size_t l4 = joinable(pkt, len, &v6);
	if (g->len) {
		if (!g->tcp || !l4 || !continues(g, pkt, len, l4, v6))
			return false;
		size_t pay = len - g->hlen;
		memcpy(cur + g->len, pkt + g->hlen, pay);
		g->len += pay;
		g->nseg++;
		g->next_seq += (uint32_t)pay;
		if (pay < g->mss || (pkt[l4 + 13] & TCP_PSH)) {
			cur[l4 + 13] |= pkt[l4 + 13] & TCP_PSH;
			g->closed = true;
		}
		return true;
	}
	if (len > GSO_MAX_LEN)
		return false;
	memcpy(cur, pkt, len);
	g->len = len;
	g->nseg = 1;
	g->tcp = l4 != 0;
	g->closed = false;
	if (g->tcp) {
		g->v6 = v6;
		g->l4 = l4;
		g->hlen = l4 + (size_t)(pkt[l4 + 12] >> 4) * 4;
		g->mss = len - g->hlen;
		g->next_seq = get32(pkt + l4 + 4) + (uint32_t)g->mss;
		g->closed = (pkt[l4 + 13] & TCP_PSH) != 0;
	}
	return true;
}

size_t gro_take(struct gro *g, uint8_t **out)
{
	if (!g->len)
		return 0;
	uint8_t *pkt = g->buf + VNET_HDR_LEN;
	struct virtio_net_hdr h;
	memset(&h, 0, sizeof h);
	if (g->nseg == 1) {
		h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	} else {
		if (g->v6) {
			put16(pkt + 4, (uint16_t)(g->len - IPV6_HDR_LEN));
		} else {
			put16(pkt + 2, (uint16_t)g->len);
			put16(pkt + 10, 0);
			put16(pkt + 10, ip_checksum(pkt, g->l4));
		}
		/* a partial checksum: the pseudo-header's sum, as the kernel's
		 * own TCP leaves it for an offloading device */
		struct ip_addr src, dst;
		addresses(pkt, g->v6, &src, &dst);
		ip_sum_put(pkt + g->l4 + 16,
			   ip_sum_fold(ip_pseudo_sum(&src, &dst, IPPROTO_TCP, g->len - g->l4)));
		h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h.gso_type = g->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
		h.hdr_len = (uint16_t)g->hlen;
		h.gso_size = (uint16_t)g->mss;
		h.csum_start = (uint16_t)g->l4;
		h.csum_offset = 16;
	}
	vnet_hdr_write(g->buf, &h);
	*out = g->buf;
	size_t n = VNET_HDR_LEN + g->len;
	g->len = 0;
	return n;
}
