/* Randomized test of matching: many random rule sets (priorities with ties
 * and gaps, directions, port ranges and groups, IPv4/IPv6 addresses,
 * prefixes, ranges and sets, IPv6 ranges across the middle of the address,
 * Jobname/Userid wildcards with and without literal prefixes and suffixes)
 * in several mixes (anything; no ports; names only; everyone on one port),
 * from a few rules to over 4096 (more than one summary word of the index's
 * rule sets), and many random connections. For each, the indexed lookup
 * (attls_match), the plain walk (attls_explain) and an independent model
 * written here must agree. The generator is seeded: every run tests the
 * same cases, in bounded time. */
#include <arpa/inet.h>
#include <fnmatch.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/attls.h"
#include "tests/unit/support.h"

#define NPOLICIES 500
#define NCONNS 500
#define MAXRULES 60
#define BIGRULES 4300            /* one policy per seed past 4096 rules */
#define BIGCONNS 150

static uint64_t rng;

static uint32_t rnd(uint32_t n)         /* 0 .. n-1, splitmix64 */
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return (uint32_t)(z % n);
}

/* ---- the model ------------------------------------------------------------------ */

struct mports {                 /* n == 0: any */
	int n;
	uint16_t lo[4], hi[4];
};

struct maddrs {                 /* n == 0: any */
	int n;
	int family[4];
	uint8_t lo[4][16], hi[4][16];
};

struct mrule {
	char name[16];
	int prio;                   /* 0 = none */
	int dir;
	struct mports lp, rp;
	struct maddrs la, ra;
	const char *job, *user;
};

struct mconn {
	int dir;
	int lfam, rfam;
	uint8_t la[16], ra[16];
	uint16_t lport, rport;
	const char *job, *user;
};

/* Small universes, so rules overlap and connections hit them often. */
static const char *const jobs[] = { "ab", "abc", "xb", "a", "zz", "cab", "abcb", "b" };
static const char *const job_patterns[] = { "a*", "?b", "ab", "*", "a?c*", "*b", "*cb", "ab*b",
					    "abc", "z?", "a*c", "c*", "b" };
static const char *const users[] = { "u1", "u2", "root", "u12", "tu1" };
static const char *const user_patterns[] = { "u1", "u*", "r??t", "*1", "u?*", "t*1" };
#define NJOBS (int)(sizeof jobs / sizeof jobs[0])
#define NJOBPAT (int)(sizeof job_patterns / sizeof job_patterns[0])
#define NUSERS (int)(sizeof users / sizeof users[0])
#define NUSERPAT (int)(sizeof user_patterns / sizeof user_patterns[0])

/* Kinds of policy: any condition; no ports; names only; all on port 120. */
enum mix { MIX_ANY, MIX_NOPORTS, MIX_NAMES, MIX_ONEPORT, NMIXES };

static uint16_t rand_port(void)
{
	uint32_t k = rnd(20);
	return k == 0 ? 65535 : k == 1 ? 1 : (uint16_t)(100 + rnd(40));
}

static void gen_ports(struct mports *p, FILE *out, const char *side, int idx, FILE *defs)
{
	p->n = 0;
	uint32_t form = rnd(6);
	if (form < 2)
		return;
	if (form == 5) {                  /* a PortGroup of 1-3 ranges */
		int n = 1 + (int)rnd(3);
		fprintf(defs, "PortGroup pg%s%d {", side, idx);
		for (int i = 0; i < n; i++) {
			uint16_t a = rand_port(), b = rand_port();
			if (a > b) { uint16_t t = a; a = b; b = t; }
			p->lo[p->n] = a;
			p->hi[p->n++] = b;
			fprintf(defs, " PortRange { Port %u-%u }", a, b);
		}
		fprintf(defs, " }\n");
		fprintf(out, " %sPortGroupRef pg%s%d", side, side, idx);
		return;
	}
	uint16_t a = rand_port(), b = form == 2 ? a : rand_port();
	if (a > b) { uint16_t t = a; a = b; b = t; }
	p->lo[0] = a;
	p->hi[0] = b;
	p->n = 1;
	if (form == 2)
		fprintf(out, " %sPortRange %u", side, a);
	else if (form == 3)
		fprintf(out, " %sPortRange %u-%u", side, a, b);
	else
		fprintf(out, " %sPortRange %u %u", side, a, b);
}

