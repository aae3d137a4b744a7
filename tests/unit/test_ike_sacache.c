/* The SA cache: entries per tunnel, replaced on each generation, cleared per
 * tunnel or all, bounded in size (the oldest goes first). */
#include "tests/unit/support.h"

#include <stdio.h>
#include <string.h>

#include "iked/sacache.h"
#include "policy/schema.h"

static struct sacache_entry entry(char kind, unsigned id, unsigned gen, const char *key)
{
	struct sacache_entry e;
	memset(&e, 0, sizeof e);
	e.kind = kind;
	e.tunnel_id = id;
	e.generation = gen;
	snprintf(e.key, sizeof e.key, "%s", key);
	e.p2.pfs_group = 19;
	snprintf(e.p2.offer_name, sizeof e.p2.offer_name, "d%u", gen);
	return e;
}

START_TEST(put_get_replace)
{
	struct sacache c;
	sacache_init(&c);
	struct sacache_entry e = entry('Y', 1, 1, "Y|r|a|b|p");
	ck_assert_int_eq(sacache_put(&c, &e), 0);
	const struct sacache_entry *g = sacache_get(&c, "Y|r|a|b|p");
	ck_assert_ptr_nonnull(g);
	ck_assert_str_eq(g->p2.offer_name, "d1");
	ck_assert_int_eq(g->p2.pfs_group, 19);
	ck_assert(g->stored > 0);
	e = entry('Y', 1, 2, "Y|r|a|b|p");
	ck_assert_int_eq(sacache_put(&c, &e), 0);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_uint_eq(sacache_get(&c, "Y|r|a|b|p")->generation, 2);
	ck_assert_ptr_null(sacache_get(&c, "Y|other"));
	ck_assert_ptr_eq(sacache_find_id(&c, 'Y', 1), sacache_get(&c, "Y|r|a|b|p"));
	ck_assert_ptr_null(sacache_find_id(&c, 'K', 1));
	sacache_free(&c);
}
END_TEST

START_TEST(clear_one_or_all)
{
	struct sacache c;
	sacache_init(&c);
	struct sacache_entry a = entry('K', 1, 1, "K|a"), b = entry('Y', 1, 1, "Y|b"),
			     d = entry('Y', 2, 1, "Y|d");
	sacache_put(&c, &a);
	sacache_put(&c, &b);
	sacache_put(&c, &d);
	ck_assert_uint_eq(sacache_clear(&c, "Y1"), 1);
	ck_assert_ptr_null(sacache_get(&c, "Y|b"));
	ck_assert_ptr_nonnull(sacache_get(&c, "K|a"));
	ck_assert_uint_eq(sacache_clear(&c, "Y9"), 0);
	ck_assert_uint_eq(sacache_clear(&c, NULL), 2);
	ck_assert_uint_eq(c.n, 0);
	sacache_free(&c);
}
END_TEST

START_TEST(bounded)
{
	struct sacache c;
	sacache_init(&c);
	char key[32];
	for (unsigned i = 0; i < SACACHE_MAX + 10; i++) {
		snprintf(key, sizeof key, "Y|%u", i);
		struct sacache_entry e = entry('Y', i + 1, 1, key);
		ck_assert_int_eq(sacache_put(&c, &e), 0);
	}
	ck_assert_uint_eq(c.n, SACACHE_MAX);
	ck_assert_ptr_null(sacache_get(&c, "Y|0"));         /* the oldest went */
	ck_assert_ptr_null(sacache_get(&c, "Y|9"));
	ck_assert_ptr_nonnull(sacache_get(&c, "Y|10"));
	snprintf(key, sizeof key, "Y|%u", SACACHE_MAX + 9);
	ck_assert_ptr_nonnull(sacache_get(&c, key));
	sacache_free(&c);
}
END_TEST

/* Storing an entry again makes it the newest: it outlives older ones. */
START_TEST(replacing_makes_newest)
{
	struct sacache c;
	sacache_init(&c);
	char key[32];
	for (unsigned i = 0; i < SACACHE_MAX; i++) {
		snprintf(key, sizeof key, "K|%u", i);
		struct sacache_entry e = entry('K', i + 1, 1, key);
		ck_assert_int_eq(sacache_put(&c, &e), 0);
	}
	struct sacache_entry again = entry('K', 1, 2, "K|0");
	ck_assert_int_eq(sacache_put(&c, &again), 0);
	struct sacache_entry fresh = entry('K', 9999, 1, "K|new");
	ck_assert_int_eq(sacache_put(&c, &fresh), 0);
	ck_assert_uint_eq(c.n, SACACHE_MAX);
	ck_assert_uint_eq(sacache_get(&c, "K|0")->generation, 2);
	ck_assert_ptr_null(sacache_get(&c, "K|1"));          /* now the oldest went */
	ck_assert_ptr_nonnull(sacache_get(&c, "K|new"));
	ck_assert_ptr_eq(sacache_find_id(&c, 'K', 9999), sacache_get(&c, "K|new"));
	sacache_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ike_sacache");
	TCase *tc = tcase_create("sacache");
	tcase_add_test(tc, put_get_replace);
	tcase_add_test(tc, clear_one_or_all);
	tcase_add_test(tc, bounded);
	tcase_add_test(tc, replacing_makes_newest);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
