/* iked/sacache — the agreed attributes per tunnel, for refresh. */
#include "iked/sacache.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sacache_init(struct sacache *c)
{
	TAILQ_INIT(&c->entries);
	for (size_t i = 0; i < SACACHE_BUCKETS; i++)
		LIST_INIT(&c->buckets[i]);
	c->n = 0;
}

void sacache_free(struct sacache *c)
{
	sacache_clear(c, NULL);
}

/* FNV-1a over the key's text */
static unsigned key_hash(const char *key)
{
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h;
}

static struct sacache_entry *find(const struct sacache *c, const char *key, unsigned h)
{
	struct sacache_entry *e;
	LIST_FOREACH(e, &c->buckets[h % SACACHE_BUCKETS], by_key)
		if (e->hash == h && strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

const struct sacache_entry *sacache_get(const struct sacache *c, const char *key)
{
	return find(c, key, key_hash(key));
}

static void drop(struct sacache *c, struct sacache_entry *e)
{
	TAILQ_REMOVE(&c->entries, e, all);
	LIST_REMOVE(e, by_key);
	free(e);
	c->n--;
}

int sacache_put(struct sacache *c, const struct sacache_entry *src)
{
	unsigned h = key_hash(src->key);
	struct sacache_entry *e = find(c, src->key, h);
	if (!e) {
		if (c->n >= SACACHE_MAX)      /* newest first: the last is the oldest */
			drop(c, TAILQ_LAST(&c->entries, sacache_head));
		if (!(e = malloc(sizeof *e)))
			return -1;
		c->n++;
	} else {
		TAILQ_REMOVE(&c->entries, e, all);
		LIST_REMOVE(e, by_key);
	}
	*e = *src;
	e->hash = h;
	e->stored = time(NULL);
	TAILQ_INSERT_HEAD(&c->entries, e, all);
	LIST_INSERT_HEAD(&c->buckets[h % SACACHE_BUCKETS], e, by_key);
	return 0;
}

size_t sacache_clear(struct sacache *c, const char *id)
{
	size_t removed = 0;
	struct sacache_entry *e = TAILQ_FIRST(&c->entries), *next;
	for (; e; e = next) {
		next = TAILQ_NEXT(e, all);
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
	TAILQ_FOREACH(e, &c->entries, all)
		if (e->kind == kind && e->tunnel_id == id)
			return e;
	return NULL;
}
