/*
 * policy/diag — diagnostics of a policy load: errors and warnings with their
 * file, line and column, an optional hint, printed as
 *   FILE:LINE:COL: error: MESSAGE
 *   FILE:LINE:COL: hint: HINT
 * They are heap-owned so they outlive a snapshot that was rejected.
 */
#ifndef ATTLS_POLICY_DIAG_H
#define ATTLS_POLICY_DIAG_H

#include <stdint.h>
#include <stdio.h>

struct json;

struct srcpos {
	const char *file;
	uint32_t line, col;
};

enum diag_sev { DIAG_ERROR, DIAG_WARNING };

struct diag {
	char *file;
	uint32_t line, col;
	enum diag_sev sev;
	char *msg;
	char *hint;          /* NULL when there is nothing useful to add */
};

struct diags {
	struct diag *v;
	size_t n, cap;
	size_t nerrors, nwarnings;
};

void diags_init(struct diags *d);
void diags_free(struct diags *d);
void diag_add(struct diags *d, enum diag_sev sev, struct srcpos pos, const char *hint,
	      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
#define diag_error(d, pos, hint, ...) diag_add(d, DIAG_ERROR, pos, hint, __VA_ARGS__)
#define diag_warn(d, pos, hint, ...)  diag_add(d, DIAG_WARNING, pos, hint, __VA_ARGS__)
/* Stable sort by file, line, column. */
void diags_sort(struct diags *d);
void diags_print(const struct diags *d, FILE *out, int with_warnings);
void diags_json(const struct diags *d, struct json *j);
/* The first error as one line (for a log message), or "" when there is none. */
const char *diags_first_error(const struct diags *d, char *buf, size_t len);

#endif
