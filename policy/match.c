/* policy/match — maps a connection to its TTLSRule.
 *
 * Rules are evaluated in rank order and the first that matches wins. The
 * index (built by policy/index, laid out in policy_internal.h) answers exactly
 * that without walking the rules. For each dimension of a condition (local
 * and remote port, local and remote address, Jobname and Userid literal
 * prefix and suffix, direction) the connection's value gives two rule sets:
 * the rules whose condition covers it, and among them those whose home is
 * this dimension. Candidates are the union of the home sets and the rules
 * without a home, so every rule that can match is among them once; they are
 * filtered 64 at a time by every dimension some rule uses (no condition
 * there, or one that covers the value; the dimensions not already looked up
 * only when more than a few candidates remain), and the survivors are tested
 * in rank order with the full condition. The first that passes is what the
 * plain walk (attls_explain) finds. Ports, addresses and direction are exact
 * in the index; name patterns are narrowed by literal prefix and suffix and
 * the test decides the rest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strutil.h"
#include "policy/policy_internal.h"
#include "policy/ruleset.h"

static bool ports_contain(const struct port_set *s, uint16_t port)
{
	if (s->n == 0)
		return true;
	for (size_t i = 0; i < s->n; i++)
		if (s->r[i].lo <= port && port <= s->r[i].hi)
			return true;
	return false;
}

static bool dir_ok(const struct attls_rule *r, int dir)
{
	return r->direction == DIR_BOTH || r->direction == dir;
}

static bool rule_matches(const struct attls_rule *r, const struct attls_conn *c)
{
	return dir_ok(r, c->direction) && ports_contain(&r->lports, c->lport) &&
	       ports_contain(&r->rports, c->rport) && ip_set_contains(&r->local, &c->local) &&
	       ip_set_contains(&r->remote, &c->remote) &&
	       (!r->jobname || (c->jobname && str_wildmatch(r->jobname, c->jobname))) &&
	       (!r->userid || (c->userid && str_wildmatch(r->userid, c->userid)));
}

const char *attls_rule_mismatch(const struct attls_rule *r, const struct attls_conn *c,
				char *buf, size_t len)
{
	char a[IP_STRLEN];
	if (!dir_ok(r, c->direction)) {
		snprintf(buf, len, "Direction %s does not cover %s connections",
			 enum_direction[r->direction], c->direction == DIR_INBOUND ? "inbound" : "outbound");
	} else if (!ports_contain(&r->lports, c->lport)) {
		snprintf(buf, len, "%s does not contain local port %u", r->lport_text, c->lport);
	} else if (!ports_contain(&r->rports, c->rport)) {
		snprintf(buf, len, "%s does not contain remote port %u", r->rport_text, c->rport);
	} else if (!ip_set_contains(&r->local, &c->local)) {
		ip_addr_format(&c->local, a, sizeof a);
		snprintf(buf, len, "%s does not contain local address %s", r->laddr_text, a);
	} else if (!ip_set_contains(&r->remote, &c->remote)) {
		ip_addr_format(&c->remote, a, sizeof a);
		snprintf(buf, len, "%s does not contain remote address %s", r->raddr_text, a);
	} else if (r->jobname && !(c->jobname && str_wildmatch(r->jobname, c->jobname))) {
		snprintf(buf, len, "Jobname %s does not match %s%s%s", r->jobname,
			 c->jobname ? "'" : "", c->jobname ? c->jobname : "an unknown program",
			 c->jobname ? "'" : "");
	} else if (r->userid && !(c->userid && str_wildmatch(r->userid, c->userid))) {
		snprintf(buf, len, "Userid %s does not match %s%s%s", r->userid,
			 c->userid ? "'" : "", c->userid ? c->userid : "an unknown user",
			 c->userid ? "'" : "");
	} else {
		return NULL;
	}
	return buf;
}

const struct attls_rule *attls_explain(const struct policy *p, const struct attls_conn *c,
				       attls_explain_fn fn, void *arg)
{
	char why[256];
	for (size_t i = 0; i < p->nrules; i++) {
		const struct attls_rule *r = &p->rules[i];
		const char *w = attls_rule_mismatch(r, c, why, sizeof why);
		if (fn)
			fn(arg, r, w);
		if (!w)
			return r;
	}
	return NULL;
}

/* ---- lookup ---------------------------------------------------------------- */

/* What a connection's value finds in one dimension: the rules whose
 * condition covers it, and those of them whose home is this dimension. */
struct hit {
	uint32_t set, home;
};

static struct hit at32(const struct interval_map *m, uint32_t key)
{
	if (!m->n)
		return (struct hit){ 0, 0 };
	const struct iv32 *v = m->v32;
	size_t lo = 0, hi = m->n;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (v[mid].key <= key)
			lo = mid;
		else
			hi = mid;
	}
	return (struct hit){ v[lo].set, v[lo].home };
}

