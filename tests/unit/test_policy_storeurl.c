/* The SwsaStore URL (policy/storeurl) and the SWSA parameters as iked's
 * model carries them. Errors with their positions are in test_policy_validate. */
#include "tests/unit/support.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/ipsec.h"
#include "policy/storeurl.h"

static struct store_url parse_ok(const char *text)
{
	struct store_url u;
	char err[256], hint[128];
	int rc = store_url_parse(text, &u, err, sizeof err, hint, sizeof hint);
	if (rc)
		fprintf(stderr, "%s: %s\n", text, err);
	ck_assert_int_eq(rc, 0);
	return u;
}

static void formats_as(const char *text, const char *want)
{
	struct store_url u = parse_ok(text);
	char buf[1200];
	store_url_format(&u, buf, sizeof buf);
	ck_assert_str_eq(buf, want);
}

START_TEST(redis_forms)
{
	struct store_url u = parse_ok("redis://store.example");
	ck_assert_int_eq(u.kind, STORE_REDIS);
	ck_assert_str_eq(u.host, "store.example");
	ck_assert_uint_eq(u.port, 6379);
	ck_assert_uint_eq(u.db, 0);
	ck_assert_str_eq(u.user, "");
	u = parse_ok("REDIS://iked@[2001:db8::5]:7000/3");
	ck_assert_str_eq(u.host, "2001:db8::5");
	ck_assert_str_eq(u.user, "iked");
	ck_assert_uint_eq(u.port, 7000);
	ck_assert_uint_eq(u.db, 3);
	formats_as("redis://10.0.0.5", "redis://10.0.0.5:6379/0");
	formats_as("redis://10.0.0.5:6380/", "redis://10.0.0.5:6380/0");
	formats_as("redis://iked@[::1]:7000/3", "redis://iked@[::1]:7000/3");
}
END_TEST

START_TEST(dir_forms)
{
	struct store_url u = parse_ok("dir:/var/lib/attls/swsa///");
	ck_assert_int_eq(u.kind, STORE_DIR);
	ck_assert_str_eq(u.path, "/var/lib/attls/swsa");
	formats_as("dir:/", "dir:/");
}
END_TEST

START_TEST(refused)
{
	static const char *const bad[] = {
		"", "redis://", "redis://:pw@host", "redis://host:", "redis://host:0",
		"redis://[::1", "redis://[zz]:1", "redis://::1", "redis://host/-1", "redis://host/1/2",
		"redis://host?x=1", "redis://ho st", "dir:", "dir:rel/path", "dir:/a\nb", "file:/tmp",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct store_url u;
		char err[256], hint[128];
		err[0] = '\0';
		ck_assert_msg(store_url_parse(bad[i], &u, err, sizeof err, hint, sizeof hint) == -1,
			      "'%s' was accepted", bad[i]);
		ck_assert_msg(*err, "no message for '%s'", bad[i]);
	}
}
END_TEST

/* The model: the URL parsed, the password file resolved against the policy's
 * directory, the addresses in file order, the node name as written. */
START_TEST(model)
{
	char dir[] = "/tmp/attls-storeurl-XXXXXX", path[64];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/iked.conf", dir);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("IkeConfig { SwsaStore redis://10.0.0.5/2 SwsaStorePasswordFile pw.txt "
	      "SwsaDvipa 10.0.0.9 SwsaDvipa 2001:db8::9 SwsaNode nodeA }\n", f);
	fclose(f);
	struct diags d;
	diags_init(&d);
	struct policy *p = policy_load_file(path, &d);
	ck_assert_ptr_nonnull(p);
	unlink(path);
	rmdir(dir);
	const struct ike_config *c = &policy_ipsec(p)->ike;
	ck_assert_int_eq(c->swsa_store.kind, STORE_REDIS);
	ck_assert_uint_eq(c->swsa_store.db, 2);
	char want[80];
	snprintf(want, sizeof want, "%s/pw.txt", dir);
	ck_assert_str_eq(c->swsa_password_file, want);
	ck_assert_str_eq(c->swsa_node, "nodeA");
	ck_assert_uint_eq(c->nswsa_dvipa, 2);
	char a[64];
	inet_ntop(AF_INET, c->swsa_dvipa[0].b, a, sizeof a);
	ck_assert_str_eq(a, "10.0.0.9");
	ck_assert_int_eq(c->swsa_dvipa[1].family, AF_INET6);
	policy_unref(p);
	diags_free(&d);

	diags_init(&d);
	p = must_load("IkeConfig { IkePort 500 }\n", &d);
	c = &policy_ipsec(p)->ike;
	ck_assert_int_eq(c->swsa_store.kind, STORE_NONE);
	ck_assert_uint_eq(c->nswsa_dvipa, 0);
	ck_assert_ptr_null(c->swsa_node);
	policy_unref(p);
	diags_free(&d);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("policy_storeurl");
	TCase *tc = tcase_create("storeurl");
	tcase_add_test(tc, redis_forms);
	tcase_add_test(tc, dir_forms);
	tcase_add_test(tc, refused);
	tcase_add_test(tc, model);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
