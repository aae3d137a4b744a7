/*
 * preload/loglimit — how often one kind of error line may be logged for one
 * rule. A peer or a load tool that fails every connection the same way must
 * not fill the disk: each (rule, kind) group prints LOGLIMIT_BURST lines per
 * LOGLIMIT_INTERVAL_MS, counts the rest, and owes one summary line once the
 * interval is over. The kind is the message with its digits left out, so
 * byte counts and error numbers do not make new kinds.
 *
 * Bookkeeping only: the caller passes the clock, holds a lock around each
 * call and prints what it is told to.
 */
#ifndef ATTLS_PRELOAD_LOGLIMIT_H
#define ATTLS_PRELOAD_LOGLIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOGLIMIT_BURST 10
#define LOGLIMIT_INTERVAL_MS 10000
#define LOGLIMIT_GROUPS 32
/* Summaries one call may hand back; more wait for the next call. */
#define LOGLIMIT_MAX_DUE 4

struct loglimit_group {
	uint64_t key;
	int64_t start_ms;            /* of the current interval */
	unsigned printed;            /* lines printed in it */
	unsigned long suppressed;    /* lines not printed in it */
	unsigned trace;              /* the rule's trace bits, for the summary */
	char rule[49];
	char sample[160];            /* the first message of the group */
	bool used;
};

struct loglimit {
	struct loglimit_group g[LOGLIMIT_GROUPS];
};

/* A group's interval ended with lines not printed: say how many. */
struct loglimit_summary {
	char rule[49];
	char sample[160];
	unsigned long count;
	unsigned trace;
};

void loglimit_init(struct loglimit *l);
/* Whether a line of rule with message msg may be printed at now_ms. Groups
 * that owe a summary (their interval is over, or their slot is taken for a
 * new group) are reported in due[0..*ndue), at most LOGLIMIT_MAX_DUE. */
bool loglimit_check(struct loglimit *l, const char *rule, const char *msg, unsigned trace,
		    int64_t now_ms, struct loglimit_summary due[LOGLIMIT_MAX_DUE], size_t *ndue);
/* Every summary owed at now_ms, whether or not the interval is over (at
 * exit); at most LOGLIMIT_MAX_DUE per call: call until *ndue is 0. */
void loglimit_drain(struct loglimit *l, struct loglimit_summary due[LOGLIMIT_MAX_DUE],
		    size_t *ndue);

#endif
