/*
 * tests/bench/bench_policy — how long a policy takes to load (lex, parse,
 * validate, compile, index) and a connection takes to look up. Never part of
 * a test. Run by scripts/bench-policy.
 *
 * Every figure is the median of RUNS timed runs, with the fastest and the
 * slowest run beside it: "median (min-max)". Time is the measuring thread's
 * CPU time, so other work on a shared machine does not count as ours (it
 * still shows in the spread through caches).
 *
 * The policies are generated, one mix per row, each meant to stress a
 * different part of the lookup:
 *   ports    every rule names a local or a remote port (the usual policy)
 *   mixed    as ports, but one rule in twenty names only a program (Jobname)
 *   noport   no rule names a port: address-only rules (IPv4 and IPv6
 *            prefixes and ranges, local and remote), Jobname-only and
 *            Userid-only rules, and mixtures of those
 *   oneport  every rule is for local port 443, told apart by remote address
 *            (IPv4 or IPv6), Jobname or Userid
 *   names    only Jobname and Userid patterns: prefixes (job12*), suffixes
 *            (*x12), '?' and exact names
 *   worst    built against the index: every dimension matches half the rules
 *            in every 64-rule word, and no rule matches them all, so a
 *            lookup intersects every word of every dimension and finds
 *            nothing
 *   middle   Jobname patterns that differ only between two '*' (a*12*z): the
 *            index narrows names by literal prefix and suffix, so these are
 *            tested one by one
 *   nested   port ranges inside each other (rule i: 1+i to 65534-i, Inbound
 *            only for even i): every elementary interval has its own set of
 *            rules, the index's largest
 * Lookups mix connections that hit a rule with ones no rule covers (the
 * common case for a program's other traffic). Each lookup row also gives the
 * memory the index takes.
 *
 * Loads: "shared" is the ports mix with a few shared action sets; "distinct"
 * gives every rule its own environment and connection action and its own
 * IpAddrGroup, as a generated configuration does.
 *
 *   bench_policy                   every row
 *   bench_policy load MIX N        one load row (MIX: shared, distinct)
 *   bench_policy match MIX N       one lookup row
 *   bench_policy once MIX N        load once, look up NCONNS connections once,
 *                                  nothing timed: for callgrind and perf
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/attls.h"
#include "policy/policy.h"

#define RUNS 7
#define NCONNS 4096                 /* connections per mix, looked up in turn */
#define RUN_SECONDS 0.04            /* aim of one timed lookup run */

static uint64_t rng;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

struct spread {
	double median, min, max;
};

static struct spread spread_of(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return (struct spread){ v[n / 2], v[0], v[n - 1] };
}

/* ---- policies ---------------------------------------------------------------- */

/* The actions every generated rule refers to (shared ones). */
static void shared_actions(FILE *f)
{
	fprintf(f, "TTLSGroupAction grp\n{\n  TTLSEnabled On\n}\n");
	for (int e = 0; e < 8; e++)
		fprintf(f, "TTLSEnvironmentAction env%d\n{\n  HandshakeRole %s\n"
			"  TTLSKeyringParms\n  {\n    Keyring /dev/null\n  }\n"
			"  TTLSEnvironmentAdvancedParms\n  {\n    HandshakeTimeout %d\n  }\n}\n",
			e, e % 2 ? "Client" : "Server", 5 + e);
}

static void rule_tail(FILE *f, int i)
{
	if (i % 3)
		fprintf(f, "  Priority %d\n", 1 + i % 250);
	fprintf(f, "  TTLSGroupActionRef grp\n  TTLSEnvironmentActionRef env%d\n}\n", i % 8);
}

