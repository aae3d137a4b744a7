/* Unit tests for the policy store: a good file becomes the snapshot once it
 * has been stable for POLICY_STABLE_MS, an unchanged file is not read again,
 * a broken edit is rejected whole with its errors while the previous snapshot
 * stays in use, a good edit replaces it, a file still being written never
 * does, a policy without rules never replaces one with rules, and snapshots
 * held by connections outlive the swap. The clock is the test's. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/attls.h"
#include "tests/unit/fixtures.h"
#include "tests/unit/support.h"

static char dir[] = "/tmp/attls-reload-XXXXXX";
static char path[PATH_MAX];

/* The store under test and the diagnostics of its last reload. */
static struct policy_store st;
static struct diags d;

static void setup(void)
{
	strcpy(dir, "/tmp/attls-reload-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/attls.conf", dir);
	diags_init(&d);
	policy_store_init(&st, path);
}

static void teardown(void)
{
	policy_store_destroy(&st);
	diags_free(&d);
	unlink(path);
	rmdir(dir);
}

/* Replace the file the way editors and config tools do: write a new file,
 * rename it over the old one. */
static void write_policy(const char *text)
{
	char tmp[PATH_MAX + 8];
	snprintf(tmp, sizeof tmp, "%s.new", path);
	FILE *f = fopen(tmp, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(rename(tmp, path), 0);
}

static const char *first_rule(void)
{
	static char name[64];
	struct policy *p = policy_store_get(&st);
	if (!p)
		return NULL;
	snprintf(name, sizeof name, "%s", attls_rule_count(p) ? attls_rule_at(p, 0)->name : "");
	policy_unref(p);
	return name;
}

static int64_t clock_ms = 1000000;

static int reload(bool force)
{
	diags_free(&d);
	diags_init(&d);
	return policy_store_reload(&st, force, clock_ms, &d);
}

/* A changed file: seen once, then again a window later. */
static int reload_settled(void)
{
	ck_assert_int_eq(reload(false), POLICY_UNCHANGED);
	clock_ms += POLICY_STABLE_MS;
	return reload(false);
}

/* Rewrite the file in place (same inode), as `cat new > file` does. */
static void rewrite_in_place(const char *text)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static size_t rules(const struct policy *p) { return attls_rule_count(p); }

#define V1 RULE("first", "LocalPortRange 443") BASE
#define V2 RULE("second", "LocalPortRange 8443") BASE
#define BROKEN RULE("third", "LocalPortRange 70000") BASE

START_TEST(keeps_the_last_good_snapshot)
{
	ck_assert_ptr_null(policy_store_get(&st));

	write_policy(V1);
	ck_assert_int_eq(reload_settled(), POLICY_INSTALLED);
	ck_assert_uint_eq(d.nerrors, 0);
	ck_assert_str_eq(first_rule(), "first");

	/* nothing changed: not read again */
	ck_assert_int_eq(reload(false), 0);
	ck_assert_uint_eq(d.n, 0);

	/* a broken edit: rejected with its errors, the old snapshot stays */
	write_policy(BROKEN);
	ck_assert_int_eq(reload_settled(), POLICY_INVALID);
	ck_assert_uint_eq(d.nerrors, 1);
	ck_assert_str_eq(d.v[0].file, path);
	ck_assert(has_error_at(&d, 1, col_of(BROKEN, 1, "70000"), "is not a port number"));
	ck_assert_str_eq(first_rule(), "first");

	/* the same broken file is not reported again until it changes */
	ck_assert_int_eq(reload(false), 0);
	ck_assert_str_eq(first_rule(), "first");

	/* a good edit is picked up */
	write_policy(V2);
	ck_assert_int_eq(reload_settled(), POLICY_INSTALLED);
	ck_assert_str_eq(first_rule(), "second");

}
END_TEST

START_TEST(snapshots_in_use_survive_a_swap)
{
	write_policy(V1);
	ck_assert_int_eq(reload_settled(), POLICY_INSTALLED);
	/* a connection holds the snapshot it was matched with */
	struct policy *held = policy_store_get(&st);
	const struct attls_rule *r = attls_rule_at(held, 0);
	write_policy(V2);
	ck_assert_int_eq(reload_settled(), POLICY_INSTALLED);
	ck_assert_str_eq(first_rule(), "second");
	/* still valid, still the old rule (ASan would catch a use after free) */
	ck_assert_str_eq(r->name, "first");
	ck_assert_uint_eq(r->lports.r[0].lo, 443);
	policy_unref(held);
}
END_TEST

START_TEST(forced_reload_reads_an_unchanged_file)
{
	write_policy(V1);
	ck_assert_int_eq(reload_settled(), POLICY_INSTALLED);
	struct policy *before = policy_store_get(&st);
	ck_assert_int_eq(reload(true), 1);
	struct policy *after = policy_store_get(&st);
	ck_assert_ptr_ne(before, after);
	ck_assert_str_eq(attls_rule_at(after, 0)->name, "first");
	policy_unref(before);
	policy_unref(after);
}
END_TEST

START_TEST(in_place_edit_is_noticed)
{
	write_policy(V1);
	ck_assert_int_eq(reload_settled(), POLICY_INSTALLED);
	/* rewritten in place (same inode), different size */
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(V2 "# a longer file\n", f);
	fclose(f);
	ck_assert_int_eq(reload_settled(), POLICY_INSTALLED);
	ck_assert_str_eq(first_rule(), "second");
}
END_TEST

/* Rewritten in place with the same size within one tick of the file clock:
 * device, inode, size and times all look the same, only the bytes differ. */
START_TEST(same_size_edit_right_after_a_load)
{
	static const char a[] = RULE("aaaa", "LocalPortRange 443") BASE;
	static const char b[] = RULE("bbbb", "LocalPortRange 443") BASE;
	ck_assert_uint_eq(sizeof a, sizeof b);
	for (int round = 0; round < 20; round++) {
		const char *text = round % 2 ? b : a;
		FILE *f = fopen(path, "w");
		ck_assert_ptr_nonnull(f);
		fputs(text, f);
		fclose(f);
		ck_assert_int_eq(reload_settled(), POLICY_INSTALLED);
		ck_assert_str_eq(first_rule(), round % 2 ? "bbbb" : "aaaa");
		/* read again, same bytes: nothing new */
		ck_assert_int_eq(reload(false), 0);
	}
}
END_TEST

START_TEST(missing_file)
{
	/* never loaded: nothing to keep, and it says why */
	ck_assert_int_eq(reload(false), -1);
	ck_assert_ptr_null(policy_store_get(&st));
	ck_assert(has_error_at(&d, 1, 1, "cannot open the policy"));
	write_policy(V1);
	ck_assert_int_eq(reload_settled(), POLICY_INSTALLED);
	/* removed later: the last snapshot stays */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(reload(false), -1);
	ck_assert_str_eq(first_rule(), "first");
	/* said once, not at every check */
	ck_assert_int_eq(reload(false), 0);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_str_eq(first_rule(), "first");
}
END_TEST

START_TEST(first_load_broken)
{
	write_policy(BROKEN);
	ck_assert_int_eq(reload_settled(), POLICY_INVALID);
	ck_assert_ptr_null(policy_store_get(&st));
	write_policy(V1);
	ck_assert_int_eq(reload_settled(), POLICY_INSTALLED);
	ck_assert_str_eq(first_rule(), "first");
}
END_TEST

START_TEST(directory_is_not_a_policy)
{
	ck_assert_ptr_null(policy_load_file(dir, &d));
	ck_assert(has_error_at(&d, 1, 1, "the policy is not a regular file"));
}
END_TEST

/* A FIFO at the path is refused at once (an open() without O_NONBLOCK would
 * wait for a writer for good), and the store keeps what it had. */
START_TEST(fifo_is_refused_without_waiting)
{
	write_policy(V1);
	ck_assert_int_eq(reload(true), POLICY_INSTALLED);
	char fifo[PATH_MAX + 8];
	snprintf(fifo, sizeof fifo, "%s.fifo", path);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	ck_assert_ptr_null(policy_load_file(fifo, &d));
	ck_assert(has_error_at(&d, 1, 1, "the policy is not a regular file (a FIFO)"));
	ck_assert_int_eq(rename(fifo, path), 0);
	ck_assert_int_eq(reload(false), POLICY_INVALID);
	ck_assert(has_error_at(&d, 1, 1, "the policy is not a regular file (a FIFO)"));
	ck_assert_int_eq(reload(false), POLICY_UNCHANGED);
	ck_assert_str_eq(first_rule(), "first");
}
END_TEST

/* The window is measured between checks that read the same stamp and bytes. */
START_TEST(an_edit_waits_until_it_is_stable)
{
	write_policy(V1);
	ck_assert_int_eq(reload(true), POLICY_INSTALLED);   /* at start: at once */
	write_policy(V2);
	ck_assert_int_eq(reload(false), POLICY_UNCHANGED);
	clock_ms += POLICY_STABLE_MS - 1;
	ck_assert_int_eq(reload(false), POLICY_UNCHANGED);
	ck_assert_str_eq(first_rule(), "first");
	clock_ms += 1;
	ck_assert_int_eq(reload(false), POLICY_INSTALLED);
	ck_assert_str_eq(first_rule(), "second");
}
END_TEST

/* A writer that adds a piece between any two checks a window apart never
 * gets a prefix installed, even prefixes that are valid policies (here: the
 * decoy rule alone, then with its actions). */
START_TEST(a_file_written_in_pieces_is_installed_only_whole)
{
	static const char *const pieces[] = {
		GRP_ON, ENV_SRV, RULE("decoy", "LocalPortRange 8080"),
		RULE("second", "LocalPortRange 8443"), "# the end\n",
	};
	policy_store_guard_rules(&st, rules);
	write_policy(V1);
	ck_assert_int_eq(reload(true), POLICY_INSTALLED);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	for (size_t i = 0; i < sizeof pieces / sizeof *pieces; i++) {
		ck_assert_int_eq(reload(false), POLICY_UNCHANGED);
		ck_assert_str_eq(first_rule(), "first");
		clock_ms += POLICY_STABLE_MS;
		fputs(pieces[i], f);
		ck_assert_int_eq(fflush(f), 0);
	}
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(reload(false), POLICY_UNCHANGED);
	ck_assert_str_eq(first_rule(), "first");
	clock_ms += POLICY_STABLE_MS;
	ck_assert_int_eq(reload(false), POLICY_INSTALLED);
	ck_assert_uint_eq(d.nerrors, 0);
	struct policy *p = policy_store_get(&st);
	ck_assert_uint_eq(attls_rule_count(p), 2);
	policy_unref(p);
}
END_TEST

START_TEST(no_rules_never_replace_rules)
{
	policy_store_guard_rules(&st, rules);
	write_policy(V1);
	ck_assert_int_eq(reload(true), POLICY_INSTALLED);
	struct policy *held = policy_store_get(&st);

	/* emptied and left so for longer than the window */
	rewrite_in_place("");
	ck_assert_int_eq(reload_settled(), POLICY_NO_RULES);
	struct policy *now = policy_store_get(&st);
	ck_assert_ptr_eq(now, held);
	policy_unref(now);
	clock_ms += POLICY_STABLE_MS;
	ck_assert_int_eq(reload(false), POLICY_UNCHANGED);   /* said once */

	/* actions but no rule: the same */
	rewrite_in_place(BASE);
	ck_assert_int_eq(reload_settled(), POLICY_NO_RULES);
	ck_assert_str_eq(first_rule(), "first");

	/* a rule that turns TLS off is the deliberate way */
	rewrite_in_place(GRP_OFF "TTLSRule none { Jobname * Direction Both TTLSGroupActionRef off }\n");
	ck_assert_int_eq(reload_settled(), POLICY_INSTALLED);
	ck_assert_str_eq(first_rule(), "none");
	policy_unref(held);
}
END_TEST

/* Without rules before, nothing is lost: an empty file is a policy. */
START_TEST(no_rules_may_replace_no_rules)
{
	policy_store_guard_rules(&st, rules);
	write_policy("");
	ck_assert_int_eq(reload(true), POLICY_INSTALLED);
	write_policy("# nothing yet\n");
	ck_assert_int_eq(reload_settled(), POLICY_INSTALLED);
	write_policy(V1);
	ck_assert_int_eq(reload_settled(), POLICY_INSTALLED);
	ck_assert_str_eq(first_rule(), "first");
}
END_TEST

/* Truncated and written back with the bytes in force: nothing to install,
 * nothing to say, and no new snapshot (contexts stay). */
START_TEST(rewritten_with_the_same_bytes)
{
	policy_store_guard_rules(&st, rules);
	write_policy(V1);
	ck_assert_int_eq(reload(true), POLICY_INSTALLED);
	struct policy *before = policy_store_get(&st);
	rewrite_in_place("");
	ck_assert_int_eq(reload(false), POLICY_UNCHANGED);
	rewrite_in_place(V1);
	ck_assert_int_eq(reload(false), POLICY_UNCHANGED);
	clock_ms += POLICY_STABLE_MS;
	ck_assert_int_eq(reload(false), POLICY_UNCHANGED);
	ck_assert_uint_eq(d.n, 0);
	struct policy *after = policy_store_get(&st);
	ck_assert_ptr_eq(before, after);
	policy_unref(before);
	policy_unref(after);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("policy_reload");
	TCase *tc = tcase_create("store");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, keeps_the_last_good_snapshot);
	tcase_add_test(tc, snapshots_in_use_survive_a_swap);
	tcase_add_test(tc, forced_reload_reads_an_unchanged_file);
	tcase_add_test(tc, in_place_edit_is_noticed);
	tcase_add_test(tc, same_size_edit_right_after_a_load);
	tcase_add_test(tc, missing_file);
	tcase_add_test(tc, first_load_broken);
	tcase_add_test(tc, directory_is_not_a_policy);
	tcase_add_test(tc, fifo_is_refused_without_waiting);
	tcase_add_test(tc, an_edit_waits_until_it_is_stable);
	tcase_add_test(tc, a_file_written_in_pieces_is_installed_only_whole);
	tcase_add_test(tc, no_rules_never_replace_rules);
	tcase_add_test(tc, no_rules_may_replace_no_rules);
	tcase_add_test(tc, rewritten_with_the_same_bytes);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