static void v4(uint8_t *b, unsigned last)
{
	memset(b, 0, 16);
	b[0] = 10;
	b[3] = (uint8_t)last;
}

/* IPv6 addresses k = 0..17 in ascending order across the middle of the
 * address: 2001:db8::ffff:ffff:ffff:fff7+k, then 2001:db8:0:1::(k-9), so a
 * range may end where the low 64 bits wrap. */
static void v6s(uint8_t *b, unsigned k)
{
	memset(b, 0, 16);
	b[0] = 0x20;
	b[1] = 0x01;
	b[2] = 0x0d;
	b[3] = 0xb8;
	if (k < 9) {
		memset(b + 8, 0xff, 8);
		b[15] = (uint8_t)(0xf7 + k);
	} else {
		b[7] = 1;
		b[15] = (uint8_t)(k - 9);
	}
}

static void v6(uint8_t *b, unsigned last)
{
	memset(b, 0, 16);
	b[0] = 0x20;
	b[1] = 0x01;
	b[2] = 0x0d;
	b[3] = 0xb8;
	b[15] = (uint8_t)last;
}

static void addr_text(int fam, const uint8_t *b, char *buf, size_t len)
{
	inet_ntop(fam, b, buf, (socklen_t)len);
}

/* One address form into the model, written to out as text. */
static void gen_one_addr(struct maddrs *a, char *buf, size_t len)
{
	int i = a->n++;
	int fam = rnd(3) == 0 ? AF_INET6 : AF_INET;
	a->family[i] = fam;
	void (*mk)(uint8_t *, unsigned) = fam == AF_INET ? v4 : v6;
	char x[64], y[64];
	switch (rnd(3)) {
	case 0: {                      /* single */
		mk(a->lo[i], rnd(16));
		memcpy(a->hi[i], a->lo[i], 16);
		addr_text(fam, a->lo[i], buf, len);
		break;
	}
	case 1: {                      /* prefix /28../32 (v4) or /124../128 (v6) over the last byte */
		unsigned bits = rnd(5);  /* host bits */
		unsigned base = rnd(16) & ~((1u << bits) - 1);
		mk(a->lo[i], base);
		mk(a->hi[i], base | ((1u << bits) - 1));
		addr_text(fam, a->lo[i], x, sizeof x);
		snprintf(buf, len, "%s/%u", x, (fam == AF_INET ? 32 : 128) - bits);
		break;
	}
	default: {                     /* range */
		unsigned p = rnd(16), q = rnd(16);
		if (p > q) { unsigned t = p; p = q; q = t; }
		if (fam == AF_INET6 && rnd(2))
			mk = v6s;
		mk(a->lo[i], p);
		mk(a->hi[i], q);
		addr_text(fam, a->lo[i], x, sizeof x);
		addr_text(fam, a->hi[i], y, sizeof y);
		snprintf(buf, len, "%s-%s", x, y);
		break;
	}
	}
}

static void gen_addrs(struct maddrs *a, FILE *out, const char *side, int idx, FILE *defs)
{
	a->n = 0;
	uint32_t form = rnd(8);
	char buf[160];
	if (form < 3)
		return;
	if (form == 3) {               /* All */
		fprintf(out, " %sAddr All", side);
		return;
	}
	if (form == 7) {               /* an IpAddrGroup of sets and addresses */
		int n = 1 + (int)rnd(3);
		fprintf(defs, "IpAddrGroup ag%s%d {", side, idx);
		for (int k = 0; k < n; k++) {
			gen_one_addr(a, buf, sizeof buf);
			if (strchr(buf, '/'))
				fprintf(defs, " IpAddrSet { Prefix %s }", buf);
			else
				fprintf(defs, " IpAddr { Addr %s }", buf);
		}
		fprintf(defs, " }\n");
		fprintf(out, " %sAddrGroupRef ag%s%d", side, side, idx);
		return;
	}
	gen_one_addr(a, buf, sizeof buf);
	if (form == 6) {
		fprintf(defs, "IpAddr ad%s%d { Addr %s }\n", side, idx, buf);
		fprintf(out, " %sAddrRef ad%s%d", side, side, idx);
	} else {
		fprintf(out, " %sAddr %s", side, buf);
	}
}

static bool m_ports(const struct mports *p, uint16_t port)
{
	if (p->n == 0)
		return true;
	for (int i = 0; i < p->n; i++)
		if (p->lo[i] <= port && port <= p->hi[i])
			return true;
	return false;
}