/* ports and mixed: one parameter per line as z/OS files are written. */
static void rule_ports(FILE *f, int i, int n, bool mixed)
{
	(void)n;
	switch (i % 20) {
	case 0: case 1: case 2:          /* outbound clients by remote port */
		fprintf(f, "  RemotePortRange %d\n  Direction Outbound\n", 20000 + i);
		break;
	case 3:                          /* a program, any port */
		if (mixed) {
			fprintf(f, "  Jobname job%d*\n  Direction Both\n", i);
			break;
		}
		fprintf(f, "  LocalPortRange %d\n  Jobname job%d*\n  Direction Both\n", 1024 + i, i);
		break;
	case 4:                          /* a server port for one network */
		fprintf(f, "  LocalPortRange %d\n  RemoteAddr 10.%d.0.0/16\n"
			"  Direction Inbound\n", 1024 + i, i % 256);
		break;
	default:                         /* a server port or range */
		if (i % 7 == 0)
			fprintf(f, "  LocalPortRange %d-%d\n", 1024 + i, 1024 + i + 3);
		else
			fprintf(f, "  LocalPortRange %d\n", 1024 + i);
		fprintf(f, "  Direction Inbound\n");
	}
}

/* noport: addresses and names only. */
static void rule_noport(FILE *f, int i, int n)
{
	(void)n;
	int a = i / 256 % 256, b = i % 256;
	switch (i % 8) {
	case 0:
		fprintf(f, "  RemoteAddr 10.%d.%d.0/24\n  Direction Inbound\n", a, b);
		break;
	case 1:
		fprintf(f, "  RemoteAddr 2001:db8:%x::/48\n  Direction Both\n", i);
		break;
	case 2:
		fprintf(f, "  LocalAddr 172.16.%d.%d\n  Direction Inbound\n", a, b);
		break;
	case 3:
		fprintf(f, "  LocalAddr fd00::%x:0-fd00::%x:ffff\n  RemoteAddr 2001:db8:%x::/48\n"
			"  Direction Outbound\n", i, i, i);
		break;
	case 4:
		fprintf(f, "  Jobname job%d*\n  Direction Both\n", i);
		break;
	case 5:
		fprintf(f, "  Userid u%d\n  Direction Outbound\n", i);
		break;
	case 6:
		fprintf(f, "  Jobname job%d*\n  RemoteAddr 10.%d.%d.0-10.%d.%d.127\n"
			"  Direction Both\n", i, a, b, a, b);
		break;
	default:
		fprintf(f, "  RemoteAddr 10.%d.%d.128/25\n  LocalAddr 192.168.0.0/16\n"
			"  Direction Both\n", a, b);
	}
}

/* oneport: port 443 for everyone. */
static void rule_oneport(FILE *f, int i, int n)
{
	(void)n;
	fprintf(f, "  LocalPortRange 443\n  Direction Inbound\n");
	switch (i % 4) {
	case 0: fprintf(f, "  RemoteAddr 10.%d.%d.0/24\n", i / 256 % 256, i % 256); break;
	case 1: fprintf(f, "  RemoteAddr 2001:db8:%x::/64\n", i); break;
	case 2: fprintf(f, "  Jobname job%d*\n", i); break;
	default: fprintf(f, "  Userid u%d*\n", i);
	}
}

/* names: patterns only. */
static void rule_names(FILE *f, int i, int n)
{
	(void)n;
	fprintf(f, "  Direction %s\n", i % 6 == 5 ? "Outbound" : "Both");
	switch (i % 6) {
	case 0: fprintf(f, "  Jobname job%d*\n", i); break;
	case 1: fprintf(f, "  Jobname *x%d\n", i); break;
	case 2: fprintf(f, "  Jobname j?b%d\n", i); break;
	case 3: fprintf(f, "  Jobname job%d\n  Userid u%d*\n", i, i % 50); break;
	case 4: fprintf(f, "  Userid *v%d\n", i); break;
	default: fprintf(f, "  Userid u%d\n", i);
	}
}

/* worst: bit k of (i % 32) picks one of two values for dimension k; the
 * connections ask for the "1" of every dimension, which only rules with
 * i % 32 == 31 have, and those are Outbound while the connections are
 * inbound. So each dimension matches about half the rules of every word. */
