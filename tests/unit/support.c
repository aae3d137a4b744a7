#include "tests/unit/support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct policy *load_text(const char *text, struct diags *d)
{
	return policy_load_buffer("test.conf", text, strlen(text), d);
}

bool has_error_at(const struct diags *d, unsigned line, unsigned col, const char *needle)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].sev == DIAG_ERROR && d->v[i].line == line && d->v[i].col == col &&
		    (!needle || strstr(d->v[i].msg, needle)))
			return true;
	return false;
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
