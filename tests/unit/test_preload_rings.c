/* tests/unit/test_preload_rings — key rings (common/ring, preload/rings): no
 * count limit (the system trust store is a client's key ring), what an empty
 * or garbage ring is told, world-readable private keys, and the copies a
 * process keeps of a ring it can no longer read. */
#include <check.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/ring.h"
#include "policy/attls.h"
#include "policy/schema.h"
#include "preload/rings.h"
#include "support.h"

#define SYSTEM_STORE "/etc/ssl/certs/ca-certificates.crt"

static char dir[64];
static char logpath[96];

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/attls-rings-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(logpath, sizeof logpath, "%s/log", dir);
	log_init("attls", LOG_TO_FILE);
	log_set_level(LOG_DEBUG);
	ck_assert_int_eq(log_set_file(logpath), 0);
}

static void teardown(void)
{
	rings_forget_all();
	log_set_file(NULL);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static char *path_in(const char *name)
{
	static char buf[4][128];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof buf[i], "%s/%s", dir, name);
	return buf[i];
}

/* ---- certificates made here ----------------------------------------------------- */

struct cert {
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt;
};

static void make_cert(struct cert *c, const char *cn, bool ca, const struct cert *issuer,
		      unsigned serial)
{
	ck_assert_int_eq(gnutls_x509_privkey_init(&c->key), 0);
	ck_assert_int_eq(gnutls_x509_privkey_generate(c->key, GNUTLS_PK_ECDSA,
			 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0), 0);
	ck_assert_int_eq(gnutls_x509_crt_init(&c->crt), 0);
	gnutls_x509_crt_set_version(c->crt, 3);
	unsigned char sn[4] = { (unsigned char)(serial >> 24), (unsigned char)(serial >> 16),
				(unsigned char)(serial >> 8), (unsigned char)serial };
	gnutls_x509_crt_set_serial(c->crt, sn, sizeof sn);
	gnutls_x509_crt_set_dn_by_oid(c->crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn, strlen(cn));
	time_t now = time(NULL);
	gnutls_x509_crt_set_activation_time(c->crt, now - 60);
	gnutls_x509_crt_set_expiration_time(c->crt, now + 86400);
	gnutls_x509_crt_set_key(c->crt, c->key);
	gnutls_x509_crt_set_basic_constraints(c->crt, ca, -1);
	if (ca)
		gnutls_x509_crt_set_key_usage(c->crt, GNUTLS_KEY_KEY_CERT_SIGN);
	const struct cert *by = issuer ? issuer : c;
	ck_assert_int_eq(gnutls_x509_crt_sign2(c->crt, by->crt, by->key, GNUTLS_DIG_SHA256, 0), 0);
}

static void free_cert(struct cert *c)
{
	gnutls_x509_crt_deinit(c->crt);
	gnutls_x509_privkey_deinit(c->key);
}

/* PEM out of GnuTLS into f (export2 gives it, f takes it, it is freed). */
static void put_pem(FILE *f, int rc, gnutls_datum_t *d)
{
	ck_assert_int_eq(rc, 0);
	fwrite(d->data, 1, d->size, f);
	gnutls_free(d->data);
}

static void put_crt(FILE *f, gnutls_x509_crt_t crt)
{
	gnutls_datum_t d;
	put_pem(f, gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d), &d);
}

static void put_key(FILE *f, gnutls_x509_privkey_t key)
{
	gnutls_datum_t d;
	put_pem(f, gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &d), &d);
}

static void write_text(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* A ring of n CA certificates. */
static void write_cas(const char *path, unsigned n)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	for (unsigned i = 0; i < n; i++) {
		struct cert ca;
		char cn[32];
		snprintf(cn, sizeof cn, "CA %u", i);
		make_cert(&ca, cn, true, NULL, i + 1);
		put_crt(f, ca.crt);
		free_cert(&ca);
	}
	fclose(f);
}

/* A ring of one key with its self-signed (not CA) certificate. */
static void write_key_and_cert(const char *path, const char *cn)
{
	struct cert c;
	make_cert(&c, cn, false, NULL, 7);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	put_key(f, c.key);
	put_crt(f, c.crt);
	fclose(f);
	free_cert(&c);
}

static int load(const char *path, bool need_key, bool need_cas, struct ring_info *info,
		char *err, size_t errlen)
{
	gnutls_certificate_credentials_t cred;
	ck_assert_int_eq(gnutls_certificate_allocate_credentials(&cred), 0);
	struct ring_want w = { .path = path, .need_key = need_key, .need_cas = need_cas };
	int rc = ring_load(cred, &w, ring_read_file, NULL, info, err, errlen);
	gnutls_certificate_free_credentials(cred);
	return rc;
}

