/* policy/index — builds the lookup index (struct attls_index, described in
 * policy_internal.h) from a snapshot's compiled rules: per dimension the
 * elementary intervals or name prefixes with the rules covering each, the
 * rules without a condition there, each rule's home dimension, and the home
 * sets a lookup starts from. Time is O(events log events) for the sweeps plus
 * O(distinct sets x set size) for interning. */
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "policy/policy_internal.h"
#include "policy/ruleset.h"

/* ---- intervals --------------------------------------------------------------- */

/* A rule's range starts (+1) or ends (-1, at the key after its last) here. */
struct event {
	uint64_t hi, lo;
	uint32_t rank;
	int delta;
};

struct events {
	struct event *v;
	size_t n, cap;
	bool wide;                    /* 128-bit keys */
};

static int ev_push(struct events *e, uint64_t hi, uint64_t lo, uint32_t rank, int delta)
{
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 256;
		struct event *v = cap <= SIZE_MAX / sizeof *v ? realloc(e->v, cap * sizeof *v) : NULL;
		if (!v)
			return -1;
		e->v = v;
		e->cap = cap;
	}
	e->v[e->n++] = (struct event){ hi, lo, rank, delta };
	return 0;
}

static bool key_le(uint64_t ahi, uint64_t alo, uint64_t bhi, uint64_t blo)
{
	return ahi < bhi || (ahi == bhi && alo <= blo);
}

/* [lo, hi] of one rule; the end event goes at hi + 1 unless hi is the
 * largest key (max). A range whose ends are swapped matches nothing and is
 * left out. */
static int ev_range(struct events *e, const uint64_t lo[2], const uint64_t hi[2],
		    const uint64_t max[2], uint32_t rank)
{
	if (!key_le(lo[0], lo[1], hi[0], hi[1]))
		return 0;
	if (ev_push(e, lo[0], lo[1], rank, +1))
		return -1;
	if (hi[0] == max[0] && hi[1] == max[1])
		return 0;
	uint64_t nlo = hi[1] + 1, nhi = hi[0] + (nlo == 0);
	return ev_push(e, nhi, nlo, rank, -1);
}

/* Events in key order (ties in any order): a byte-wise radix sort that
 * skips the bytes every key shares, so port and IPv4 keys take two to four
 * passes. Returns 0, or -1 on ENOMEM. */
static int sort_events(struct events *e)
{
	uint64_t or_[2] = { 0, 0 }, and_[2] = { ~0ull, ~0ull };
	for (size_t i = 0; i < e->n; i++) {
		or_[0] |= e->v[i].hi;
		or_[1] |= e->v[i].lo;
		and_[0] &= e->v[i].hi;
		and_[1] &= e->v[i].lo;
	}
	struct event *tmp = malloc((e->n ? e->n : 1) * sizeof *tmp);
	if (!tmp)
		return -1;
	for (int pass = 0; pass < 16; pass++) {
		int half = pass < 8 ? 1 : 0, shift = pass % 8 * 8;
		if (!(((or_[half] ^ and_[half]) >> shift) & 0xff))
			continue;
		size_t count[257] = { 0 };
		for (size_t i = 0; i < e->n; i++)
			count[((half ? e->v[i].lo : e->v[i].hi) >> shift & 0xff) + 1]++;
		for (int k = 0; k < 256; k++)
			count[k + 1] += count[k];
		for (size_t i = 0; i < e->n; i++)
			tmp[count[(half ? e->v[i].lo : e->v[i].hi) >> shift & 0xff]++] = e->v[i];
		struct event *t = e->v;
		e->v = tmp;
		tmp = t;
	}
	free(tmp);
	return 0;
}

/* Range of one rule's condition in one key space. */
typedef int (*range_fn)(const struct attls_rule *r, size_t k, int family, uint64_t lo[2],
			uint64_t hi[2]);

