#include "preload/conn.h"

#include <stdlib.h>

#include "policy/policy.h"
#include "preload/fdtab.h"
#include "preload/tls.h"

static atomic_uint_fast64_t next_id = 1;

struct conn *conn_new(void)
{
	struct conn *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	atomic_init(&c->refs, 1);
	c->id = atomic_fetch_add(&next_id, 1);
	c->tcp = c->eng = c->app_dup = -1;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	return c;
}

void conn_ref(struct conn *c)
{
	atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

void conn_unref(struct conn *c)
{
	if (!c || atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
		return;
	/* A connection inherited across fork is the parent's: its session and
	 * descriptors are not ours to touch, only this copy of the memory. */
	if (!c->foreign) {
		/* Only a connection that never reached the engine still has these. */
		fdtab_release(c->tcp);
		fdtab_release(c->eng);
		fdtab_release(c->app_dup);
		tls_session_end(c);
		tls_ctx_put(c->ctx);
		policy_unref(c->pol);
	}
	free(c->to_app);
	free(c->to_net);
	free(c->inject);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c);
}

const char *conn_state_name(enum conn_state st)
{
	switch (st) {
	case CS_CONNECTING: return "connecting";
	case CS_CLEAR: return "clear";
	case CS_SNIFF: return "waiting";
	case CS_HANDSHAKE: return "handshake";
	case CS_SECURE: return "secure";
	case CS_STOPPING: return "stopping";
	case CS_DEAD: return "closed";
	}
	return "?";
}
