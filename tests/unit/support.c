#include "tests/unit/support.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct policy *load_text(const char *text, struct diags *d)
{
	return policy_load_buffer("test.conf", text, strlen(text), d);
}

bool has_error_at(const struct diags *d, unsigned line, unsigned col, const char *needle)
{
	return find_diag(d, DIAG_ERROR, line, col, needle) != NULL;
}

bool has_warning(const struct diags *d, const char *needle)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].sev == DIAG_WARNING && strstr(d->v[i].msg, needle))
			return true;
	return false;
}

void dump_diags(const struct diags *d)
{
	diags_print(d, stderr, 1);
}

int run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

static bool word_char(char c)
{
	return c && !isspace((unsigned char)c) && c != '{' && c != '}' && c != '"';
}

unsigned col_of(const char *text, unsigned line, const char *tok)
{
	const char *p = text;
	for (unsigned l = 1; l < line; l++) {
		p = strchr(p, '\n');
		if (!p)
			return 0;
		p++;
	}
	const char *eol = strchrnul(p, '\n');
	size_t n = strlen(tok);
	for (const char *q = p; q + n <= eol; q++)
		if (strncmp(q, tok, n) == 0 && (q == p || !word_char(q[-1]) || !word_char(tok[0])))
			return (unsigned)(q - p) + 1;
	return 0;
}

const struct diag *find_diag(const struct diags *d, enum diag_sev sev, unsigned line,
			     unsigned col, const char *needle)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].sev == sev && d->v[i].line == line && d->v[i].col == col &&
		    (!needle || strstr(d->v[i].msg, needle)))
			return &d->v[i];
	return NULL;
}

struct policy *must_load(const char *text, struct diags *d)
{
	struct policy *p = load_text(text, d);
	if (!p || d->nerrors) {
		fprintf(stderr, "--- expected a valid policy:\n%s--- got:\n", text);
		dump_diags(d);
	}
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(d->nerrors, 0);
	return p;
}

struct policy *must_load_quiet(const char *text)
{
	struct diags d;
	diags_init(&d);
	struct policy *p = must_load(text, &d);
	diags_free(&d);
	return p;
}

struct attls_conn test_conn(int dir, const char *laddr, unsigned lport, const char *raddr,
			    unsigned rport, const char *job, const char *user)
{
	struct attls_conn c;
	memset(&c, 0, sizeof c);
	c.direction = dir;
	ck_assert_int_eq(ip_addr_parse(laddr, &c.local), 0);
	ck_assert_int_eq(ip_addr_parse(raddr, &c.remote), 0);
	c.lport = (uint16_t)lport;
	c.rport = (uint16_t)rport;
	c.jobname = job;
	c.userid = user;
	return c;
}

const char *test_matched(const struct policy *p, struct attls_conn c)
{
	const struct attls_rule *a = attls_match(p, &c);
	const struct attls_rule *b = attls_explain(p, &c, NULL, NULL);
	ck_assert_ptr_eq(a, b);
	return a ? a->name : NULL;
}

static void expect_at(const char *text, enum diag_sev sev, unsigned line, const char *tok,
		      const char *msg, const char *hint)
{
	struct diags d;
	diags_init(&d);
	struct policy *p = load_text(text, &d);
	unsigned col = col_of(text, line, tok);
	const struct diag *g = col ? find_diag(&d, sev, line, col, msg) : NULL;
	bool ok = g && (!hint || (g->hint && strstr(g->hint, hint))) &&
		  (sev == DIAG_ERROR ? p == NULL : p != NULL && d.nerrors == 0);
	if (!ok) {
		fprintf(stderr, "--- expected %s at %u:%u ('%s'): %s%s%s\n%s--- got:\n",
			sev == DIAG_ERROR ? "error" : "warning", line, col, tok, msg,
			hint ? " / hint: " : "", hint ? hint : "", text);
		dump_diags(&d);
	}
	policy_unref(p);
	diags_free(&d);
	ck_assert_uint_ne(col, 0);
	ck_assert(ok);
}

void must_fail_at(const char *text, unsigned line, const char *tok, const char *msg,
		  const char *hint)
{
	expect_at(text, DIAG_ERROR, line, tok, msg, hint);
}

void must_warn_at(const char *text, unsigned line, const char *tok, const char *msg)
{
	expect_at(text, DIAG_WARNING, line, tok, msg, NULL);
}
