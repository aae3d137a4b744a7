/* iked/swsa_inspect: the display rows of the store's records (sorted,
 * aged), their text and JSON forms, and the whole path from a dir: store. */
#include "tests/unit/support.h"
#include "tests/unit/ike_testutil.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/json.h"
#include "iked/swsa_inspect.h"

static struct swsa_record trec(const char *dvipa, const char *rule, unsigned gen)
{
	struct swsa_record r;
	swsa_test_record(&r, dvipa, rule, gen);
	return r;
}

static struct swsa_record rec(const char *dvipa, const char *rule, const char *owner,
			      unsigned gen, time_t refreshed)
{
	struct swsa_record r = trec(dvipa, rule, gen);
	snprintf(r.owner, sizeof r.owner, "%s", owner);
	r.established = 1796378400;
	r.refreshed = refreshed;
	return r;
}

START_TEST(rows_sorted_and_aged)
{
	time_t now = 1796385600;
	struct swsa_record in[] = {
		rec("2001:db8::10", "a", "nodeB", 1, now - 5),
		rec("198.18.5.11", "z", "nodeA", 2, now - 60),
		rec("198.18.5.10", "toC", "nodeA", 3, now + 30),   /* a clock ahead of ours */
		rec("198.18.5.10", "toB", "nodeB", 4, now - 7200),
	};
	struct swsa_row rows[4];
	swsa_rows_make(NULL, 0, now, rows);       /* an empty store: nothing to sort */
	swsa_rows_make(in, 4, now, rows);
	ck_assert_str_eq(rows[0].dvipa, "198.18.5.10");
	ck_assert_str_eq(rows[0].filter_rule, "toB");
	ck_assert_int_eq(rows[0].age, 7200);
	ck_assert_str_eq(rows[0].owner, "nodeB");
	ck_assert_str_eq(rows[1].filter_rule, "toC");
	ck_assert_int_eq(rows[1].age, 0);
	ck_assert_str_eq(rows[2].dvipa, "198.18.5.11");
	ck_assert_uint_eq(rows[2].generation, 2);
	ck_assert_str_eq(rows[3].dvipa, "2001:db8::10");
	ck_assert_str_eq(rows[3].peer, "198.18.0.2");
	ck_assert_str_eq(rows[3].tunnel, in[0].tunnel);

	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	swsa_rows_text(f, rows, 4, 1);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(text, "198.18.5.10                             toB"));
	ck_assert_ptr_nonnull(strstr(text, "     7200s\n"));
	ck_assert_ptr_nonnull(strstr(text, "4 records, 1 unreadable (see iked's log)\n"));
	free(text);

	f = open_memstream(&text, &len);
	struct json j;
	json_init(&j, f, 0);
	json_obj_begin(&j);
	swsa_rows_json(&j, rows, 1, 0);
	json_obj_end(&j);
	fclose(f);
	char want[600];
	snprintf(want, sizeof want, "{\"records\":[{\"Dvipa\":\"198.18.5.10\",\"IpFilterRule\":\"toB\","
		 "\"RemoteSecurityEndpoint\":\"198.18.0.2\",\"Owner\":\"nodeB\",\"Generation\":4,"
		 "\"Established\":\"2026-12-04T10:00:00Z\",\"Refreshed\":\"2026-12-04T10:00:00Z\","
		 "\"AgeSeconds\":7200,\"Tunnel\":\"%s\"}],\"unreadable\":0}", in[3].tunnel);
	ck_assert_str_eq(text, want);
	free(text);
}
END_TEST

struct got {
	bool called;
	int err;
	size_t n;
	char first[SWSA_NAME_MAX];
};

static void on_rows(void *arg, int err, const struct swsa_row *rows, size_t n, size_t unreadable)
{
	struct got *g = arg;
	g->called = true;
	g->err = err;
	g->n = n;
	if (n)
		strcpy(g->first, rows[0].filter_rule);
	(void)unreadable;
}

START_TEST(inspect_a_dir_store)
{
	char dir[] = "/tmp/attls-swsa-inspect-XXXXXX", url[64], err[200], hint[64];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	struct swsa_store_config c = { .node = "nodeA" };
	snprintf(url, sizeof url, "dir:%s", dir);
	ck_assert_int_eq(store_url_parse(url, &c.url, err, sizeof err, hint, sizeof hint), 0);
	struct swsa_store *s = swsa_store_open(&c, err, sizeof err);
	ck_assert_ptr_nonnull(s);
	struct swsa_record b = rec("198.18.5.10", "toB", "x", 1, time(NULL)),
			   a = rec("198.18.5.10", "toA", "x", 1, time(NULL));
	swsa_store_put(s, &b);
	swsa_store_put(s, &a);
	struct got g = { 0 };
	/* reads wait for the writes queued before them */
	for (int i = 0; i < 2000 && swsa_store_pending(s); i++)
		usleep(5000);
	ck_assert(swsa_inspect(s, &a.dvipa, 10000, on_rows, &g) > 0);
	struct pollfd p = { .fd = swsa_store_event_fd(s), .events = POLLIN };
	for (int i = 0; i < 1000 && !g.called; i++)
		if (poll(&p, 1, 10) > 0)
			swsa_store_dispatch(s);
	ck_assert(g.called);
	ck_assert_int_eq(g.err, 0);
	ck_assert_uint_eq(g.n, 2);
	ck_assert_str_eq(g.first, "toA");
	swsa_store_close(s, 0);
	char cmd[100];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ike_swsa_inspect");
	TCase *tc = tcase_create("inspect");
	tcase_add_test(tc, rows_sorted_and_aged);
	tcase_add_test(tc, inspect_a_dir_store);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
