/* Unit tests for the lookup index (policy/index, policy/ruleset, the lookup
 * in policy/match) at its edges: ranks on both sides of a 64-rule word and of
 * a 4096-rule summary word, keys at the ends of their spaces (port 0 and
 * 65535, 0.0.0.0 and 255.255.255.255, IPv6 ranges that end where the low
 * half of the address wraps), families and directions no rule names, name
 * patterns with and without literal prefixes and suffixes (and bytes above
 * 0x7f), rules found through a dimension they share with thousands of others,
 * lookups with so many candidates that whole blocks are filtered, and
 * policies with no rules. Every lookup is also checked against the plain
 * walk. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/addr.h"
#include "policy/attls.h"
#include "tests/unit/fixtures.h"
#include "tests/unit/support.h"

#define IN(l, lp, r, rp) test_conn(DIR_INBOUND, l, lp, r, rp, "nginx", "www")

/* n rules "rNNNNN" in rank order (priorities n..1), rule i given the
 * conditions cond(i); the rest of the policy is BASE. */
static struct policy *load_generated(int n, void (*cond)(FILE *, int))
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	for (int i = 0; i < n; i++) {
		fprintf(f, "TTLSRule r%05d { ", i);
		cond(f, i);
		fprintf(f, " Priority %d TTLSGroupActionRef g TTLSEnvironmentActionRef e }\n", n - i);
	}
	fputs(BASE, f);
	fclose(f);
	struct policy *p = must_load_quiet(text);
	free(text);
	return p;
}

/* ---- rule sets: words and summary words ----------------------------------------- */

/* Rule i: its own remote address 10.0.x.y; every rule also has port 443. */
static void own_address(FILE *f, int i)
{
	fprintf(f, "LocalPortRange 443 RemoteAddr 10.0.%d.%d Direction Inbound", i / 256, i % 256);
}

START_TEST(ranks_on_word_and_summary_boundaries)
{
	struct policy *p = load_generated(8200, own_address);
	static const int ranks[] = { 0, 63, 64, 127, 128, 4095, 4096, 4097, 8191, 8192, 8199 };
	for (size_t k = 0; k < sizeof ranks / sizeof ranks[0]; k++) {
		char addr[32], want[16];
		snprintf(addr, sizeof addr, "10.0.%d.%d", ranks[k] / 256, ranks[k] % 256);
		snprintf(want, sizeof want, "r%05d", ranks[k]);
		ck_assert_str_eq(test_matched(p, IN("10.1.1.1", 443, addr, 5555)), want);
		ck_assert_ptr_null(test_matched(p, IN("10.1.1.1", 444, addr, 5555)));
	}
	ck_assert_ptr_null(test_matched(p, IN("10.1.1.1", 443, "10.0.200.1", 5555)));
	ck_assert_uint_gt(attls_index_size(p), 0);
	policy_unref(p);
}
END_TEST

/* Rules 5 and 4100 share an address, so the set for it has words in two
 * summary words; only the second one's port fits. */
static void two_blocks(FILE *f, int i)
{
	if (i == 5 || i == 4100)
		fprintf(f, "LocalPortRange %d RemoteAddr 192.0.2.1 Direction Inbound", i == 5 ? 80 : 443);
	else
		own_address(f, i);
}

START_TEST(a_sparse_set_across_summary_words)
{
	struct policy *p = load_generated(4200, two_blocks);
	ck_assert_str_eq(test_matched(p, IN("10.1.1.1", 443, "192.0.2.1", 5555)), "r04100");
	ck_assert_str_eq(test_matched(p, IN("10.1.1.1", 80, "192.0.2.1", 5555)), "r00005");
	ck_assert_ptr_null(test_matched(p, IN("10.1.1.1", 81, "192.0.2.1", 5555)));
	policy_unref(p);
}
END_TEST

/* Every rule matches the connections of its parity class; the first of a
 * class is rank 0 or 1, but only rules past the summary word also match the
 * remote port. */
static void crowd(FILE *f, int i)
{
	fprintf(f, "LocalPortRange %d RemotePortRange %d Direction Both", i % 2 ? 443 : 8443,
		i >= 4100 ? 1000 : 2000);
}

/* The connection's remote network is shared by rules 4096-5999, so that
 * summary word is filtered as a block; the Jobname filter that lets rule
 * 5000 through there also holds rules 3 and 7, in the first summary word.
 * Rules 4096-4999 are for outbound connections. */
