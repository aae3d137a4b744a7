/*
 * tests/fuzz/fuzz_policy — libFuzzer target for the policy loader: any bytes
 * go through the lexer, parser, validation and both models. A load that
 * succeeds is also looked up and walked, so the index and the explanation
 * code see every policy the fuzzer manages to make valid.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "policy/attls.h"
#include "policy/policy.h"

/* One lookup derived from the input's first bytes, so it varies with it. */
static void probe(const struct policy *p, const uint8_t *data, size_t size)
{
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
	const struct attls_rule *r = attls_match(p, &c);
	/* The index must agree with the plain walk; a disagreement is a bug. */
	if (r != attls_explain(p, &c, NULL, NULL))
		__builtin_trap();
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
