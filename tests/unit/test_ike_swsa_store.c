/* iked/swsa_store with the dir: backend: writes that land (fsync+rename, one
 * file per tunnel), reads by DVIPA with garbage counted, deletes that spare
 * another node's record, newest-wins pending writes, an outage that is
 * logged once and whose writes land when the directory is back, read
 * timeouts, giveback, bounds and cancel. Redis: tests/integration. */
#include "tests/unit/support.h"
#include "tests/unit/ike_testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "iked/swsa_store.h"

static struct swsa_record trec(const char *dvipa, const char *rule, unsigned gen)
{
	struct swsa_record r;
	swsa_test_record(&r, dvipa, rule, gen);
	return r;
}

/* Bounds on waiting for the worker: a failure guard, never a measurement. */
#define WAIT_MS 10000

static char dir[64];
static char missing[96];                  /* a directory that is not there (yet) */
static char logfile[96];

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/attls-swsa-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(missing, sizeof missing, "%s/later", dir);
	snprintf(logfile, sizeof logfile, "%s.log", dir);
	log_init("test", LOG_TO_FILE);
	log_set_level(LOG_DEBUG);
	ck_assert_int_eq(log_set_file(logfile), 0);
}

static void teardown(void)
{
	log_set_file(NULL);
	unlink(logfile);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

static struct swsa_store *open_store(const char *path, const char *node, size_t max_records)
{
	struct swsa_store_config c = { .node = node, .retry_min_ms = 10, .retry_max_ms = 40,
				       .max_records = max_records };
	char err[200], hint[100], url[128];
	snprintf(url, sizeof url, "dir:%s", path);
	ck_assert_int_eq(store_url_parse(url, &c.url, err, sizeof err, hint, sizeof hint), 0);
	struct swsa_store *s = swsa_store_open(&c, err, sizeof err);
	ck_assert_msg(s != NULL, "%s", err);
	return s;
}

static void wait_state(struct swsa_store *s, const struct swsa_record *r, enum swsa_state want)
{
	for (int i = 0; i < WAIT_MS / 5 && swsa_store_state(s, &r->dvipa, r->tunnel) != want; i++)
		sleep_ms(5);
	ck_assert_str_eq(swsa_state_name(swsa_store_state(s, &r->dvipa, r->tunnel)),
			 swsa_state_name(want));
}

static void wait_pending(struct swsa_store *s, size_t want)
{
	for (int i = 0; i < WAIT_MS / 5 && swsa_store_pending(s) != want; i++)
		sleep_ms(5);
	ck_assert_uint_eq(swsa_store_pending(s), want);
}

static void file_of(const struct swsa_record *r, char *path, size_t len)
{
	char key[SWSA_KEY_MAX], file[SWSA_KEY_MAX];
	ck_assert_int_eq(swsa_key(&r->dvipa, r->tunnel, key, sizeof key), 0);
	ck_assert_int_eq(swsa_key_to_file(key, file, sizeof file), 0);
	snprintf(path, len, "%s/%s", dir, file);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = malloc(SWSA_RECORD_MAX + 1);
	*len = fread(buf, 1, SWSA_RECORD_MAX, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static struct swsa_record read_file(const struct swsa_record *r)
{
	char path[256], err[200];
	file_of(r, path, sizeof path);
	size_t len;
	char *text = slurp(path, &len);
	ck_assert_msg(text != NULL, "%s: %s", path, strerror(errno));
	struct swsa_record back;
	ck_assert_msg(swsa_record_decode(text, len, &back, err, sizeof err) == 0, "%s", err);
	free(text);
	return back;
}

/* What a read's callback received. */
struct got {
	bool called;
	int err;
	size_t n, unreadable;
	char rules[8][SWSA_NAME_MAX];
};

static void on_records(void *arg, int err, const struct swsa_record *recs, size_t n,
		       size_t unreadable)
{
	struct got *g = arg;
	g->called = true;
	g->err = err;
	g->n = n;
	g->unreadable = unreadable;
	for (size_t i = 0; i < n && i < 8; i++)
		strcpy(g->rules[i], recs[i].filter_rule);
}

/* Run the event loop's part until the callback ran. */
static void dispatch_until(struct swsa_store *s, struct got *g)
{
	struct pollfd p = { .fd = swsa_store_event_fd(s), .events = POLLIN };
	for (int i = 0; i < WAIT_MS / 10 && !g->called; i++) {
		if (poll(&p, 1, 10) > 0)
			swsa_store_dispatch(s);
	}
	ck_assert(g->called);
}

static bool has_rule(const struct got *g, const char *rule)
{
	for (size_t i = 0; i < g->n && i < 8; i++)
		if (strcmp(g->rules[i], rule) == 0)
			return true;
	return false;
}

static size_t count_in_log(const char *needle)
{
	size_t n = 0;
	FILE *f = fopen(logfile, "r");
	if (!f)
		return 0;
	char line[1024];
	while (fgets(line, sizeof line, f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

START_TEST(put_writes_one_file_per_tunnel)
{
	struct swsa_store *s = open_store(dir, "nodeA", 0);
	struct swsa_record r = trec("198.18.5.10", "toB", 1);
	ck_assert_str_eq(swsa_state_name(swsa_store_state(s, &r.dvipa, r.tunnel)), "none");
	ck_assert_int_eq(swsa_store_put(s, &r), 0);
	wait_state(s, &r, SWSA_WRITTEN);
	ck_assert(swsa_store_up(s));
	struct swsa_record back = read_file(&r);
	ck_assert_str_eq(back.owner, "nodeA");
	ck_assert_str_eq(back.filter_rule, "toB");
	char path[256];
	file_of(&r, path, sizeof path);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0640);
	/* nothing else but the lock file is left behind */
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t files = 0;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' || strcmp(e->d_name, ".attls-swsa.lock") == 0)
			files++;
		else if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			ck_abort_msg("left behind: %s", e->d_name);
	closedir(d);
	ck_assert_uint_eq(files, 2);
	swsa_store_close(s, 0);
}
END_TEST

START_TEST(newest_put_wins)
{
	struct swsa_store *s = open_store(dir, "nodeA", 0);
	struct swsa_record r = trec("198.18.5.10", "toB", 1);
	for (unsigned g = 1; g <= 50; g++) {
		r.generation = g;
		ck_assert_int_eq(swsa_store_put(s, &r), 0);
	}
	wait_pending(s, 0);
	wait_state(s, &r, SWSA_WRITTEN);
	ck_assert_uint_eq(read_file(&r).generation, 50);
	swsa_store_close(s, 0);
}
END_TEST

START_TEST(get_by_dvipa_and_all)
{
	struct swsa_store *s = open_store(dir, "nodeA", 0);
	struct swsa_record a = trec("198.18.5.10", "toB", 1), b = trec("198.18.5.10", "toC", 1),
			   c = trec("2001:db8::10", "toD", 1);
	swsa_store_put(s, &a);
	swsa_store_put(s, &b);
	swsa_store_put(s, &c);
	wait_pending(s, 0);
	/* garbage under a record's name, a record filed under another tunnel's
	 * name, and files that are not records at all */
	char path[512];
	struct swsa_record g = trec("198.18.5.10", "garbage", 1);
	file_of(&g, path, sizeof path);
	FILE *f = fopen(path, "w");
	fputs("{\"Format\":1,\"Tunnel\":", f);
	fclose(f);
	struct swsa_record m = trec("198.18.5.10", "misfiled", 1);
	char from[256], to[256];
	file_of(&a, from, sizeof from);
	file_of(&m, to, sizeof to);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "cp %s %s", from, to);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(path, sizeof path, "%s/README", dir);
	fclose(fopen(path, "w"));

	struct got got = { 0 };
	ck_assert(swsa_store_get(s, &a.dvipa, WAIT_MS, on_records, NULL, &got) > 0);
	dispatch_until(s, &got);
	ck_assert_int_eq(got.err, 0);
	ck_assert_uint_eq(got.n, 2);
	ck_assert(has_rule(&got, "toB") && has_rule(&got, "toC"));
	ck_assert_uint_eq(got.unreadable, 2);
	ck_assert_uint_eq(count_in_log("is unreadable and ignored: not JSON"), 1);
	ck_assert_uint_eq(count_in_log("is not about the tunnel its key names"), 1);

	memset(&got, 0, sizeof got);
	ck_assert(swsa_store_get(s, NULL, WAIT_MS, on_records, NULL, &got) > 0);
	dispatch_until(s, &got);
	ck_assert_uint_eq(got.n, 3);
	ck_assert(has_rule(&got, "toD"));
	swsa_store_close(s, 0);
}
END_TEST

START_TEST(delete_spares_another_nodes_record)
{
	struct swsa_store *a = open_store(dir, "nodeA", 0), *b = open_store(dir, "nodeB", 0);
	struct swsa_record r = trec("198.18.5.10", "toB", 1), q = trec("198.18.5.10", "toC", 1);
	swsa_store_put(a, &r);
	swsa_store_put(a, &q);
	wait_pending(a, 0);
	/* nodeB took the DVIPA over and rewrote toB's record */
	r.generation = 2;
	swsa_store_put(b, &r);
	wait_state(b, &r, SWSA_WRITTEN);
	ck_assert_int_eq(swsa_store_delete(a, &r.dvipa, r.tunnel), 0);
	ck_assert_int_eq(swsa_store_delete(a, &q.dvipa, q.tunnel), 0);
	ck_assert_str_eq(swsa_state_name(swsa_store_state(a, &r.dvipa, r.tunnel)), "none");
	wait_pending(a, 0);
	ck_assert_str_eq(read_file(&r).owner, "nodeB");
	ck_assert_uint_eq(count_in_log("names another owner now; it stays"), 1);
	char path[256];
	file_of(&q, path, sizeof path);
	ck_assert_int_eq(access(path, F_OK), -1);
	/* the owner deletes its own */
	swsa_store_delete(b, &r.dvipa, r.tunnel);
	wait_pending(b, 0);
	file_of(&r, path, sizeof path);
	ck_assert_int_eq(access(path, F_OK), -1);
	/* and an unreadable record is nobody else's */
	FILE *f = fopen(path, "w");
	fputs("garbage", f);
	fclose(f);
	swsa_store_delete(a, &r.dvipa, r.tunnel);
	wait_pending(a, 0);
	ck_assert_int_eq(access(path, F_OK), -1);
	swsa_store_close(a, 0);
	swsa_store_close(b, 0);
}
END_TEST

/* The directory is not there (a shared mount missing): the writes wait,
 * the outage is logged once however often the worker retries, and when the
 * directory appears everything pending lands. */
START_TEST(outage_then_writes_land)
{
	struct swsa_store *s = open_store(missing, "nodeA", 0);
	struct swsa_record r = trec("198.18.5.10", "toB", 1), q = trec("198.18.5.10", "toC", 1);
	ck_assert_int_eq(swsa_store_put(s, &r), 0);
	ck_assert_int_eq(swsa_store_put(s, &q), 0);
	/* several attempts fail (the delay tops out at 40 ms) */
	for (int i = 0; i < WAIT_MS / 5 && count_in_log("SWSA store dir:") < 4; i++)
		sleep_ms(5);
	ck_assert_str_eq(swsa_state_name(swsa_store_state(s, &r.dvipa, r.tunnel)), "pending");
	ck_assert_uint_eq(swsa_store_pending(s), 2);
	ck_assert(!swsa_store_up(s));
	ck_assert_uint_eq(count_in_log("cannot be used (connect: directory"), 1);
	ck_assert_int_eq(mkdir(missing, 0750), 0);
	wait_state(s, &r, SWSA_WRITTEN);
	wait_state(s, &q, SWSA_WRITTEN);
	ck_assert(swsa_store_up(s));
	ck_assert_uint_eq(count_in_log("cannot be used"), 1);
	ck_assert_uint_eq(count_in_log("is back; 2 record writes pending"), 1);
	swsa_store_close(s, 0);
}
END_TEST

START_TEST(read_times_out_while_down)
{
	struct swsa_store *s = open_store(missing, "nodeA", 0);
	struct ip_addr a;
	ip_addr_parse("198.18.5.10", &a);
	struct got got = { 0 };
	ck_assert(swsa_store_get(s, &a, 50, on_records, NULL, &got) > 0);
	dispatch_until(s, &got);
	ck_assert_int_eq(got.err, ETIMEDOUT);
	ck_assert_uint_eq(got.n, 0);
	swsa_store_close(s, 0);
}
END_TEST

START_TEST(forget_drops_a_dvipas_pending_writes)
{
	struct swsa_store *s = open_store(missing, "nodeA", 0);
	struct swsa_record r = trec("198.18.5.10", "toB", 1), q = trec("198.18.5.11", "toC", 1);
	swsa_store_put(s, &r);
	swsa_store_put(s, &q);
	swsa_store_forget(s, &r.dvipa);
	ck_assert_uint_eq(swsa_store_pending(s), 1);
	ck_assert_str_eq(swsa_state_name(swsa_store_state(s, &r.dvipa, r.tunnel)), "none");
	ck_assert_int_eq(mkdir(missing, 0750), 0);
	wait_state(s, &q, SWSA_WRITTEN);
	swsa_store_close(s, 0);
	char path[256], key[SWSA_KEY_MAX], file[SWSA_KEY_MAX];
	swsa_key(&r.dvipa, r.tunnel, key, sizeof key);
	swsa_key_to_file(key, file, sizeof file);
	snprintf(path, sizeof path, "%s/%s", missing, file);
	ck_assert_int_eq(access(path, F_OK), -1);
}
END_TEST

static void release_got(void *arg)
{
	((struct got *)arg)->err = -1;    /* marks "released" */
}

START_TEST(bounded_and_cancelled)
{
	struct swsa_store *s = open_store(missing, "nodeA", 2);
	struct swsa_record a = trec("198.18.5.10", "a", 1), b = trec("198.18.5.10", "b", 1),
			   c = trec("198.18.5.10", "c", 1);
	ck_assert_int_eq(swsa_store_put(s, &a), 0);
	ck_assert_int_eq(swsa_store_put(s, &b), 0);
	ck_assert_int_eq(swsa_store_put(s, &c), -1);
	ck_assert_int_eq(swsa_store_put(s, &a), 0);      /* a tracked tunnel is not a new one */
	struct got got = { 0 }, other = { 0 }, left = { 0 };
	long id = swsa_store_get(s, &a.dvipa, 30, on_records, release_got, &got);
	ck_assert(id > 0);
	ck_assert(swsa_store_get(s, &a.dvipa, 60, on_records, NULL, &other) > id);
	swsa_store_cancel(s, id);
	dispatch_until(s, &other);
	ck_assert(!got.called);
	ck_assert_int_eq(got.err, -1);
	/* a read still waiting when the store closes is released, not answered */
	ck_assert(swsa_store_get(s, &a.dvipa, WAIT_MS, on_records, release_got, &left) > 0);
	swsa_store_close(s, 0);
	ck_assert(!left.called);
	ck_assert_int_eq(left.err, -1);
}
END_TEST

/* A record this node's own decoder would refuse is never written: another
 * node could not read it back. */
START_TEST(unreadable_records_are_not_written)
{
	struct swsa_store *s = open_store(dir, "nodeA", 0);
	struct swsa_record r = trec("198.18.5.10", "toB", 1);
	r.p2.pfs_group = 3;
	ck_assert_int_eq(swsa_store_put(s, &r), -1);
	r = trec("198.18.5.10", "toB", 1);
	r.vpn_action[0] = '\0';
	ck_assert_int_eq(swsa_store_put(s, &r), -1);
	ck_assert_str_eq(swsa_state_name(swsa_store_state(s, &r.dvipa, r.tunnel)), "none");
	ck_assert_uint_eq(count_in_log("cannot be written: Phase2.Pfs \"?\""), 1);
	ck_assert_uint_eq(count_in_log("cannot be written: IpDynVpnAction is empty"), 1);
	swsa_store_close(s, 0);
}
END_TEST

START_TEST(close_flushes)
{
	struct swsa_store *s = open_store(dir, "nodeA", 0);
	struct swsa_record r = trec("198.18.5.10", "toB", 7);
	swsa_store_put(s, &r);
	swsa_store_close(s, WAIT_MS);
	ck_assert_uint_eq(read_file(&r).generation, 7);
}
END_TEST

/* A writer that died between create and rename leaves a temporary file:
 * the next connection removes it once it is old, and never a fresh one
 * (another node may be writing it right now). */
START_TEST(stale_temporary_files_go)
{
	char old[256], fresh[256];
	snprintf(old, sizeof old, "%s/.tmp.0badf00d.x.json", dir);
	snprintf(fresh, sizeof fresh, "%s/.tmp.0000f00d.y.json", dir);
	fclose(fopen(old, "w"));
	fclose(fopen(fresh, "w"));
	struct timespec t[2] = { { time(NULL) - 3600, 0 }, { time(NULL) - 3600, 0 } };
	ck_assert_int_eq(utimensat(AT_FDCWD, old, t, 0), 0);
	struct swsa_store *s = open_store(dir, "nodeA", 0);
	struct swsa_record r = trec("198.18.5.10", "toB", 1);
	swsa_store_put(s, &r);
	wait_state(s, &r, SWSA_WRITTEN);
	ck_assert_int_eq(access(old, F_OK), -1);
	ck_assert_int_eq(access(fresh, F_OK), 0);
	swsa_store_close(s, 0);
}
END_TEST

/* What iked reads from its policy to open the store and to tell a DVIPA. */
START_TEST(config_from_the_policy)
{
	struct diags d;
	diags_init(&d);
	struct policy *p = must_load("IkeConfig { SwsaStore redis://10.0.0.5:7000/2 "
				     "SwsaStorePasswordFile /etc/attls/pw SwsaNode nodeA "
				     "SwsaDvipa 198.18.5.10 SwsaDvipa 2001:db8::10 }\n", &d);
	const struct ike_config *ic = &policy_ipsec(p)->ike;
	struct swsa_store_config c;
	ck_assert(swsa_config_from_policy(ic, &c));
	ck_assert_int_eq(c.url.kind, STORE_REDIS);
	ck_assert_uint_eq(c.url.port, 7000);
	ck_assert_str_eq(c.password_file, "/etc/attls/pw");
	ck_assert_str_eq(c.node, "nodeA");
	struct ip_addr a;
	ip_addr_parse("198.18.5.10", &a);
	ck_assert(swsa_is_dvipa(ic, &a));
	ip_addr_parse("2001:db8::10", &a);
	ck_assert(swsa_is_dvipa(ic, &a));
	ip_addr_parse("198.18.5.11", &a);
	ck_assert(!swsa_is_dvipa(ic, &a));
	ip_addr_parse("::ffff:198.18.5.10", &a);
	ck_assert(!swsa_is_dvipa(ic, &a));
	policy_unref(p);
	diags_free(&d);

	diags_init(&d);
	p = must_load("IkeConfig { IkePort 500 }\n", &d);
	ck_assert(!swsa_config_from_policy(&policy_ipsec(p)->ike, &c));
	ck_assert(!swsa_is_dvipa(&policy_ipsec(p)->ike, &a));
	policy_unref(p);
	diags_free(&d);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ike_swsa_store");
	TCase *tc = tcase_create("dir");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, put_writes_one_file_per_tunnel);
	tcase_add_test(tc, newest_put_wins);
	tcase_add_test(tc, get_by_dvipa_and_all);
	tcase_add_test(tc, delete_spares_another_nodes_record);
	tcase_add_test(tc, outage_then_writes_land);
	tcase_add_test(tc, read_times_out_while_down);
	tcase_add_test(tc, forget_drops_a_dvipas_pending_writes);
	tcase_add_test(tc, bounded_and_cancelled);
	tcase_add_test(tc, close_flushes);
	tcase_add_test(tc, unreadable_records_are_not_written);
	tcase_add_test(tc, config_from_the_policy);
	tcase_add_test(tc, stale_temporary_files_go);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