static void rule_worst(FILE *f, int i, int n)
{
	(void)n;
	int k = i % 32;
	fprintf(f, "  LocalPortRange %d\n  RemotePortRange %d\n  RemoteAddr %s\n  LocalAddr %s\n"
		"  Jobname %s\n  Direction %s\n", k & 1 ? 443 : 8443, k & 2 ? 1000 : 2000,
		k & 4 ? "10.0.0.0/8" : "11.0.0.0/8", k & 8 ? "192.168.0.0/16" : "172.16.0.0/12",
		k & 16 ? "a*" : "b*", k == 31 ? "Outbound" : "Both");
}

/* nested: ranges inside each other */
static void rule_nested(FILE *f, int i, int n)
{
	(void)n;
	fprintf(f, "  LocalPortRange %d-%d\n  Direction %s\n", 1 + i, 65534 - i,
		i % 2 ? "Outbound" : "Inbound");
}

/* middle: a*<i>*z */
static void rule_middle(FILE *f, int i, int n)
{
	(void)n;
	fprintf(f, "  Jobname a*%d*z\n  Direction Both\n", i);
}

/* distinct: every rule with its own actions and address group (load only). */
static void distinct_policy(FILE *f, int n)
{
	for (int i = 0; i < n; i++) {
		fprintf(f, "TTLSRule r%05d\n{\n  LocalPortRange %d\n  RemoteAddrGroupRef ag%d\n"
			"  Direction Inbound\n  Priority %d\n  TTLSGroupActionRef grp\n"
			"  TTLSEnvironmentActionRef env%d\n  TTLSConnectionActionRef conn%d\n}\n",
			i, 1024 + i % 60000, i, 1 + i % 250, i, i);
		fprintf(f, "IpAddrGroup ag%d\n{\n  IpAddrSet\n  {\n    Prefix 10.%d.0.0/16\n  }\n"
			"  IpAddr\n  {\n    Addr 192.168.%d.%d\n  }\n}\n", i, i % 256, i / 256 % 256,
			i % 256);
		fprintf(f, "TTLSEnvironmentAction env%d\n{\n  HandshakeRole Server\n"
			"  TTLSKeyringParms\n  {\n    Keyring /dev/null\n  }\n"
			"  TTLSEnvironmentAdvancedParms\n  {\n    HandshakeTimeout %d\n    TLSv1.3 On\n"
			"  }\n  TTLSCipherParms\n  {\n    V3CipherSuites4Char 130113021303C02FC030\n"
			"  }\n}\n", i, 5 + i % 10);
		fprintf(f, "TTLSConnectionAction conn%d\n{\n  HandshakeRole Server\n"
			"  TTLSConnectionAdvancedParms\n  {\n    ApplicationControlled Off\n  }\n}\n", i);
	}
	fprintf(f, "TTLSGroupAction grp\n{\n  TTLSEnabled On\n}\n");
}

/* ---- connections --------------------------------------------------------------- */

struct conns {
	struct attls_conn c[NCONNS];
	char jobs[NCONNS][16], users[NCONNS][16];
};

static void set_v4(struct ip_addr *a, int x, int y, int z, int w)
{
	memset(a, 0, sizeof *a);
	a->family = AF_INET;
	a->b[0] = (uint8_t)x;
	a->b[1] = (uint8_t)y;
	a->b[2] = (uint8_t)z;
	a->b[3] = (uint8_t)w;
}

/* 2001:db8:<i>::<host> or fd00::<i>:<host> */
static void set_v6(struct ip_addr *a, bool ula, int i, int host)
{
	memset(a, 0, sizeof *a);
	a->family = AF_INET6;
	if (ula) {
		a->b[0] = 0xfd;
		a->b[12] = (uint8_t)(i >> 8);
		a->b[13] = (uint8_t)i;
	} else {
		a->b[0] = 0x20;
		a->b[1] = 0x01;
		a->b[2] = 0x0d;
		a->b[3] = 0xb8;
		a->b[4] = (uint8_t)(i >> 8);
		a->b[5] = (uint8_t)i;
	}
	a->b[15] = (uint8_t)host;
}

