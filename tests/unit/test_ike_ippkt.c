/* iked/ippkt: flows read from IPv4 and IPv6 packets (options, extension
 * headers, fragments, lies about lengths), selector matching, and the
 * headers and checksums transport mode puts back. */
#include "tests/unit/support.h"

#include <netinet/in.h>
#include <string.h>

#include "iked/ippkt.h"

static struct ip_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct ip_addr x = { .family = AF_INET };
	x.b[0] = a, x.b[1] = b, x.b[2] = c, x.b[3] = d;
	return x;
}

static size_t tcp4(uint8_t *p, size_t ihl, size_t total, uint16_t frag)
{
	memset(p, 0, total);
	p[0] = (uint8_t)(0x40 | ihl / 4);
	p[2] = (uint8_t)(total >> 8);
	p[3] = (uint8_t)total;
	p[6] = (uint8_t)(frag >> 8);
	p[7] = (uint8_t)frag;
	p[8] = 64;
	p[9] = IPPROTO_TCP;
	memcpy(p + 12, (uint8_t[]){ 198, 19, 1, 1 }, 4);
	memcpy(p + 16, (uint8_t[]){ 198, 19, 2, 7 }, 4);
	p[ihl] = 0x9c, p[ihl + 1] = 0x40;              /* 40000 */
	p[ihl + 2] = 0x13, p[ihl + 3] = 0x89;          /* 5001 */
	return total;
}

START_TEST(ipv4_flows)
{
	uint8_t p[128];
	struct ip_flow f;
	tcp4(p, 20, 60, 0x4000);
	ck_assert_int_eq(ip_flow_parse(p, 60, &f), 0);
	ck_assert_uint_eq(f.proto, IPPROTO_TCP);
	ck_assert_uint_eq(f.sport, 40000);
	ck_assert_uint_eq(f.dport, 5001);
	ck_assert_uint_eq(f.hdr_len, 20);
	ck_assert_uint_eq(f.total, 60);
	ck_assert_uint_eq(f.src.b[3], 1);
	ck_assert_uint_eq(f.dst.b[3], 7);
	/* the buffer may hold more than the packet */
	ck_assert_int_eq(ip_flow_parse(p, 100, &f), 0);
	ck_assert_uint_eq(f.total, 60);
	/* options */
	tcp4(p, 24, 60, 0);
	ck_assert_int_eq(ip_flow_parse(p, 60, &f), 0);
	ck_assert_uint_eq(f.hdr_len, 24);
	ck_assert_uint_eq(f.sport, 40000);
	/* a later fragment has no ports */
	tcp4(p, 20, 60, 0x2000 | 185);
	ck_assert_int_eq(ip_flow_parse(p, 60, &f), 0);
	ck_assert(f.later_fragment);
	ck_assert_uint_eq(f.sport, 0);
	/* lies */
	tcp4(p, 20, 60, 0);
	ck_assert_int_eq(ip_flow_parse(p, 59, &f), -1);       /* total > what arrived */
	p[0] = 0x44;
	ck_assert_int_eq(ip_flow_parse(p, 60, &f), -1);       /* IHL below 5 */
	tcp4(p, 20, 60, 0);
	p[2] = 0, p[3] = 16;
	ck_assert_int_eq(ip_flow_parse(p, 60, &f), -1);       /* total below the header */
	ck_assert_int_eq(ip_flow_parse(p, 10, &f), -1);
	ck_assert_int_eq(ip_flow_parse(p, 0, &f), -1);
	p[0] = 0x55;
	ck_assert_int_eq(ip_flow_parse(p, 60, &f), -1);
	/* TCP cut before its ports: a flow without ports */
	tcp4(p, 20, 22, 0);
	ck_assert_int_eq(ip_flow_parse(p, 22, &f), 0);
	ck_assert_uint_eq(f.sport, 0);
}
END_TEST

