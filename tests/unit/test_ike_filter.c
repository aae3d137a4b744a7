/* The IP filter policy as nftables text (iked/filter.c): every rule shape
 * (actions, directions, routing, connect qualifiers, address families and
 * sets, ports, logging, DiscardAction) against the exact text, each data
 * path's IpSec rules, and the log prefixes. */
#include "tests/unit/support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iked/filter.h"
#include "policy/ipsec.h"

static const char *ike_base =
	"IkeConfig { ListenAddr 198.18.0.1\n IkePort 500\n NatPort 4500\n}\n"
	"KeyExchangeOffer k1 { HowToAuthPeers PresharedKey\n}\n"
	"KeyExchangeAction ka { KeyExchangeOfferRef k1\n}\n"
	"KeyExchangeRule kr { LocalSecurityEndpoint { Identity IpAddr 198.18.0.1\n"
	" Location 198.18.0.1\n }\n"
	" RemoteSecurityEndpoint { Identity IpAddr 198.18.0.2\n Location 198.18.0.2\n }\n"
	" KeyExchangeActionRef ka\n SharedKey Ascii x\n}\n"
	"KeyExchangePolicy { KeyExchangeRuleRef kr\n}\n"
	"IpDataOffer d { HowToEncrypt AES_CBC KeyLength 128\n}\n"
	"IpDynVpnAction vpn { IpDataOfferRef d\n}\n"
	"IpGenericFilterAction permit { IpFilterAction Permit\n}\n"
	"IpGenericFilterAction deny { IpFilterAction Deny\n}\n"
	"IpGenericFilterAction deny-log-icmp { IpFilterAction Deny\n IpFilterLogging Yes\n"
	" DiscardAction ICMP\n}\n"
	"IpGenericFilterAction protect { IpFilterAction IpSec\n IpFilterLogging Yes\n}\n";

static struct policy *pol;

static const struct ipsec_policy *load(const char *rules)
{
	size_t n = strlen(ike_base) + strlen(rules) + 1;
	char *text = malloc(n);
	ck_assert_ptr_nonnull(text);
	snprintf(text, n, "%s%s", ike_base, rules);
	struct diags d;
	diags_init(&d);
	pol = must_load(text, &d);
	diags_free(&d);
	free(text);
	return policy_ipsec(pol);
}

static void unload(void)
{
	policy_unref(pol);
	pol = NULL;
}

static char *script(const struct ipsec_policy *ip, enum filter_datapath dp, int group)
{
	struct filter_env env = { .datapath = dp, .tun_device = "attls0", .log_group = group };
	char *s = filter_script(ip, &env, 7);
	ck_assert_ptr_nonnull(s);
	return s;
}

static void text_eq(const char *got, const char *want)
{
	if (strcmp(got, want) != 0) {
		fprintf(stderr, "---- got:\n%s---- want:\n%s----\n", got, want);
		ck_abort_msg("script differs");
	}
}

static void has(const char *got, const char *line)
{
	if (!strstr(got, line)) {
		fprintf(stderr, "---- script:\n%s---- lacks:\n%s\n", got, line);
		ck_abort_msg("line missing");
	}
}

static void lacks(const char *got, const char *part)
{
	if (strstr(got, part)) {
		fprintf(stderr, "---- script:\n%s---- has:\n%s\n", got, part);
		ck_abort_msg("unexpected text");
	}
}

/* Every shape in one policy, in one text: the order of the rules, the ext
 * numbers across hooks, the halves of each direction. */
