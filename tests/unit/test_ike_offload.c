/* iked/offload: TSO packets split as the kernel's GSO would split them,
 * partial checksums finished, received segments coalesced (and split again
 * into exactly what was coalesced), and what may not be coalesced. */
#include "tests/unit/support.h"

#include <endian.h>
#include <netinet/in.h>
#include <string.h>

#include "iked/codec.h"
#include "iked/ippkt.h"
#include "iked/offload.h"

/* Checksums written out here apart from ippkt's: a receiver's view. */
static uint16_t sum_be(const uint8_t *p, size_t len, uint32_t acc)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		acc += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		acc += (uint32_t)p[len - 1] << 8;
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

static bool l4_ok(const uint8_t *pkt, size_t l4, size_t len, bool v6, uint8_t proto)
{
	uint32_t acc = 0;
	size_t n = v6 ? 16 : 4;
	acc += sum_be(pkt + (v6 ? 8 : 12), 2 * n, 0);
	acc += proto + (uint32_t)(len - l4);
	return sum_be(pkt + l4, len - l4, acc) == 0xffff;
}

/* A TCP packet with pay bytes of payload (timestamps option: 32-byte TCP
 * header) and the given flags, checksum partial as the kernel hands it. */
static size_t tcp_packet(uint8_t *p, bool v6, size_t pay, uint8_t flags, uint32_t seq)
{
	size_t l4 = v6 ? 40 : 20, len = l4 + 32 + pay;
	memset(p, 0, l4 + 32);
	if (v6) {
		p[0] = 0x60;
		put16(p + 4, (uint16_t)(len - 40));
		p[6] = IPPROTO_TCP;
		p[7] = 64;
		p[8] = 0x20, p[23] = 1;
		p[24] = 0x20, p[39] = 2;
	} else {
		p[0] = 0x45;
		put16(p + 2, (uint16_t)len);
		put16(p + 4, 0x1000);
		put16(p + 6, 0x4000);
		p[8] = 64;
		p[9] = IPPROTO_TCP;
		memcpy(p + 12, (uint8_t[]){ 198, 19, 1, 1, 198, 19, 2, 1 }, 8);
		put16(p + 10, ip_checksum(p, 20));
	}
	uint8_t *t = p + l4;
	put16(t, 40000);
	put16(t + 2, 5001);
	put32(t + 4, seq);
	put32(t + 8, 77);
	t[12] = 8 << 4;
	t[13] = flags;
	put16(t + 14, 500);
	t[20] = 1, t[21] = 1, t[22] = 8, t[23] = 10;    /* NOP NOP timestamps */
	put32(t + 24, 123456);
	for (size_t i = 0; i < pay; i++)
		p[l4 + 32 + i] = (uint8_t)(i * 7 + seq);
	return len;
}

static struct virtio_net_hdr tso_hdr(bool v6, size_t mss)
{
	struct virtio_net_hdr h = { 0 };
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
	h.hdr_len = (uint16_t)((v6 ? 40 : 20) + 32);
	h.gso_size = (uint16_t)mss;
	h.csum_start = v6 ? 40 : 20;
	h.csum_offset = 16;
	return h;
}

static uint8_t big[GSO_MAX_LEN + 64], segs[64][2048];
static size_t seglen[64];

