/*
 * iked/swsa_inspect — what `ipsec -y display --swsa` shows: every record in
 * the SWSA store, whoever wrote it, one row each (DVIPA, rule, peer, owner,
 * generation, times, age), sorted by DVIPA, rule and tunnel; as rows, as a
 * text table or as JSON. The rows come from an ordinary store read, so the
 * event loop never waits for them.
 */
#ifndef ATTLS_IKED_SWSA_INSPECT_H
#define ATTLS_IKED_SWSA_INSPECT_H

#include <stdio.h>
#include <time.h>

#include "iked/swsa_store.h"

struct json;

struct swsa_row {
	char dvipa[IP_STRLEN];
	char tunnel[SWSA_TUNNEL_HEX + 1];
	char filter_rule[SWSA_NAME_MAX];
	char peer[IP_STRLEN];
	char owner[SWSA_NODE_MAX];
	unsigned generation;
	time_t established, refreshed;
	long long age;                    /* seconds since refreshed; 0 when in the future */
};

/* err, unreadable: as swsa_records_fn. */
typedef void swsa_rows_fn(void *arg, int err, const struct swsa_row *rows, size_t n,
			  size_t unreadable);

/* Read the records of one DVIPA (NULL: all) and hand fn their rows. Returns
 * the read's id (swsa_store_cancel), or -1. */
long swsa_inspect(struct swsa_store *s, const struct ip_addr *dvipa, unsigned timeout_ms,
		  swsa_rows_fn *fn, void *arg);

/* The rows of n records as seen at now, sorted; rows has room for n. */
void swsa_rows_make(const struct swsa_record *recs, size_t n, time_t now, struct swsa_row *rows);
/* "DVIPA  Rule  Peer  Owner  Gen  Age" lines, and the unreadable count. */
void swsa_rows_text(FILE *f, const struct swsa_row *rows, size_t n, size_t unreadable);
/* {"records": [...], "unreadable": N} members into an open object. */
void swsa_rows_json(struct json *j, const struct swsa_row *rows, size_t n, size_t unreadable);

#endif
