/* Unit tests for matching: evaluation order (priority, alphabetical ties,
 * rules without priority last), every condition (direction, ports, port
 * groups, addresses: prefixes, ranges, sets, groups, IPv6, IPv4-mapped
 * connection addresses; Jobname and Userid wildcards), the reasons given for
 * rules that do not match, and the address helpers underneath. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

#include "policy/addr.h"
#include "policy/attls.h"
#include "tests/unit/fixtures.h"
#include "tests/unit/support.h"

#define IN(l, lp, r, rp) test_conn(DIR_INBOUND, l, lp, r, rp, "nginx", "www")
#define OUT(l, lp, r, rp) test_conn(DIR_OUTBOUND, l, lp, r, rp, "curl", "alice")

/* The matched rule's name or NULL; the indexed lookup and the plain walk
 * must always agree. */
static const char *matched(const struct policy *p, struct attls_conn c)
{
	const struct attls_rule *a = attls_match(p, &c);
	const struct attls_rule *b = attls_explain(p, &c, NULL, NULL);
	ck_assert_ptr_eq(a, b);
	return a ? a->name : NULL;
}

static void names_in_order(const struct policy *p, const char *const *want, size_t n)
{
	ck_assert_uint_eq(attls_rule_count(p), n);
	for (size_t i = 0; i < n; i++) {
		ck_assert_str_eq(attls_rule_at(p, i)->name, want[i]);
		ck_assert_uint_eq(attls_rule_at(p, i)->rank, i);
	}
	ck_assert_ptr_null(attls_rule_at(p, n));
}

static struct policy *load(const char *text)
{
	struct diags d;
	diags_init(&d);
	struct policy *p = must_load(text, &d);
	diags_free(&d);
	return p;
}

/* ---- order ------------------------------------------------------------------- */

START_TEST(higher_priority_first)
{
	struct policy *p = load(RULE("low", "LocalPortRange 443 Priority 10")
				RULE("high", "LocalPortRange 443 Priority 200")
				RULE("mid", "LocalPortRange 443 Priority 50") BASE);
	static const char *const want[] = { "high", "mid", "low" };
	names_in_order(p, want, 3);
	ck_assert_str_eq(matched(p, IN("10.0.0.1", 443, "10.9.9.9", 5555)), "high");
	policy_unref(p);
}
END_TEST

START_TEST(ties_go_alphabetically)
{
	struct policy *p = load(RULE("zeta", "LocalPortRange 443 Priority 5")
				RULE("beta", "LocalPortRange 443 Priority 5")
				RULE("Alpha", "LocalPortRange 443 Priority 5")
				RULE("alpha", "LocalPortRange 443 Priority 5") BASE);
	/* byte order: names are case-sensitive, upper case sorts first */
	static const char *const want[] = { "Alpha", "alpha", "beta", "zeta" };
	names_in_order(p, want, 4);
	ck_assert_str_eq(matched(p, IN("10.0.0.1", 443, "10.9.9.9", 5555)), "Alpha");
	policy_unref(p);
}
END_TEST

START_TEST(rules_without_priority_come_last)
{
	struct policy *p = load(RULE("aaa", "LocalPortRange 443")
				RULE("zzz", "LocalPortRange 443 Priority 1")
				RULE("mmm", "LocalPortRange 443")
				RULE("bbb", "LocalPortRange 443 Priority 2") BASE);
	static const char *const want[] = { "bbb", "zzz", "aaa", "mmm" };
	names_in_order(p, want, 4);
	ck_assert(attls_rule_at(p, 0)->has_priority);
	ck_assert(!attls_rule_at(p, 2)->has_priority);
	ck_assert_str_eq(matched(p, IN("10.0.0.1", 443, "10.9.9.9", 5555)), "bbb");
	policy_unref(p);
}
END_TEST

START_TEST(first_match_wins_not_the_most_specific)
{
	/* z/OS does not rank by specificity: Priority decides. */
	struct policy *p = load(RULE("broad", "LocalPortRange 1-65535 Priority 100")
				RULE("narrow", "LocalPortRange 443 RemoteAddr 10.1.2.3 Jobname nginx "
				     "Priority 10") BASE);
	ck_assert_str_eq(matched(p, IN("10.0.0.1", 443, "10.1.2.3", 5555)), "broad");
	policy_unref(p);
}
END_TEST