static const char *shapes =
	"IpFilterPolicy { IpFilterLogImplicit Yes\n"
	" IpFilterRuleRef icmp\n IpFilterRuleRef web\n IpFilterRuleRef routed-in\n"
	" IpFilterRuleRef ospf-out\n IpFilterRuleRef toB\n IpFilterRuleRef any-outconn\n"
	" IpFilterRuleRef mixed\n}\n"
	"IpFilterRule icmp { IpSourceAddr 198.18.0.1\n IpDestAddr 198.18.0.2\n"
	" IpService { Protocol ICMP\n }\n IpGenericFilterActionRef permit\n}\n"
	"IpAddrSet peers { Prefix 198.18.0.0/24\n Range 198.18.1.1-198.18.1.9\n}\n"
	"IpFilterRule web { IpSourceAddr 198.18.0.1\n IpDestAddrSetRef peers\n"
	" IpService { Protocol TCP\n SourcePortRange 80\n DestinationPortRange 1024 65535\n"
	" Direction Bidirectional InboundConnect\n }\n"
	" IpGenericFilterActionRef deny-log-icmp\n}\n"
	"IpFilterRule routed-in { IpSourceAddr 2001:db8::/32\n"
	" IpService { Protocol UDP\n DestinationPortRange 53\n Direction Inbound\n"
	" Routing Routed\n }\n IpGenericFilterActionRef deny\n}\n"
	"IpFilterRule ospf-out { IpService { Protocol 89\n Direction Outbound\n Routing Either\n }\n"
	" IpGenericFilterActionRef permit\n}\n"
	"IpFilterRule toB { IpSourceAddr 198.19.1.0/24\n IpDestAddr 198.19.2.0/24\n"
	" IpGenericFilterActionRef protect\n IpDynVpnActionRef vpn\n"
	" RemoteSecurityEndpointAddr 198.18.0.2\n}\n"
	"IpFilterRule any-outconn { IpSourceAddr 198.18.0.1\n IpDestAddr 198.18.0.3\n"
	" IpService { Direction Bidirectional OutboundConnect\n }\n"
	" IpGenericFilterActionRef permit\n}\n"
	"IpAddrGroup both { IpAddr { Addr 198.18.0.1\n }\n IpAddr { Addr 2001:db8::1\n }\n}\n"
	"IpFilterRule mixed { IpSourceAddrGroupRef both\n IpGenericFilterActionRef deny\n}\n";

