/* iked/timer — a binary min-heap of embedded timers. */
#include "iked/timer.h"

#include <stdlib.h>

#define IDLE ((size_t)-1)

void timers_init(struct timers *ts)
{
	ts->heap = NULL;
	ts->n = ts->cap = 0;
}

void timers_free(struct timers *ts)
{
	for (size_t i = 0; i < ts->n; i++)
		ts->heap[i]->idx = IDLE;
	free(ts->heap);
	timers_init(ts);
}

void timer_init(struct timer *t, timer_fn *fn, void *arg)
{
	t->when = 0;
	t->fn = fn;
	t->arg = arg;
	t->idx = IDLE;
}

bool timer_armed(const struct timer *t)
{
	return t->idx != IDLE;
}

static void place(struct timers *ts, size_t i, struct timer *t)
{
	ts->heap[i] = t;
	t->idx = i;
}

static void sift_up(struct timers *ts, size_t i)
{
	struct timer *t = ts->heap[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (ts->heap[parent]->when <= t->when)
			break;
		place(ts, i, ts->heap[parent]);
		i = parent;
	}
	place(ts, i, t);
}

static void sift_down(struct timers *ts, size_t i)
{
	struct timer *t = ts->heap[i];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		uint64_t best = t->when;
		if (l < ts->n && ts->heap[l]->when < best) {
			m = l;
			best = ts->heap[l]->when;
		}
		if (r < ts->n && ts->heap[r]->when < best)
			m = r;
		if (m == i)
			break;
		place(ts, i, ts->heap[m]);
		i = m;
	}
	place(ts, i, t);
}

static void remove_at(struct timers *ts, size_t i)
{
	struct timer *t = ts->heap[i];
	t->idx = IDLE;
	ts->n--;
	if (i == ts->n)
		return;
	struct timer *moved = ts->heap[ts->n];
	place(ts, i, moved);
	sift_down(ts, i);
	sift_up(ts, moved->idx);
}

void timer_cancel(struct timers *ts, struct timer *t)
{
	if (t->idx != IDLE && t->idx < ts->n && ts->heap[t->idx] == t)
		remove_at(ts, t->idx);
	t->idx = IDLE;
}

int timer_at(struct timers *ts, struct timer *t, uint64_t when)
{
	timer_cancel(ts, t);
	if (ts->n == ts->cap) {
		size_t cap = ts->cap ? ts->cap * 2 : 64;
		struct timer **h = realloc(ts->heap, cap * sizeof *h);
		if (!h)
			return -1;
		ts->heap = h;
		ts->cap = cap;
	}
	t->when = when;
	place(ts, ts->n++, t);
	sift_up(ts, t->idx);
	return 0;
}

uint64_t timers_next(const struct timers *ts)
{
	return ts->n ? ts->heap[0]->when : UINT64_MAX;
}

size_t timers_run(struct timers *ts, uint64_t now)
{
	/* Only timers due when the call started run now, so a callback that
	 * re-arms itself for "now" cannot loop forever. */
	size_t ran = 0, budget = ts->n;
	while (ts->n && ts->heap[0]->when <= now && budget--) {
		struct timer *t = ts->heap[0];
		remove_at(ts, 0);
		t->fn(t->arg);
		ran++;
	}
	return ran;
}