static int port_range(const struct attls_rule *r, size_t k, int local, uint64_t lo[2],
		      uint64_t hi[2])
{
	const struct port_set *ps = local ? &r->lports : &r->rports;
	if (k >= ps->n)
		return -1;
	lo[0] = hi[0] = 0;
	lo[1] = ps->r[k].lo;
	hi[1] = ps->r[k].hi;
	return 0;
}

/* Address ranges of a rule side; family selects IPv4 or IPv6 ones (others
 * are skipped: 1 = not this family). Sign of family: + local, - remote. */
static int addr_range(const struct attls_rule *r, size_t k, int family, uint64_t lo[2],
		      uint64_t hi[2])
{
	const struct ip_set *as = family > 0 ? &r->local : &r->remote;
	int fam = family > 0 ? family : -family;
	if (k >= as->n)
		return -1;
	const struct ip_range *ir = &as->r[k];
	if (ir->family != fam)
		return 1;
	if (fam == AF_INET) {
		lo[0] = hi[0] = 0;
		lo[1] = key_be32(ir->lo);
		hi[1] = key_be32(ir->hi);
	} else {
		lo[0] = key_be64(ir->lo);
		lo[1] = key_be64(ir->lo + 8);
		hi[0] = key_be64(ir->hi);
		hi[1] = key_be64(ir->hi + 8);
	}
	return 0;
}

/* The six interval maps: local and remote ports, IPv4 and IPv6 local and
 * remote addresses. */
#define NSPACES 6

struct keyspace {
	struct interval_map *m;
	range_fn range;
	int arg;                      /* port_range: local?; addr_range: +-family */
	uint64_t max[2];              /* the largest key */
	bool wide;
};

static int collect_events(const struct policy *p, const struct keyspace *ks, struct events *e)
{
	e->wide = ks->wide;
	for (size_t i = 0; i < p->nrules; i++) {
		uint64_t lo[2], hi[2];
		int rc;
		for (size_t k = 0; (rc = ks->range(&p->rules[i], k, ks->arg, lo, hi)) >= 0; k++)
			if (rc == 0 && ev_range(e, lo, hi, ks->max, (uint32_t)i))
				return -1;
	}
	return 0;
}

/* Sweep the events in key order, interning the set of rules open in each
 * interval; neighbours with the same set merge. */
static int sweep(struct rs_builder *rb, struct arena *a, struct events *e,
		 struct interval_map *m)
{
	memset(m, 0, sizeof *m);
	if (!e->n)
		return 0;
	if (sort_events(e))
		return -1;
	size_t cap = e->n + 1, n = 0;
	uint64_t *khi = malloc(cap * sizeof *khi), *klo = malloc(cap * sizeof *klo);
	uint32_t *set = malloc(cap * sizeof *set);
	int rc = khi && klo && set ? 0 : -1;
	if (!rc && (e->v[0].hi || e->v[0].lo)) {
		khi[0] = klo[0] = 0;
		set[0] = 0;
		n = 1;
	}
	for (size_t i = 0; !rc && i < e->n;) {
		uint64_t hi = e->v[i].hi, lo = e->v[i].lo;
		for (; i < e->n && e->v[i].hi == hi && e->v[i].lo == lo; i++) {
			if (e->v[i].delta > 0)
				rs_add(rb, e->v[i].rank);
			else
				rs_del(rb, e->v[i].rank);
		}
		uint32_t s;
		rc = rs_intern(rb, &s);
		if (!rc && (!n || set[n - 1] != s)) {
			khi[n] = hi;
			klo[n] = lo;
			set[n++] = s;
		}
	}
	/* Ranges that run to the largest key are still open. Undo every event
	 * (the ends first, so no count goes below zero) to leave the builder's
	 * set empty. */
	for (size_t i = 0; i < e->n; i++)
		if (e->v[i].delta < 0)
			rs_add(rb, e->v[i].rank);
	for (size_t i = 0; i < e->n; i++)
		if (e->v[i].delta > 0)
			rs_del(rb, e->v[i].rank);
	if (!rc) {
		m->n = n;
		if (e->wide)
			m->v128 = arena_array(a, n, sizeof *m->v128);
		else
			m->v32 = arena_array(a, n, sizeof *m->v32);
		if (e->wide ? !m->v128 : !m->v32)
			rc = -1;
	}
	for (size_t i = 0; !rc && i < n; i++) {
		if (e->wide)
			m->v128[i] = (struct iv128){ khi[i], klo[i], set[i], 0 };
		else
			m->v32[i] = (struct iv32){ (uint32_t)klo[i], set[i], 0 };
	}
	free(khi);
	free(klo);
	free(set);
	return rc;
}

