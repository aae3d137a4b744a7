/* iked/dp_table: the SA table the tun backend's data threads read without
 * locks. Lookups (inbound by SPI, outbound newest first and never an SA at
 * its hard limit), and when a replaced table or a removed SA may be freed:
 * never while a data thread is in a pass that began before the swap. */
#include "tests/unit/support.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "iked/datapath.h"

static struct tsa *sa_new(bool inbound, uint32_t spi, const char *dst_range)
{
	struct tsa *sa = calloc(1, sizeof *sa);
	ck_assert_ptr_nonnull(sa);
	sa->inbound = inbound;
	sa->esp.spi = spi;
	sa->dst.family = AF_INET;
	sa->dst.b[0] = 198, sa->dst.b[1] = 18, sa->dst.b[3] = inbound ? 1 : 2;
	ck_assert_ptr_null(ip_range_parse(dst_range, &sa->sel.dst));
	return sa;
}

static struct tunk *tunk_new(void)
{
	struct tunk *t = calloc(1, sizeof *t);
	ck_assert_ptr_nonnull(t);
	t->published = -1;
	atomic_store(&t->table, dp_table_new(0, 0));
	return t;
}

static void nothing(const struct tsa *sa)
{
	(void)sa;
}

static struct ip_flow flow_to(uint8_t last)
{
	struct ip_flow f;
	memset(&f, 0, sizeof f);
	f.src.family = f.dst.family = AF_INET;
	f.dst.b[0] = 198, f.dst.b[1] = 19, f.dst.b[2] = 2, f.dst.b[3] = last;
	return f;
}

START_TEST(lookups)
{
	struct tunk *t = tunk_new();
	static const uint32_t spis[] = { 900, 5, 77, 300000, 6 };
	for (size_t i = 0; i < 5; i++)
		ck_assert_int_eq(dp_add(t, sa_new(true, spis[i], "All")), 0);
	struct tsa *old = sa_new(false, 1, "198.19.2.0/24"), *new = sa_new(false, 2, "198.19.2.0/24");
	struct tsa *other = sa_new(false, 3, "198.19.3.0/24");
	ck_assert_int_eq(dp_add(t, old), 0);
	ck_assert_int_eq(dp_add(t, other), 0);
	const struct table *tb = dp_current(t);
	ck_assert_uint_eq(tb->nin, 5);
	for (size_t i = 0; i < 5; i++)
		ck_assert_uint_eq(dp_find_in(tb, spis[i])->esp.spi, spis[i]);
	for (size_t i = 1; i < tb->nin; i++)
		ck_assert_uint_lt(tb->in[i - 1]->esp.spi, tb->in[i]->esp.spi);
	ck_assert_ptr_null(dp_find_in(tb, 78));
	struct ip_flow f = flow_to(9);
	ck_assert_ptr_eq(dp_find_out(tb, &f), old);
	/* a refresh: the newer SA takes the traffic at once */
	ck_assert_int_eq(dp_add(t, new), 0);
	tb = dp_current(t);
	ck_assert_ptr_eq(dp_find_out(tb, &f), new);
	/* ... unless it reached its hard limit */
	atomic_store(&new->hard_hit, true);
	ck_assert_ptr_eq(dp_find_out(tb, &f), old);
	f = flow_to(9);
	f.dst.b[2] = 3;
	ck_assert_ptr_eq(dp_find_out(tb, &f), other);
	f.dst.b[2] = 4;
	ck_assert_ptr_null(dp_find_out(tb, &f));
	/* the IKE thread's view: by destination and SPI */
	ck_assert_ptr_eq(dp_lookup(t, &old->dst, 1), old);
	ck_assert_ptr_null(dp_lookup(t, &old->dst, 900));      /* an inbound SPI, another dst */
	ck_assert_int_eq(dp_remove(t, old), 0);
	ck_assert_ptr_null(dp_lookup(t, &new->dst, 1));
	dp_free_all(t, nothing);
	free(t);
}
END_TEST

START_TEST(nothing_is_freed_under_a_reader)
{
	struct tunk *t = tunk_new();
	struct tsa *sa = sa_new(true, 42, "All");
	ck_assert_int_eq(dp_add(t, sa), 0);
	/* both threads idle: the replaced empty table goes at once */
	dp_reclaim(t);
	ck_assert_uint_eq(t->nretired, 0);
	/* the inbound thread begins a pass and holds the table with sa */
	dp_pass_begin(t, TH_IN);
	const struct table *held = dp_current(t);
	ck_assert_int_eq(dp_remove(t, sa), 0);
	dp_reclaim(t);
	ck_assert_uint_eq(t->nretired, 2);                       /* the table and the SA */
	ck_assert_ptr_eq(dp_find_in(held, 42), sa);              /* still readable */
	/* another pass of the outbound thread changes nothing */
	dp_pass_begin(t, TH_OUT);
	dp_pass_end(t, TH_OUT);
	dp_reclaim(t);
	ck_assert_uint_eq(t->nretired, 2);
	/* the reader's pass ends: now they may go */
	dp_pass_end(t, TH_IN);
	dp_reclaim(t);
	ck_assert_uint_eq(t->nretired, 0);
	/* a pass that begins after a swap never saw what was replaced */
	struct tsa *b = sa_new(true, 43, "All");
	dp_pass_begin(t, TH_IN);
	dp_pass_end(t, TH_IN);
	dp_pass_begin(t, TH_IN);
	ck_assert_int_eq(dp_add(t, b), 0);
	dp_reclaim(t);
	ck_assert_uint_eq(t->nretired, 1);                       /* that pass may hold the old one */
	dp_pass_end(t, TH_IN);
	dp_pass_begin(t, TH_IN);                                 /* a new pass, the new table */
	dp_reclaim(t);
	ck_assert_uint_eq(t->nretired, 0);
	dp_pass_end(t, TH_IN);
	dp_free_all(t, nothing);
	free(t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ike_dptable");
	TCase *tc = tcase_create("dp_table");
	tcase_add_test(tc, lookups);
	tcase_add_test(tc, nothing_is_freed_under_a_reader);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
