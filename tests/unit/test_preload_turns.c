/* preload/turns: the engine's "another turn" queue and the connections torn
 * down in a round. The case that matters: a connection that asks for another
 * turn and then fails in the same pass must not stay queued once its memory
 * goes (seen as gnutls_handshake(NULL) crashing a server under load, when the
 * freed memory became a new connection not yet handed to the engine). */
#include <stdatomic.h>

#include "preload/conn.h"
#include "preload/turns.h"
#include "tests/unit/support.h"

static size_t count_pass(struct turns *t)
{
	size_t n = 0;
	for (struct conn *c = turns_take(t); c; c = turns_next(c))
		n++;
	return n;
}

START_TEST(a_connection_is_queued_once_per_round)
{
	struct turns t = { 0 };
	struct conn *a = conn_new(), *b = conn_new();
	turns_again(&t, a);
	turns_again(&t, b);
	turns_again(&t, a);
	ck_assert(turns_pending(&t));
	ck_assert_uint_eq(count_pass(&t), 2);
	ck_assert(!turns_pending(&t));
	turns_again(&t, a);                      /* free to queue again after its pass */
	ck_assert_uint_eq(count_pass(&t), 1);
	conn_unref(a);
	conn_unref(b);
}
END_TEST

START_TEST(a_connection_that_fails_after_asking_for_a_turn_leaves_the_queue)
{
	struct turns t = { 0 };
	struct conn *failing = conn_new(), *live = conn_new();
	conn_ref(failing);                       /* the test's own look at it */
	live->st = CS_SECURE;
	turns_again(&t, failing);
	turns_again(&t, live);
	/* The pass: each steps; `failing` asks for another turn, then is torn down. */
	for (struct conn *c = turns_take(&t), *n; c; c = n) {
		n = turns_next(c);
		turns_again(&t, c);
		if (c == failing) {
			c->st = CS_DEAD;
			turns_bury(&t, c);
		}
	}
	turns_release(&t);
	ck_assert_uint_eq(atomic_load(&failing->refs), 1);   /* the engine's went */
	ck_assert(!failing->queued_again);
	ck_assert_ptr_null(failing->again_next);
	/* The next round steps only the live one. */
	struct conn *next = turns_take(&t);
	ck_assert_ptr_eq(next, live);
	ck_assert_ptr_null(turns_next(next));
	conn_unref(failing);
	conn_unref(live);
}
END_TEST

START_TEST(release_without_dead_connections_keeps_the_queue)
{
	struct turns t = { 0 };
	struct conn *a = conn_new(), *b = conn_new();
	a->st = b->st = CS_HANDSHAKE;
	turns_again(&t, a);
	turns_again(&t, b);
	turns_release(&t);
	ck_assert_uint_eq(count_pass(&t), 2);
	conn_unref(a);
	conn_unref(b);
}
END_TEST

START_TEST(dead_connections_not_queued_are_released)
{
	struct turns t = { 0 };
	struct conn *d1 = conn_new(), *d2 = conn_new(), *q = conn_new();
	conn_ref(d1);
	d1->st = d2->st = CS_DEAD;
	q->st = CS_CLEAR;
	turns_again(&t, q);
	turns_bury(&t, d1);
	turns_bury(&t, d2);                      /* d2's only reference: freed here */
	turns_release(&t);
	ck_assert_ptr_null(t.dead);
	ck_assert_uint_eq(atomic_load(&d1->refs), 1);
	ck_assert_ptr_eq(turns_take(&t), q);
	turns_next(q);
	conn_unref(d1);
	conn_unref(q);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("preload_turns");
	TCase *tc = tcase_create("turns");
	tcase_add_test(tc, a_connection_is_queued_once_per_round);
	tcase_add_test(tc, a_connection_that_fails_after_asking_for_a_turn_leaves_the_queue);
	tcase_add_test(tc, release_without_dead_connections_keeps_the_queue);
	tcase_add_test(tc, dead_connections_not_queued_are_released);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
