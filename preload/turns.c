#include "preload/turns.h"

void turns_again(struct turns *t, struct conn *c)
{
	if (c->queued_again)
		return;
	c->queued_again = true;
	c->again_next = t->again;
	t->again = c;
}

bool turns_pending(const struct turns *t)
{
	return t->again != NULL;
}

struct conn *turns_take(struct turns *t)
{
	struct conn *list = t->again;
	t->again = NULL;
	return list;
}

struct conn *turns_next(struct conn *c)
{
	struct conn *n = c->again_next;
	c->again_next = NULL;
	c->queued_again = false;
	return n;
}

void turns_bury(struct turns *t, struct conn *c)
{
	c->next = t->dead;
	t->dead = c;
}

/* A connection torn down during a pass may already be queued for the next one
 * (a step that asked for another turn, then failed): left there, the next pass
 * would step freed memory. */
static void unqueue_dead(struct turns *t)
{
	struct conn **pp = &t->again;
	while (*pp) {
		struct conn *c = *pp;
		if (c->st == CS_DEAD)
			*pp = turns_next(c);
		else
			pp = &c->again_next;
	}
}

void turns_release(struct turns *t)
{
	if (!t->dead)
		return;
	unqueue_dead(t);
	while (t->dead) {
		struct conn *c = t->dead;
		t->dead = c->next;
		c->next = NULL;
		conn_unref(c);   /* the engine's reference */
	}
}