static size_t udp6_with_ext(uint8_t *p, bool frag_later)
{
	memset(p, 0, 128);
	p[0] = 0x60;
	size_t payload = 8 + 8 + 8 + 16;               /* hop-by-hop, fragment, UDP + data */
	p[5] = (uint8_t)payload;
	p[6] = IPPROTO_HOPOPTS;
	p[8] = 0x20, p[23] = 1;
	p[24] = 0x20, p[39] = 2;
	p[40] = IPPROTO_FRAGMENT;                      /* hop-by-hop: 8 bytes */
	p[48] = IPPROTO_UDP;                           /* fragment header */
	if (frag_later)
		p[51] = 0x08;                          /* offset 1 */
	p[56] = 0x13, p[57] = 0x88;                    /* 5000 */
	p[58] = 0x01, p[59] = 0xf4;                    /* 500 */
	return 40 + payload;
}

START_TEST(ipv6_flows)
{
	uint8_t p[128];
	struct ip_flow f;
	size_t n = udp6_with_ext(p, false);
	ck_assert_int_eq(ip_flow_parse(p, n, &f), 0);
	ck_assert_uint_eq(f.src.family, AF_INET6);
	ck_assert_uint_eq(f.proto, IPPROTO_UDP);
	ck_assert_uint_eq(f.hdr_len, 56);
	ck_assert_uint_eq(f.sport, 5000);
	ck_assert_uint_eq(f.dport, 500);
	n = udp6_with_ext(p, true);
	ck_assert_int_eq(ip_flow_parse(p, n, &f), 0);
	ck_assert(f.later_fragment);
	ck_assert_uint_eq(f.dport, 0);
	/* an extension header longer than the packet */
	n = udp6_with_ext(p, false);
	p[41] = 20;
	ck_assert_int_eq(ip_flow_parse(p, n, &f), -1);
	/* payload length beyond the buffer */
	n = udp6_with_ext(p, false);
	ck_assert_int_eq(ip_flow_parse(p, n - 1, &f), -1);
	ck_assert_int_eq(ip_flow_parse(p, 39, &f), -1);
}
END_TEST

START_TEST(selectors)
{
	uint8_t p[128];
	struct ip_flow f;
	tcp4(p, 20, 60, 0);
	ck_assert_int_eq(ip_flow_parse(p, 60, &f), 0);
	struct kernel_sel s;
	memset(&s, 0, sizeof s);
	ck_assert(ip_flow_matches(&s, &f));              /* All <-> All */
	ck_assert_ptr_null(ip_range_parse("198.19.1.0/24", &s.src));
	ck_assert_ptr_null(ip_range_parse("198.19.2.5-198.19.2.9", &s.dst));
	ck_assert(ip_flow_matches(&s, &f));
	s.proto = IPPROTO_UDP;
	ck_assert(!ip_flow_matches(&s, &f));
	s.proto = IPPROTO_TCP;
	s.dport = 5001;
	ck_assert(ip_flow_matches(&s, &f));
	s.sport = 1;
	ck_assert(!ip_flow_matches(&s, &f));
	s.sport = 0;
	ck_assert_ptr_null(ip_range_parse("198.19.2.8", &s.dst));
	ck_assert(!ip_flow_matches(&s, &f));
	/* swapped sides do not match */
	ck_assert_ptr_null(ip_range_parse("198.19.2.7", &s.src));
	ck_assert_ptr_null(ip_range_parse("198.19.1.1", &s.dst));
	s.dport = 0;
	ck_assert(!ip_flow_matches(&s, &f));
	/* a port selector and a later fragment */
	memset(&s, 0, sizeof s);
	s.dport = 5001;
	tcp4(p, 20, 60, 10);
	ck_assert_int_eq(ip_flow_parse(p, 60, &f), 0);
	ck_assert(!ip_flow_matches(&s, &f));
	/* an IPv6 selector and an IPv4 flow */
	memset(&s, 0, sizeof s);
	ck_assert_ptr_null(ip_range_parse("2001:db8::/32", &s.dst));
	ck_assert(!ip_flow_matches(&s, &f));
}
END_TEST

