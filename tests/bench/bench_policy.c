/*
 * tests/bench/bench_policy — how long a policy takes to load (lex, parse,
 * validate, compile, index) and a connection takes to look up. Prints medians
 * of several runs; never part of a test. Run by scripts/bench-policy.
 *
 * The policies are generated: rules with local ports, remote ports, address
 * prefixes, Jobnames and priorities, sharing a few action sets, like a large
 * installation's. Two mixes: "ports", where every rule names a local or a
 * remote port (the usual policy), and "mixed", where one rule in twenty names
 * only a program (Jobname) and no port. The index finds rules by port; rules
 * without a port condition are tried one by one, so the second mix shows that
 * part's cost. Lookups mix connections that hit a rule with ones no rule
 * covers (the common case for a program's other traffic).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/attls.h"
#include "policy/policy.h"

#define RUNS 7

static uint64_t rng = 0x6a09e667f3bcc908ull;

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
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return v[n / 2];
}

enum mix { MIX_PORTS, MIX_MIXED };

/* A policy of n rules, one parameter per line as z/OS files are written. */
static char *gen_policy(int n, enum mix mix, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);
	for (int i = 0; i < n; i++) {
		fprintf(f, "TTLSRule rule%05d\n{\n", i);
		switch (i % 20) {
		case 0: case 1: case 2:          /* outbound clients by remote port */
			fprintf(f, "  RemotePortRange %d\n  Direction Outbound\n", 20000 + i);
			break;
		case 3:                          /* a program, any port */
			if (mix == MIX_MIXED) {
				fprintf(f, "  Jobname job%d*\n  Direction Both\n", i);
				break;
			}
			fprintf(f, "  LocalPortRange %d\n  Jobname job%d*\n  Direction Both\n",
				1024 + i, i);
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
		if (i % 3)
			fprintf(f, "  Priority %d\n", 1 + i % 250);
		fprintf(f, "  TTLSGroupActionRef grp\n  TTLSEnvironmentActionRef env%d\n}\n", i % 8);
	}
	fprintf(f, "TTLSGroupAction grp\n{\n  TTLSEnabled On\n}\n");
	for (int e = 0; e < 8; e++)
		fprintf(f, "TTLSEnvironmentAction env%d\n{\n  HandshakeRole %s\n"
			"  TTLSKeyringParms\n  {\n    Keyring /dev/null\n  }\n"
			"  TTLSEnvironmentAdvancedParms\n  {\n    HandshakeTimeout %d\n  }\n}\n",
			e, e % 2 ? "Client" : "Server", 5 + e);
	fclose(f);
	return text;
}

static struct policy *load(const char *text, size_t len)
{
	struct diags d;
	diags_init(&d);
	struct policy *p = policy_load_buffer("bench.conf", text, len, &d);
	if (!p) {
		diags_print(&d, stderr, 0);
		exit(1);
	}
	diags_free(&d);
	return p;
}

static void bench_load(int n)
{
	size_t len;
	char *text = gen_policy(n, MIX_MIXED, &len);
	double t[RUNS];
	for (int r = 0; r < RUNS; r++) {
		double t0 = now_s();
		struct policy *p = load(text, len);
		t[r] = now_s() - t0;
		policy_unref(p);
	}
	printf("load  %6d rules (%zu KiB of policy): %8.2f ms  (median of %d)\n", n, len / 1024,
	       median(t, RUNS) * 1e3, RUNS);
	free(text);
}

#define NCONNS 4096

static void gen_conns(int n, struct attls_conn *c)
{
	static char jobs[NCONNS][16];
	for (int i = 0; i < NCONNS; i++) {
		memset(&c[i], 0, sizeof c[i]);
		int k = (int)rnd((uint32_t)n);
		c[i].direction = rnd(2) ? DIR_INBOUND : DIR_OUTBOUND;
		c[i].local.family = c[i].remote.family = AF_INET;
		c[i].local.b[0] = 10;
		c[i].remote.b[0] = 10;
		c[i].remote.b[1] = (uint8_t)rnd(256);
		/* half aim at a rule's port, half at ports no rule names */
		c[i].lport = rnd(2) ? (uint16_t)(1024 + k) : (uint16_t)(40000 + rnd(20000));
		c[i].rport = rnd(2) ? (uint16_t)(20000 + k) : (uint16_t)(40000 + rnd(20000));
		snprintf(jobs[i], sizeof jobs[i], "job%d", (int)rnd((uint32_t)n));
		c[i].jobname = jobs[i];
		c[i].userid = "www";
	}
}

typedef const struct attls_rule *(*lookup_fn)(const struct policy *, const struct attls_conn *);

static const struct attls_rule *walk(const struct policy *p, const struct attls_conn *c)
{
	return attls_explain(p, c, NULL, NULL);
}

static double ns_per_lookup(const struct policy *p, const struct attls_conn *c, lookup_fn fn,
			    long iters, size_t *hits)
{
	double t[RUNS];
	size_t h = 0;
	for (int r = 0; r < RUNS; r++) {
		h = 0;
		double t0 = now_s();
		for (long i = 0; i < iters; i++)
			h += fn(p, &c[i & (NCONNS - 1)]) != NULL;
		t[r] = (now_s() - t0) / (double)iters * 1e9;
	}
	*hits = h;
	return median(t, RUNS);
}

static void bench_lookup(int n, enum mix mix)
{
	size_t len;
	char *text = gen_policy(n, mix, &len);
	struct policy *p = load(text, len);
	static struct attls_conn c[NCONNS];
	gen_conns(n, c);
	size_t hits, hits2;
	long iters = 2000000;
	double idx = ns_per_lookup(p, c, attls_match, iters, &hits);
	/* the walk costs n rule tests per lookup: fewer of them */
	long walk_iters = 20000000L / n < 2000 ? 2000 : 20000000L / n;
	double plain = ns_per_lookup(p, c, walk, walk_iters < iters ? walk_iters : iters, &hits2);
	printf("match %6d rules, %-5s: %8.1f ns per lookup (attls_match); %9.1f ns explaining "
	       "rule by rule (attls_explain); %.0f%% of lookups match\n", n,
	       mix == MIX_PORTS ? "ports" : "mixed", idx, plain, 100.0 * (double)hits / (double)iters);
	policy_unref(p);
	free(text);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	bench_load(10000);
	bench_load(1000);
	for (int m = MIX_PORTS; m <= MIX_MIXED; m++) {
		bench_lookup(10, (enum mix)m);
		bench_lookup(1000, (enum mix)m);
		bench_lookup(10000, (enum mix)m);
	}
	return 0;
}