static const char *shapes_tun =
	"table inet attls\n"
	"delete table inet attls\n"
	"table inet attls {\n"
	"\tlimit log_rate {\n"
	"\t\trate 100/second burst 100 packets\n"
	"\t}\n"
	"\n"
	"\tchain input {\n"
	"\t\ttype filter hook input priority filter; policy accept;\n"
	"\t\tiif \"lo\" accept comment \"loopback\"\n"
	"\t\tip saddr 198.18.0.2 ip daddr 198.18.0.1 meta l4proto 17 th dport { 500, 4500 } accept comment \"IKE\"\n"
	"\t\tip saddr 198.18.0.2 ip daddr 198.18.0.1 meta l4proto 50 accept comment \"ESP\"\n"
	"\t\ticmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } ip6 hoplimit 255 accept comment \"neighbour discovery\"\n"
	"\t\ticmpv6 type { mld-listener-query, mld-listener-report, mld-listener-done, mld2-listener-report } ip6 hoplimit 1 accept comment \"multicast listeners\"\n"
	"\t\tip saddr 198.18.0.2 ip daddr 198.18.0.1 meta l4proto 1 counter accept comment \"icmp ext 2\"\n"
	"\t\tip saddr { 198.18.0.0/24, 198.18.1.1-198.18.1.9 } ip daddr 198.18.0.1 meta l4proto 6 th sport 1024-65535 th dport 80 limit name \"log_rate\" log prefix \"attls:7:2:2:D\" group 9\n"
	"\t\tip saddr { 198.18.0.0/24, 198.18.1.1-198.18.1.9 } ip daddr 198.18.0.1 meta l4proto 6 th sport 1024-65535 th dport 80 counter reject with icmpx type admin-prohibited comment \"web ext 2\"\n"
	"\t\tip saddr 198.19.2.0/24 ip daddr 198.19.1.0/24 iifname \"attls0\" counter accept comment \"toB ext 2\"\n"
	"\t\tip saddr 198.19.2.0/24 ip daddr 198.19.1.0/24 limit name \"log_rate\" log prefix \"attls:7:5:2:T\" group 9\n"
	"\t\tip saddr 198.19.2.0/24 ip daddr 198.19.1.0/24 counter drop comment \"toB ext 2\"\n"
	"\t\tip saddr 198.18.0.3 ip daddr 198.18.0.1 meta l4proto != 6 counter accept comment \"any-outconn ext 2\"\n"
	"\t\tip saddr 198.18.0.3 ip daddr 198.18.0.1 tcp flags & (syn | ack) != syn counter accept comment \"any-outconn ext 2\"\n"
	"\t\tip daddr 198.18.0.1 counter drop comment \"mixed ext 2\"\n"
	"\t\tip6 daddr 2001:db8::1 counter drop comment \"mixed ext 2\"\n"
	"\t\tlimit name \"log_rate\" log prefix \"attls:7:0:1:I\" group 9\n"
	"\t\tcounter drop comment \"implicit deny\"\n"
	"\t}\n"
	"\n"
	"\tchain forward {\n"
	"\t\ttype filter hook forward priority filter; policy accept;\n"
	"\t\tip6 saddr 2001:db8::/32 meta l4proto 17 th dport 53 counter drop comment \"routed-in ext 1\"\n"
	"\t\tmeta l4proto 89 counter accept comment \"ospf-out ext 2\"\n"
	"\t\tlimit name \"log_rate\" log prefix \"attls:7:0:3:I\" group 9\n"
	"\t\tcounter drop comment \"implicit deny\"\n"
	"\t}\n"
	"\n"
	"\tchain output {\n"
	"\t\ttype filter hook output priority filter; policy accept;\n"
	"\t\toif \"lo\" accept comment \"loopback\"\n"
	"\t\tip saddr 198.18.0.1 ip daddr 198.18.0.2 meta l4proto 17 th sport { 500, 4500 } accept comment \"IKE\"\n"
	"\t\tip saddr 198.18.0.1 ip daddr 198.18.0.2 meta l4proto 50 accept comment \"ESP\"\n"
	"\t\ticmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } ip6 hoplimit 255 accept comment \"neighbour discovery\"\n"
	"\t\ticmpv6 type { mld-listener-query, mld-listener-report, mld-listener-done, mld2-listener-report } ip6 hoplimit 1 accept comment \"multicast listeners\"\n"
	"\t\tip saddr 198.18.0.1 ip daddr 198.18.0.2 meta l4proto 1 counter accept comment \"icmp ext 1\"\n"
	"\t\tip saddr 198.18.0.1 ip daddr { 198.18.0.0/24, 198.18.1.1-198.18.1.9 } meta l4proto 6 th sport 80 th dport 1024-65535 tcp flags & (syn | ack) != syn limit name \"log_rate\" log prefix \"attls:7:2:1:D\" group 9\n"
	"\t\tip saddr 198.18.0.1 ip daddr { 198.18.0.0/24, 198.18.1.1-198.18.1.9 } meta l4proto 6 th sport 80 th dport 1024-65535 tcp flags & (syn | ack) != syn counter reject with icmpx type admin-prohibited comment \"web ext 1\"\n"
	"\t\tmeta l4proto 89 counter accept comment \"ospf-out ext 1\"\n"
	"\t\tip saddr 198.19.1.0/24 ip daddr 198.19.2.0/24 oifname \"attls0\" counter accept comment \"toB ext 1\"\n"
	"\t\tip saddr 198.19.1.0/24 ip daddr 198.19.2.0/24 limit name \"log_rate\" log prefix \"attls:7:5:1:T\" group 9\n"
	"\t\tip saddr 198.19.1.0/24 ip daddr 198.19.2.0/24 counter drop comment \"toB ext 1\"\n"
	"\t\tip saddr 198.18.0.1 ip daddr 198.18.0.3 counter accept comment \"any-outconn ext 1\"\n"
	"\t\tip saddr 198.18.0.1 counter drop comment \"mixed ext 1\"\n"
	"\t\tip6 saddr 2001:db8::1 counter drop comment \"mixed ext 1\"\n"
	"\t\tlimit name \"log_rate\" log prefix \"attls:7:0:2:I\" group 9\n"
	"\t\tcounter drop comment \"implicit deny\"\n"
	"\t}\n"
	"}\n";

