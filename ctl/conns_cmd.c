/*
 * ctl/conns_cmd — "attls conns": the netstat -x of attls. Asks every process
 * that publishes @attls/<pid> for its covered connections (ctl/conns_query:
 * owner checked, size and time bounded) and prints them. What a process says
 * is its own business: the PID and PROGRAM columns come from the kernel, and
 * every field is printed so that it cannot drive the terminal.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/kvline.h"
#include "common/strutil.h"
#include "ctl/conns_query.h"
#include "ctl/ctl.h"

#define MAX_PIDS 4096

struct table;

struct report {
	bool as_json;
	struct json j;
	struct table *table;
	size_t denied, skipped;
};

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

static bool is_number_key(const char *key)
{
	return !strcmp(key, "id") || !strcmp(key, "bytes_in") || !strcmp(key, "bytes_out");
}

static void json_row(struct report *r, const struct conns_answer *a, const struct kvline *kv)
{
	json_obj_begin(&r->j);
	json_key(&r->j, "pid");
	json_int(&r->j, a->pid);
	json_kstr(&r->j, "program", a->program);
	for (size_t k = 0; k < kv->n; k++) {
		const char *key = kv->key[k];
		if (!strcmp(key, "pid") || !strcmp(key, "program"))
			continue;   /* the kernel's word, above */
		if (is_number_key(key)) {
			json_key(&r->j, key);
			json_uint(&r->j, strtoull(kv->val[k], NULL, 10));
		} else {
			json_kstr(&r->j, key, *kv->val[k] ? kv->val[k] : NULL);
		}
	}
	json_obj_end(&r->j);
}

/* The text table: every cell escaped for the terminal, column widths from
 * the widest cell, so long program names, addresses and rule names never
 * push a row out of line. */
enum col { C_PID, C_PROG, C_ID, C_STATE, C_DIR, C_LOCAL, C_REMOTE, C_RULE, C_PROTO, C_CIPHER,
	   C_IN, C_OUT, C_PEER, NCOLS };

static const struct {
	const char *head;
	const char *key;     /* the kvline field, NULL: set by text_row */
	bool right;          /* numbers align right */
} cols[NCOLS] = {
	[C_PID] = { "PID", NULL, true },          [C_PROG] = { "PROGRAM", NULL, false },
	[C_ID] = { "ID", "id", true },            [C_STATE] = { "STATE", "state", false },
	[C_DIR] = { "DIR", NULL, false },         [C_LOCAL] = { "LOCAL", "local", false },
	[C_REMOTE] = { "REMOTE", "remote", false }, [C_RULE] = { "RULE", "rule", false },
	[C_PROTO] = { "PROTOCOL", "protocol", false }, [C_CIPHER] = { "CIPHER", "cipher", false },
	[C_IN] = { "BYTES_IN", "bytes_in", true }, [C_OUT] = { "BYTES_OUT", "bytes_out", true },
	[C_PEER] = { "PEER", "peer", false },
};

struct table {
	char **cells;        /* nrows * NCOLS */
	size_t nrows, cap;
	bool failed;
};

/* Columns a cell takes: one per character (escapes are ASCII). */
static size_t width(const char *s)
{
	size_t w = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		w += (*p & 0xc0) != 0x80;
	return w;
}

static void text_row(struct table *t, const struct conns_answer *a, const struct kvline *kv)
{
	if (t->failed)
		return;
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		char **nc = realloc(t->cells, cap * NCOLS * sizeof *nc);
		if (!nc) {
			t->failed = true;
			return;
		}
		t->cells = nc;
		t->cap = cap;
	}
	char **row = t->cells + t->nrows * NCOLS;
	char buf[4 * 4096 + 1];   /* a kvline value escaped: at most 4 bytes per byte */
	for (size_t c = 0; c < NCOLS; c++) {
		const char *v;
		char pid[16];
		if (c == C_PID) {
			snprintf(pid, sizeof pid, "%d", (int)a->pid);
			v = pid;
		} else if (c == C_PROG) {
			v = a->program;
		} else if (c == C_DIR) {
			const char *dir = kv_get(kv, "direction");
			v = dir && !strcmp(dir, "inbound") ? "in" : "out";
		} else {
			v = kv_get(kv, cols[c].key);
		}
		row[c] = strdup(str_term_safe(buf, sizeof buf, or_dash(v)));
		t->failed |= !row[c];
	}
	t->nrows++;
}

static void print_table(const struct table *t)
{
	size_t w[NCOLS];
	for (size_t c = 0; c < NCOLS; c++) {
		w[c] = width(cols[c].head);
		for (size_t r = 0; r < t->nrows; r++) {
			const char *cell = t->cells[r * NCOLS + c];
			size_t cw = cell ? width(cell) : 1;
			if (cw > w[c])
				w[c] = cw;
		}
	}
	for (size_t r = 0; r <= t->nrows; r++) {
		for (size_t c = 0; c < NCOLS; c++) {
			const char *cell = r ? t->cells[(r - 1) * NCOLS + c] : cols[c].head;
			if (!cell)
				cell = "?";
			size_t pad = w[c] - width(cell);
			if (c == NCOLS - 1) {
				printf("%s\n", cell);   /* the last column is not padded */
				break;
			}
			if (cols[c].right)
				printf("%*s%s  ", (int)pad, "", cell);
			else
				printf("%s%*s  ", cell, (int)pad, "");
		}
	}
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->nrows * NCOLS; i++)
		free(t->cells[i]);
	free(t->cells);
}

