/*
 * iked/sacache — the SA cache of the z/OS V1R9 enhancement: per tunnel, the
 * attributes the two sides actually agreed (the chosen offer with its
 * lifetimes, the PFS group, the encapsulation, the identities, the rule and
 * action names) and the generation. A refresh, or a renegotiation through
 * Aggressive or Quick Mode, offers exactly these first instead of the first
 * offer configured. Kept in iked's memory; entries are keyed by what makes a
 * tunnel the same tunnel (rule and endpoints, or rule and selectors), found
 * through a hash of the key: every negotiation stores two entries, and a
 * responder with thousands of peers must not compare keys one by one.
 */
#ifndef ATTLS_IKED_SACACHE_H
#define ATTLS_IKED_SACACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/queue.h>
#include <time.h>

#include "iked/proposal.h"

#define SACACHE_KEY_LEN 320
#define SACACHE_MAX 4096
#define SACACHE_BUCKETS 1024

struct sacache_entry {
	TAILQ_ENTRY(sacache_entry) all;   /* newest first */
	LIST_ENTRY(sacache_entry) by_key;
	unsigned hash;
	char kind;                        /* 'K' phase 1, 'Y' phase 2 */
	char key[SACACHE_KEY_LEN];
	unsigned tunnel_id, generation;
	char rule[49], action[49];
	int exch;                         /* phase 1: EXCH_MAIN or EXCH_AGGRESSIVE */
	struct p1_attrs p1;
	struct p2_attrs p2;               /* pfs_group, encap and udp included */
	char local_id[160], remote_id[160];
	time_t stored;
};

struct sacache {
	TAILQ_HEAD(sacache_head, sacache_entry) entries;
	LIST_HEAD(, sacache_entry) buckets[SACACHE_BUCKETS];
	size_t n;
};

void sacache_init(struct sacache *c);
void sacache_free(struct sacache *c);
const struct sacache_entry *sacache_get(const struct sacache *c, const char *key);
/* Store (replace) the entry for e->key; the oldest entry goes when full.
 * Returns 0 or -1. */
int sacache_put(struct sacache *c, const struct sacache_entry *e);
/* Remove the entries of one tunnel ("K3", "Y7") or all (id NULL); returns
 * how many were removed. */
size_t sacache_clear(struct sacache *c, const char *id);
/* The entry for a tunnel id, or NULL. */
const struct sacache_entry *sacache_find_id(const struct sacache *c, char kind, unsigned id);

#endif