/* ---- no count limit ------------------------------------------------------------- */

START_TEST(system_trust_store_is_a_client_ring)
{
	struct ring_info info;
	char err[512] = "";
	ck_assert_msg(load(SYSTEM_STORE, false, true, &info, err, sizeof err) == 0, "%s", err);
	ck_assert_uint_ge(info.ncas, 100);
	ck_assert(!info.has_key);
}
END_TEST

START_TEST(server_ring_with_200_cas_and_a_chain)
{
	/* 200 CAs, then a server key whose chain runs leaf -> intermediate -> root. */
	const char *path = path_in("big.pem");
	write_cas(path, 200);
	struct cert root, mid, leaf;
	make_cert(&root, "root", true, NULL, 1001);
	make_cert(&mid, "intermediate", true, &root, 1002);
	make_cert(&leaf, "server", false, &mid, 1003);
	FILE *f = fopen(path, "a");
	ck_assert_ptr_nonnull(f);
	put_key(f, leaf.key);
	put_crt(f, leaf.crt);
	put_crt(f, mid.crt);
	put_crt(f, root.crt);
	fclose(f);
	struct ring_info info;
	char err[512] = "";
	ck_assert_msg(load(path, true, false, &info, err, sizeof err) == 0, "%s", err);
	ck_assert(info.has_key);
	ck_assert_str_eq(info.subject_cn, "server");
	ck_assert_uint_eq(info.ncerts, 203);
	ck_assert_uint_eq(info.ncas, 202);
	free_cert(&root);
	free_cert(&mid);
	free_cert(&leaf);
}
END_TEST

/* ---- what a ring that is not one is told ------------------------------------ */

static const struct {
	const char *name, *text, *msg;
} bad_rings[] = {
	{ "empty", "", "it is empty; expected a PEM bundle (certificates and private keys) or a "
	  "PKCS#12 file" },
	{ "garbage", "hello, I am no key ring\n", "it holds neither PEM blocks (-----BEGIN lines) "
	  "nor PKCS#12 data; expected a PEM bundle (certificates and private keys) or a PKCS#12 file" },
	{ "other PEM", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
	  "its PEM blocks hold no certificate and no private key; expected a PEM bundle" },
	{ "bad base64", "\n\n-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
	  "line 3: the CERTIFICATE block cannot be read" },
	{ "unterminated", "-----BEGIN CERTIFICATE-----\nAAAA\n", "line 1: PEM block CERTIFICATE has "
	  "no END line" },
};

START_TEST(bad_ring_says_what_was_expected)
{
	const char *path = path_in("bad.pem");
	write_text(path, bad_rings[_i].text, 0600);
	struct ring_info info;
	char err[512] = "", want[512];
	ck_assert_int_eq(load(path, false, true, &info, err, sizeof err), -1);
	snprintf(want, sizeof want, "keyring %s: %s", path, bad_rings[_i].msg);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s: got '%s', want '%s'",
		      bad_rings[_i].name, err, want);
	ck_assert_ptr_null(strstr(err, "Base64 unexpected header"));
}
END_TEST

START_TEST(what_a_role_needs)
{
	const char *cas = path_in("cas.pem");
	write_cas(cas, 2);
	struct ring_info info;
	char err[512] = "";
	ck_assert_int_eq(load(cas, true, false, &info, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "no private key with its certificate"), "%s", err);
	const char *keyonly = path_in("key.pem");
	write_key_and_cert(keyonly, "lonely");
	ck_assert_int_eq(load(keyonly, false, true, &info, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "no CA certificate to verify peers with"), "%s", err);
}
END_TEST

START_TEST(world_readable_private_key_is_exposed)
{
	const char *path = path_in("srv.pem");
	write_key_and_cert(path, "srv");
	struct ring_info info;
	char err[512] = "";
	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_int_eq(load(path, true, false, &info, err, sizeof err), 0);
	ck_assert(!info.key_exposed);
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(load(path, true, false, &info, err, sizeof err), 0);
	ck_assert(info.key_exposed);
	/* Certificates alone are public. */
	const char *cas = path_in("cas.pem");
	write_cas(cas, 1);
	ck_assert_int_eq(chmod(cas, 0644), 0);
	ck_assert_int_eq(load(cas, false, true, &info, err, sizeof err), 0);
	ck_assert(!info.key_exposed);
}
END_TEST

