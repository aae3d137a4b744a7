#include "preload/secmap.h"

#include <pthread.h>
#include <string.h>

#include "policy/policy.h"
#include "preload/conn.h"

#define PRIMARIES 256

struct primary {
	uint64_t conn_id;             /* 0 = free slot */
	struct ip_addr a, b;
	const struct attls_rule *rule;
	struct policy *pol;
};

static struct primary table[PRIMARIES];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static bool same(const struct ip_addr *x, const struct ip_addr *y)
{
	return memcmp(x, y, sizeof *x) == 0;
}

void secmap_add(struct conn *c)
{
	if (!c->rule || !c->s->secondary_map)
		return;
	struct ip_addr a, b;
	if (ip_addr_from_sockaddr((const struct sockaddr *)&c->local, &a, NULL) ||
	    ip_addr_from_sockaddr((const struct sockaddr *)&c->remote, &b, NULL))
		return;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < PRIMARIES; i++)
		if (!table[i].conn_id) {
			table[i] = (struct primary){ c->id, a, b, c->rule, policy_ref(c->pol) };
			break;
		}
	pthread_mutex_unlock(&lock);
}

void secmap_forget(struct conn *c)
{
	struct policy *drop = NULL;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < PRIMARIES; i++)
		if (table[i].conn_id == c->id) {
			drop = table[i].pol;
			memset(&table[i], 0, sizeof table[i]);
			break;
		}
	pthread_mutex_unlock(&lock);
	policy_unref(drop);
}

/* Whether the primary's rule ranks above mine. Rules from different snapshots
 * compare by priority; rules without one rank last. */
static bool beats(const struct attls_rule *p, const struct attls_rule *mine)
{
	if (!mine || !mine->s->enabled)
		return true;
	if (!p->has_priority)
		return false;
	return !mine->has_priority || mine->priority < p->priority;
}

const struct attls_rule *secmap_find(const struct ip_addr *a, const struct ip_addr *b,
				     const struct attls_rule *mine, struct policy **pol)
{
	const struct attls_rule *r = NULL;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < PRIMARIES && !r; i++) {
		struct primary *e = &table[i];
		if (!e->conn_id)
			continue;
		if (((same(&e->a, a) && same(&e->b, b)) || (same(&e->a, b) && same(&e->b, a))) &&
		    beats(e->rule, mine)) {
			r = e->rule;
			*pol = policy_ref(e->pol);
		}
	}
	pthread_mutex_unlock(&lock);
	return r;
}

bool secmap_involves(const struct ip_addr *a)
{
	bool yes = false;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < PRIMARIES && !yes; i++)
		yes = table[i].conn_id && (same(&table[i].a, a) || same(&table[i].b, a));
	pthread_mutex_unlock(&lock);
	return yes;
}
