/*
 * tests/unit/support — helpers shared by the Check unit tests: load a policy
 * from a string and look at its diagnostics.
 */
#ifndef ATTLS_TESTS_UNIT_SUPPORT_H
#define ATTLS_TESTS_UNIT_SUPPORT_H

#include <check.h>
#include <stdbool.h>

#include "policy/attls.h"
#include "policy/diag.h"
#include "policy/policy.h"

/* Load text as policy "test.conf"; d receives the diagnostics. */
struct policy *load_text(const char *text, struct diags *d);
/* Whether d holds an error at line:col whose message contains needle. */
bool has_error_at(const struct diags *d, unsigned line, unsigned col, const char *needle);
bool has_warning(const struct diags *d, const char *needle);
/* Print d to stderr (for failing tests). */
void dump_diags(const struct diags *d);
/* Run the suite built by make_suite; returns the exit status for main. */
int run_suite(Suite *s);

/* The 1-based column of the first occurrence of tok on line `line` of text
 * (tok must start at a word boundary), or 0 when it is not there. Tests name
 * positions by the token the diagnostic must point at, not by numbers. */
unsigned col_of(const char *text, unsigned line, const char *tok);
/* The diagnostic of severity sev at line:col whose message contains needle,
 * or NULL. */
const struct diag *find_diag(const struct diags *d, enum diag_sev sev, unsigned line,
			     unsigned col, const char *needle);

/* Load text that must be valid; fails the test (printing the diagnostics)
 * when it is not. Warnings are allowed; they stay in *d for the caller. */
struct policy *must_load(const char *text, struct diags *d);
/* The same, when the diagnostics do not matter. */
struct policy *must_load_quiet(const char *text);

/* A connection to look up (addresses in text form, which must parse). */
struct attls_conn test_conn(int dir, const char *laddr, unsigned lport, const char *raddr,
			    unsigned rport, const char *job, const char *user);
/* The name of the rule c maps to, or NULL; fails the test when the indexed
 * lookup and the plain walk disagree. */
const char *test_matched(const struct policy *p, struct attls_conn c);

/* Load text that must be rejected with an error at the token tok on line,
 * whose message contains msg and, when hint is not NULL, whose hint contains
 * hint. Prints the diagnostics and fails the test otherwise. */
void must_fail_at(const char *text, unsigned line, const char *tok, const char *msg,
		  const char *hint);
/* Load text that must be valid and carry a warning at tok on line containing msg. */
void must_warn_at(const char *text, unsigned line, const char *tok, const char *msg);

#endif