START_TEST(every_shape_in_policy_order)
{
	char *s = script(load(shapes), FILTER_DP_TUN, 9);
	text_eq(s, shapes_tun);
	free(s);
	unload();
}
END_TEST

static const char *protect_only =
	"IpFilterPolicy { IpFilterRuleRef toB\n}\n"
	"IpFilterRule toB { IpSourceAddr 198.19.1.0/24\n IpDestAddr 198.19.2.0/24\n"
	" IpGenericFilterActionRef protect\n IpDynVpnActionRef vpn\n}\n";

START_TEST(ipsec_rules_follow_the_data_path)
{
	const struct ipsec_policy *ip = load(protect_only);
	char *x = script(ip, FILTER_DP_XFRM, 9);
	has(x, "\t\tip saddr 198.19.2.0/24 ip daddr 198.19.1.0/24 meta ipsec exists counter accept "
	       "comment \"toB ext 2\"\n"
	       "\t\tip saddr 198.19.2.0/24 ip daddr 198.19.1.0/24 limit name \"log_rate\" log prefix "
	       "\"attls:7:1:2:T\" group 9\n"
	       "\t\tip saddr 198.19.2.0/24 ip daddr 198.19.1.0/24 counter drop comment \"toB ext 2\"\n");
	has(x, "\t\tip saddr 198.19.1.0/24 ip daddr 198.19.2.0/24 rt ipsec exists counter accept "
	       "comment \"toB ext 1\"\n");
	lacks(x, "ifname");
	free(x);
	/* KernelBackend log protects nothing: IpSec traffic is only ever dropped */
	char *n = script(ip, FILTER_DP_NONE, 9);
	lacks(n, "accept comment \"toB");
	has(n, "\t\tip saddr 198.19.1.0/24 ip daddr 198.19.2.0/24 counter drop comment \"toB ext 1\"\n");
	has(n, "\t\tip saddr 198.19.2.0/24 ip daddr 198.19.1.0/24 counter drop comment \"toB ext 2\"\n");
	free(n);
	/* a TUN device name that nft could not quote safely cannot break out */
	struct filter_env env = { .datapath = FILTER_DP_TUN, .tun_device = "a\" accept #", .log_group = -1 };
	char *t = filter_script(ip, &env, 1);
	ck_assert_ptr_nonnull(t);
	has(t, "oifname \"a_ accept _\" counter accept");
	free(t);
	unload();
}
END_TEST

START_TEST(logging_switches)
{
	/* FilterLogging No silences everything, IpFilterLogging Yes included */
	char *s = script(load("IpFilterPolicy { FilterLogging No\n IpFilterLogImplicit Yes\n"
			      " IpFilterRuleRef toB\n}\n"
			      "IpFilterRule toB { IpSourceAddr 198.19.1.0/24\n"
			      " IpGenericFilterActionRef protect\n IpDynVpnActionRef vpn\n}\n"),
			 FILTER_DP_TUN, 9);
	lacks(s, "log");
	free(s);
	unload();
	/* no NFLOG group to log to: no log statements, no limit */
	s = script(load(protect_only), FILTER_DP_TUN, -1);
	lacks(s, "log");
	free(s);
	unload();
	/* the default logs neither implicit drops nor a rule without
	 * IpFilterLogging; a Permit rule has no drops to log */
	s = script(load("IpGenericFilterAction permit-log { IpFilterAction Permit\n"
			" IpFilterLogging Yes\n}\n"
			"IpFilterPolicy { IpFilterRuleRef p\n IpFilterRuleRef d\n}\n"
			"IpFilterRule p { IpSourceAddr 198.18.0.1\n IpGenericFilterActionRef permit-log\n}\n"
			"IpFilterRule d { IpSourceAddr 198.18.0.1\n IpGenericFilterActionRef deny\n}\n"),
		   FILTER_DP_TUN, 9);
	lacks(s, "log");
	has(s, "\t\tcounter drop comment \"implicit deny\"\n\t}\n");
	free(s);
	unload();
}
END_TEST