START_TEST(no_rule_matches)
{
	struct policy *p = load(RULE("r", "LocalPortRange 443") BASE);
	ck_assert_ptr_null(matched(p, IN("10.0.0.1", 444, "10.9.9.9", 5555)));
	policy_unref(p);
	p = load("# nothing\n");
	ck_assert_ptr_null(matched(p, IN("10.0.0.1", 444, "10.9.9.9", 5555)));
	policy_unref(p);
}
END_TEST

START_TEST(disabled_rule_still_matches)
{
	/* A TTLSEnabled Off rule is how a connection is kept out of a broader
	 * rule: it matches, and its settings say "clear text". */
	struct policy *p = load("TTLSRule loopback { LocalAddr 127.0.0.0/8 Direction Both "
				"Priority 100 TTLSGroupActionRef off }\n"
				RULE("all", "LocalPortRange 443 Priority 1") BASE GRP_OFF);
	const struct attls_rule *r;
	struct attls_conn c = IN("127.0.0.1", 443, "127.0.0.1", 5555);
	r = attls_match(p, &c);
	ck_assert_str_eq(r->name, "loopback");
	ck_assert(!r->s->enabled);
	ck_assert_str_eq(matched(p, IN("10.0.0.1", 443, "10.9.9.9", 5555)), "all");
	policy_unref(p);
}
END_TEST

/* ---- conditions ------------------------------------------------------------------ */

START_TEST(direction)
{
	struct policy *p = load(
		"TTLSRule in { LocalPortRange 1000 Direction Inbound TTLSGroupActionRef off }\n"
		"TTLSRule out { LocalPortRange 1000 Direction Outbound TTLSGroupActionRef off }\n"
		"TTLSRule both { LocalPortRange 2000 Direction Both TTLSGroupActionRef off }\n" GRP_OFF);
	ck_assert_str_eq(matched(p, IN("10.0.0.1", 1000, "10.0.0.2", 1)), "in");
	ck_assert_str_eq(matched(p, OUT("10.0.0.1", 1000, "10.0.0.2", 1)), "out");
	ck_assert_str_eq(matched(p, IN("10.0.0.1", 2000, "10.0.0.2", 1)), "both");
	ck_assert_str_eq(matched(p, OUT("10.0.0.1", 2000, "10.0.0.2", 1)), "both");
	policy_unref(p);
}
END_TEST

START_TEST(jobname_wildcards)
{
	struct policy *p = load(RULE("star", "Jobname ngi* Priority 4")
				RULE("quest", "Jobname c?rl Priority 3")
				RULE("upper", "Jobname PYTHON3 Priority 2")
				RULE("any", "Jobname * Priority 1") BASE);
	struct attls_conn c = IN("10.0.0.1", 1, "10.0.0.2", 2);
	c.jobname = "nginx";
	ck_assert_str_eq(matched(p, c), "star");
	c.jobname = "ngi";                 /* '*' matches the empty run too */
	ck_assert_str_eq(matched(p, c), "star");
	c.jobname = "curl";
	ck_assert_str_eq(matched(p, c), "quest");
	c.jobname = "cuurl";               /* '?' is exactly one character */
	ck_assert_str_eq(matched(p, c), "any");
	c.jobname = "python3";             /* case-sensitive, like /proc/PID/comm */
	ck_assert_str_eq(matched(p, c), "any");
	c.jobname = "PYTHON3";
	ck_assert_str_eq(matched(p, c), "upper");
	c.jobname = NULL;                  /* an unknown program matches no Jobname, not even '*' */
	ck_assert_ptr_null(matched(p, c));
	policy_unref(p);
}
END_TEST

START_TEST(userid_wildcards)
{
	struct policy *p = load(RULE("svc", "Userid svc-* Priority 2")
				RULE("root", "Userid root Priority 1") BASE);
	struct attls_conn c = IN("10.0.0.1", 1, "10.0.0.2", 2);
	c.userid = "svc-web";
	ck_assert_str_eq(matched(p, c), "svc");
	c.userid = "root";
	ck_assert_str_eq(matched(p, c), "root");
	c.userid = "rooter";
	ck_assert_ptr_null(matched(p, c));
	c.userid = NULL;
	ck_assert_ptr_null(matched(p, c));
	policy_unref(p);
}
END_TEST

