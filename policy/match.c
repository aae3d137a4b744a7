/* policy/match — maps a connection to its TTLSRule.
 *
 * Rules are evaluated in rank order and the first that matches wins. To avoid
 * walking every rule, the snapshot keeps three candidate lists, each sorted by
 * rank: rules indexed by the local port intervals they cover, rules with any
 * local port indexed by remote port, and rules with no port condition. A
 * lookup binary-searches the two port indexes and merges the three lists by
 * rank, testing each candidate fully; the first match is the answer, exactly
 * as a plain walk would find. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strutil.h"
#include "policy/policy_internal.h"

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

/* ---- the index ------------------------------------------------------------ */

/* Interval of the index that contains port. */
static size_t interval_of(const struct port_index *ix, uint16_t port)
{
	size_t lo = 0, hi = ix->nint;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (ix->lo[mid] <= port)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

struct cursor {
	const uint32_t *v, *end;
};

static void cursor_for(const struct port_index *ix, uint16_t port, struct cursor *cu)
{
	if (!ix->nint) {
		cu->v = cu->end = NULL;
		return;
	}
	size_t i = interval_of(ix, port);
	cu->v = ix->ids + ix->off[i];
	cu->end = ix->ids + ix->off[i + 1];
}

const struct attls_rule *attls_match(const struct policy *p, const struct attls_conn *c)
{
	struct cursor cu[3];
	cursor_for(&p->idx.by_lport, c->lport, &cu[0]);
	cursor_for(&p->idx.by_rport, c->rport, &cu[1]);
	cu[2].v = p->idx.wild;
	cu[2].end = p->idx.wild + p->idx.nwild;
	for (;;) {
		int best = -1;
		for (int k = 0; k < 3; k++)
			if (cu[k].v < cu[k].end && (best < 0 || *cu[k].v < *cu[best].v))
				best = k;
		if (best < 0)
			return NULL;
		const struct attls_rule *r = &p->rules[*cu[best].v++];
		if (rule_matches(r, c))
			return r;
	}
}

static int cmp_u16(const void *a, const void *b)
{
	uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
	return (x > y) - (x < y);
}

/* Build one port index from the rules selected by pick (and their port sets). */
static int build_port_index(struct arena *a, struct attls_rule *rules, size_t n,
			    const struct port_set *(*pick)(const struct attls_rule *),
			    struct port_index *ix)
{
	size_t nb = 1;
	for (size_t i = 0; i < n; i++) {
		const struct port_set *ps = pick(&rules[i]);
		if (ps)
			nb += 2 * ps->n;
	}
	if (nb == 1) {
		memset(ix, 0, sizeof *ix);
		return 0;
	}
	uint16_t *b = malloc(nb * sizeof *b);
	if (!b)
		return -1;
	size_t k = 0;
	b[k++] = 0;
	for (size_t i = 0; i < n; i++) {
		const struct port_set *ps = pick(&rules[i]);
		for (size_t j = 0; ps && j < ps->n; j++) {
			b[k++] = ps->r[j].lo;
			if (ps->r[j].hi < 65535)
				b[k++] = (uint16_t)(ps->r[j].hi + 1);
		}
	}
	qsort(b, k, sizeof *b, cmp_u16);
	size_t u = 0;
	for (size_t i = 0; i < k; i++)
		if (u == 0 || b[i] != b[u - 1])
			b[u++] = b[i];
	ix->nint = u;
	ix->lo = arena_array(a, u, sizeof *ix->lo);
	ix->off = arena_array(a, u + 1, sizeof *ix->off);
	uint32_t *count = calloc(u + 1, sizeof *count);
	if (!ix->lo || !ix->off || !count) {
		free(b);
		free(count);
		return -1;
	}
	memcpy(ix->lo, b, u * sizeof *b);
	free(b);

	/* Two passes over the rules in rank order: count, then fill. The last id
	 * written per interval guards against a rule listed twice (overlapping ranges). */
	uint32_t *last = malloc(u * sizeof *last);
	if (!last) {
		free(count);
		return -1;
	}
	for (int pass = 0; pass < 2; pass++) {
		memset(last, 0xff, u * sizeof *last);
		if (pass == 1) {
			ix->off[0] = 0;
			for (size_t i = 0; i < u; i++)
				ix->off[i + 1] = ix->off[i] + count[i];
			ix->ids = arena_array(a, ix->off[u] ? ix->off[u] : 1, sizeof *ix->ids);
			if (!ix->ids)
				break;
			memset(count, 0, (u + 1) * sizeof *count);
		}
		for (size_t i = 0; i < n; i++) {
			const struct port_set *ps = pick(&rules[i]);
			for (size_t j = 0; ps && j < ps->n; j++) {
				size_t iv = interval_of(ix, ps->r[j].lo);
				for (; iv < u && ix->lo[iv] <= ps->r[j].hi; iv++) {
					if (last[iv] == rules[i].rank)
						continue;
					last[iv] = rules[i].rank;
					if (pass == 1)
						ix->ids[ix->off[iv] + count[iv]] = rules[i].rank;
					count[iv]++;
				}
			}
		}
	}
	free(last);
	free(count);
	return ix->ids ? 0 : -1;
}

static const struct port_set *pick_lport(const struct attls_rule *r)
{
	return r->lports.n ? &r->lports : NULL;
}

static const struct port_set *pick_rport(const struct attls_rule *r)
{
	return !r->lports.n && r->rports.n ? &r->rports : NULL;
}

int attls_index_build(struct policy *p)
{
	struct attls_index *ix = &p->idx;
	if (build_port_index(&p->arena, p->rules, p->nrules, pick_lport, &ix->by_lport) ||
	    build_port_index(&p->arena, p->rules, p->nrules, pick_rport, &ix->by_rport))
		return -1;
	ix->wild = arena_array(&p->arena, p->nrules ? p->nrules : 1, sizeof *ix->wild);
	if (!ix->wild)
		return -1;
	for (size_t i = 0; i < p->nrules; i++) {
		if (!p->rules[i].lports.n && !p->rules[i].rports.n)
			ix->wild[ix->nwild++] = (uint32_t)i;
		p->uses_jobname |= p->rules[i].jobname != NULL;
		p->uses_userid |= p->rules[i].userid != NULL;
		if (dir_ok(&p->rules[i], DIR_OUTBOUND)) {
			p->outbound_local_addr |= p->rules[i].local.n != 0;
			p->outbound_local_port |= p->rules[i].lports.n != 0;
		}
	}
	return 0;
}

bool attls_uses_jobname(const struct policy *p) { return p->uses_jobname; }
bool attls_uses_userid(const struct policy *p) { return p->uses_userid; }
bool attls_outbound_uses_local_addr(const struct policy *p) { return p->outbound_local_addr; }
bool attls_outbound_uses_local_port(const struct policy *p) { return p->outbound_local_port; }

size_t attls_rule_count(const struct policy *p) { return p->nrules; }

const struct attls_rule *attls_rule_at(const struct policy *p, size_t i)
{
	return i < p->nrules ? &p->rules[i] : NULL;
}