/* ---- the shim's copies ---------------------------------------------------------- */

static struct attls_settings client_settings(const char *path)
{
	struct attls_settings s = { .enabled = true, .role = ROLE_CLIENT, .keyring = path };
	return s;
}

static int rings_client(const struct attls_settings *s, struct ring_info *info)
{
	gnutls_certificate_credentials_t cred;
	ck_assert_int_eq(gnutls_certificate_allocate_credentials(&cred), 0);
	char err[512] = "";
	int rc = rings_load(cred, s, ROLE_CLIENT, info, err, sizeof err);
	gnutls_certificate_free_credentials(cred);
	return rc;
}

static unsigned log_count(const char *needle)
{
	FILE *f = fopen(logpath, "r");
	if (!f)
		return 0;
	unsigned n = 0;
	char line[2048];
	while (fgets(line, sizeof line, f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

/* A client ring of ncas CAs at path, loaded once, then removed. */
static struct attls_settings loaded_then_gone(const char *path, unsigned ncas)
{
	write_cas(path, ncas);
	struct attls_settings s = client_settings(path);
	struct ring_info info;
	ck_assert_int_eq(rings_client(&s, &info), 0);
	ck_assert_uint_eq(info.ncas, ncas);
	ck_assert_int_eq(unlink(path), 0);
	return s;
}

START_TEST(copy_stands_in_for_a_ring_that_cannot_be_read)
{
	const char *path = path_in("ring.pem");
	struct attls_settings s = loaded_then_gone(path, 3);
	struct ring_info info;

	/* Gone: the copy is used, and that is said once. */
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(rings_client(&s, &info), 0);
		ck_assert_uint_eq(info.ncas, 3);
	}
	ck_assert_uint_eq(log_count("new connections use the copy this process read at"), 1);
	ck_assert_uint_eq(log_count("whether the file changed since cannot be seen"), 1);

	/* Something else at the path that cannot be read as a ring (a directory):
	 * it changed, said once more. */
	ck_assert_int_eq(mkdir(path, 0700), 0);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(rings_client(&s, &info), 0);
		ck_assert_uint_eq(info.ncas, 3);
	}
	ck_assert_uint_eq(log_count("the file CHANGED since and this process cannot read the new one"), 1);
	ck_assert_uint_eq(log_count("new connections use the copy"), 2);

	/* A readable file again: what it holds now is used. */
	ck_assert_int_eq(rmdir(path), 0);
	write_cas(path, 5);
	ck_assert_int_eq(rings_client(&s, &info), 0);
	ck_assert_uint_eq(info.ncas, 5);
}
END_TEST

START_TEST(copies_of_rings_no_rule_names_are_dropped)
{
	const char *path = path_in("ring.pem");
	struct attls_settings s = loaded_then_gone(path, 2);
	struct ring_info info;

	/* A policy that still names it keeps the copy... */
	char text[512];
	snprintf(text, sizeof text,
		 "TTLSRule r { RemotePortRange 1 Direction Outbound TTLSGroupActionRef g "
		 "TTLSEnvironmentActionRef e }\n"
		 "TTLSGroupAction g { TTLSEnabled On }\n"
		 "TTLSEnvironmentAction e { HandshakeRole Client TTLSKeyringParms { Keyring %s } }\n",
		 path);
	struct diags d;
	diags_init(&d);
	struct policy *p = must_load(text, &d);
	rings_keep_named(p);
	ck_assert_int_eq(rings_client(&s, &info), 0);
	policy_unref(p);
	diags_free(&d);

	/* ...one that does not lets it go. */
	diags_init(&d);
	p = must_load("TTLSGroupAction g { TTLSEnabled On }\n", &d);
	rings_keep_named(p);
	ck_assert_int_eq(rings_client(&s, &info), -1);
	policy_unref(p);
	diags_free(&d);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("preload_rings");
	TCase *t = tcase_create("rings");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 60);
	tcase_add_test(t, system_trust_store_is_a_client_ring);
	tcase_add_test(t, server_ring_with_200_cas_and_a_chain);
	tcase_add_loop_test(t, bad_ring_says_what_was_expected, 0,
			    (int)(sizeof bad_rings / sizeof bad_rings[0]));
	tcase_add_test(t, what_a_role_needs);
	tcase_add_test(t, world_readable_private_key_is_exposed);
	tcase_add_test(t, copy_stands_in_for_a_ring_that_cannot_be_read);
	tcase_add_test(t, copies_of_rings_no_rule_names_are_dropped);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return run_suite(make_suite());
}