START_TEST(ipv4_prefixes_and_ranges)
{
	struct policy *p = load(RULE("net16", "RemoteAddr 10.1.0.0/16 Priority 3")
				RULE("range", "RemoteAddr 10.2.0.5-10.2.0.9 Priority 2")
				RULE("host", "LocalAddr 192.0.2.1 Priority 1")
				RULE("v4all", "RemoteAddr 0.0.0.0/0") BASE);
	ck_assert_str_eq(matched(p, IN("10.0.0.1", 1, "10.1.0.0", 2)), "net16");
	ck_assert_str_eq(matched(p, IN("10.0.0.1", 1, "10.1.255.255", 2)), "net16");
	ck_assert_str_eq(matched(p, IN("10.0.0.1", 1, "10.2.0.5", 2)), "range");
	ck_assert_str_eq(matched(p, IN("10.0.0.1", 1, "10.2.0.9", 2)), "range");
	ck_assert_str_eq(matched(p, IN("10.0.0.1", 1, "10.2.0.10", 2)), "v4all");
	ck_assert_str_eq(matched(p, IN("10.0.0.1", 1, "10.2.0.4", 2)), "v4all");
	ck_assert_str_eq(matched(p, IN("192.0.2.1", 1, "10.9.0.1", 2)), "host");
	/* 0.0.0.0/0 is every IPv4 address, no IPv6 one */
	ck_assert_ptr_null(matched(p, IN("2001:db8::1", 1, "2001:db8::2", 2)));
	policy_unref(p);
}
END_TEST

START_TEST(ipv6)
{
	struct policy *p = load(RULE("loop", "RemoteAddr ::1 Priority 4")
				RULE("doc", "RemoteAddr 2001:db8::/32 Priority 3")
				RULE("span", "LocalAddr fe80::1-fe80::ff Priority 2")
				RULE("all6", "RemoteAddr ::/0 Priority 1") BASE);
	ck_assert_str_eq(matched(p, IN("::1", 1, "::1", 2)), "loop");
	ck_assert_str_eq(matched(p, IN("::1", 1, "2001:db8:ffff::1", 2)), "doc");
	ck_assert_str_eq(matched(p, IN("fe80::ff", 1, "2001:db9::1", 2)), "span");
	ck_assert_str_eq(matched(p, IN("fe80::100", 1, "2001:db9::1", 2)), "all6");
	/* IPv6 rules do not cover IPv4 connections */
	ck_assert_ptr_null(matched(p, IN("10.0.0.1", 1, "10.0.0.2", 2)));
	policy_unref(p);
}
END_TEST

START_TEST(ipv4_mapped_connection_addresses)
{
	/* A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; the address
	 * the lookup gets (ip_addr_from_sockaddr) is plain IPv4, so IPv4 rules
	 * apply. */
	struct policy *p = load(RULE("v4", "RemoteAddr 10.1.0.0/16 LocalPortRange 443") BASE);
	struct sockaddr_in6 peer = { .sin6_family = AF_INET6, .sin6_port = htons(5555) };
	struct sockaddr_in6 self = { .sin6_family = AF_INET6, .sin6_port = htons(443) };
	ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:10.1.2.3", &peer.sin6_addr), 1);
	ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:127.0.0.1", &self.sin6_addr), 1);
	struct attls_conn c = { .direction = DIR_INBOUND, .jobname = "x" };
	ck_assert_int_eq(ip_addr_from_sockaddr((struct sockaddr *)&peer, &c.remote, &c.rport), 0);
	ck_assert_int_eq(ip_addr_from_sockaddr((struct sockaddr *)&self, &c.local, &c.lport), 0);
	ck_assert_int_eq(c.remote.family, AF_INET);
	ck_assert_uint_eq(c.rport, 5555);
	ck_assert_uint_eq(c.lport, 443);
	ck_assert_str_eq(matched(p, c), "v4");
	/* a real IPv6 peer is not turned into IPv4 */
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::1", &peer.sin6_addr), 1);
	ck_assert_int_eq(ip_addr_from_sockaddr((struct sockaddr *)&peer, &c.remote, NULL), 0);
	ck_assert_int_eq(c.remote.family, AF_INET6);
	ck_assert_ptr_null(matched(p, c));
	policy_unref(p);
}
END_TEST