static bool m_addrs(const struct maddrs *a, int fam, const uint8_t *b)
{
	if (a->n == 0)
		return true;
	for (int i = 0; i < a->n; i++)
		if (a->family[i] == fam && memcmp(a->lo[i], b, 16) <= 0 && memcmp(b, a->hi[i], 16) <= 0)
			return true;
	return false;
}

static bool m_wild(const char *pat, const char *s)
{
	return !pat || (s && fnmatch(pat, s, 0) == 0);
}

static bool m_matches(const struct mrule *r, const struct mconn *c)
{
	return (r->dir == DIR_BOTH || r->dir == c->dir) && m_ports(&r->lp, c->lport) &&
	       m_ports(&r->rp, c->rport) && m_addrs(&r->la, c->lfam, c->la) &&
	       m_addrs(&r->ra, c->rfam, c->ra) && m_wild(r->job, c->job) && m_wild(r->user, c->user);
}

static int m_order(const void *x, const void *y)
{
	const struct mrule *a = x, *b = y;
	if ((a->prio != 0) != (b->prio != 0))
		return a->prio ? -1 : 1;
	if (a->prio != b->prio)
		return a->prio > b->prio ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* ---- generation ---------------------------------------------------------------------- */

static const char *const dirs[] = { "Inbound", "Outbound", "Both" };

static char *gen_policy(struct mrule *rules, int n, enum mix mix)
{
	char *text = NULL, *defs_text = NULL;
	size_t len = 0, dlen = 0;
	FILE *out = open_memstream(&text, &len);
	FILE *defs = open_memstream(&defs_text, &dlen);
	static const char letters[] = "abAB_z";
	for (int i = 0; i < n; i++) {
		struct mrule *r = &rules[i];
		memset(r, 0, sizeof *r);
		/* names from a few letters (the index keeps them unique): ties sort
		 * by byte order, upper and lower case mixed */
		for (int k = 0; k < 3; k++)
			r->name[k] = letters[rnd(sizeof letters - 1)];
		snprintf(r->name + 3, sizeof r->name - 3, "%d", i);
		r->prio = rnd(2) ? 0 : 1 + (int)rnd(5);
		r->dir = (int)rnd(3);
		fprintf(out, "TTLSRule %s {", r->name);
		long before = ftell(out);
		if (mix == MIX_ONEPORT) {
			r->lp = (struct mports){ 1, { 120 }, { 120 } };
			fprintf(out, " LocalPortRange 120");
		} else if (mix == MIX_ANY) {
			gen_ports(&r->lp, out, "Local", i, defs);
			gen_ports(&r->rp, out, "Remote", i, defs);
		}
		if (mix != MIX_NAMES) {
			gen_addrs(&r->la, out, "Local", i, defs);
			gen_addrs(&r->ra, out, "Remote", i, defs);
		}
		if (rnd(3) == 0 || (mix == MIX_NAMES && rnd(2))) {
			r->job = job_patterns[rnd(NJOBPAT)];
			fprintf(out, " Jobname %s", r->job);
		}
		if (rnd(4) == 0 || (mix == MIX_NAMES && !r->job)) {
			r->user = user_patterns[rnd(NUSERPAT)];
			fprintf(out, " Userid %s", r->user);
		}
		/* a rule needs a condition; port 0 is one that matches any port */
		if (ftell(out) == before)
			fprintf(out, " RemotePortRange 0");
		if (r->prio)
			fprintf(out, " Priority %d", r->prio);
		fprintf(out, " Direction %s TTLSGroupActionRef off }\n", dirs[r->dir]);
	}
	fclose(defs);
	fprintf(out, "TTLSGroupAction off { TTLSEnabled Off }\n%s", defs_text);
	fclose(out);
	free(defs_text);
	return text;
}

static void gen_conn(struct mconn *c)
{
	c->dir = rnd(2) ? DIR_INBOUND : DIR_OUTBOUND;
	c->lfam = rnd(3) == 0 ? AF_INET6 : AF_INET;
	c->rfam = rnd(3) == 0 ? AF_INET6 : AF_INET;
	(c->lfam == AF_INET ? v4 : rnd(2) ? v6s : v6)(c->la, rnd(18));
	(c->rfam == AF_INET ? v4 : rnd(2) ? v6s : v6)(c->ra, rnd(18));
	c->lport = rnd(10) == 0 ? (uint16_t)rnd(3) * 32767 : rnd(8) == 0 ? 120 : (uint16_t)(98 + rnd(44));
	c->rport = rnd(10) == 0 ? 65535 : (uint16_t)(98 + rnd(44));
	c->job = rnd(6) ? jobs[rnd(NJOBS)] : NULL;
	c->user = rnd(5) ? users[rnd(NUSERS)] : NULL;
}

static struct attls_conn to_attls(const struct mconn *m)
{
	struct attls_conn c = { .direction = m->dir, .lport = m->lport, .rport = m->rport,
				.jobname = m->job, .userid = m->user };
	c.local.family = (uint8_t)m->lfam;
	c.remote.family = (uint8_t)m->rfam;
	memcpy(c.local.b, m->la, 16);
	memcpy(c.remote.b, m->ra, 16);
	return c;
}

/* One random policy of n rules in the given mix, and nconns connections. */
static void check_policy(int n, enum mix mix, int nconns, size_t *lookups, size_t *hits)
{
	static struct mrule rules[BIGRULES];
	char *text = gen_policy(rules, n, mix);
	struct diags d;
	diags_init(&d);
	struct policy *p = load_text(text, &d);
	if (!p || d.nerrors) {
		fprintf(stderr, "%s", text);
		dump_diags(&d);
	}
	ck_assert_ptr_nonnull(p);
	qsort(rules, (size_t)n, sizeof rules[0], m_order);
	ck_assert_uint_eq(attls_rule_count(p), (size_t)n);
	for (int i = 0; i < n; i++)
		ck_assert_str_eq(attls_rule_at(p, (size_t)i)->name, rules[i].name);
	for (int k = 0; k < nconns; k++) {
		struct mconn m;
		gen_conn(&m);
		int want = -1;
		for (int i = 0; i < n && want < 0; i++)
			if (m_matches(&rules[i], &m))
				want = i;
		struct attls_conn c = to_attls(&m);
		const struct attls_rule *a = attls_match(p, &c);
		const struct attls_rule *b = attls_explain(p, &c, NULL, NULL);
		if (a != b || (want < 0 ? a != NULL : !a || strcmp(a->name, rules[want].name))) {
			fprintf(stderr, "%s\nmix %d, connection dir %d lport %u rport %u job %s user %s\n"
				"index %s, walk %s, model %s\n", text, (int)mix, m.dir, m.lport, m.rport,
				m.job ? m.job : "-", m.user ? m.user : "-", a ? a->name : "none",
				b ? b->name : "none", want < 0 ? "none" : rules[want].name);
			ck_abort_msg("lookup disagreement");
		}
		(*lookups)++;
		*hits += want >= 0;
	}
	policy_unref(p);
	diags_free(&d);
	free(text);
}

START_TEST(indexed_lookup_agrees_with_the_walk_and_the_model)
{
	rng = 0x5eed0000u + (uint64_t)_i;
	size_t lookups = 0, hits = 0;
	for (int pol = 0; pol < NPOLICIES / 10; pol++) {
		/* mostly small policies, where rules overlap most; one in ten has
		 * hundreds of rules (several 64-rule words) */
		int n = pol % 10 == 9 ? 100 + (int)rnd(300) : 1 + (int)rnd(MAXRULES);
		check_policy(n, (enum mix)(pol % NMIXES), NCONNS, &lookups, &hits);
	}
	/* the universes are small enough that lookups hit rules, not only miss */
	ck_assert_uint_gt(hits, lookups / 10);
	ck_assert_uint_lt(hits, lookups);
}
END_TEST

/* Past 4096 rules, rule sets have more than one summary word. */
START_TEST(big_policies_agree_too)
{
	rng = 0xb165eed0u + (uint64_t)_i;
	size_t lookups = 0, hits = 0;
	check_policy(BIGRULES - (int)rnd(100), (enum mix)_i, BIGCONNS, &lookups, &hits);
	ck_assert_uint_gt(hits, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("policy_random");
	TCase *tc = tcase_create("agreement");
	tcase_set_timeout(tc, 120);
	/* ten seeds, each NPOLICIES/10 policies of NCONNS connections */
	tcase_add_loop_test(tc, indexed_lookup_agrees_with_the_walk_and_the_model, 0, 10);
	/* one big policy of each mix */
	tcase_add_loop_test(tc, big_policies_agree_too, 0, NMIXES);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
