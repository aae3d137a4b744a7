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

struct report {
	bool as_json;
	struct json j;
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

#define ROW_FMT "%-7s %-12s %-4s %-9s %-3s %-22s %-22s %-16s %-8s %-30s %10s %10s  %s\n"

/* A field as the terminal may show it: escaped, never longer than its buffer. */
#define SAFE(buf, s) str_term_safe(buf, sizeof buf, or_dash(s))

static void text_row(const struct conns_answer *a, const struct kvline *kv)
{
	char pid[16], prog[256], id[64], st[64], loc[256], rem[256], rule[256], proto[64];
	char cipher[256], in[64], out[64], peer[1024];
	snprintf(pid, sizeof pid, "%d", (int)a->pid);
	const char *dir = kv_get(kv, "direction");
	printf(ROW_FMT, pid, SAFE(prog, a->program), SAFE(id, kv_get(kv, "id")),
	       SAFE(st, kv_get(kv, "state")), dir && !strcmp(dir, "inbound") ? "in" : "out",
	       SAFE(loc, kv_get(kv, "local")), SAFE(rem, kv_get(kv, "remote")),
	       SAFE(rule, kv_get(kv, "rule")), SAFE(proto, kv_get(kv, "protocol")),
	       SAFE(cipher, kv_get(kv, "cipher")), SAFE(in, kv_get(kv, "bytes_in")),
	       SAFE(out, kv_get(kv, "bytes_out")), SAFE(peer, kv_get(kv, "peer")));
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
			text_row(a, &kv);
	}
}

int cmd_conns(int argc, char **argv)
{
	struct report r = { 0 };
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			r.as_json = true;
		} else {
			fprintf(stderr, "usage: attls conns [--json]\n");
			return 2;
		}
	}
	pid_t pids[MAX_PIDS];
	size_t np = conns_find(pids, MAX_PIDS);
	if (r.as_json) {
		json_init(&r.j, stdout, 2);
		json_obj_begin(&r.j);
		json_key(&r.j, "connections");
		json_arr_begin(&r.j);
	} else {
		printf(ROW_FMT, "PID", "PROGRAM", "ID", "STATE", "DIR", "LOCAL", "REMOTE", "RULE",
		       "PROTOCOL", "CIPHER", "BYTES_IN", "BYTES_OUT", "PEER");
	}
	conns_ask_all(pids, np, one_process, &r);
	if (r.as_json) {
		json_arr_end(&r.j);
		json_kuint(&r.j, "processes_not_visible", r.denied);
		json_kuint(&r.j, "processes_skipped", r.skipped);
		json_obj_end(&r.j);
		json_end(&r.j);
	} else if (r.denied) {
		printf("(%zu process%s of other users not shown; run as root to see all)\n", r.denied,
		       r.denied == 1 ? "" : "es");
	}
	return 0;
}