START_TEST(tso_splits_like_the_kernel)
{
	bool v6 = _i;
	size_t l4 = v6 ? 40 : 20, hlen = l4 + 32, mss = 1348, pay = 5000;
	size_t len = tcp_packet(big, v6, pay, 0x18 | 0x80, 1000);     /* ACK PSH CWR */
	struct virtio_net_hdr h = tso_hdr(v6, mss);
	struct tso s;
	ck_assert_int_eq(tso_init(&s, big, len, &h), 0);
	size_t n = 0, got = 0;
	while ((seglen[n] = tso_next(&s, segs[n], sizeof segs[n])) > 0)
		n++;
	ck_assert_uint_eq(n, 4);
	for (size_t i = 0; i < n; i++) {
		const uint8_t *g = segs[i], *t = g + l4;
		size_t p = seglen[i] - hlen;
		ck_assert_uint_eq(p, i < 3 ? mss : pay - 3 * mss);
		if (v6) {
			ck_assert_uint_eq(get16(g + 4), seglen[i] - 40);
		} else {
			ck_assert_uint_eq(get16(g + 2), seglen[i]);
			ck_assert_uint_eq(get16(g + 4), 0x1000 + i);
			ck_assert_uint_eq(ip_checksum(g, 20), 0);
		}
		ck_assert_uint_eq(get32(t + 4), 1000 + i * mss);
		ck_assert_uint_eq(t[13] & 0x08, i == 3 ? 0x08 : 0);      /* PSH on the last */
		ck_assert_uint_eq(t[13] & 0x80, i == 0 ? 0x80 : 0);      /* CWR on the first */
		ck_assert_mem_eq(t + 20, big + l4 + 20, 12);             /* options kept */
		ck_assert(l4_ok(g, l4, seglen[i], v6, IPPROTO_TCP));
		ck_assert_mem_eq(g + hlen, big + hlen + got, p);
		got += p;
	}
	ck_assert_uint_eq(got, pay);
	/* lies: an MSS of 0, TCP past the end, IPv4 claimed for IPv6 */
	h.gso_size = 0;
	ck_assert_int_ne(tso_init(&s, big, len, &h), 0);
	h = tso_hdr(v6, mss);
	h.csum_start = (uint16_t)(len - 10);
	ck_assert_int_ne(tso_init(&s, big, len, &h), 0);
	h = tso_hdr(v6, mss);
	h.gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
	ck_assert_int_ne(tso_init(&s, big, len, &h), 0);
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	ck_assert_int_ne(tso_init(&s, big, len, &h), 0);
}
END_TEST

START_TEST(partial_checksums_are_finished)
{
	uint8_t p[128];
	memset(p, 0, sizeof p);
	p[0] = 0x45;
	put16(p + 2, 60);
	p[8] = 64;
	p[9] = IPPROTO_UDP;
	memcpy(p + 12, (uint8_t[]){ 198, 19, 1, 1, 198, 19, 2, 1 }, 8);
	put16(p + 24, 40);
	for (int i = 28; i < 60; i++)
		p[i] = (uint8_t)i;
	struct ip_addr s = { .family = AF_INET }, d = { .family = AF_INET };
	memcpy(s.b, p + 12, 4);
	memcpy(d.b, p + 16, 4);
	ip_sum_put(p + 26, ip_sum_fold(ip_pseudo_sum(&s, &d, IPPROTO_UDP, 40)));
	struct virtio_net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 20,
				    .csum_offset = 6 };
	ck_assert_int_eq(offload_finish_csum(p, 60, &h), 0);
	ck_assert(l4_ok(p, 20, 60, false, IPPROTO_UDP));
	h.csum_offset = 39;
	ck_assert_int_ne(offload_finish_csum(p, 60, &h), 0);
	h.csum_start = 60;
	ck_assert_int_ne(offload_finish_csum(p, 60, &h), 0);
}
END_TEST

static uint8_t grobuf[VNET_HDR_LEN + GSO_MAX_LEN];