START_TEST(no_rules_no_table)
{
	const struct ipsec_policy *ip = load("");
	ck_assert(!filter_wanted(ip));
	char *s = script(ip, FILTER_DP_TUN, 9);
	text_eq(s, "table inet attls\ndelete table inet attls\n");
	text_eq(filter_remove_script(), s);
	free(s);
	unload();
}
END_TEST

/* IKE and ESP pass between the security endpoints: every remote Location
 * (Any4, Any6, Any, addresses) and RemoteSecurityEndpointAddr, on iked's ports
 * and ListenAddrs. */
START_TEST(ike_and_esp_between_the_endpoints)
{
	static const char *text =
		"IkeConfig { IkePort 1500\n NatPort 14500\n}\n"
		"KeyExchangeOffer k1 { HowToAuthPeers PresharedKey\n}\n"
		"KeyExchangeAction ka { KeyExchangeOfferRef k1\n}\n"
		"KeyExchangeRule any6 { LocalSecurityEndpoint { Identity IpAddr 198.18.0.1\n"
		" Location 198.18.0.1\n }\n"
		" RemoteSecurityEndpoint { Identity IpAddr 2001:db8::2\n Location Any6\n }\n"
		" KeyExchangeActionRef ka\n SharedKey Ascii x\n}\n"
		"KeyExchangeRule net { LocalSecurityEndpoint { Identity IpAddr 198.18.0.1\n"
		" Location 198.18.0.1\n }\n"
		" RemoteSecurityEndpoint { Identity IpAddr 198.18.1.2\n Location 198.18.1.0/24\n }\n"
		" KeyExchangeActionRef ka\n SharedKey Ascii x\n}\n"
		"KeyExchangePolicy { KeyExchangeRuleRef any6\n KeyExchangeRuleRef net\n}\n"
		"IpDataOffer d { HowToEncrypt AES_CBC KeyLength 128\n}\n"
		"IpDynVpnAction vpn { IpDataOfferRef d\n}\n"
		"IpGenericFilterAction protect { IpFilterAction IpSec\n}\n"
		"IpFilterPolicy { IpFilterRuleRef toB\n}\n"
		"IpFilterRule toB { IpSourceAddr 198.19.1.0/24\n IpDestAddr 198.19.2.0/24\n"
		" IpGenericFilterActionRef protect\n IpDynVpnActionRef vpn\n"
		" RemoteSecurityEndpointAddr 198.18.2.2\n}\n";
	struct diags d;
	diags_init(&d);
	pol = must_load(text, &d);
	diags_free(&d);
	char *s = script(policy_ipsec(pol), FILTER_DP_XFRM, -1);
	/* no ListenAddr: iked listens on 0.0.0.0, so IPv4 only, any local address */
	has(s, "\t\tip saddr { 198.18.1.0/24, 198.18.2.2 } meta l4proto 17 th dport { 1500, 14500 } "
	       "accept comment \"IKE\"\n"
	       "\t\tip saddr { 198.18.1.0/24, 198.18.2.2 } meta l4proto 50 accept comment \"ESP\"\n");
	has(s, "\t\tip daddr { 198.18.1.0/24, 198.18.2.2 } meta l4proto 17 th sport { 1500, 14500 } "
	       "accept comment \"IKE\"\n");
	lacks(s, "ip6 saddr");
	lacks(s, "nfproto");
	free(s);
	unload();
	/* Any remote, listening everywhere on both families */
	static const char *any =
		"IkeConfig { ListenAddr 0.0.0.0\n ListenAddr ::\n}\n"
		"KeyExchangeOffer k1 { HowToAuthPeers PresharedKey\n}\n"
		"KeyExchangeAction ka { KeyExchangeOfferRef k1\n}\n"
		"KeyExchangeRule kr { LocalSecurityEndpoint { Identity IpAddr 198.18.0.1\n"
		" Location 198.18.0.1\n }\n"
		" RemoteSecurityEndpoint { Identity IpAddr 198.18.0.2\n Location Any\n }\n"
		" KeyExchangeActionRef ka\n SharedKey Ascii x\n}\n"
		"KeyExchangePolicy { KeyExchangeRuleRef kr\n}\n"
		"IpGenericFilterAction permit { IpFilterAction Permit\n}\n"
		"IpFilterPolicy { IpFilterRuleRef p\n}\n"
		"IpFilterRule p { IpGenericFilterActionRef permit\n}\n";
	diags_init(&d);
	pol = must_load(any, &d);
	diags_free(&d);
	s = script(policy_ipsec(pol), FILTER_DP_XFRM, -1);
	has(s, "\t\tmeta nfproto ipv4 meta l4proto 17 th dport { 500, 4500 } accept comment \"IKE\"\n"
	       "\t\tmeta nfproto ipv4 meta l4proto 50 accept comment \"ESP\"\n"
	       "\t\tmeta nfproto ipv6 meta l4proto 17 th dport { 500, 4500 } accept comment \"IKE\"\n"
	       "\t\tmeta nfproto ipv6 meta l4proto 50 accept comment \"ESP\"\n");
	/* a rule without addresses or services matches both families, both ways */
	has(s, "\t\tcounter accept comment \"p ext 2\"\n");
	has(s, "\t\tcounter accept comment \"p ext 1\"\n");
	free(s);
	unload();
}
END_TEST

