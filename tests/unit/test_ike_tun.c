/* iked/tun: ranges as route prefixes, and a real device with its rules and
 * routes in a network namespace of the test's own (root), checked with
 * iproute2's view of them. */
#include "tests/unit/support.h"

#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iked/tun.h"

static void prefixes_are(const char *range, int family, const char *const *want, size_t nwant)
{
	struct ip_range r;
	ck_assert_ptr_null(ip_range_parse(range, &r));
	struct tun_prefix p[300];
	size_t n = tun_range_prefixes(&r, family, p, 300);
	ck_assert_msg(n == nwant, "%s: %zu prefixes, want %zu", range, n, nwant);
	for (size_t i = 0; i < n; i++) {
		char a[IP_STRLEN], got[IP_STRLEN + 8];
		ip_addr_format(&p[i].base, a, sizeof a);
		snprintf(got, sizeof got, "%s/%u", a, p[i].len);
		ck_assert_msg(strcmp(got, want[i]) == 0, "%s: prefix %zu is %s, want %s", range, i,
			      got, want[i]);
	}
}

START_TEST(ranges_become_exact_prefixes)
{
	prefixes_are("198.19.2.1", AF_INET, (const char *[]){ "198.19.2.1/32" }, 1);
	prefixes_are("198.19.2.0/24", AF_INET, (const char *[]){ "198.19.2.0/24" }, 1);
	prefixes_are("198.19.2.5-198.19.2.9", AF_INET,
		     (const char *[]){ "198.19.2.5/32", "198.19.2.6/31", "198.19.2.8/31" }, 3);
	prefixes_are("198.19.1.255-198.19.3.0", AF_INET,
		     (const char *[]){ "198.19.1.255/32", "198.19.2.0/24", "198.19.3.0/32" }, 3);
	prefixes_are("All", AF_INET, (const char *[]){ "0.0.0.0/0" }, 1);
	prefixes_are("All", AF_INET6, (const char *[]){ "::/0" }, 1);
	prefixes_are("0.0.0.0-255.255.255.255", AF_INET, (const char *[]){ "0.0.0.0/0" }, 1);
	prefixes_are("255.255.255.254-255.255.255.255", AF_INET,
		     (const char *[]){ "255.255.255.254/31" }, 1);
	prefixes_are("2001:db8::1-2001:db8::2", AF_INET6,
		     (const char *[]){ "2001:db8::1/128", "2001:db8::2/128" }, 2);
	/* the worst IPv4 case needs 62 prefixes; too few slots is no answer */
	struct ip_range r;
	ck_assert_ptr_null(ip_range_parse("0.0.0.1-255.255.255.254", &r));
	struct tun_prefix p[64];
	ck_assert_uint_eq(tun_range_prefixes(&r, AF_INET, p, 64), 62);
	ck_assert_uint_eq(tun_range_prefixes(&r, AF_INET, p, 61), 0);
}
END_TEST

static bool output_has(const char *cmd, const char *needle)
{
	char full[300];
	snprintf(full, sizeof full, "%s 2>&1", cmd);
	FILE *f = popen(full, "r");
	ck_assert_ptr_nonnull(f);
	char line[512];
	bool found = false;
	while (fgets(line, sizeof line, f))
		if (strstr(line, needle))
			found = true;
	pclose(f);
	return found;
}

START_TEST(device_rules_and_routes)
{
	ck_assert_msg(geteuid() == 0, "this test needs root (network namespaces), as CI has");
	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	ck_assert_int_eq(system("ip link set lo up && ip addr add 198.19.1.1/32 dev lo"), 0);
	struct tun t;
	char err[200];
	ck_assert_msg(tun_open(&t, "attlstest0", 1400, true, err, sizeof err) == 0, "%s", err);
	ck_assert_int_ge(t.fd, 0);
	ck_assert(t.vnet);                         /* this kernel has the offloads */
	ck_assert_int_eq(t.ifindex, (int)if_nametoindex("attlstest0"));
	ck_assert(output_has("ip link show attlstest0", "mtu 1400"));
	ck_assert(output_has("ip link show attlstest0", ",UP"));
	ck_assert(output_has("ip -4 rule show", "4303:\tnot from all fwmark 0x4303 lookup 4303"));
	/* a second device of that name is refused while the first lives */
	struct tun t2;
	ck_assert_int_ne(tun_open(&t2, "attlstest0", 1400, false, err, sizeof err), 0);
	ck_assert_ptr_nonnull(strstr(err, "attlstest0"));
	ck_assert(output_has("ip -4 rule show", "lookup 4303"));
	/* routes with the local data endpoint as source */
	struct ip_range lr, rr;
	ck_assert_ptr_null(ip_range_parse("198.19.1.0/24", &lr));
	ck_assert_ptr_null(ip_range_parse("198.19.2.0/24", &rr));
	struct ip_addr src;
	ck_assert(tun_local_addr(&lr, &src));
	ck_assert_uint_eq(src.b[3], 1);
	struct tun_prefix p;
	ck_assert_uint_eq(tun_range_prefixes(&rr, AF_INET, &p, 1), 1);
	ck_assert_msg(tun_route(&t, true, &p, &src, err, sizeof err) == 0, "%s", err);
	ck_assert(output_has("ip route show table 4303",
			     "198.19.2.0/24 dev attlstest0 proto static scope link src 198.19.1.1"));
	/* the kernel takes that route for unmarked packets only */
	ck_assert(output_has("ip route get 198.19.2.7", "dev attlstest0"));
	ck_assert(!output_has("ip route get 198.19.2.7 mark 0x4303", "dev attlstest0"));
	ck_assert_msg(tun_route(&t, false, &p, &src, err, sizeof err) == 0, "%s", err);
	ck_assert(!output_has("ip route show table 4303", "198.19.2.0/24"));
	/* a route that is not there cannot be removed */
	ck_assert_int_ne(tun_route(&t, false, &p, &src, err, sizeof err), 0);
	/* at the end, the routes go with the device */
	ck_assert_msg(tun_route(&t, true, &p, NULL, err, sizeof err) == 0, "%s", err);
	tun_close(&t);
	ck_assert(!output_has("ip link show", "attlstest0"));
	ck_assert(!output_has("ip -4 rule show", "lookup 4303"));
	ck_assert(!output_has("ip route show table 4303", "198.19.2.0/24"));
	/* an address this host does not have */
	ck_assert_ptr_null(ip_range_parse("198.19.9.0/24", &lr));
	ck_assert(!tun_local_addr(&lr, &src));
}
END_TEST

/* A rule left behind (a crashed iked) is replaced, not doubled. */
START_TEST(stale_rule_is_replaced)
{
	ck_assert_msg(geteuid() == 0, "this test needs root (network namespaces), as CI has");
	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	ck_assert_int_eq(system("ip rule add not fwmark 0x4303 table 4303 pref 4303"), 0);
	struct tun t;
	char err[200];
	ck_assert_msg(tun_open(&t, "attlstest1", 1400, false, err, sizeof err) == 0, "%s", err);
	FILE *f = popen("ip -4 rule show | grep -c 'lookup 4303'", "r");
	char line[32] = "";
	ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
	pclose(f);
	ck_assert_str_eq(line, "1\n");
	tun_close(&t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ike_tun");
	TCase *tc = tcase_create("tun");
	tcase_add_test(tc, ranges_become_exact_prefixes);
	tcase_add_test(tc, device_rules_and_routes);
	tcase_add_test(tc, stale_rule_is_replaced);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