static uint32_t *iv_set(const struct interval_map *m, size_t i)
{
	return m->v128 ? &m->v128[i].set : &m->v32[i].set;
}

static uint32_t *iv_home(const struct interval_map *m, size_t i)
{
	return m->v128 ? &m->v128[i].home : &m->v32[i].home;
}

static size_t find_interval(const struct interval_map *m, const uint64_t key[2])
{
	size_t a = 0, b = m->n;
	while (b - a > 1) {
		size_t mid = (a + b) / 2;
		bool le = m->v128 ? key_le(m->v128[mid].hi, m->v128[mid].lo, key[0], key[1]) :
			  m->v32[mid].key <= key[1];
		if (le)
			a = mid;
		else
			b = mid;
	}
	return a;
}

/* ---- names ------------------------------------------------------------------------ */

struct lit {
	const uint8_t *s;        /* in trie order: reversed for suffixes */
	size_t len;
	uint32_t rank;
};

static int cmp_lit(const void *x, const void *y)
{
	const struct lit *a = x, *b = y;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->s, b->s, n);
	if (c)
		return c;
	return (a->len > b->len) - (a->len < b->len);
}

struct trie_build {
	struct rs_builder *rb;
	struct trie_node *node;
	size_t n;
};

/* Node `at` for the literals v[0..n), which share their first depth bytes
 * (those exactly depth long come first and end here). */
static int trie_fill(struct trie_build *t, uint32_t at, const struct lit *v, size_t n, size_t depth)
{
	size_t own = 0;
	while (own < n && v[own].len == depth)
		rs_add(t->rb, v[own++].rank);
	int rc = rs_intern(t->rb, &t->node[at].set);
	size_t nchild = 0;
	for (size_t i = own; i < n; i++)
		nchild += i == own || v[i].s[depth] != v[i - 1].s[depth];
	uint32_t first = (uint32_t)t->n;
	t->node[at].child = first;
	t->node[at].nchild = (uint16_t)nchild;
	t->n += nchild;
	for (size_t i = own, k = 0; !rc && i < n; k++) {
		size_t j = i;
		while (j < n && v[j].s[depth] == v[i].s[depth])
			j++;
		t->node[first + k].ch = v[i].s[depth];
		rc = trie_fill(t, first + (uint32_t)k, v + i, j - i, depth + 1);
		i = j;
	}
	for (size_t i = 0; i < own; i++)
		rs_del(t->rb, v[i].rank);
	return rc;
}

static const char *pattern_of(const struct attls_rule *r, int d)
{
	return d == D_JOB_PRE || d == D_JOB_SUF ? r->jobname : r->userid;
}

static bool is_suffix_dim(int d) { return d == D_JOB_SUF || d == D_USER_SUF; }

static struct name_trie *trie_of(struct attls_index *ix, int d)
{
	return d == D_JOB_PRE ? &ix->job_pre : d == D_JOB_SUF ? &ix->job_suf :
	       d == D_USER_PRE ? &ix->user_pre : &ix->user_suf;
}