static struct hit at128(const struct interval_map *m, uint64_t khi, uint64_t klo)
{
	if (!m->n)
		return (struct hit){ 0, 0 };
	const struct iv128 *v = m->v128;
	size_t lo = 0, hi = m->n;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (v[mid].hi < khi || (v[mid].hi == khi && v[mid].lo <= klo))
			lo = mid;
		else
			hi = mid;
	}
	return (struct hit){ v[lo].set, v[lo].home };
}

static struct hit addr_hit(const struct interval_map *v4, const struct interval_map *v6,
			   const struct ip_addr *a)
{
	if (a->family == AF_INET)
		return at32(v4, key_be32(a->b));
	if (a->family == AF_INET6)
		return at128(v6, key_be64(a->b), key_be64(a->b + 8));
	return (struct hit){ 0, 0 };     /* no rule address is of another family */
}

/* The deepest node of t on name's path (read backwards for a suffix trie). */
static struct hit name_hit(const struct name_trie *t, const char *name, bool backwards)
{
	if (!t->n || !name)
		return (struct hit){ 0, 0 };
	size_t len = strlen(name);
	const struct trie_node *n = &t->node[0];
	for (size_t i = 0; i < len; i++) {
		uint8_t ch = (uint8_t)name[backwards ? len - 1 - i : i];
		const struct trie_node *kids = &t->node[n->child];
		size_t lo = 0, hi = n->nchild;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (kids[mid].ch < ch)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == n->nchild || kids[lo].ch != ch)
			break;
		n = &kids[lo];
	}
	return (struct hit){ n->set, n->home };
}

static struct hit dim_hit(const struct attls_index *ix, int d, const struct attls_conn *c)
{
	switch (d) {
	case D_LPORT: return at32(&ix->lport, c->lport);
	case D_RPORT: return at32(&ix->rport, c->rport);
	case D_LADDR: return addr_hit(&ix->laddr4, &ix->laddr6, &c->local);
	case D_RADDR: return addr_hit(&ix->raddr4, &ix->raddr6, &c->remote);
	case D_JOB_PRE: return name_hit(&ix->job_pre, c->jobname, false);
	case D_JOB_SUF: return name_hit(&ix->job_suf, c->jobname, true);
	case D_USER_PRE: return name_hit(&ix->user_pre, c->userid, false);
	default: return name_hit(&ix->user_suf, c->userid, true);
	}
}

/* A rule set a lookup reads word by word. A set with no zero word (common
 * for "no condition here" sets) is read directly, and so is the empty set
 * (from a row of zeros). */
struct scan {
	const uint64_t *s, *dense;
};

static struct scan scan_of(const struct attls_index *ix, uint32_t set)
{
	const uint64_t *s = ix->pool + set;
	size_t nonzero = rs_rank(s, ix->nsum);
	const uint64_t *dense = !nonzero ? ix->zeros :
				nonzero == ix->nwords ? rs_summary(s, ix->nsum) + ix->nsum : NULL;
	return (struct scan){ s, dense };
}

static uint64_t scan_word(const struct scan *sc, size_t nsum, size_t w)
{
	return sc->dense ? sc->dense[w] : rs_word(sc->s, nsum, w);
}

/* A dimension's filter: rules without a condition there, or whose
 * condition covers the connection's value. */
struct filter {
	struct scan any, cover;
};

struct lookup {
	const struct attls_index *ix;
	const struct attls_conn *c;
	size_t nfrom, nby;
	bool looked_up[NDIMS];
	bool all_filters;                 /* every dimension some rule uses filters */
	struct scan from[NDIMS];          /* where candidates come from */
	struct filter by[NDIMS];
};

static void add_filter(struct lookup *l, uint32_t any, uint32_t cover)
{
	l->by[l->nby++] = (struct filter){ scan_of(l->ix, any), scan_of(l->ix, cover) };
}

/* Candidates come from the home sets of the connection's values and the
 * wild rules; the dimensions looked up for them filter at once. */
static void start(struct lookup *l)
{
	const struct attls_index *ix = l->ix;
	for (int d = 0; d < D_DIR; d++) {
		l->looked_up[d] = ix->homed[d];
		if (!ix->homed[d])
			continue;
		struct hit h = dim_hit(ix, d, l->c);
		if (h.home)
			l->from[l->nfrom++] = (struct scan){ ix->pool + h.home, NULL };
		add_filter(l, ix->any[d], h.set);
	}
	if (ix->wild)
		l->from[l->nfrom++] = (struct scan){ ix->pool + ix->wild, NULL };
	if (ix->used[D_DIR]) {
		int k = l->c->direction == DIR_INBOUND ? 0 : l->c->direction == DIR_OUTBOUND ? 1 : 2;
		add_filter(l, ix->dir[k], 0);
	}
}

/* The other dimensions some rule uses: worth looking up only when many
 * candidates are left, since testing a few costs less. */
static void add_other_filters(struct lookup *l)
{
	const struct attls_index *ix = l->ix;
	for (int d = 0; d < D_DIR; d++)
		if (ix->used[d] && !l->looked_up[d])
			add_filter(l, ix->any[d], dim_hit(ix, d, l->c).set);
	l->all_filters = true;
}

