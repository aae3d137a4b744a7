/* common/arena: zeroed allocations, strings, growth that keeps what was
 * there and clears what is new, printf and concat results of any length. */
#include <stdint.h>
#include <string.h>

#include "common/arena.h"
#include "tests/unit/support.h"

START_TEST(alloc_and_array_are_zeroed)
{
	struct arena a;
	arena_init(&a);
	/* dirty the chunk first, so zeroing is not the fresh memory's doing */
	char *junk = arena_strndup(&a, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 31);
	ck_assert_ptr_nonnull(junk);
	for (int i = 0; i < 100; i++) {
		unsigned char *p = arena_alloc(&a, 40);
		ck_assert_ptr_nonnull(p);
		for (int k = 0; k < 40; k++)
			ck_assert_uint_eq(p[k], 0);
		memset(p, 0xa5, 40);
	}
	uint32_t *v = arena_array(&a, 1000, sizeof *v);
	for (int i = 0; i < 1000; i++)
		ck_assert_uint_eq(v[i], 0);
	ck_assert_ptr_null(arena_array(&a, SIZE_MAX / 2, 4));
	arena_free(&a);
}
END_TEST

START_TEST(strndup_ends_the_copy)
{
	struct arena a;
	arena_init(&a);
	for (int i = 0; i < 50; i++) {
		char *p = arena_strndup(&a, "abcdefgh", 3);
		ck_assert_str_eq(p, "abc");
		memset(p, 'z', 4);          /* over the terminator: the next copy must not care */
	}
	ck_assert_str_eq(arena_strndup(&a, "", 0), "");
	ck_assert_str_eq(arena_strdup(&a, "whole"), "whole");
	ck_assert_ptr_null(arena_strdup(&a, NULL));
	arena_free(&a);
}
END_TEST

START_TEST(grow_keeps_old_elements_and_clears_new_ones)
{
	struct arena a;
	arena_init(&a);
	uint64_t *v = NULL;
	size_t n = 0;
	for (size_t cap = 4; cap <= 4096; cap *= 2) {
		uint64_t *nv = arena_grow(&a, v, n, cap, sizeof *nv);
		ck_assert_ptr_nonnull(nv);
		for (size_t i = 0; i < n; i++)
			ck_assert_uint_eq(nv[i], i * 7 + 1);
		for (size_t i = n; i < cap; i++)
			ck_assert_uint_eq(nv[i], 0);
		for (size_t i = n; i < cap; i++)
			nv[i] = i * 7 + 1;
		/* scribble over the old copy: the new one is its own */
		if (v)
			memset(v, 0xff, n * sizeof *v);
		v = nv;
		n = cap;
	}
	/* shrinking keeps the first newn */
	uint64_t *s = arena_grow(&a, v, n, 3, sizeof *s);
	ck_assert_uint_eq(s[0], 1);
	ck_assert_uint_eq(s[2], 15);
	ck_assert_ptr_nonnull(arena_grow(&a, NULL, 0, 5, 8));
	ck_assert_ptr_null(arena_grow(&a, NULL, 0, SIZE_MAX / 4, 8));
	arena_free(&a);
}
END_TEST

START_TEST(printf_and_concat_of_any_length)
{
	struct arena a;
	arena_init(&a);
	ck_assert_str_eq(arena_printf(&a, "%s.%s#%d", "rule", "TTLSKeyringParms", 2),
			 "rule.TTLSKeyringParms#2");
	char big[1000];
	memset(big, 'q', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	char *p = arena_printf(&a, "<%s>", big);
	ck_assert_uint_eq(strlen(p), sizeof big + 1);
	ck_assert_int_eq(p[0], '<');
	ck_assert_int_eq(p[sizeof big], '>');
	ck_assert_str_eq(arena_printf(&a, "%s", ""), "");
	ck_assert_str_eq(arena_concat(&a, "TTLSEnvironmentAction", " ", "env1", NULL),
			 "TTLSEnvironmentAction env1");
	ck_assert_str_eq(arena_concat(&a, NULL), "");
	ck_assert_str_eq(arena_concat(&a, "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", NULL),
			 "1234567891011");
	char *q = arena_concat(&a, big, big, NULL);
	ck_assert_uint_eq(strlen(q), 2 * (sizeof big - 1));
	arena_free(&a);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("common_arena");
	TCase *tc = tcase_create("arena");
	tcase_add_test(tc, alloc_and_array_are_zeroed);
	tcase_add_test(tc, strndup_ends_the_copy);
	tcase_add_test(tc, grow_keeps_old_elements_and_clears_new_ones);
	tcase_add_test(tc, printf_and_concat_of_any_length);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