enum mix { MIX_PORTS, MIX_MIXED, MIX_NOPORT, MIX_ONEPORT, MIX_NAMES, MIX_WORST, MIX_MIDDLE,
	   MIX_NESTED, NMIX };

static const char *const mix_names[NMIX] = {
	"ports", "mixed", "noport", "oneport", "names", "worst", "middle", "nested",
};

static void conn_for(enum mix mix, int n, struct attls_conn *c, char *job, char *user)
{
	memset(c, 0, sizeof *c);
	int k = (int)rnd((uint32_t)n);
	bool hit = rnd(2);           /* aim at rule k, or at nothing in particular */
	c->direction = rnd(2) ? DIR_INBOUND : DIR_OUTBOUND;
	set_v4(&c->local, 10, 0, 0, 1);
	set_v4(&c->remote, 10, (int)rnd(256), (int)rnd(256), (int)rnd(256));
	c->lport = (uint16_t)(40000 + rnd(20000));
	c->rport = (uint16_t)(40000 + rnd(20000));
	snprintf(job, 16, "prog%d", (int)rnd(1000));
	snprintf(user, 16, "nobody");
	switch (mix) {
	case MIX_PORTS: case MIX_MIXED:
		if (hit)
			c->lport = (uint16_t)(1024 + k);
		if (rnd(2))
			c->rport = (uint16_t)(20000 + k);
		snprintf(job, 16, "job%d", (int)rnd((uint32_t)n));
		snprintf(user, 16, "www");
		break;
	case MIX_NOPORT:
		switch (rnd(4)) {
		case 0: set_v4(&c->remote, 10, k / 256 % 256, k % 256, (int)rnd(256)); break;
		case 1: set_v6(&c->remote, false, hit ? k : 0xffff, 1); c->local.family = AF_INET6;
			set_v6(&c->local, true, k, 7); break;
		case 2: set_v4(&c->local, 172, 16, k / 256 % 256, hit ? k % 256 : 255); break;
		default: set_v4(&c->local, 192, 168, 1, 1); break;
		}
		if (hit)
			snprintf(job, 16, "job%d%s", k, rnd(2) ? "" : "x");
		snprintf(user, 16, "u%d", hit ? k : n + k);
		break;
	case MIX_ONEPORT:
		c->lport = rnd(8) ? 443 : 80;
		c->direction = DIR_INBOUND;
		if (rnd(2)) {
			set_v6(&c->remote, false, hit ? k : 0xffff, 9);
			set_v6(&c->local, false, 0, 1);
		} else {
			set_v4(&c->remote, 10, k / 256 % 256, k % 256, (int)rnd(256));
		}
		snprintf(job, 16, "job%d", hit ? k : n + k);
		snprintf(user, 16, "u%d", hit ? k : n + k);
		break;
	case MIX_NAMES:
		switch (rnd(4)) {
		case 0: snprintf(job, 16, "job%d%s", k, rnd(2) ? "" : "q"); break;
		case 1: snprintf(job, 16, "prog%dx%d", k, hit ? k : n + k); break;
		case 2: snprintf(job, 16, "j%cb%d", hit ? '-' : 'o', k); break;
		default: snprintf(job, 16, "nomatch"); break;
		}
		snprintf(user, 16, rnd(2) ? "u%d" : "w%dv%d", hit ? k : n + k, k);
		break;
	case MIX_WORST:
		c->direction = DIR_INBOUND;
		c->lport = 443;
		c->rport = 1000;
		set_v4(&c->remote, 10, 1, 2, 3);
		set_v4(&c->local, 192, 168, 1, 1);
		snprintf(job, 16, "a%d", k);
		break;
	case MIX_MIDDLE:
		snprintf(job, 16, hit ? "a-%d-z" : "a-%d-y", k);
		break;
	case MIX_NESTED:
		c->lport = (uint16_t)rnd(65536);
		c->direction = DIR_OUTBOUND;   /* the first match is an odd rule, deep */
		break;
	default:
		break;
	}
	c->jobname = job;
	c->userid = user;
}