/* The checksum a receiver computes over pseudo-header and segment: 0xffff
 * (i.e. 0 complemented) when right. Written out here apart from ippkt's. */
static uint16_t verify_l4(const struct ip_addr *s, const struct ip_addr *d, uint8_t proto,
			  const uint8_t *l4, size_t len)
{
	uint32_t acc = 0;
	size_t n = s->family == AF_INET6 ? 16 : 4;
	for (size_t i = 0; i < n; i += 2)
		acc += (uint32_t)(s->b[i] << 8 | s->b[i + 1]) + (uint32_t)(d->b[i] << 8 | d->b[i + 1]);
	acc += proto + (uint32_t)len;
	for (size_t i = 0; i + 1 < len; i += 2)
		acc += (uint32_t)(l4[i] << 8 | l4[i + 1]);
	if (len & 1)
		acc += (uint32_t)l4[len - 1] << 8;
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

START_TEST(transport_headers_and_checksums)
{
	uint8_t buf[256], *seg = buf + 64;
	struct ip_addr s = v4(198, 18, 0, 2), d = v4(198, 18, 0, 1);
	/* a TCP segment whose checksum was made for other addresses (a NAT) */
	for (size_t i = 0; i < 41; i++)
		seg[i] = (uint8_t)(i * 11);
	seg[12] = 0x50;
	seg[16] = 0x12, seg[17] = 0x34;
	size_t h = ip_build_header(seg, 41, &s, &d, IPPROTO_TCP, 64);
	ck_assert_uint_eq(h, 20);
	uint8_t *ip = seg - h;
	ck_assert_uint_eq(ip[0], 0x45);
	ck_assert_uint_eq(ip[2] << 8 | ip[3], 61);
	ck_assert_uint_eq(ip[9], IPPROTO_TCP);
	ck_assert_uint_eq(ip_checksum(ip, 20), 0);
	ck_assert_uint_eq(verify_l4(&s, &d, IPPROTO_TCP, seg, 41), 0xffff);
	struct ip_flow f;
	ck_assert_int_eq(ip_flow_parse(ip, 61, &f), 0);
	ck_assert_uint_eq(f.total, 61);
	/* UDP without a checksum keeps none (IPv4) */
	memset(seg, 0, 16);
	seg[5] = 16;
	ck_assert_uint_eq(ip_build_header(seg, 16, &s, &d, IPPROTO_UDP, 64), 20);
	ck_assert_uint_eq(seg[6] | seg[7], 0);
	/* IPv6 UDP */
	struct ip_addr s6 = { .family = AF_INET6 }, d6 = { .family = AF_INET6 };
	s6.b[0] = 0x20, s6.b[15] = 1;
	d6.b[0] = 0x20, d6.b[15] = 2;
	for (size_t i = 0; i < 30; i++)
		seg[i] = (uint8_t)(i + 1);
	seg[4] = 0, seg[5] = 30;
	ck_assert_uint_eq(ip_build_header(seg, 30, &s6, &d6, IPPROTO_UDP, 64), 40);
	ck_assert_uint_eq(verify_l4(&s6, &d6, IPPROTO_UDP, seg, 30), 0xffff);
	ck_assert_int_eq(ip_flow_parse(seg - 40, 70, &f), 0);
	ck_assert_uint_eq(f.proto, IPPROTO_UDP);
	ck_assert_uint_eq(f.total, 70);
	/* too long for an IPv4 header */
	ck_assert_uint_eq(ip_build_header(seg, 0xffff, &s, &d, 47, 64), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ike_ippkt");
	TCase *tc = tcase_create("ippkt");
	tcase_add_test(tc, ipv4_flows);
	tcase_add_test(tc, ipv6_flows);
	tcase_add_test(tc, selectors);
	tcase_add_test(tc, transport_headers_and_checksums);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
