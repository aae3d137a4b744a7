/*
 * preload/turns — the engine's two lists of connections between epoll rounds:
 * those that asked for another turn without waiting for an edge, and those torn
 * down this round, whose memory may go only once nothing can step them again.
 * Only the engine thread touches them.
 */
#ifndef ATTLS_PRELOAD_TURNS_H
#define ATTLS_PRELOAD_TURNS_H

#include <stdbool.h>

#include "preload/conn.h"

struct turns {
	struct conn *again;   /* via again_next, each at most once (queued_again) */
	struct conn *dead;    /* via next; each holds the engine's reference */
};

/* Give c another turn after this round (no-op when it already has one). */
void turns_again(struct turns *t, struct conn *c);
bool turns_pending(const struct turns *t);
/* Start a pass: the queued connections, the queue emptied for the next round.
 * Walk them with turns_next, which also lets each be queued again. */
struct conn *turns_take(struct turns *t);
struct conn *turns_next(struct conn *c);
/* c is torn down (CS_DEAD): its reference goes at turns_release. */
void turns_bury(struct turns *t, struct conn *c);
/* End of a round: dead connections leave the queue, then lose the engine's
 * reference. */
void turns_release(struct turns *t);

#endif
