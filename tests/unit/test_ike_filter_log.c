/* The z/OS lines for logged filter drops (iked/filter_log.c): each message
 * and hook, IPv4 and IPv6 with extension headers, fragments, and headers cut
 * short where the sender's lengths point past what the kernel copied. */
#include "tests/unit/support.h"
#include "tests/unit/ike_testutil.h"

#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include "iked/filter_log.h"

/* 06/05/2012 14:07:14.21 UTC */
static const struct timespec when = { 1338905234, 218000000 };

static void line_eq(const struct filter_prefix *p, const char *rule, const char *vpn,
		    const struct filter_log_rec *rec, const char *want)
{
	char out[1024];
	filter_log_line(p, rule, vpn, rec, out, sizeof out);
	ck_assert_str_eq(out, want);
}

/* IPv4 TCP SYN 198.18.0.2:35738 -> 198.18.0.1:22, 60 bytes */
static const char *v4_syn =
	"4500003c 1c46 4000 4006 0000 c6120002 c6120001 8b9a0016 00000000 00000000 a002faf0";

START_TEST(deny_rule_inbound_tcp)
{
	size_t n;
	const uint8_t *pkt = hx(v4_syn, &n);
	struct filter_prefix p = { 3, 2, 2, FLOG_DENY };
	struct filter_log_rec rec = { AF_INET, pkt, n, "veth0", NULL, when };
	line_eq(&p, "notcp", NULL, &rec,
		"EZD0815I Packet denied by policy: 06/05/2012 14:07:14.21 filter rule= notcp ext= 2 "
		"sipaddr= 198.18.0.2 dipaddr= 198.18.0.1 proto= TCP(6) sport= 35738 dport= 22 "
		"Interface= 198.18.0.1 (I) secclass= 0 dest= local len= 60 vpnaction= N/A "
		"tunnelID= N/A ifcname= veth0 fragment= N");
}
END_TEST

START_TEST(clear_text_of_an_ipsec_rule_outbound)
{
	/* ICMP echo 198.19.1.1 -> 198.19.2.1, 84 bytes */
	size_t n;
	const uint8_t *pkt = hx("45000054 0000 4000 4001 0000 c6130101 c6130201 0800f7ff 0000", &n);
	struct filter_prefix p = { 3, 5, 1, FLOG_CLEAR };
	struct filter_log_rec rec = { AF_INET, pkt, n, NULL, "veth0", when };
	line_eq(&p, "toB", "vpn", &rec,
		"EZD0822I Packet denied, tunnel inactive: 06/05/2012 14:07:14.21 filter rule= toB "
		"ext= 1 sipaddr= 198.19.1.1 dipaddr= 198.19.2.1 proto= ICMP(1) type= 8 code= 0 "
		"Interface= 198.19.1.1 (O) secclass= 0 dest= local len= 84 vpnaction= vpn "
		"tunnelID= N/A ifcname= veth0 fragment= N");
}
END_TEST

START_TEST(implicit_deny_of_routed_traffic)
{
	size_t n;
	const uint8_t *pkt = hx(v4_syn, &n);
	struct filter_prefix p = { 3, 0, 3, FLOG_IMPLICIT };
	struct filter_log_rec rec = { AF_INET, pkt, n, "eth1", "eth2", when };
	/* a generation iked no longer knows names no rule: the implicit deny
	 * has its own name anyway */
	line_eq(&p, NULL, NULL, &rec,
		"EZD0815I Packet denied by policy: 06/05/2012 14:07:14.21 filter rule= "
		"SYSDEFAULTDENYRULE ext= 3 sipaddr= 198.18.0.2 dipaddr= 198.18.0.1 proto= TCP(6) "
		"sport= 35738 dport= 22 Interface= N/A (I) secclass= 0 dest= routed len= 60 "
		"vpnaction= N/A tunnelID= N/A ifcname= eth1 fragment= N");
	struct filter_prefix d = { 3, 9, 1, FLOG_DENY };
	char out[1024];
	filter_log_line(&d, NULL, NULL, &rec, out, sizeof out);
	ck_assert_ptr_nonnull(strstr(out, "filter rule= N/A ext= 1 "));
}
END_TEST

/* The line for a packet given in hex, dropped by rule "r" as it arrived on
 * veth0 (or left through it), contains each of the parts. */
static void line_has(int family, bool inbound, const char *hex, const char *part,
		     const char *part2)
{
	size_t n;
	const uint8_t *pkt = hx(hex, &n);
	struct filter_prefix p = { 1, 1, 2, FLOG_DENY };
	struct filter_log_rec rec = { family, pkt, n, inbound ? "veth0" : NULL,
				      inbound ? NULL : "veth0", when };
	char out[1024];
	filter_log_line(&p, "r", NULL, &rec, out, sizeof out);
	ck_assert_msg(strstr(out, part), "\"%s\" lacks \"%s\"", out, part);
	ck_assert_msg(!part2 || strstr(out, part2), "\"%s\" lacks \"%s\"", out, part2);
}