START_TEST(address_sets_and_groups)
{
	struct policy *p = load(
		RULE("grp", "RemoteAddrGroupRef peers Priority 2")
		RULE("set", "LocalAddrSetRef mine Priority 1")
		RULE("one", "LocalAddrRef lo") BASE
		"IpAddrGroup peers {\n"
		"  IpAddr { Addr 10.5.5.5 }\n"
		"  IpAddrSetRef nets\n"
		"  IpAddrSet { Range 2001:db8::10-2001:db8::20 }\n"
		"}\n"
		"IpAddrSet nets { Prefix 172.16.0.0/12 Range 10.9.0.1 10.9.0.3 }\n"
		"IpAddrSet mine { Prefix 192.168.0.0/24 }\n"
		"IpAddr lo { Addr 127.0.0.0/8 }\n");
	ck_assert_str_eq(matched(p, IN("1.1.1.1", 1, "10.5.5.5", 2)), "grp");
	ck_assert_str_eq(matched(p, IN("1.1.1.1", 1, "172.31.255.255", 2)), "grp");
	ck_assert_str_eq(matched(p, IN("1.1.1.1", 1, "10.9.0.3", 2)), "grp");
	ck_assert_str_eq(matched(p, IN("1.1.1.1", 1, "2001:db8::15", 2)), "grp");
	/* member-wise, not the span from the lowest to the highest member */
	ck_assert_ptr_null(matched(p, IN("1.1.1.1", 1, "10.7.0.1", 2)));
	ck_assert_str_eq(matched(p, IN("192.168.0.77", 1, "10.7.0.1", 2)), "set");
	ck_assert_str_eq(matched(p, IN("127.1.2.3", 1, "10.7.0.1", 2)), "one");
	policy_unref(p);
}
END_TEST

START_TEST(address_all)
{
	struct policy *p = load(RULE("r", "LocalAddr All RemoteAddr ALL") BASE);
	ck_assert_str_eq(matched(p, IN("10.0.0.1", 1, "2001:db8::1", 2)), "r");
	ck_assert_uint_eq(attls_rule_at(p, 0)->local.n, 0);
	policy_unref(p);
	/* a group with All in it is any address */
	p = load(RULE("r", "RemoteAddrGroupRef g2") BASE
		 "IpAddrGroup g2 { IpAddr { Addr 10.0.0.1 } IpAddr { Addr All } }\n");
	ck_assert_str_eq(matched(p, IN("10.0.0.1", 1, "192.0.2.9", 2)), "r");
	policy_unref(p);
}
END_TEST

START_TEST(ports_ranges_and_groups)
{
	struct policy *p = load(
		RULE("single", "LocalPortRange 443 Priority 6")
		RULE("dash", "LocalPortRange 8000-8099 Priority 5")
		RULE("pair", "RemotePortRange 1024 2047 Priority 4")
		RULE("colon", "RemotePortRange 3000:3001 Priority 3")
		RULE("group", "LocalPortGroupRef web Priority 2")
		RULE("ref", "RemotePortRangeRef high Priority 1")
		RULE("zero", "LocalPortRange 0 Jobname zero") BASE
		"PortGroup web { PortRange { Port 80 } PortRangeRef alt PortRange { Port 9080-9089 } }\n"
		"PortRange alt { Port 8443 }\n"
		"PortRange high { Port 60000-65535 }\n");
	ck_assert_str_eq(matched(p, IN("10.0.0.1", 443, "10.0.0.2", 1)), "single");
	ck_assert_str_eq(matched(p, IN("10.0.0.1", 8000, "10.0.0.2", 1)), "dash");
	ck_assert_str_eq(matched(p, IN("10.0.0.1", 8099, "10.0.0.2", 1)), "dash");
	ck_assert_str_eq(matched(p, IN("10.0.0.1", 1, "10.0.0.2", 1024)), "pair");
	ck_assert_str_eq(matched(p, IN("10.0.0.1", 1, "10.0.0.2", 2047)), "pair");
	ck_assert_str_eq(matched(p, IN("10.0.0.1", 1, "10.0.0.2", 3001)), "colon");
	ck_assert_str_eq(matched(p, IN("10.0.0.1", 80, "10.0.0.2", 1)), "group");
	ck_assert_str_eq(matched(p, IN("10.0.0.1", 8443, "10.0.0.2", 1)), "group");
	ck_assert_str_eq(matched(p, IN("10.0.0.1", 9085, "10.0.0.2", 1)), "group");
	ck_assert_str_eq(matched(p, IN("10.0.0.1", 81, "10.0.0.2", 65535)), "ref");
	/* LocalPortRange 0 is any port */
	struct attls_conn c = IN("10.0.0.1", 12345, "10.0.0.2", 1);
	c.jobname = "zero";
	ck_assert_str_eq(matched(p, c), "zero");
	ck_assert_uint_eq(attls_rule_at(p, 6)->lports.n, 0);
	ck_assert_ptr_null(matched(p, IN("10.0.0.1", 12345, "10.0.0.2", 1)));
	policy_unref(p);
}
END_TEST