/* Segments coalesced, then split again: the very same segments. */
START_TEST(coalesced_segments_split_back)
{
	bool v6 = _i;
	size_t l4 = v6 ? 40 : 20, mss = 1348;
	size_t len = tcp_packet(big, v6, 40 * mss + 99, 0x18, 5);
	struct virtio_net_hdr h = tso_hdr(v6, mss);
	struct tso s;
	ck_assert_int_eq(tso_init(&s, big, len, &h), 0);
	size_t n = 0;
	while ((seglen[n] = tso_next(&s, segs[n], sizeof segs[n])) > 0)
		n++;
	ck_assert_uint_eq(n, 41);
	struct gro g = { .buf = grobuf };
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(gro_add(&g, segs[i], seglen[i]), "segment %zu not joined", i);
	uint8_t *out;
	size_t olen = gro_take(&g, &out);
	ck_assert_uint_eq(olen, VNET_HDR_LEN + len);
	struct virtio_net_hdr gh;
	vnet_hdr_read(out, &gh);
	ck_assert_uint_eq(gh.gso_type, v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4);
	ck_assert_uint_eq(gh.gso_size, mss);
	ck_assert_uint_eq(gh.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	ck_assert_uint_eq(gh.csum_start, l4);
	ck_assert_uint_eq(gh.csum_offset, 16);
	const uint8_t *pkt = out + VNET_HDR_LEN;
	if (!v6)
		ck_assert_uint_eq(ip_checksum(pkt, 20), 0);
	/* the partial checksum finished is the right one */
	static uint8_t copy[GSO_MAX_LEN];
	memcpy(copy, pkt, len);
	ck_assert_int_eq(offload_finish_csum(copy, len, &gh), 0);
	ck_assert(l4_ok(copy, l4, len, v6, IPPROTO_TCP));
	/* and the kernel's split of it gives back what came */
	ck_assert_int_eq(tso_init(&s, pkt, len, &gh), 0);
	for (size_t i = 0; i < n; i++) {
		uint8_t again[2048];
		size_t al = tso_next(&s, again, sizeof again);
		ck_assert_uint_eq(al, seglen[i]);
		if (!v6)       /* the IPv4 ID of a coalesced packet is its first one's */
			memcpy(again + 4, segs[i] + 4, 2), memcpy(again + 10, segs[i] + 10, 2);
		ck_assert_msg(memcmp(again, segs[i], al) == 0, "segment %zu differs", i);
	}
	ck_assert_uint_eq(g.len, 0);
	ck_assert_uint_eq(gro_take(&g, &out), 0);
}
END_TEST

START_TEST(what_is_not_coalesced)
{
	struct gro g = { .buf = grobuf };
	uint8_t a[2048], b[2048], *out;
	size_t la = tcp_packet(a, false, 1000, 0x10, 1), lb;
	/* a gap in the sequence */
	ck_assert(gro_add(&g, a, la));
	lb = tcp_packet(b, false, 1000, 0x10, 1 + 1001);
	ck_assert(!gro_add(&g, b, lb));
	size_t n = gro_take(&g, &out);
	ck_assert_uint_eq(n, VNET_HDR_LEN + la);
	struct virtio_net_hdr h;
	vnet_hdr_read(out, &h);
	ck_assert_uint_eq(h.flags, VIRTIO_NET_HDR_F_DATA_VALID);
	ck_assert_uint_eq(h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	ck_assert_mem_eq(out + VNET_HDR_LEN, a, la);
	/* another flow, another acknowledgement, a bigger segment */
	ck_assert(gro_add(&g, a, la));
	lb = tcp_packet(b, false, 1000, 0x10, 1001);
	b[20] ^= 1;
	ck_assert(!gro_add(&g, b, lb));
	lb = tcp_packet(b, false, 1000, 0x10, 1001);
	put32(b + 28, 78);
	ck_assert(!gro_add(&g, b, lb));
	lb = tcp_packet(b, false, 1001, 0x10, 1001);
	ck_assert(!gro_add(&g, b, lb));
	/* a shorter one joins and ends it; nothing joins after that */
	lb = tcp_packet(b, false, 500, 0x10, 1001);
	ck_assert(gro_add(&g, b, lb));
	lb = tcp_packet(b, false, 500, 0x10, 1501);
	ck_assert(!gro_add(&g, b, lb));
	ck_assert_uint_eq(gro_take(&g, &out), VNET_HDR_LEN + la + 500);
	/* FIN, SYN and non-TCP go alone */
	lb = tcp_packet(b, false, 10, 0x11, 1);
	ck_assert(gro_add(&g, b, lb));
	lb = tcp_packet(a, false, 10, 0x10, 11);
	ck_assert(!gro_add(&g, a, lb));
	gro_take(&g, &out);
	uint8_t u[64] = { 0x45, 0, 0, 64 };
	u[9] = IPPROTO_UDP;
	ck_assert(gro_add(&g, u, 64));
	ck_assert(!gro_add(&g, u, 64));
	vnet_hdr_read(out, &h);
	ck_assert_uint_eq(gro_take(&g, &out), VNET_HDR_LEN + 64);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ike_offload");
	TCase *tc = tcase_create("offload");
	tcase_add_loop_test(tc, tso_splits_like_the_kernel, 0, 2);
	tcase_add_test(tc, partial_checksums_are_finished);
	tcase_add_loop_test(tc, coalesced_segments_split_back, 0, 2);
	tcase_add_test(tc, what_is_not_coalesced);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
