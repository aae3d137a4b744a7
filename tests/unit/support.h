/*
 * tests/unit/support — helpers shared by the Check unit tests: load a policy
 * from a string and look at its diagnostics.
 */
#ifndef ATTLS_TESTS_UNIT_SUPPORT_H
#define ATTLS_TESTS_UNIT_SUPPORT_H

#include <check.h>
#include <stdbool.h>

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

#endif