START_TEST(local_and_remote_port_rules_merge_in_order)
{
	/* The index keeps rules with local ports, rules with only remote ports
	 * and rules with no port apart; the lookup must still take them in rank
	 * order. */
	struct policy *p = load(RULE("by-rport", "RemotePortRange 5555 Priority 30")
				RULE("by-lport", "LocalPortRange 443 Priority 20")
				RULE("no-port", "Jobname nginx Priority 10")
				RULE("both", "LocalPortRange 443 RemotePortRange 5555 Priority 5") BASE);
	ck_assert_str_eq(matched(p, IN("10.0.0.1", 443, "10.0.0.2", 5555)), "by-rport");
	ck_assert_str_eq(matched(p, IN("10.0.0.1", 443, "10.0.0.2", 5556)), "by-lport");
	ck_assert_str_eq(matched(p, IN("10.0.0.1", 444, "10.0.0.2", 5556)), "no-port");
	struct attls_conn c = IN("10.0.0.1", 443, "10.0.0.2", 5555);
	policy_unref(p);
	p = load(RULE("no-port", "Jobname nginx Priority 50")
		 RULE("both", "LocalPortRange 443 RemotePortRange 5555 Priority 5") BASE);
	ck_assert_str_eq(matched(p, c), "no-port");
	c.jobname = "other";
	ck_assert_str_eq(matched(p, c), "both");
	policy_unref(p);
}
END_TEST

START_TEST(overlapping_port_ranges_in_one_rule)
{
	struct policy *p = load(RULE("r", "LocalPortGroupRef pg Priority 2")
				RULE("s", "LocalPortRange 100-300 Priority 1") BASE
				"PortGroup pg { PortRange { Port 100-200 } PortRange { Port 150-250 } "
				"PortRange { Port 200 } }\n");
	for (unsigned port = 90; port <= 310; port++) {
		const char *want = port < 100 || port > 300 ? NULL : port <= 250 ? "r" : "s";
		const char *got = matched(p, IN("10.0.0.1", port, "10.0.0.2", 1));
		if (want)
			ck_assert_str_eq(got, want);
		else
			ck_assert_ptr_null(got);
	}
	policy_unref(p);
}
END_TEST

START_TEST(port_edges)
{
	struct policy *p = load(RULE("top", "LocalPortRange 65535 Priority 2")
				RULE("bottom", "LocalPortRange 1 Priority 1")
				RULE("wide", "RemotePortRange 0 65535") BASE);
	ck_assert_str_eq(matched(p, IN("10.0.0.1", 65535, "10.0.0.2", 9)), "top");
	ck_assert_str_eq(matched(p, IN("10.0.0.1", 1, "10.0.0.2", 9)), "bottom");
	ck_assert_str_eq(matched(p, IN("10.0.0.1", 0, "10.0.0.2", 9)), "wide");
	/* 0-65535 written out is "any port" too: no index entry needed */
	ck_assert_uint_eq(attls_rule_at(p, 2)->rports.n, 0);
	policy_unref(p);
}
END_TEST

/* ---- reasons --------------------------------------------------------------------------- */