static void block_and_sparse_filter(FILE *f, int i)
{
	const char *job = i == 3 || i == 7 || i == 5000 ? "Jobname k*" : "";
	if (i < 4096)
		fprintf(f, "LocalPortRange 443 RemoteAddr 10.0.%d.%d %s Direction Inbound", i / 256,
			i % 256, job);
	else
		fprintf(f, "LocalPortRange 443 RemoteAddr 192.0.2.0/24 %s Direction %s", job,
			i < 5000 ? "Outbound" : "Inbound");
}

START_TEST(many_candidates_are_filtered_in_blocks)
{
	struct policy *ps = load_generated(6000, block_and_sparse_filter);
	struct attls_conn c = test_conn(DIR_INBOUND, "10.1.1.1", 443, "192.0.2.9", 1, "kx", "u");
	ck_assert_str_eq(test_matched(ps, c), "r05000");
	c.jobname = "x";
	ck_assert_str_eq(test_matched(ps, c), "r05001");
	c.direction = DIR_OUTBOUND;
	ck_assert_str_eq(test_matched(ps, c), "r04096");
	c.lport = 444;
	ck_assert_ptr_null(test_matched(ps, c));
	policy_unref(ps);

	struct policy *p = load_generated(6000, crowd);
	ck_assert_str_eq(test_matched(p, IN("10.1.1.1", 443, "10.2.2.2", 1000)), "r04101");
	ck_assert_str_eq(test_matched(p, IN("10.1.1.1", 8443, "10.2.2.2", 1000)), "r04100");
	ck_assert_str_eq(test_matched(p, IN("10.1.1.1", 8443, "10.2.2.2", 2000)), "r00000");
	ck_assert_ptr_null(test_matched(p, IN("10.1.1.1", 80, "10.2.2.2", 1000)));
	ck_assert_ptr_null(test_matched(p, IN("10.1.1.1", 443, "10.2.2.2", 3000)));
	policy_unref(p);
}
END_TEST

/* 3000 rules on port 443 told apart by Jobname, one by remote address: a
 * rule is found through the dimension it shares with the fewest. */
static void shared_port(FILE *f, int i)
{
	if (i == 2999)
		fprintf(f, "LocalPortRange 443 RemoteAddr 192.0.2.7 Direction Inbound");
	else
		fprintf(f, "LocalPortRange 443 Jobname prog%d.* Direction Inbound", i);
}

START_TEST(rules_sharing_a_port_are_found_by_their_other_conditions)
{
	struct policy *p = load_generated(3000, shared_port);
	struct attls_conn c = test_conn(DIR_INBOUND, "10.1.1.1", 443, "10.2.2.2", 5555, "prog1234.x", "u");
	ck_assert_str_eq(test_matched(p, c), "r01234");
	c.jobname = "prog12.";
	ck_assert_str_eq(test_matched(p, c), "r00012");
	c.jobname = "prog12";
	ck_assert_ptr_null(test_matched(p, c));
	c.jobname = "other";
	ck_assert_ptr_null(test_matched(p, c));
	ck_assert_str_eq(test_matched(p, test_conn(DIR_INBOUND, "10.1.1.1", 443, "192.0.2.7", 1, "other", "u")),
			 "r02999");
	c.lport = 80;
	c.jobname = "prog1234.x";
	ck_assert_ptr_null(test_matched(p, c));
	policy_unref(p);
}
END_TEST

/* ---- keys at the ends of their spaces --------------------------------------------- */

START_TEST(ports_at_both_ends)
{
	struct policy *p = must_load_quiet(RULE("top", "LocalPortRange 65535 Priority 4")
					   RULE("low", "LocalPortRange 1-2 Priority 3")
					   RULE("tail", "RemotePortRange 65000-65535 Priority 2")
					   RULE("zero", "RemotePortRange 0-10 Priority 1") BASE);
	ck_assert_str_eq(test_matched(p, IN("10.0.0.1", 65535, "10.0.0.2", 20)), "top");
	ck_assert_str_eq(test_matched(p, IN("10.0.0.1", 1, "10.0.0.2", 20)), "low");
	ck_assert_str_eq(test_matched(p, IN("10.0.0.1", 0, "10.0.0.2", 65535)), "tail");
	ck_assert_str_eq(test_matched(p, IN("10.0.0.1", 65534, "10.0.0.2", 0)), "zero");
	ck_assert_ptr_null(test_matched(p, IN("10.0.0.1", 0, "10.0.0.2", 11)));
	ck_assert_ptr_null(test_matched(p, IN("10.0.0.1", 3, "10.0.0.2", 64999)));
	policy_unref(p);
}
END_TEST

