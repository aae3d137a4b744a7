/* Unit tests for preload/loglimit, on the test's own clock: a burst per rule
 * and kind, the count of the rest reported once the interval is over, kinds
 * that differ only in numbers counted together, rules and kinds apart, a
 * full table that reports what it forgets, and everything owed at exit. */
#include <stdio.h>
#include <string.h>

#include "preload/loglimit.h"
#include "tests/unit/support.h"

static struct loglimit L;
static struct loglimit_summary due[LOGLIMIT_MAX_DUE];
static size_t ndue;
static int64_t now = 5000;

static void setup(void)
{
	loglimit_init(&L);
	now = 5000;
}

static bool line(const char *rule, const char *msg)
{
	return loglimit_check(&L, rule, msg, 2, now, due, &ndue);
}

/* How many of n identical lines would be printed now. */
static unsigned printed_of(unsigned n, const char *rule, const char *msg)
{
	unsigned k = 0;
	for (unsigned i = 0; i < n; i++)
		k += line(rule, msg);
	return k;
}

START_TEST(a_burst_then_silence_then_one_summary)
{
	ck_assert_uint_eq(printed_of(LOGLIMIT_BURST, "web", "TLS handshake failed: x"),
			  LOGLIMIT_BURST);
	ck_assert_uint_eq(ndue, 0);
	ck_assert_uint_eq(printed_of(4243, "web", "TLS handshake failed: x"), 0);
	ck_assert_uint_eq(ndue, 0);
	now += LOGLIMIT_INTERVAL_MS - 1;
	ck_assert(!line("web", "TLS handshake failed: x"));
	ck_assert_uint_eq(ndue, 0);
	now += 1;
	/* the interval is over: the count comes first, then a new burst */
	ck_assert(line("web", "TLS handshake failed: x"));
	ck_assert_uint_eq(ndue, 1);
	ck_assert_str_eq(due[0].rule, "web");
	ck_assert_str_eq(due[0].sample, "TLS handshake failed: x");
	ck_assert_uint_eq(due[0].count, 4244);
	ck_assert_uint_eq(due[0].trace, 2);
	ck_assert_uint_eq(printed_of(LOGLIMIT_BURST - 1, "web", "TLS handshake failed: x"),
			  LOGLIMIT_BURST - 1);
	ck_assert(!line("web", "TLS handshake failed: x"));
}
END_TEST

START_TEST(nothing_owed_when_nothing_was_held_back)
{
	ck_assert_uint_eq(printed_of(3, "web", "a"), 3);
	now += 10 * LOGLIMIT_INTERVAL_MS;
	ck_assert(line("web", "a"));
	ck_assert_uint_eq(ndue, 0);
	loglimit_drain(&L, due, &ndue);
	ck_assert_uint_eq(ndue, 0);
}
END_TEST

START_TEST(numbers_do_not_make_a_new_kind)
{
	char msg[64];
	unsigned k = 0;
	for (unsigned i = 0; i < 100; i++) {
		snprintf(msg, sizeof msg, "process exited with %u bytes left", i * 37);
		k += line("web", msg);
	}
	ck_assert_uint_eq(k, LOGLIMIT_BURST);
}
END_TEST

START_TEST(rules_and_kinds_are_counted_apart)
{
	ck_assert_uint_eq(printed_of(50, "web", "handshake failed"), LOGLIMIT_BURST);
	ck_assert_uint_eq(printed_of(50, "api", "handshake failed"), LOGLIMIT_BURST);
	ck_assert_uint_eq(printed_of(50, "web", "certificate expired"), LOGLIMIT_BURST);
	/* a rule named like the start of another's message is still another group */
	ck_assert_uint_eq(printed_of(50, "webhandshake", " failed"), LOGLIMIT_BURST);
}
END_TEST

/* Another group's line is enough to bring out a summary that is due. */
START_TEST(summaries_come_with_any_later_line)
{
	printed_of(LOGLIMIT_BURST + 7, "web", "a");
	now += LOGLIMIT_INTERVAL_MS;
	ck_assert(line("api", "b"));
	ck_assert_uint_eq(ndue, 1);
	ck_assert_str_eq(due[0].rule, "web");
	ck_assert_uint_eq(due[0].count, 7);
	ck_assert(line("api", "b"));
	ck_assert_uint_eq(ndue, 0);                 /* said once */
}
END_TEST

/* More groups than slots: the one that makes room reports what it held back,
 * and a group whose slot was taken starts over. */
START_TEST(a_full_table_reports_what_it_forgets)
{
	char rule[16];
	for (unsigned i = 0; i < LOGLIMIT_GROUPS; i++) {
		snprintf(rule, sizeof rule, "r%u", i);
		ck_assert_uint_eq(printed_of(LOGLIMIT_BURST + 1 + i, rule, "x"), LOGLIMIT_BURST);
		now += 1;
	}
	unsigned long reported = 0;
	ck_assert(line("newcomer", "x"));
	ck_assert_uint_eq(ndue, 1);
	ck_assert_str_eq(due[0].rule, "r0");        /* the oldest */
	reported += due[0].count;
	ck_assert_uint_eq(reported, 1);
	ck_assert_uint_eq(printed_of(LOGLIMIT_BURST, "r0", "x"), LOGLIMIT_BURST);
}
END_TEST

START_TEST(drain_reports_everything_owed)
{
	char rule[16];
	for (unsigned i = 0; i < 6; i++) {
		snprintf(rule, sizeof rule, "r%u", i);
		printed_of(LOGLIMIT_BURST + 2, rule, "x");
	}
	unsigned long total = 0;
	unsigned calls = 0;
	do {
		loglimit_drain(&L, due, &ndue);
		ck_assert_uint_le(ndue, LOGLIMIT_MAX_DUE);
		for (size_t i = 0; i < ndue; i++)
			total += due[i].count;
		calls++;
	} while (ndue);
	ck_assert_uint_eq(total, 12);
	ck_assert_uint_eq(calls, 3);
}
END_TEST

/* Many groups due at once: at most LOGLIMIT_MAX_DUE per call, none lost. */
START_TEST(many_summaries_due_at_once)
{
	char rule[16];
	for (unsigned i = 0; i < 10; i++) {
		snprintf(rule, sizeof rule, "r%u", i);
		printed_of(LOGLIMIT_BURST + 1, rule, "x");
	}
	now += LOGLIMIT_INTERVAL_MS;
	unsigned long total = 0;
	for (unsigned i = 0; i < 10; i++) {
		line("other", "y");
		ck_assert_uint_le(ndue, LOGLIMIT_MAX_DUE);
		for (size_t k = 0; k < ndue; k++)
			total += due[k].count;
	}
	ck_assert_uint_eq(total, 10);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("preload_loglimit");
	TCase *tc = tcase_create("loglimit");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, a_burst_then_silence_then_one_summary);
	tcase_add_test(tc, nothing_owed_when_nothing_was_held_back);
	tcase_add_test(tc, numbers_do_not_make_a_new_kind);
	tcase_add_test(tc, rules_and_kinds_are_counted_apart);
	tcase_add_test(tc, summaries_come_with_any_later_line);
	tcase_add_test(tc, a_full_table_reports_what_it_forgets);
	tcase_add_test(tc, drain_reports_everything_owed);
	tcase_add_test(tc, many_summaries_due_at_once);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
