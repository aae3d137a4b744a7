/* iked/ippkt — flows, selectors, checksums and headers of clear packets. */
#include "iked/ippkt.h"

#include <netinet/in.h>
#include <string.h>

#include "iked/codec.h"

static bool has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP ||
	       proto == IPPROTO_UDPLITE;
}

static void read_ports(const uint8_t *p, size_t len, struct ip_flow *f)
{
	if (f->later_fragment || !has_ports(f->proto) || len < f->hdr_len + 4)
		return;
	f->sport = get16(p + f->hdr_len);
	f->dport = get16(p + f->hdr_len + 2);
}

static int parse_v4(const uint8_t *p, size_t len, struct ip_flow *f)
{
	if (len < IPV4_HDR_LEN)
		return -1;
	size_t ihl = (size_t)(p[0] & 0x0f) * 4, total = get16(p + 2);
	if (ihl < IPV4_HDR_LEN || total < ihl || total > len)
		return -1;
	f->src.family = f->dst.family = AF_INET;
	memcpy(f->src.b, p + 12, 4);
	memcpy(f->dst.b, p + 16, 4);
	f->proto = p[9];
	f->hdr_len = ihl;
	f->total = total;
	f->later_fragment = (get16(p + 6) & 0x1fff) != 0;
	read_ports(p, total, f);
	return 0;
}

/* IPv6: the extension headers a host may meet before the upper layer, a
 * bounded number of them. */
static int parse_v6(const uint8_t *p, size_t len, struct ip_flow *f)
{
	if (len < IPV6_HDR_LEN)
		return -1;
	size_t total = IPV6_HDR_LEN + get16(p + 4);
	if (total > len)
		return -1;
	f->src.family = f->dst.family = AF_INET6;
	memcpy(f->src.b, p + 8, 16);
	memcpy(f->dst.b, p + 24, 16);
	f->total = total;
	uint8_t nh = p[6];
	size_t off = IPV6_HDR_LEN;
	for (int i = 0; i < 8; i++) {
		if (nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS) {
			if (off + 8 > total)
				return -1;
			size_t ext = ((size_t)p[off + 1] + 1) * 8;
			nh = p[off];
			off += ext;
			continue;
		}
		if (nh == IPPROTO_FRAGMENT) {
			if (off + 8 > total)
				return -1;
			f->later_fragment = (get16(p + off + 2) & 0xfff8) != 0;
			nh = p[off];
			off += 8;
			continue;
		}
		break;
	}
	if (off > total)
		return -1;
	f->proto = nh;
	f->hdr_len = off;
	read_ports(p, total, f);
	return 0;
}

int ip_flow_parse(const uint8_t *p, size_t len, struct ip_flow *f)
{
	memset(f, 0, sizeof *f);
	if (len < 1)
		return -1;
	switch (p[0] >> 4) {
	case 4: return parse_v4(p, len, f);
	case 6: return parse_v6(p, len, f);
	default: return -1;
	}
}

static bool range_has(const struct ip_range *r, const struct ip_addr *a)
{
	if (r->kind == IPR_ALL || r->family == AF_UNSPEC)
		return true;
	if (r->family != a->family)
		return false;
	size_t n = a->family == AF_INET6 ? 16 : 4;
	return memcmp(r->lo, a->b, n) <= 0 && memcmp(a->b, r->hi, n) <= 0;
}

bool ip_flow_matches(const struct kernel_sel *s, const struct ip_flow *f)
{
	if (!range_has(&s->src, &f->src) || !range_has(&s->dst, &f->dst))
		return false;
	if (s->proto && s->proto != f->proto)
		return false;
	if ((s->sport || s->dport) && f->later_fragment)
		return false;
	return (!s->sport || s->sport == f->sport) && (!s->dport || s->dport == f->dport);
}

/* One's complement sums in the machine's byte order, 32 bits at a time
 * (RFC 1071: the order of the bytes in each word only swaps the result);
 * fewer than 2^32 words cannot overflow the accumulator. */
uint64_t ip_sum(const void *p, size_t len, uint64_t acc)
{
	const uint8_t *b = p;
	for (; len >= 4; b += 4, len -= 4) {
		uint32_t w;
		memcpy(&w, b, 4);
		acc += w;
	}
	if (len) {
		uint32_t w = 0;
		memcpy(&w, b, len);
		acc += w;
	}
	return acc;
}

uint16_t ip_sum_fold(uint64_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

void ip_sum_put(uint8_t *at, uint16_t folded)
{
	memcpy(at, &folded, 2);
}

uint64_t ip_pseudo_sum(const struct ip_addr *src, const struct ip_addr *dst, uint8_t proto,
		       size_t len)
{
	uint8_t ph[40];
	size_t n = src->family == AF_INET6 ? 16 : 4;
	memcpy(ph, src->b, n);
	memcpy(ph + n, dst->b, n);
	if (n == 16) {
		put32(ph + 32, (uint32_t)len);
		put32(ph + 36, proto);
		return ip_sum(ph, 40, 0);
	}
	ph[8] = 0;
	ph[9] = proto;
	put16(ph + 10, (uint16_t)len);
	return ip_sum(ph, 12, 0);
}

uint16_t ip_checksum(const void *p, size_t len)
{
	uint8_t c[2];
	ip_sum_put(c, (uint16_t)~ip_sum_fold(ip_sum(p, len, 0)));
	return get16(c);
}

/* A TCP or UDP checksum over the pseudo-header of (src, dst, proto). */
static void fix_l4_checksum(uint8_t *l4, size_t len, const struct ip_addr *src,
			    const struct ip_addr *dst, uint8_t proto)
{
	size_t at;
	if (proto == IPPROTO_TCP && len >= 20)
		at = 16;
	else if (proto == IPPROTO_UDP && len >= 8)
		at = 6;
	else
		return;
	if (proto == IPPROTO_UDP && src->family == AF_INET && get16(l4 + at) == 0)
		return;                          /* IPv4 UDP without a checksum stays so */
	put16(l4 + at, 0);
	uint16_t c = (uint16_t)~ip_sum_fold(ip_sum(l4, len, ip_pseudo_sum(src, dst, proto, len)));
	if (proto == IPPROTO_UDP && c == 0)
		c = 0xffff;
	ip_sum_put(l4 + at, c);
}

size_t ip_build_header(uint8_t *payload, size_t len, const struct ip_addr *src,
		       const struct ip_addr *dst, uint8_t proto, uint8_t ttl)
{
	if (len > (src->family == AF_INET6 ? 0xffff : 0xffff - IPV4_HDR_LEN))
		return 0;
	fix_l4_checksum(payload, len, src, dst, proto);
	if (src->family == AF_INET6) {
		uint8_t *h = payload - IPV6_HDR_LEN;
		memset(h, 0, IPV6_HDR_LEN);
		h[0] = 0x60;
		put16(h + 4, (uint16_t)len);
		h[6] = proto;
		h[7] = ttl;
		memcpy(h + 8, src->b, 16);
		memcpy(h + 24, dst->b, 16);
		return IPV6_HDR_LEN;
	}
	uint8_t *h = payload - IPV4_HDR_LEN;
	memset(h, 0, IPV4_HDR_LEN);
	h[0] = 0x45;
	put16(h + 2, (uint16_t)(len + IPV4_HDR_LEN));
	h[8] = ttl;
	h[9] = proto;
	memcpy(h + 12, src->b, 4);
	memcpy(h + 16, dst->b, 4);
	put16(h + 10, ip_checksum(h, IPV4_HDR_LEN));
	return IPV4_HDR_LEN;
}