struct seen {
	const char *name[8];
	const char *why[8];
	char buf[8][256];
	int n;
};

static void collect(void *arg, const struct attls_rule *r, const char *why)
{
	struct seen *s = arg;
	ck_assert_int_lt(s->n, 8);
	s->name[s->n] = r->name;
	s->why[s->n] = why ? strcpy(s->buf[s->n], why) : NULL;
	s->n++;
}

START_TEST(reasons_for_rules_that_do_not_match)
{
	struct policy *p = load(
		"TTLSRule a-dir { LocalPortRange 443 Direction Outbound Priority 9 TTLSGroupActionRef off }\n"
		RULE("b-lport", "LocalPortRange 8443 Priority 8")
		RULE("c-rport", "RemotePortRangeRef rp Priority 7")
		RULE("d-laddr", "LocalAddr 10.9.0.0/16 Priority 6")
		RULE("e-raddr", "RemoteAddrSetRef set Priority 5")
		RULE("f-job", "Jobname ngi?x1 Priority 4")
		RULE("g-user", "Userid root Priority 3")
		RULE("h-match", "LocalPortRange 443 Priority 2")
		RULE("i-after", "LocalPortRange 443 Priority 1") BASE GRP_OFF
		"PortRange rp { Port 1-1023 }\nIpAddrSet set { Prefix 192.0.2.0/24 }\n");
	struct seen s = { .n = 0 };
	struct attls_conn c = IN("10.0.0.1", 443, "10.1.2.3", 5555);
	const struct attls_rule *r = attls_explain(p, &c, collect, &s);
	ck_assert_str_eq(r->name, "h-match");
	ck_assert_int_eq(s.n, 8);   /* nothing after the match is tried */
	ck_assert_str_eq(s.why[0], "Direction Outbound does not cover inbound connections");
	ck_assert_str_eq(s.why[1], "LocalPortRange 8443 does not contain local port 443");
	ck_assert_str_eq(s.why[2], "RemotePortRangeRef rp does not contain remote port 5555");
	ck_assert_str_eq(s.why[3], "LocalAddr 10.9.0.0/16 does not contain local address 10.0.0.1");
	ck_assert_str_eq(s.why[4], "RemoteAddrSetRef set does not contain remote address 10.1.2.3");
	ck_assert_str_eq(s.why[5], "Jobname ngi?x1 does not match 'nginx'");
	ck_assert_str_eq(s.why[6], "Userid root does not match 'www'");
	ck_assert_ptr_null(s.why[7]);
	ck_assert_str_eq(s.name[7], "h-match");
	/* unknown program and user */
	char buf[256];
	c.jobname = NULL;
	c.userid = NULL;
	ck_assert_str_eq(attls_rule_mismatch(attls_rule_at(p, 5), &c, buf, sizeof buf),
			 "Jobname ngi?x1 does not match an unknown program");
	ck_assert_str_eq(attls_rule_mismatch(attls_rule_at(p, 6), &c, buf, sizeof buf),
			 "Userid root does not match an unknown user");
	ck_assert_ptr_null(attls_rule_mismatch(attls_rule_at(p, 7), &c, buf, sizeof buf));
	policy_unref(p);
}
END_TEST

/* ---- addresses underneath ------------------------------------------------------------- */

static void roundtrip(const char *in, const char *out)
{
	struct ip_range r;
	ck_assert_ptr_null(ip_range_parse(in, &r));
	char buf[IP_RANGE_STRLEN];
	ip_range_format(&r, buf, sizeof buf);
	ck_assert_str_eq(buf, out);
}

START_TEST(address_forms_round_trip)
{
	roundtrip("10.0.0.1", "10.0.0.1");
	roundtrip("10.0.0.0/8", "10.0.0.0/8");
	roundtrip("10.0.0.1-10.0.0.9", "10.0.0.1-10.0.0.9");
	roundtrip("ALL", "All");
	roundtrip("2001:DB8:0::1", "2001:db8::1");
	roundtrip("2001:db8::/32", "2001:db8::/32");
	roundtrip("::1-::ff", "::1-::ff");
	struct ip_range r;
	ck_assert_ptr_nonnull(ip_range_parse("10.1", &r));         /* no shorthand */
	ck_assert_ptr_nonnull(ip_range_parse("010.0.0.1", &r));    /* no octal */
	ck_assert_ptr_nonnull(ip_range_parse("10.0.0.0/", &r));
	ck_assert_ptr_nonnull(ip_range_parse("10.0.0.0/-1", &r));
	ck_assert_ptr_nonnull(ip_range_parse("", &r));
}
END_TEST