START_TEST(ipv4_fragments_and_short_headers)
{
	/* a later fragment (offset 185*8) carries no ports */
	line_has(AF_INET, true, "45000030 1c46 00b9 4011 0000 c6120002 c6120001 8b9a0035 001c0000",
		 "proto= UDP(17) sport= Unknown dport= Unknown ", "len= 48 vpnaction= N/A "
		 "tunnelID= N/A ifcname= veth0 fragment= Y");
	/* the first fragment (more fragments set) does */
	line_has(AF_INET, true, "45000030 1c46 2000 4011 0000 c6120002 c6120001 8b9a0035 001c0000",
		 "sport= 35738 dport= 53 ", "fragment= Y");
	/* options (IHL 6) push the ports back; only two of their bytes copied */
	line_has(AF_INET, true, "46000030 1c46 0000 4011 0000 c6120002 c6120001 01010101 8b9a",
		 "sport= Unknown dport= Unknown ", NULL);
	/* an IHL below 20 bytes, or fewer than 20 bytes: nothing is trusted */
	static const char *bad[] = { "43000030 1c46 0000 4011 0000 c6120002 c6120001",
				     "45000030 1c46 0000 4011", "" };
	for (size_t i = 0; i < 3; i++)
		line_has(AF_INET, true, bad[i], "sipaddr= Unknown dipaddr= Unknown proto= Unknown "
			 "Interface= Unknown (I) ", "len= Unknown ");
	/* the wrong version for the family */
	line_has(AF_INET6, true, v4_syn, "proto= Unknown ", NULL);
}
END_TEST

/* IPv6 header: payload length, next header, hop limit, 2001:db8::2 -> 2001:db8::1 */
#define V6(plen, nh) "60000000" plen nh "40" \
	"20010db8000000000000000000000002" "20010db8000000000000000000000001"

START_TEST(ipv6_extension_headers)
{
	/* hop-by-hop (8 bytes), fragment (first, more follow), UDP */
	line_has(AF_INET6, true, V6("0020", "00") "2c000000 00000000" "11000001 12345678"
		 "8b9a0035 00100000",
		 "EZD0815I Packet denied by policy: 06/05/2012 14:07:14.21 filter rule= r "
		 "ext= 2 sipaddr= 2001:db8::2 dipaddr= 2001:db8::1 proto= UDP(17) "
		 "sport= 35738 dport= 53 Interface= 2001:db8::1 (I) secclass= 0 "
		 "dest= local len= 72 vpnaction= N/A tunnelID= N/A ifcname= veth0 "
		 "fragment= Y", NULL);
	/* a later fragment: no ports */
	line_has(AF_INET6, true, V6("0010", "2c") "11000100 12345678" "8b9a0035 00100000",
		 "proto= UDP(17) sport= Unknown dport= Unknown ", NULL);
	/* a destination-options header longer than what was copied */
	line_has(AF_INET6, true, V6("0100", "3c") "0610000000000000",
		 "proto= TCP(6) sport= Unknown dport= Unknown ", NULL);
	/* the same, followed by another extension header: the walk stops there */
	line_has(AF_INET6, true, V6("0100", "3c") "3c10000000000000", "proto= 60 Interface= ",
		 NULL);
	/* headers cut inside the extension header and inside the fragment header */
	line_has(AF_INET6, true, V6("0100", "00") "06", "proto= 0 ", NULL);
	line_has(AF_INET6, true, V6("0100", "2c") "110000", "proto= 44 ", NULL);
	/* a chain of more extension headers than anyone needs stops the walk */
	line_has(AF_INET6, true, V6("0048", "3c") "3c000000 00000000" "3c000000 00000000"
		 "3c000000 00000000" "3c000000 00000000" "3c000000 00000000" "3c000000 00000000"
		 "3c000000 00000000" "3c000000 00000000" "3a000000 00000000", "proto= 60 ", NULL);
	/* ICMPv6 echo, outbound */
	line_has(AF_INET6, false, V6("0008", "3a") "80000000 00010001",
		 "proto= ICMPv6(58) type= 128 code= 0 Interface= 2001:db8::2 (O) ", NULL);
}
END_TEST

START_TEST(output_is_bounded)
{
	size_t n;
	const uint8_t *pkt = hx(v4_syn, &n);
	struct filter_prefix p = { 3, 2, 2, FLOG_DENY };
	struct filter_log_rec rec = { AF_INET, pkt, n, "veth0", NULL, when };
	char out[40];
	memset(out, 'x', sizeof out);
	filter_log_line(&p, "notcp", NULL, &rec, out, 20);
	ck_assert_str_eq(out, "EZD0815I Packet den");
	ck_assert_int_eq(out[20], 'x');
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ike_filter_log");
	TCase *tc = tcase_create("filter_log");
	tcase_add_test(tc, deny_rule_inbound_tcp);
	tcase_add_test(tc, clear_text_of_an_ipsec_rule_outbound);
	tcase_add_test(tc, implicit_deny_of_routed_traffic);
	tcase_add_test(tc, ipv4_fragments_and_short_headers);
	tcase_add_test(tc, ipv6_extension_headers);
	tcase_add_test(tc, output_is_bounded);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
