#include "policy/diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"

void diags_init(struct diags *d) { memset(d, 0, sizeof *d); }

void diags_free(struct diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
		free(d->v[i].hint);
	}
	free(d->v);
	memset(d, 0, sizeof *d);
}

/* A diagnostic that cannot be recorded still counts, so a load never passes by
 * losing its errors to ENOMEM. */
void diag_add(struct diags *d, enum diag_sev sev, struct srcpos pos, const char *hint,
	      const char *fmt, ...)
{
	if (sev == DIAG_ERROR)
		d->nerrors++;
	else
		d->nwarnings++;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct diag *v = realloc(d->v, cap * sizeof *v);
		if (!v)
			return;
		d->v = v;
		d->cap = cap;
	}
	char *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	struct diag *g = &d->v[d->n];
	g->file = strdup(pos.file ? pos.file : "<policy>");
	g->line = pos.line;
	g->col = pos.col;
	g->sev = sev;
	g->msg = msg;
	g->hint = hint ? strdup(hint) : NULL;
	if (!g->file || !g->msg) {
		free(g->file);
		free(g->msg);
		free(g->hint);
		return;
	}
	d->n++;
}

static int cmp_diag(const void *a, const void *b)
{
	const struct diag *x = a, *y = b;
	int c = strcmp(x->file, y->file);
	if (c)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return 0;
}

void diags_sort(struct diags *d)
{
	/* insertion sort: stable, and n is small */
	for (size_t i = 1; i < d->n; i++) {
		struct diag t = d->v[i];
		size_t j = i;
		while (j > 0 && cmp_diag(&d->v[j - 1], &t) > 0) {
			d->v[j] = d->v[j - 1];
			j--;
		}
		d->v[j] = t;
	}
}

void diags_print(const struct diags *d, FILE *out, int with_warnings)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct diag *g = &d->v[i];
		if (g->sev == DIAG_WARNING && !with_warnings)
			continue;
		fprintf(out, "%s:%u:%u: %s: %s\n", g->file, g->line, g->col,
			g->sev == DIAG_ERROR ? "error" : "warning", g->msg);
		if (g->hint)
			fprintf(out, "%s:%u:%u: hint: %s\n", g->file, g->line, g->col, g->hint);
	}
}

void diags_json(const struct diags *d, struct json *j)
{
	json_arr_begin(j);
	for (size_t i = 0; i < d->n; i++) {
		const struct diag *g = &d->v[i];
		json_obj_begin(j);
		json_kstr(j, "file", g->file);
		json_kuint(j, "line", g->line);
		json_kuint(j, "column", g->col);
		json_kstr(j, "severity", g->sev == DIAG_ERROR ? "error" : "warning");
		json_kstr(j, "message", g->msg);
		json_kstr(j, "hint", g->hint);
		json_obj_end(j);
	}
	json_arr_end(j);
}

const char *diags_first_error(const struct diags *d, char *buf, size_t len)
{
	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].sev == DIAG_ERROR) {
			snprintf(buf, len, "%s:%u:%u: %s", d->v[i].file, d->v[i].line,
				 d->v[i].col, d->v[i].msg);
			break;
		}
	return buf;
}