START_TEST(log_prefixes)
{
	struct filter_prefix p;
	ck_assert_int_eq(filter_prefix_parse("attls:7:2:1:D", &p), 0);
	ck_assert_uint_eq(p.gen, 7);
	ck_assert_uint_eq(p.rule, 2);
	ck_assert_uint_eq(p.ext, 1);
	ck_assert_int_eq(p.kind, FLOG_DENY);
	ck_assert_int_eq(filter_prefix_parse("attls:4294967295:0:3:I", &p), 0);
	ck_assert_uint_eq(p.gen, 4294967295u);
	ck_assert_int_eq(p.kind, FLOG_IMPLICIT);
	ck_assert_int_eq(filter_prefix_parse("attls:1:5:2:T", &p), 0);
	ck_assert_int_eq(p.kind, FLOG_CLEAR);
	static const char *bad[] = { "", "attls", "attls:", "attls:1:2:3", "attls:1:2:3:X",
				     "attls:1:2:3:DD", "attls:-1:2:3:D", "attls: 1:2:3:D",
				     "attls:4294967296:2:3:D", "attls:1:2:3:D ", "other:1:2:3:D",
				     "attls:1::3:D" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(filter_prefix_parse(bad[i], &p) == -1, "accepted \"%s\"", bad[i]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ike_filter");
	TCase *tc = tcase_create("filter");
	tcase_add_test(tc, every_shape_in_policy_order);
	tcase_add_test(tc, ipsec_rules_follow_the_data_path);
	tcase_add_test(tc, logging_switches);
	tcase_add_test(tc, no_rules_no_table);
	tcase_add_test(tc, ike_and_esp_between_the_endpoints);
	tcase_add_test(tc, log_prefixes);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
