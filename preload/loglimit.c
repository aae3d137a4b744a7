/* preload/loglimit — see loglimit.h. */
#include "preload/loglimit.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

void loglimit_init(struct loglimit *l)
{
	memset(l, 0, sizeof *l);
}

/* FNV-1a over the rule's name and the message without its digits. */
static uint64_t kind_key(const char *rule, const char *msg)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (const char *p = rule; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	h = (h ^ 0xff) * 0x100000001b3ull;
	for (const char *p = msg; *p; p++)
		if (!isdigit((unsigned char)*p))
			h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	return h;
}

static void report(struct loglimit_group *g, struct loglimit_summary *due, size_t *ndue)
{
	struct loglimit_summary *s = &due[(*ndue)++];
	snprintf(s->rule, sizeof s->rule, "%s", g->rule);
	snprintf(s->sample, sizeof s->sample, "%s", g->sample);
	s->count = g->suppressed;
	s->trace = g->trace;
	g->suppressed = 0;
}

static bool interval_over(const struct loglimit_group *g, int64_t now_ms)
{
	return now_ms - g->start_ms >= LOGLIMIT_INTERVAL_MS;
}

/* Groups whose interval is over with lines suppressed, leaving `keep`
 * places in due free. Each starts a new interval. */
static void collect_due(struct loglimit *l, int64_t now_ms, struct loglimit_summary *due,
			size_t *ndue, size_t keep)
{
	for (size_t i = 0; i < LOGLIMIT_GROUPS && *ndue + keep < LOGLIMIT_MAX_DUE; i++) {
		struct loglimit_group *g = &l->g[i];
		if (g->used && g->suppressed && interval_over(g, now_ms)) {
			report(g, due, ndue);
			g->start_ms = now_ms;
			g->printed = 0;
		}
	}
}

static struct loglimit_group *find(struct loglimit *l, uint64_t key)
{
	for (size_t i = 0; i < LOGLIMIT_GROUPS; i++)
		if (l->g[i].used && l->g[i].key == key)
			return &l->g[i];
	return NULL;
}

/* A free slot, else the oldest group that owes nothing, else the oldest. */
static struct loglimit_group *victim(struct loglimit *l)
{
	struct loglimit_group *quiet = NULL, *oldest = NULL;
	for (size_t i = 0; i < LOGLIMIT_GROUPS; i++) {
		struct loglimit_group *g = &l->g[i];
		if (!g->used)
			return g;
		if (!g->suppressed && (!quiet || g->start_ms < quiet->start_ms))
			quiet = g;
		if (!oldest || g->start_ms < oldest->start_ms)
			oldest = g;
	}
	return quiet ? quiet : oldest;
}

bool loglimit_check(struct loglimit *l, const char *rule, const char *msg, unsigned trace,
		    int64_t now_ms, struct loglimit_summary due[LOGLIMIT_MAX_DUE], size_t *ndue)
{
	*ndue = 0;
	collect_due(l, now_ms, due, ndue, 1);
	uint64_t key = kind_key(rule, msg);
	struct loglimit_group *g = find(l, key);
	if (!g) {
		g = victim(l);
		if (g->used && g->suppressed)
			report(g, due, ndue);
		memset(g, 0, sizeof *g);
		g->used = true;
		g->key = key;
		g->start_ms = now_ms;
		snprintf(g->rule, sizeof g->rule, "%s", rule);
		snprintf(g->sample, sizeof g->sample, "%s", msg);
	} else if (interval_over(g, now_ms)) {
		if (g->suppressed)
			report(g, due, ndue);
		g->start_ms = now_ms;
		g->printed = 0;
	}
	g->trace = trace;
	if (g->printed < LOGLIMIT_BURST) {
		g->printed++;
		return true;
	}
	g->suppressed++;
	return false;
}

void loglimit_drain(struct loglimit *l, struct loglimit_summary due[LOGLIMIT_MAX_DUE],
		    size_t *ndue)
{
	*ndue = 0;
	for (size_t i = 0; i < LOGLIMIT_GROUPS && *ndue < LOGLIMIT_MAX_DUE; i++)
		if (l->g[i].used && l->g[i].suppressed)
			report(&l->g[i], due, ndue);
}