static void gen_conns(enum mix mix, int n, struct conns *cs)
{
	for (int i = 0; i < NCONNS; i++)
		conn_for(mix, n, &cs->c[i], cs->jobs[i], cs->users[i]);
}

static char *gen_policy(enum mix mix, int n, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);
	for (int i = 0; i < n; i++) {
		fprintf(f, "TTLSRule rule%05d\n{\n", i);
		switch (mix) {
		case MIX_PORTS: rule_ports(f, i, n, false); break;
		case MIX_MIXED: rule_ports(f, i, n, true); break;
		case MIX_NOPORT: rule_noport(f, i, n); break;
		case MIX_ONEPORT: rule_oneport(f, i, n); break;
		case MIX_NAMES: rule_names(f, i, n); break;
		case MIX_WORST: rule_worst(f, i, n); break;
		case MIX_MIDDLE: rule_middle(f, i, n); break;
		default: rule_nested(f, i, n); break;
		}
		rule_tail(f, i);
	}
	shared_actions(f);
	fclose(f);
	return text;
}

/* ---- measuring ---------------------------------------------------------------------- */

static struct policy *load(const char *text, size_t len)
{
	struct diags d;
	diags_init(&d);
	struct policy *p = policy_load_buffer("bench.conf", text, len, &d);
	if (!p) {
		char line[512];
		diags_first_error(&d, line, sizeof line);
		fprintf(stderr, "the generated policy does not load: %s\n", line);
		exit(1);
	}
	diags_free(&d);
	return p;
}

static char *load_text(const char *mix, int n, size_t *len)
{
	if (strcmp(mix, "distinct") == 0) {
		char *text = NULL;
		FILE *f = open_memstream(&text, len);
		distinct_policy(f, n);
		fclose(f);
		return text;
	}
	if (strcmp(mix, "shared") != 0) {
		fprintf(stderr, "load mixes: shared, distinct\n");
		exit(2);
	}
	return gen_policy(MIX_PORTS, n, len);
}

static void bench_load(const char *mix, int n)
{
	size_t len;
	char *text = load_text(mix, n, &len);
	double t[RUNS];
	for (int r = 0; r < RUNS; r++) {
		double t0 = now_s();
		struct policy *p = load(text, len);
		t[r] = (now_s() - t0) * 1e3;
		policy_unref(p);
	}
	struct spread s = spread_of(t, RUNS);
	printf("load  %-8s %6d rules (%5zu KiB): %8.2f ms (%.2f-%.2f)\n", mix, n, len / 1024,
	       s.median, s.min, s.max);
	free(text);
}

typedef const struct attls_rule *(*lookup_fn)(const struct policy *, const struct attls_conn *);

static const struct attls_rule *walk(const struct policy *p, const struct attls_conn *c)
{
	return attls_explain(p, c, NULL, NULL);
}

/* ns per lookup over RUNS runs of about RUN_SECONDS each. */
static struct spread time_lookups(const struct policy *p, const struct conns *cs, lookup_fn fn)
{
	int probe = 64;
	double t0 = now_s();
	for (int i = 0; i < probe; i++)
		(void)fn(p, &cs->c[i]);
	double one = (now_s() - t0) / probe;
	long iters = (long)(RUN_SECONDS / (one > 1e-9 ? one : 1e-9));
	if (iters < 16)
		iters = 16;
	double t[RUNS];
	volatile size_t sink = 0;
	for (int r = 0; r < RUNS; r++) {
		t0 = now_s();
		for (long i = 0; i < iters; i++)
			sink += fn(p, &cs->c[i & (NCONNS - 1)]) != NULL;
		t[r] = (now_s() - t0) / (double)iters * 1e9;
	}
	(void)sink;
	return spread_of(t, RUNS);
}