START_TEST(ipv4_at_both_ends)
{
	struct policy *p = must_load_quiet(
		RULE("high", "RemoteAddr 255.255.255.0-255.255.255.255 Priority 2")
		RULE("low", "LocalAddr 0.0.0.0/31 Priority 1") BASE);
	ck_assert_str_eq(test_matched(p, IN("10.0.0.1", 1, "255.255.255.255", 1)), "high");
	ck_assert_str_eq(test_matched(p, IN("10.0.0.1", 1, "255.255.255.0", 1)), "high");
	ck_assert_ptr_null(test_matched(p, IN("10.0.0.1", 1, "255.255.254.255", 1)));
	ck_assert_str_eq(test_matched(p, IN("0.0.0.1", 1, "10.0.0.1", 1)), "low");
	ck_assert_str_eq(test_matched(p, IN("0.0.0.0", 1, "10.0.0.1", 1)), "low");
	ck_assert_ptr_null(test_matched(p, IN("0.0.0.2", 1, "10.0.0.1", 1)));
	policy_unref(p);
}
END_TEST

START_TEST(ipv6_ranges_that_end_where_the_low_half_wraps)
{
	/* the first ends at ...:ffff:ffff:ffff:ffff, so its end falls in the
	 * next high half; the second runs to the last address of all */
	struct policy *p = must_load_quiet(RULE("wrap", "RemoteAddr 2001:db8::/64 Priority 3")
					   RULE("next", "RemoteAddr 2001:db8:0:1::/64 Priority 2")
					   RULE("last", "LocalAddr ffff:ffff:ffff:ffff::/64 Priority 1") BASE);
	ck_assert_str_eq(test_matched(p, IN("fd00::1", 1, "2001:db8::ffff:ffff:ffff:ffff", 1)), "wrap");
	ck_assert_str_eq(test_matched(p, IN("fd00::1", 1, "2001:db8::", 1)), "wrap");
	ck_assert_str_eq(test_matched(p, IN("fd00::1", 1, "2001:db8:0:1::", 1)), "next");
	ck_assert_ptr_null(test_matched(p, IN("fd00::1", 1, "2001:db8:0:2::", 1)));
	ck_assert_ptr_null(test_matched(p, IN("fd00::1", 1, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", 1)));
	ck_assert_str_eq(test_matched(p, IN("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1, "10.0.0.1", 1)),
			 "last");
	ck_assert_ptr_null(test_matched(p, IN("ffff:ffff:ffff:fffe:ffff:ffff:ffff:ffff", 1, "10.0.0.1", 1)));
	/* an IPv4 connection is not in an IPv6 rule, even with equal leading bytes */
	ck_assert_ptr_null(test_matched(p, IN("10.0.0.1", 1, "32.1.13.184", 1)));
	policy_unref(p);
}
END_TEST

START_TEST(families_and_directions_no_rule_names)
{
	struct policy *p = must_load_quiet(RULE("in4", "RemoteAddr 10.0.0.0/8 Priority 3")
					   "TTLSRule both { LocalPortRange 443 Direction Both Priority 2 "
					   "TTLSGroupActionRef g TTLSEnvironmentActionRef e }\n"
					   "TTLSRule out { LocalPortRange 443 Direction Outbound Priority 1 "
					   "TTLSGroupActionRef g TTLSEnvironmentActionRef e }\n" BASE);
	struct attls_conn c = IN("10.0.0.1", 443, "10.0.0.2", 1);
	c.remote.family = 0;         /* neither IPv4 nor IPv6: only address-free rules */
	ck_assert_str_eq(test_matched(p, c), "both");
	c = IN("10.0.0.1", 443, "10.0.0.2", 1);
	c.direction = DIR_BOTH;      /* not a connection's direction: Both rules only */
	ck_assert_str_eq(test_matched(p, c), "both");
	c.direction = 7;
	ck_assert_str_eq(test_matched(p, c), "both");
	c.direction = DIR_OUTBOUND;
	ck_assert_str_eq(test_matched(p, c), "both");
	c.direction = DIR_INBOUND;
	ck_assert_str_eq(test_matched(p, c), "in4");
	policy_unref(p);
}
END_TEST

/* ---- names ---------------------------------------------------------------------------- */

START_TEST(name_patterns_by_prefix_and_suffix)
{
	struct policy *p = must_load_quiet(RULE("exact", "Jobname abc Priority 9")
					   RULE("pre", "Jobname abc* Priority 8")
					   RULE("suf", "Jobname *xyz Priority 7")
					   RULE("mid", "Jobname a?c?e Priority 6")
					   RULE("q", "Jobname ?? Priority 5")
					   RULE("high", "Jobname \xc3\xa9t\xc3\xa9* Priority 4")
					   RULE("user", "Userid *admin Priority 3")
					   RULE("any", "Jobname * Priority 2") BASE);
	struct attls_conn c = test_conn(DIR_INBOUND, "10.0.0.1", 1, "10.0.0.2", 1, "abc", "bob");
	ck_assert_str_eq(test_matched(p, c), "exact");
	c.jobname = "abcd";
	ck_assert_str_eq(test_matched(p, c), "pre");
	c.jobname = "xabc";          /* a literal pattern is exact at both ends */
	ck_assert_str_eq(test_matched(p, c), "any");
	c.jobname = "wxyz";
	ck_assert_str_eq(test_matched(p, c), "suf");
	c.jobname = "abcxyz";
	ck_assert_str_eq(test_matched(p, c), "pre");
	c.jobname = "aXcYe";
	ck_assert_str_eq(test_matched(p, c), "mid");
	c.jobname = "aXcYf";
	ck_assert_str_eq(test_matched(p, c), "any");
	c.jobname = "zz";
	ck_assert_str_eq(test_matched(p, c), "q");
	c.jobname = "\xc3\xa9t\xc3\xa9s";
	ck_assert_str_eq(test_matched(p, c), "high");
	c.jobname = "a-much-longer-name-than-any-literal";
	ck_assert_str_eq(test_matched(p, c), "any");
	c.jobname = NULL;            /* unknown program: only rules without Jobname */
	c.userid = "sysadmin";
	ck_assert_str_eq(test_matched(p, c), "user");
	c.userid = NULL;
	ck_assert_ptr_null(test_matched(p, c));
	c.jobname = "";
	ck_assert_str_eq(test_matched(p, c), "any");
	policy_unref(p);
}
END_TEST

/* ---- sets stored once, no rules at all ------------------------------------------------ */

static void twins(FILE *f, int i)
{
	(void)i;
	fprintf(f, "LocalPortRange 8000-9000 RemoteAddr 10.0.0.0/8 Direction Inbound");
}

START_TEST(identical_rules_take_their_rank_order)
{
	struct policy *p = load_generated(500, twins);
	ck_assert_str_eq(test_matched(p, IN("10.0.0.1", 8500, "10.1.1.1", 1)), "r00000");
	ck_assert_ptr_null(test_matched(p, IN("10.0.0.1", 9001, "10.1.1.1", 1)));
	policy_unref(p);
}
END_TEST

START_TEST(no_rules)
{
	struct diags d;
	diags_init(&d);
	struct policy *p = load_text("IpFilterPolicy { }\n", &d);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(attls_rule_count(p), 0);
	ck_assert_ptr_null(test_matched(p, IN("10.0.0.1", 443, "10.0.0.2", 1)));
	policy_unref(p);
	diags_free(&d);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("policy_index");
	TCase *sets = tcase_create("sets");
	tcase_set_timeout(sets, 60);
	tcase_add_test(sets, ranks_on_word_and_summary_boundaries);
	tcase_add_test(sets, a_sparse_set_across_summary_words);
	tcase_add_test(sets, many_candidates_are_filtered_in_blocks);
	tcase_add_test(sets, rules_sharing_a_port_are_found_by_their_other_conditions);
	tcase_add_test(sets, identical_rules_take_their_rank_order);
	tcase_add_test(sets, no_rules);
	suite_add_tcase(s, sets);
	TCase *keys = tcase_create("keys");
	tcase_add_test(keys, ports_at_both_ends);
	tcase_add_test(keys, ipv4_at_both_ends);
	tcase_add_test(keys, ipv6_ranges_that_end_where_the_low_half_wraps);
	tcase_add_test(keys, families_and_directions_no_rule_names);
	tcase_add_test(keys, name_patterns_by_prefix_and_suffix);
	suite_add_tcase(s, keys);
	return run_suite(s);
}