/* The trie of one name dimension. */
static int build_trie(struct policy *p, struct rs_builder *rb, int d, struct name_trie *out)
{
	memset(out, 0, sizeof *out);
	struct lit *v = malloc((p->nrules ? p->nrules : 1) * sizeof *v);
	if (!v)
		return -1;
	size_t n = 0, chars = 0;
	for (size_t i = 0; i < p->nrules; i++) {
		const char *lit;
		size_t len;
		attls_literal(pattern_of(&p->rules[i], d), is_suffix_dim(d), &lit, &len);
		if (len) {
			v[n++] = (struct lit){ (const uint8_t *)lit, len, (uint32_t)i };
			chars += len;
		}
	}
	int rc = 0;
	uint8_t *rev = NULL;
	if (is_suffix_dim(d) && n) {      /* a suffix trie reads names backwards */
		rev = malloc(chars);
		rc = rev ? 0 : -1;
		for (size_t i = 0, off = 0; !rc && i < n; i++) {
			for (size_t k = 0; k < v[i].len; k++)
				rev[off + k] = v[i].s[v[i].len - 1 - k];
			v[i].s = rev + off;
			off += v[i].len;
		}
	}
	struct trie_build t = { rb, NULL, 1 };
	if (!rc && n) {
		qsort(v, n, sizeof *v, cmp_lit);
		t.node = calloc(chars + 1, sizeof *t.node);
		rc = t.node ? trie_fill(&t, 0, v, n, 0) : -1;
		if (!rc) {
			out->node = arena_array(&p->arena, t.n, sizeof *out->node);
			rc = out->node ? 0 : -1;
		}
		if (!rc) {
			memcpy(out->node, t.node, t.n * sizeof *out->node);
			out->n = t.n;
		}
	}
	free(t.node);
	free(rev);
	free(v);
	return rc;
}

/* The node of t whose string is lit (reversed: read it backwards). */
static uint32_t trie_node_of(const struct name_trie *t, const char *lit, size_t len, bool reversed)
{
	uint32_t at = 0;
	for (size_t i = 0; i < len; i++) {
		uint8_t ch = (uint8_t)lit[reversed ? len - 1 - i : i];
		const struct trie_node *n = &t->node[at];
		uint32_t k = 0;
		while (k < n->nchild && t->node[n->child + k].ch != ch)
			k++;
		if (k == n->nchild)
			return at;   /* never: every literal is in its trie */
		at = n->child + k;
	}
	return at;
}

/* ---- homes ------------------------------------------------------------------------ */

struct builder {
	struct policy *p;
	struct rs_builder rb;
	/* per interval map and trie, the most rules any set holds in each
	 * interval range / below each node (a rule indexed there is a candidate
	 * wherever its condition reaches) */
	struct range_max {
		size_t n, levels;
		uint32_t *v;            /* levels x n: max over 2^level intervals from i */
	} rmax[NSPACES];
	uint32_t *submax[4];       /* per trie node: the largest set in its subtree */
};

static int range_max_init(struct range_max *r, struct rs_builder *rb, const struct interval_map *m)
{
	r->n = m->n;
	r->levels = 1;
	while (((size_t)1 << r->levels) <= r->n)
		r->levels++;
	r->v = malloc((r->n ? r->n : 1) * r->levels * sizeof *r->v);
	if (!r->v)
		return -1;
	for (size_t i = 0; i < r->n; i++)
		r->v[i] = (uint32_t)rs_count(rb, *iv_set(m, i));
	for (size_t l = 1; l < r->levels; l++)
		for (size_t i = 0; i < r->n; i++) {
			uint32_t a = r->v[(l - 1) * r->n + i];
			size_t j = i + ((size_t)1 << (l - 1));
			uint32_t b = j < r->n ? r->v[(l - 1) * r->n + j] : 0;
			r->v[l * r->n + i] = a > b ? a : b;
		}
	return 0;
}

