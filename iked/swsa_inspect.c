/* iked/swsa_inspect — the store's records as display rows. */
#include "iked/swsa_inspect.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/strutil.h"

struct inspect {
	swsa_rows_fn *fn;
	void *arg;
};

static int addr_cmp(const struct ip_addr *a, const struct ip_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->b, b->b, sizeof a->b);
}

static int record_cmp(const void *x, const void *y)
{
	const struct swsa_record *a = x, *b = y;
	int c = addr_cmp(&a->dvipa, &b->dvipa);
	if (!c)
		c = strcmp(a->filter_rule, b->filter_rule);
	return c ? c : strcmp(a->tunnel, b->tunnel);
}

void swsa_rows_make(const struct swsa_record *recs, size_t n, time_t now, struct swsa_row *rows)
{
	struct swsa_record *sorted = n ? malloc(n * sizeof *sorted) : NULL;
	if (sorted) {                     /* else unsorted rather than none */
		memcpy(sorted, recs, n * sizeof *sorted);
		qsort(sorted, n, sizeof *sorted, record_cmp);
		recs = sorted;
	}
	for (size_t i = 0; i < n; i++) {
		const struct swsa_record *r = &recs[i];
		struct swsa_row *w = &rows[i];
		ip_addr_format(&r->dvipa, w->dvipa, sizeof w->dvipa);
		ip_addr_format(&r->peer, w->peer, sizeof w->peer);
		str_copy(w->tunnel, r->tunnel, sizeof w->tunnel);
		str_copy(w->filter_rule, r->filter_rule, sizeof w->filter_rule);
		str_copy(w->owner, r->owner, sizeof w->owner);
		w->generation = r->generation;
		w->established = r->established;
		w->refreshed = r->refreshed;
		w->age = now > r->refreshed ? (long long)(now - r->refreshed) : 0;
	}
	free(sorted);
}

static void on_records(void *arg, int err, const struct swsa_record *recs, size_t n,
		       size_t unreadable)
{
	struct inspect *in = arg;
	struct swsa_row *rows = calloc(n ? n : 1, sizeof *rows);
	if (!rows) {
		in->fn(in->arg, ENOMEM, NULL, 0, unreadable + n);
	} else {
		swsa_rows_make(recs, n, time(NULL), rows);
		in->fn(in->arg, err, rows, n, unreadable);
	}
	free(rows);
	free(in);
}

long swsa_inspect(struct swsa_store *s, const struct ip_addr *dvipa, unsigned timeout_ms,
		  swsa_rows_fn *fn, void *arg)
{
	struct inspect *in = malloc(sizeof *in);
	if (!in)
		return -1;
	in->fn = fn;
	in->arg = arg;
	long id = swsa_store_get(s, dvipa, timeout_ms, on_records, free, in);
	if (id < 0)
		free(in);
	return id;
}

void swsa_rows_text(FILE *f, const struct swsa_row *rows, size_t n, size_t unreadable)
{
	fprintf(f, "%-39s %-24s %-39s %-16s %10s %10s\n", "DVIPA", "IpFilterRule", "Peer",
		"Owner", "Generation", "Age");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%-39s %-24s %-39s %-16s %10u %9llds\n", rows[i].dvipa,
			rows[i].filter_rule, rows[i].peer, rows[i].owner, rows[i].generation,
			rows[i].age);
	fprintf(f, "%zu record%s", n, n == 1 ? "" : "s");
	if (unreadable)
		fprintf(f, ", %zu unreadable (see iked's log)", unreadable);
	fputc('\n', f);
}

static void time_member(struct json *j, const char *k, time_t t)
{
	char buf[32];
	struct tm tm;
	if (t < 0 || !gmtime_r(&t, &tm) || !strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, sizeof buf, "?");
	json_kstr(j, k, buf);
}

void swsa_rows_json(struct json *j, const struct swsa_row *rows, size_t n, size_t unreadable)
{
	json_key(j, "records");
	json_arr_begin(j);
	for (size_t i = 0; i < n; i++) {
		const struct swsa_row *w = &rows[i];
		json_obj_begin(j);
		json_kstr(j, "Dvipa", w->dvipa);
		json_kstr(j, "IpFilterRule", w->filter_rule);
		json_kstr(j, "RemoteSecurityEndpoint", w->peer);
		json_kstr(j, "Owner", w->owner);
		json_kuint(j, "Generation", w->generation);
		time_member(j, "Established", w->established);
		time_member(j, "Refreshed", w->refreshed);
		json_kint(j, "AgeSeconds", w->age);
		json_kstr(j, "Tunnel", w->tunnel);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_kuint(j, "unreadable", unreadable);
}
