/*
 * tests/fuzz/fuzz_policy — libFuzzer target for the policy loader: any bytes
 * go through the lexer, parser, validation and both models. A load that
 * succeeds is also looked up and walked, with connections aimed at its
 * rules, so the index and the explanation code see every policy the fuzzer
 * manages to make valid.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "policy/attls.h"
#include "policy/policy.h"

/* The index must agree with the plain walk; a disagreement is a bug. */
static void agree(const struct policy *p, const struct attls_conn *c)
{
	if (attls_match(p, c) != attls_explain(p, c, NULL, NULL))
		__builtin_trap();
}

/* A name the pattern matches: wildcards become letters. */
static void name_for(const char *pat, char *buf, size_t len)
{
	size_t i = 0;
	for (; pat && pat[i] && i + 1 < len; i++)
		buf[i] = pat[i] == '*' || pat[i] == '?' ? 'x' : pat[i];
	buf[i] = '\0';
}

/* A connection aimed at rule r: the first value of each of its conditions,
 * or of the next range when alt is set, so the index's edges and the rules
 * ranked around r are looked at. */
static void aim(const struct attls_rule *r, bool alt, struct attls_conn *c, char *job,
		char *user, size_t len)
{
	memset(c, 0, sizeof *c);
	c->direction = r->direction == DIR_OUTBOUND ? DIR_OUTBOUND : DIR_INBOUND;
	c->local.family = c->remote.family = AF_INET;
	if (r->lports.n)
		c->lport = alt ? (uint16_t)(r->lports.r[r->lports.n - 1].hi + 1) : r->lports.r[0].lo;
	if (r->rports.n)
		c->rport = alt ? r->rports.r[r->rports.n - 1].hi : r->rports.r[0].lo;
	if (r->local.n) {
		const struct ip_range *ir = &r->local.r[alt ? r->local.n - 1 : 0];
		c->local.family = ir->family;
		memcpy(c->local.b, alt ? ir->hi : ir->lo, 16);
	}
	if (r->remote.n) {
		const struct ip_range *ir = &r->remote.r[alt ? r->remote.n - 1 : 0];
		c->remote.family = ir->family;
		memcpy(c->remote.b, alt ? ir->hi : ir->lo, 16);
	}
	name_for(r->jobname, job, len);
	name_for(r->userid, user, len);
	c->jobname = r->jobname || !alt ? job : NULL;
	c->userid = r->userid || !alt ? user : NULL;
}

static void probe(const struct policy *p, const uint8_t *data, size_t size)
{
	/* one lookup derived from the input's first bytes, so it varies with it */
	struct attls_conn c;
	memset(&c, 0, sizeof c);
	uint8_t b[8] = { 0 };
	memcpy(b, data, size < sizeof b ? size : sizeof b);
	c.direction = b[0] & 1 ? DIR_OUTBOUND : DIR_INBOUND;
	c.local.family = AF_INET;
	c.remote.family = b[1] & 1 ? AF_INET6 : AF_INET;
	memcpy(c.local.b, b + 2, 4);
	memcpy(c.remote.b, b + 4, 4);
	c.lport = (uint16_t)(b[6] << 8 | b[7]);
	c.rport = (uint16_t)(b[7] << 8 | b[6]);
	c.jobname = "fuzzjob";
	c.userid = "fuzzuser";
	agree(p, &c);
	/* and lookups aimed at a few rules */
	size_t n = attls_rule_count(p);
	for (size_t i = 0; i < n && i < 6; i++) {
		char job[64], user[64];
		aim(attls_rule_at(p, n - 1 - i), i % 2, &c, job, user, sizeof job);
		agree(p, &c);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diags d;
	diags_init(&d);
	struct policy *p = policy_load_buffer("fuzz.conf", (const char *)data, size, &d);
	if (p) {
		probe(p, data, size);
		policy_unref(p);
	}
	char line[256];
	diags_first_error(&d, line, sizeof line);
	diags_free(&d);
	return 0;
}