START_TEST(ipv4_in_ipv6_detection)
{
	static const struct { const char *s; bool refused; } cases[] = {
		{ "::ffff:10.0.0.1", true }, { "::10.0.0.1", true }, { "::2", true },
		{ "::1", false }, { "::", false }, { "::/0", false }, { "::/95", false },
		{ "::/96", true }, { "::ffff:0:0/96", true }, { "::ffff:10.0.0.0/120", true },
		{ "2001:db8::/32", false }, { "::1-::5", true }, { "::-::1", false },
		{ "::ffff:1.2.3.4-2001:db8::", true }, { "10.0.0.1", false }, { "All", false },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct ip_range r;
		ck_assert_ptr_null(ip_range_parse(cases[i].s, &r));
		ck_assert_msg(ip_range_has_v4_mapped(&r) == cases[i].refused, "%s", cases[i].s);
	}
	struct ip_addr a;
	ck_assert_int_eq(ip_addr_parse("::ffff:1.2.3.4", &a), 0);
	ck_assert(ip_addr_is_v4_mapped(&a));
	ck_assert_int_eq(ip_addr_parse("::1", &a), 0);
	ck_assert(!ip_addr_is_v4_mapped(&a));
}
END_TEST

START_TEST(sockaddr_conversion)
{
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(80) };
	inet_pton(AF_INET, "192.0.2.7", &s4.sin_addr);
	struct ip_addr a;
	uint16_t port = 0;
	ck_assert_int_eq(ip_addr_from_sockaddr((struct sockaddr *)&s4, &a, &port), 0);
	ck_assert_int_eq(a.family, AF_INET);
	ck_assert_uint_eq(port, 80);
	char buf[IP_STRLEN];
	ip_addr_format(&a, buf, sizeof buf);
	ck_assert_str_eq(buf, "192.0.2.7");
	struct sockaddr_un su = { .sun_family = AF_UNIX };
	ck_assert_int_eq(ip_addr_from_sockaddr((struct sockaddr *)&su, &a, &port), -1);
	struct ip_set any = { 0 };
	ck_assert(ip_set_contains(&any, &a));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("policy_match");
	TCase *order = tcase_create("order");
	tcase_add_test(order, higher_priority_first);
	tcase_add_test(order, ties_go_alphabetically);
	tcase_add_test(order, rules_without_priority_come_last);
	tcase_add_test(order, first_match_wins_not_the_most_specific);
	tcase_add_test(order, no_rule_matches);
	tcase_add_test(order, disabled_rule_still_matches);
	suite_add_tcase(s, order);
	TCase *cond = tcase_create("conditions");
	tcase_add_test(cond, direction);
	tcase_add_test(cond, jobname_wildcards);
	tcase_add_test(cond, userid_wildcards);
	tcase_add_test(cond, ipv4_prefixes_and_ranges);
	tcase_add_test(cond, ipv6);
	tcase_add_test(cond, ipv4_mapped_connection_addresses);
	tcase_add_test(cond, address_sets_and_groups);
	tcase_add_test(cond, address_all);
	tcase_add_test(cond, ports_ranges_and_groups);
	tcase_add_test(cond, local_and_remote_port_rules_merge_in_order);
	tcase_add_test(cond, overlapping_port_ranges_in_one_rule);
	tcase_add_test(cond, port_edges);
	suite_add_tcase(s, cond);
	TCase *why = tcase_create("reasons");
	tcase_add_test(why, reasons_for_rules_that_do_not_match);
	suite_add_tcase(s, why);
	TCase *addr = tcase_create("addresses");
	tcase_add_test(addr, address_forms_round_trip);
	tcase_add_test(addr, ipv4_in_ipv6_detection);
	tcase_add_test(addr, sockaddr_conversion);
	suite_add_tcase(s, addr);
	return run_suite(s);
}
