/* iked/sacache — the agreed attributes per tunnel, for refresh. */
#include "iked/sacache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sacache_init(struct sacache *c)
{
	LIST_INIT(&c->entries);
	c->n = 0;
}

void sacache_free(struct sacache *c)
{
	sacache_clear(c, NULL);
}

static struct sacache_entry *find(const struct sacache *c, const char *key)
{
	struct sacache_entry *e;
	LIST_FOREACH(e, &c->entries, all)
		if (strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

const struct sacache_entry *sacache_get(const struct sacache *c, const char *key)
{
	return find(c, key);
}

static void drop(struct sacache *c, struct sacache_entry *e)
{
	LIST_REMOVE(e, all);
	free(e);
	c->n--;
}

int sacache_put(struct sacache *c, const struct sacache_entry *src)
{
	struct sacache_entry *e = find(c, src->key);
	if (!e) {
		if (c->n >= SACACHE_MAX) {
			/* the list is newest first: the last one is the oldest */
			struct sacache_entry *old = LIST_FIRST(&c->entries), *x;
			LIST_FOREACH(x, &c->entries, all)
				old = x;
			drop(c, old);
		}
		if (!(e = malloc(sizeof *e)))
			return -1;
		c->n++;
	} else {
		LIST_REMOVE(e, all);
	}
	*e = *src;
	e->stored = time(NULL);
	LIST_INSERT_HEAD(&c->entries, e, all);
	return 0;
}

size_t sacache_clear(struct sacache *c, const char *id)
{
	size_t removed = 0;
	struct sacache_entry *e = LIST_FIRST(&c->entries), *next;
	for (; e; e = next) {
		next = LIST_NEXT(e, all);
		char eid[16];
		snprintf(eid, sizeof eid, "%c%u", e->kind, e->tunnel_id);
		if (!id || strcmp(id, eid) == 0) {
			drop(c, e);
			removed++;
		}
	}
	return removed;
}

const struct sacache_entry *sacache_find_id(const struct sacache *c, char kind, unsigned id)
{
	struct sacache_entry *e;
	LIST_FOREACH(e, &c->entries, all)
		if (e->kind == kind && e->tunnel_id == id)
			return e;
	return NULL;
}