static uint32_t range_max(const struct range_max *r, size_t a, size_t b)
{
	size_t l = 0;
	while (((size_t)2 << l) <= b - a + 1)
		l++;
	uint32_t x = r->v[l * r->n + a], y = r->v[l * r->n + b + 1 - ((size_t)1 << l)];
	return x > y ? x : y;
}

static int submax_init(uint32_t **out, struct rs_builder *rb, const struct name_trie *t)
{
	uint32_t *v = malloc((t->n ? t->n : 1) * sizeof *v);
	if (!v)
		return -1;
	for (size_t i = 0; i < t->n; i++)
		v[i] = (uint32_t)rs_count(rb, t->node[i].set);
	/* children come after their parent */
	for (size_t i = t->n; i-- > 0;)
		for (uint32_t k = 0; k < t->node[i].nchild; k++)
			if (v[t->node[i].child + k] > v[i])
				v[i] = v[t->node[i].child + k];
	*out = v;
	return 0;
}

static void keyspaces(struct attls_index *ix, struct keyspace ks[NSPACES])
{
	ks[0] = (struct keyspace){ &ix->lport, port_range, 1, { 0, 65535 }, false };
	ks[1] = (struct keyspace){ &ix->rport, port_range, 0, { 0, 65535 }, false };
	ks[2] = (struct keyspace){ &ix->laddr4, addr_range, AF_INET, { 0, UINT32_MAX }, false };
	ks[3] = (struct keyspace){ &ix->laddr6, addr_range, AF_INET6, { UINT64_MAX, UINT64_MAX },
				   true };
	ks[4] = (struct keyspace){ &ix->raddr4, addr_range, -AF_INET, { 0, UINT32_MAX }, false };
	ks[5] = (struct keyspace){ &ix->raddr6, addr_range, -AF_INET6, { UINT64_MAX, UINT64_MAX },
				   true };
}

/* The dimension of key space k. */
static int dim_of_space(size_t k) { return k < 2 ? (int)k : k < 4 ? D_LADDR : D_RADDR; }

/* How many rules share the values of r's condition in dimension d (at most),
 * or SIZE_MAX when r has no condition there the index can use. */
static size_t spread(const struct builder *b, const struct attls_rule *r, int d)
{
	struct attls_index *ix = &b->p->idx;
	if (d >= D_JOB_PRE && d <= D_USER_SUF) {
		const char *lit;
		size_t len;
		attls_literal(pattern_of(r, d), is_suffix_dim(d), &lit, &len);
		if (!len)
			return SIZE_MAX;
		const struct name_trie *t = trie_of(ix, d);
		return b->submax[d - D_JOB_PRE][trie_node_of(t, lit, len, is_suffix_dim(d))];
	}
	struct keyspace ks[NSPACES];
	keyspaces(ix, ks);
	size_t worst = 0;
	bool any_range = false;
	for (size_t k = 0; k < NSPACES; k++) {
		if (dim_of_space(k) != d || !ks[k].m->n)
			continue;
		uint64_t lo[2], hi[2];
		int rc;
		for (size_t i = 0; (rc = ks[k].range(r, i, ks[k].arg, lo, hi)) >= 0; i++) {
			if (rc || !key_le(lo[0], lo[1], hi[0], hi[1]))
				continue;
			size_t m = range_max(&b->rmax[k], find_interval(ks[k].m, lo),
					     find_interval(ks[k].m, hi));
			worst = m > worst ? m : worst;
			any_range = true;
		}
	}
	return any_range ? worst : SIZE_MAX;
}

/* Each rule's home: its most selective indexed dimension, or NDIMS. */
static void choose_homes(const struct builder *b, uint8_t *home)
{
	for (size_t i = 0; i < b->p->nrules; i++) {
		size_t best = SIZE_MAX;
		home[i] = NDIMS;
		for (int d = 0; d < D_DIR; d++) {
			size_t s = spread(b, &b->p->rules[i], d);
			if (s < best) {
				best = s;
				home[i] = (uint8_t)d;
			}
		}
	}
}

