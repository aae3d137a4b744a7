/* iked/daemon — the daemon object without its sockets: policy, clock,
 * timers, SA database, SA cache, kernel backend. The event loop (main.c)
 * and the in-process unit tests both drive it through ike_input() and
 * iked_tick(). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "iked/cert.h"
#include "iked/exchange.h"
#include "iked/install.h"
#include "iked/kernel.h"
#include "policy/policy.h"

static uint64_t monotonic_ms(void *ctx)
{
	(void)ctx;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct iked *iked_new(struct policy *pol, struct kernel *kernel, const struct net_ops *net)
{
	struct iked *ike = calloc(1, sizeof *ike);
	if (!ike)
		return NULL;
	ike->pol = pol;
	ike->ip = policy_ipsec(pol);
	ike->kernel = kernel;
	if (kernel) {
		/* what the data path reports (byte limits) comes here */
		kernel->report = p2_kernel_event;
		kernel->report_ctx = ike;
	}
	if (net)
		ike->net = *net;
	ike->clock_ms = monotonic_ms;
	timers_init(&ike->timers);
	sacache_init(&ike->cache);
	ike->limits.half_open_total = 1024;
	ike->limits.half_open_per_peer = 64;
	for (size_t i = 0; i < P1_HASH_BUCKETS; i++)
		LIST_INIT(&ike->p1_by_cookie[i]);
	LIST_INIT(&ike->p1_all);
	LIST_INIT(&ike->p2_all);
	TAILQ_INIT(&ike->ktunnels);
	TAILQ_INIT(&ike->ytunnels);
	LIST_INIT(&ike->p1_lingering);
	LIST_INIT(&ike->p1_dead);
	LIST_INIT(&ike->p2_dead);
	TAILQ_INIT(&ike->kt_dead);
	TAILQ_INIT(&ike->yt_dead);
	return ike;
}

void iked_set_policy(struct iked *ike, struct policy *pol)
{
	struct policy *old = ike->pol;
	ike->pol = pol;
	ike->ip = policy_ipsec(pol);
	policy_unref(old);
}

void iked_tick(struct iked *ike)
{
	sa_turn_begin(ike);
	timers_run(&ike->timers, iked_now(ike));
	sa_turn_end(ike);
}

void iked_free(struct iked *ike)
{
	if (!ike)
		return;
	if (ike->kernel && ike->kernel->report_ctx == ike)
		ike->kernel->report = NULL;
	struct p2sa *p2;
	LIST_FOREACH(p2, &ike->p2_all, all)
		kernel_remove_p2(ike, p2);
	sa_free_all(ike);
	sacache_free(&ike->cache);
	timers_free(&ike->timers);
	if (ike->pol)
		policy_unref(ike->pol);
	free(ike);
}
