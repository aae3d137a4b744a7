/*
 * iked/timer — one-shot timers on a binary heap, driven by the event loop.
 * A timer is a struct embedded in its owner (an SA, an exchange), so arming
 * and cancelling never allocate; the clock is the daemon's (monotonic
 * milliseconds, replaceable in tests).
 */
#ifndef ATTLS_IKED_TIMER_H
#define ATTLS_IKED_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct timer;
typedef void timer_fn(void *arg);

struct timer {
	uint64_t when;                    /* ms on the daemon's clock */
	timer_fn *fn;
	void *arg;
	size_t idx;                       /* position in the heap; SIZE_MAX when idle */
};

struct timers {
	struct timer **heap;
	size_t n, cap;
};

void timers_init(struct timers *ts);
void timers_free(struct timers *ts);
void timer_init(struct timer *t, timer_fn *fn, void *arg);
/* (Re)arm to fire at the absolute time when. Returns 0, or -1 without memory. */
int timer_at(struct timers *ts, struct timer *t, uint64_t when);
void timer_cancel(struct timers *ts, struct timer *t);
bool timer_armed(const struct timer *t);
/* Earliest deadline, or UINT64_MAX when nothing is armed. */
uint64_t timers_next(const struct timers *ts);
/* Fire every timer due at now (each at most once per call; a callback may
 * arm timers, which run on a later call if also due). Returns how many ran. */
size_t timers_run(struct timers *ts, uint64_t now);

#endif