/* home sets: each set restricted to the rules whose home is d. Sets repeat
 * across intervals, so results are remembered per set offset. */
static int home_sets(struct builder *b, const uint64_t *mask, const uint32_t *sets,
		     uint32_t *homes, size_t n, uint32_t *memo, size_t nmemo)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t s = sets[i];
		if (s < nmemo && memo[s] != UINT32_MAX) {
			homes[i] = memo[s];
			continue;
		}
		if (rs_intern_masked(&b->rb, s, mask, &homes[i]))
			return -1;
		if (s < nmemo)
			memo[s] = homes[i];
	}
	return 0;
}

static int build_homes(struct builder *b)
{
	struct policy *p = b->p;
	struct attls_index *ix = &p->idx;
	size_t nwords = ix->nwords ? ix->nwords : 1;
	uint8_t *home = malloc(p->nrules ? p->nrules : 1);
	uint64_t *mask = calloc(nwords * NDIMS, sizeof *mask);
	size_t nmemo = b->rb.npool;
	uint32_t *memo = malloc((nmemo ? nmemo : 1) * sizeof *memo);
	int rc = home && mask && memo ? 0 : -1;
	if (!rc) {
		choose_homes(b, home);
		for (size_t i = 0; i < p->nrules; i++)
			if (home[i] < NDIMS)
				mask[home[i] * nwords + i / 64] |= 1ull << (i % 64);
	}
	struct keyspace ks[NSPACES];
	keyspaces(ix, ks);
	for (size_t k = 0; !rc && k < NSPACES; k++) {
		int d = dim_of_space(k);
		memset(memo, 0xff, nmemo * sizeof *memo);
		for (size_t i = 0; !rc && i < ks[k].m->n; i++)
			rc = home_sets(b, mask + (size_t)d * nwords, iv_set(ks[k].m, i),
				       iv_home(ks[k].m, i), 1, memo, nmemo);
	}
	for (int d = D_JOB_PRE; !rc && d <= D_USER_SUF; d++) {
		struct name_trie *t = trie_of(ix, d);
		memset(memo, 0xff, nmemo * sizeof *memo);
		for (size_t i = 0; !rc && i < t->n; i++)
			rc = home_sets(b, mask + (size_t)d * nwords, &t->node[i].set, &t->node[i].home, 1,
				       memo, nmemo);
	}
	for (int d = 0; !rc && d < NDIMS; d++)
		for (size_t w = 0; w < ix->nwords; w++)
			ix->homed[d] |= mask[(size_t)d * nwords + w] != 0;
	if (!rc) {       /* the rules without a home */
		for (size_t i = 0; i < p->nrules; i++)
			if (home[i] == NDIMS)
				rs_add(&b->rb, (uint32_t)i);
		rc = rs_intern(&b->rb, &ix->wild);
		for (size_t i = 0; i < p->nrules; i++)
			if (home[i] == NDIMS)
				rs_del(&b->rb, (uint32_t)i);
	}
	free(home);
	free(mask);
	free(memo);
	return rc;
}

/* ---- the whole index ---------------------------------------------------------- */

/* The set of rules for which keep() holds. */
static int set_of(struct builder *b, bool (*keep)(const struct attls_rule *, int), int arg,
		  uint32_t *out)
{
	const struct policy *p = b->p;
	for (size_t i = 0; i < p->nrules; i++)
		if (keep(&p->rules[i], arg))
			rs_add(&b->rb, (uint32_t)i);
	int rc = rs_intern(&b->rb, out);
	for (size_t i = 0; i < p->nrules; i++)
		if (keep(&p->rules[i], arg))
			rs_del(&b->rb, (uint32_t)i);
	return rc;
}

static bool every(const struct attls_rule *r, int arg) { (void)r; (void)arg; return true; }