static void warn_skipped(const struct conns_answer *a)
{
	switch (a->status) {
	case CONNS_UNTRUSTED:
		fprintf(stderr, "attls conns: skipped process %d: %s\n", (int)a->pid, a->why);
		break;
	case CONNS_TOO_BIG:
		fprintf(stderr, "attls conns: skipped process %d: its answer is larger than %u MiB\n",
			(int)a->pid, CONNS_MAX_ANSWER >> 20);
		break;
	case CONNS_TIMEOUT:
		fprintf(stderr, "attls conns: skipped process %d: no complete answer within %d ms\n",
			(int)a->pid, CONNS_DEADLINE_MS);
		break;
	case CONNS_FAILED:
		fprintf(stderr, "attls conns: skipped process %d: %s\n", (int)a->pid, a->why);
		break;
	default:
		break;
	}
}

static void one_process(const struct conns_answer *a, void *arg)
{
	struct report *r = arg;
	if (a->status == CONNS_DENIED)
		r->denied++;
	if (a->status != CONNS_OK) {
		if (a->status != CONNS_DENIED && a->status != CONNS_GONE)
			r->skipped++;
		warn_skipped(a);
		return;
	}
	char *save = NULL;
	for (char *line = strtok_r(a->text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct kvline kv;
		if (kv_parse(line, &kv) != 0 || strcmp(kv.kind, "conn") != 0)
			continue;
		if (r->as_json)
			json_row(r, a, &kv);
		else
			text_row(r->table, a, &kv);
	}
}

static void usage(FILE *out)
{
	fputs("usage: attls conns [--json] [--pid PID]...\n"
	      "  The connections attls covers in every process you may see (root: all):\n"
	      "  rule, state, protocol, cipher, peer certificate, bytes each way.\n"
	      "  --json     one JSON object {\"connections\": [...], ...}\n"
	      "  --pid PID  only process PID (repeatable); exit status 1 when it\n"
	      "             publishes nothing (not under attls, or no covered\n"
	      "             connection yet)\n", out);
}

static int parse_pid(const char *s, pid_t *pid)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (!*s || *end || v <= 0 || v > 0x3fffffff)
		return -1;
	*pid = (pid_t)v;
	return 0;
}

/* Keep in pids only those asked for (want, which is rewritten); 1 (after
 * saying so) when one of them publishes nothing. */
static int only_asked(pid_t *pids, size_t *np, pid_t *want, size_t nwant)
{
	int rc = 0;
	size_t n = 0;
	for (size_t w = 0; w < nwant; w++) {
		bool published = false, dup = false;
		for (size_t i = 0; i < *np && !published; i++)
			published = pids[i] == want[w];
		for (size_t i = 0; i < n && !dup; i++)
			dup = want[i] == want[w];
		if (!published) {
			fprintf(stderr, "attls conns: process %d publishes no connections (not under "
				"attls, or none covered yet)\n", (int)want[w]);
			rc = 1;
		} else if (!dup) {
			want[n++] = want[w];
		}
	}
	memcpy(pids, want, n * sizeof *pids);
	*np = n;
	return rc;
}

int cmd_conns(int argc, char **argv)
{
	struct report r = { 0 };
	struct table t = { 0 };
	r.table = &t;
	pid_t want[64];
	size_t nwant = 0;
	for (int i = 1; i < argc; i++) {
		const char *pid_arg = !strncmp(argv[i], "--pid=", 6) ? argv[i] + 6
				    : !strcmp(argv[i], "--pid") && i + 1 < argc ? argv[++i] : NULL;
		if (ctl_is_help(argv[i])) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--json")) {
			r.as_json = true;
		} else if (pid_arg) {
			if (nwant == sizeof want / sizeof want[0] || parse_pid(pid_arg, &want[nwant]) != 0) {
				fprintf(stderr, "attls conns: --pid takes a process ID (at most %zu)\n",
					sizeof want / sizeof want[0]);
				return 2;
			}
			nwant++;
		} else {
			fprintf(stderr, "attls conns: unexpected argument '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	pid_t pids[MAX_PIDS];
	size_t np = conns_find(pids, MAX_PIDS);
	int rc = nwant ? only_asked(pids, &np, want, nwant) : 0;
	if (r.as_json) {
		json_init(&r.j, stdout, 2);
		json_obj_begin(&r.j);
		json_key(&r.j, "connections");
		json_arr_begin(&r.j);
	}
	conns_ask_all(pids, np, one_process, &r);
	if (r.as_json) {
		json_arr_end(&r.j);
		json_kuint(&r.j, "processes_not_visible", r.denied);
		json_kuint(&r.j, "processes_skipped", r.skipped);
		json_obj_end(&r.j);
		json_end(&r.j);
	} else {
		print_table(&t);
		if (r.denied)
			printf("(%zu process%s of other users not shown; run as root to see all)\n",
			       r.denied, r.denied == 1 ? "" : "es");
	}
	if (t.failed) {
		fputs("attls conns: out of memory\n", stderr);
		rc = 1;
	}
	table_free(&t);
	return rc;
}