/* The index must find what the walk finds; a benchmark of a wrong answer is
 * worthless. Returns how many of the connections matched a rule. */
static size_t check_agreement(const struct policy *p, const struct conns *cs, enum mix mix, int n)
{
	size_t hits = 0;
	for (int i = 0; i < NCONNS; i++) {
		const struct attls_rule *r = attls_match(p, &cs->c[i]);
		hits += r != NULL;
		if (i < 256 && r != attls_explain(p, &cs->c[i], NULL, NULL)) {
			fprintf(stderr, "%s %d: connection %d: the index and the walk disagree\n",
				mix_names[mix], n, i);
			exit(1);
		}
	}
	return hits;
}

/* The same connections for a mix and size in every mode and run. */
static void seed(enum mix mix, int n)
{
	rng = 0x6a09e667f3bcc908ull + (uint64_t)mix * 977 + (uint64_t)n;
}

static void bench_lookup(enum mix mix, int n)
{
	size_t len;
	seed(mix, n);
	char *text = gen_policy(mix, n, &len);
	struct policy *p = load(text, len);
	static struct conns cs;
	gen_conns(mix, n, &cs);
	size_t hits = check_agreement(p, &cs, mix, n);
	struct spread idx = time_lookups(p, &cs, attls_match);
	struct spread plain = time_lookups(p, &cs, walk);
	printf("match %-8s %6d rules: %8.1f ns (%.1f-%.1f) per lookup; walk %10.1f ns; "
	       "%3.0f%% match; index %6zu KiB\n", mix_names[mix], n, idx.median, idx.min, idx.max,
	       plain.median, 100.0 * (double)hits / NCONNS, attls_index_size(p) / 1024);
	policy_unref(p);
	free(text);
}

static int mix_of(const char *name)
{
	for (int m = 0; m < NMIX; m++)
		if (strcmp(mix_names[m], name) == 0)
			return m;
	fprintf(stderr, "lookup mixes:");
	for (int m = 0; m < NMIX; m++)
		fprintf(stderr, " %s", mix_names[m]);
	fprintf(stderr, "\n");
	exit(2);
}

/* One load and one pass of lookups, nothing timed: a steady target for
 * callgrind and perf. */
static void once(const char *mix, int n)
{
	size_t len;
	bool load_mix = strcmp(mix, "shared") == 0 || strcmp(mix, "distinct") == 0;
	char *text = load_mix ? load_text(mix, n, &len) : gen_policy(mix_of(mix), n, &len);
	struct policy *p = load(text, len);
	if (!load_mix) {
		static struct conns cs;
		seed(mix_of(mix), n);
		gen_conns(mix_of(mix), n, &cs);
		size_t h = 0;
		for (int i = 0; i < NCONNS; i++)
			h += attls_match(p, &cs.c[i]) != NULL;
		printf("%zu of %d matched\n", h, NCONNS);
	}
	policy_unref(p);
	free(text);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4) {
		int n = atoi(argv[3]);
		if (n < 1 || n > 1000000) {
			fprintf(stderr, "N: 1 to 1000000 rules\n");
			return 2;
		}
		if (strcmp(argv[1], "load") == 0)
			bench_load(argv[2], n);
		else if (strcmp(argv[1], "match") == 0)
			bench_lookup(mix_of(argv[2]), n);
		else if (strcmp(argv[1], "once") == 0)
			once(argv[2], n);
		else
			argc = 0;
	}
	if (argc != 1 && argc != 4) {
		fprintf(stderr, "usage: bench_policy [load|match|once MIX N]\n");
		return 2;
	}
	if (argc == 4)
		return 0;
	bench_load("shared", 1000);
	bench_load("shared", 10000);
	bench_load("distinct", 10000);
	for (int m = 0; m < NMIX; m++) {
		bench_lookup((enum mix)m, 1000);
		bench_lookup((enum mix)m, 10000);
	}
	return 0;
}