static bool for_direction(const struct attls_rule *r, int dir)
{
	return r->direction == DIR_BOTH || r->direction == dir;
}

static bool no_condition(const struct attls_rule *r, int d)
{
	const char *lit;
	size_t len;
	switch (d) {
	case D_LPORT: return !r->lports.n;
	case D_RPORT: return !r->rports.n;
	case D_LADDR: return !r->local.n;
	case D_RADDR: return !r->remote.n;
	default:
		attls_literal(pattern_of(r, d), is_suffix_dim(d), &lit, &len);
		return !len;
	}
}

static int build_dims(struct builder *b)
{
	struct attls_index *ix = &b->p->idx;
	struct keyspace ks[NSPACES];
	keyspaces(ix, ks);
	for (size_t k = 0; k < NSPACES; k++) {
		struct events e = { 0 };
		int rc = collect_events(b->p, &ks[k], &e);
		if (!rc)
			rc = sweep(&b->rb, &b->p->arena, &e, ks[k].m);
		free(e.v);
		if (rc || range_max_init(&b->rmax[k], &b->rb, ks[k].m))
			return -1;
		ix->bytes += ks[k].m->n * (ks[k].wide ? sizeof *ks[k].m->v128 : sizeof *ks[k].m->v32);
	}
	for (int d = D_JOB_PRE; d <= D_USER_SUF; d++) {
		struct name_trie *t = trie_of(ix, d);
		if (build_trie(b->p, &b->rb, d, t) || submax_init(&b->submax[d - D_JOB_PRE], &b->rb, t))
			return -1;
		ix->bytes += t->n * sizeof *t->node;
	}
	for (int d = 0; d < D_DIR; d++)
		if (set_of(b, no_condition, d, &ix->any[d]))
			return -1;
	return 0;
}

int attls_index_build(struct policy *p)
{
	struct attls_index *ix = &p->idx;
	memset(ix, 0, sizeof *ix);
	struct builder b = { .p = p };
	if (rs_builder_init(&b.rb, p->nrules))
		return -1;
	ix->nwords = b.rb.sh.nwords;
	ix->nsum = b.rb.sh.nsum;
	int rc = set_of(&b, every, 0, &ix->all) ||
		 set_of(&b, for_direction, DIR_INBOUND, &ix->dir[0]) ||
		 set_of(&b, for_direction, DIR_OUTBOUND, &ix->dir[1]) ||
		 set_of(&b, for_direction, -1, &ix->dir[2]) ||
		 build_dims(&b) || build_homes(&b) ? -1 : 0;
	if (!rc) {
		ix->pool = rs_pool_copy(&b.rb, &p->arena);
		ix->zeros = arena_array(&p->arena, ix->nwords ? ix->nwords : 1, sizeof *ix->zeros);
		rc = ix->pool && ix->zeros ? 0 : -1;
		ix->bytes += (b.rb.npool + ix->nwords) * sizeof *ix->pool;
	}
	/* A dimension filters the lookup when some rule has a condition in it. */
	for (int d = 0; d < NDIMS && !rc; d++)
		ix->used[d] = d == D_DIR ? ix->dir[0] != ix->all || ix->dir[1] != ix->all :
			      ix->any[d] != ix->all;
	for (size_t i = 0; i < p->nrules; i++) {
		const struct attls_rule *r = &p->rules[i];
		p->uses_jobname |= r->jobname != NULL;
		p->uses_userid |= r->userid != NULL;
		if (r->direction == DIR_BOTH || r->direction == DIR_OUTBOUND) {
			p->outbound_local_addr |= r->local.n != 0;
			p->outbound_local_port |= r->lports.n != 0;
		}
	}
	for (size_t k = 0; k < NSPACES; k++)
		free(b.rmax[k].v);
	for (int t = 0; t < 4; t++)
		free(b.submax[t]);
	rs_builder_free(&b.rb);
	return rc;
}