static bool more_than_two(uint64_t x)
{
	x &= x - 1;
	x &= x - 1;
	return x != 0;
}

static uint64_t filtered(const struct lookup *l, size_t k0, size_t w, uint64_t x)
{
	size_t nsum = l->ix->nsum;
	for (size_t k = k0; k < l->nby && x; k++)
		x &= scan_word(&l->by[k].any, nsum, w) | scan_word(&l->by[k].cover, nsum, w);
	return x;
}

/* ORs the words of set sc in summary block s into u (64 words). */
static void block_or(const struct scan *sc, size_t nsum, size_t nwords, size_t s, uint64_t *u)
{
	size_t base = s * 64;
	if (sc->dense) {
		for (size_t i = 0; i < 64 && base + i < nwords; i++)
			u[i] |= sc->dense[base + i];
		return;
	}
	const uint64_t *sum = rs_summary(sc->s, nsum), *packed = sum + nsum;
	size_t rank = rs_rank(sc->s, s);
	for (uint64_t bits = sum[s]; bits; bits &= bits - 1)
		u[__builtin_ctzll(bits)] |= packed[rank++];
}

/* The survivors of summary block s in one go, when many of its words have
 * candidates: each filter is applied to the whole block with straight-line
 * loops instead of word by word. */
static void filter_block(struct lookup *l, size_t s, uint64_t *acc)
{
	size_t nsum = l->ix->nsum, nwords = l->ix->nwords, n = nwords - s * 64 < 64 ?
		      nwords - s * 64 : 64;
	memset(acc, 0, 64 * sizeof *acc);
	for (size_t k = 0; k < l->nfrom; k++)
		block_or(&l->from[k], nsum, nwords, s, acc);
	if (!l->all_filters)
		add_other_filters(l);
	for (size_t k = 0; k < l->nby; k++) {
		const struct filter *f = &l->by[k];
		if (f->any.dense && f->cover.dense) {
			const uint64_t *a = f->any.dense + s * 64, *b = f->cover.dense + s * 64;
			for (size_t i = 0; i < n; i++)
				acc[i] &= a[i] | b[i];
			continue;
		}
		uint64_t u[64] = { 0 };
		block_or(&f->any, nsum, nwords, s, u);
		block_or(&f->cover, nsum, nwords, s, u);
		for (size_t i = 0; i < n; i++)
			acc[i] &= u[i];
	}
}

/* The first candidate of word w (bits x) that passes the full test. */
static const struct attls_rule *first_passing(const struct policy *p, const struct attls_conn *c,
					      size_t w, uint64_t x)
{
	for (; x; x &= x - 1) {
		const struct attls_rule *r = &p->rules[w * 64 + (size_t)__builtin_ctzll(x)];
		if (rule_matches(r, c))
			return r;
	}
	return NULL;
}

/* Words with candidates in a summary block above which the block is
 * filtered whole. */
#define BLOCK_WORDS 8

const struct attls_rule *attls_match(const struct policy *p, const struct attls_conn *c)
{
	struct lookup l;
	l.ix = &p->idx;
	l.c = c;
	l.nfrom = l.nby = 0;
	l.all_filters = false;
	size_t nsum = l.ix->nsum;
	const struct attls_rule *r = NULL;
	start(&l);
	for (size_t s = 0; s < nsum && l.nfrom && !r; s++) {
		uint64_t words = 0;
		for (size_t k = 0; k < l.nfrom; k++)
			words |= rs_summary(l.from[k].s, nsum)[s];
		if (rs_pop64(words) > BLOCK_WORDS) {
			uint64_t acc[64];
			filter_block(&l, s, acc);
			for (; words && !r; words &= words - 1) {
				size_t i = (size_t)__builtin_ctzll(words);
				r = first_passing(p, c, s * 64 + i, acc[i]);
			}
			continue;
		}
		for (; words && !r; words &= words - 1) {
			size_t w = s * 64 + (size_t)__builtin_ctzll(words);
			uint64_t x = 0;
			for (size_t k = 0; k < l.nfrom; k++)
				x |= rs_word(l.from[k].s, nsum, w);
			x = filtered(&l, 0, w, x);
			if (!l.all_filters && more_than_two(x)) {
				size_t k0 = l.nby;
				add_other_filters(&l);
				x = filtered(&l, k0, w, x);
			}
			r = first_passing(p, c, w, x);
		}
	}
	return r;
}

size_t attls_index_size(const struct policy *p) { return p->idx.bytes; }

bool attls_uses_jobname(const struct policy *p) { return p->uses_jobname; }
bool attls_uses_userid(const struct policy *p) { return p->uses_userid; }
bool attls_outbound_uses_local_addr(const struct policy *p) { return p->outbound_local_addr; }
bool attls_outbound_uses_local_port(const struct policy *p) { return p->outbound_local_port; }

size_t attls_rule_count(const struct policy *p) { return p->nrules; }

const struct attls_rule *attls_rule_at(const struct policy *p, size_t i)
{
	return i < p->nrules ? &p->rules[i] : NULL;
}
