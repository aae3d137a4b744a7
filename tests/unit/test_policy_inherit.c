/* Unit tests for effective parameters: connection action over environment
 * action over defaults, cipher lists (a connection's replaces the
 * environment's whole), Trace from group / environment / connection, key
 * ring paths relative to the policy, and the per-parameter view "policy
 * show" prints. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/attls.h"
#include "policy/ipsec.h"
#include "tests/unit/fixtures.h"
#include "tests/unit/support.h"

static struct policy *load(const char *text)
{
	struct diags d;
	diags_init(&d);
	struct policy *p = must_load(text, &d);
	diags_free(&d);
	return p;
}

static const struct attls_rule *rule(const struct policy *p, const char *name)
{
	for (size_t i = 0; i < attls_rule_count(p); i++)
		if (!strcmp(attls_rule_at(p, i)->name, name))
			return attls_rule_at(p, i);
	ck_abort_msg("no rule %s", name);
	return NULL;
}

static const struct attls_param_view *view(const struct attls_rule *r, const char *kw)
{
	for (size_t i = 0; i < r->nview; i++)
		if (!strcmp(r->view[i].keyword, kw))
			return &r->view[i];
	return NULL;
}

/* Three rules: environment only, environment + connection action c, and
 * environment + connection action bare (no overrides). */
#define THREE_RULES \
	RULE("env-only", "LocalPortRange 1") \
	"TTLSRule with-conn { LocalPortRange 2 Direction Inbound TTLSGroupActionRef g " \
	"TTLSEnvironmentActionRef e TTLSConnectionActionRef c }\n" \
	"TTLSRule bare-conn { LocalPortRange 3 Direction Inbound TTLSGroupActionRef g " \
	"TTLSEnvironmentActionRef e TTLSConnectionActionRef bare }\n" \
	"TTLSConnectionAction bare { Trace 0 }\n"

START_TEST(defaults)
{
	struct policy *p = load(RULE("r", "LocalPortRange 1") BASE);
	const struct attls_settings *s = attls_rule_at(p, 0)->s;
	ck_assert(s->enabled);
	ck_assert_uint_eq(s->trace, 2);
	ck_assert_int_eq(s->role, ROLE_SERVER);
	ck_assert_int_eq(s->client_auth, CAUTH_REQUIRED);
	/* secure defaults: TLS 1.2 and 1.3 only */
	ck_assert(!s->tls10 && !s->tls11 && s->tls12 && s->tls13);
	ck_assert_uint_eq(s->hs_timeout, 10);
	ck_assert(!s->app_controlled && !s->secondary_map && !s->middlebox_compat);
	ck_assert_int_eq(s->client_sni, SNI_OPTIONAL);
	ck_assert_uint_eq(s->session_timeout, 86400);
	ck_assert_uint_eq(s->sid_cache_size, 512);
	ck_assert(s->tickets_client && s->tickets_server);
	ck_assert_int_eq(s->fips140, FIPS_OFF);
	ck_assert_uint_eq(s->nciphers, 0);
	ck_assert_ptr_null(s->host_ref_dns);
	ck_assert_ptr_null(s->cert_label);
	const struct attls_param_view *v = view(attls_rule_at(p, 0), "HandshakeTimeout");
	ck_assert_str_eq(v->value, "10");
	ck_assert_str_eq(v->source, "default");
	/* defaults of parameters attls does not act on are not shown */
	ck_assert_ptr_null(view(attls_rule_at(p, 0), "ResetCipherTimer"));
	policy_unref(p);
}
END_TEST

START_TEST(connection_over_environment_over_default)
{
	struct policy *p = load(THREE_RULES GRP_ON
		"TTLSEnvironmentAction e { HandshakeRole Server TTLSKeyringParms { Keyring /dev/null }\n"
		"  TTLSEnvironmentAdvancedParms { HandshakeTimeout 20 TLSv1.3 Off CertificateLabel envkey\n"
		"    HostReferenceIdDNS env.example SecondaryMap On } }\n"
		"TTLSConnectionAction c { HandshakeRole Client TTLSConnectionAdvancedParms {\n"
		"  HandshakeTimeout 30 TLSv1.3 On ApplicationControlled On CertificateLabel connkey } }\n");
	const struct attls_settings *env = rule(p, "env-only")->s;
	const struct attls_settings *conn = rule(p, "with-conn")->s;
	const struct attls_settings *bare = rule(p, "bare-conn")->s;
	ck_assert_uint_eq(env->hs_timeout, 20);
	ck_assert_uint_eq(conn->hs_timeout, 30);
	ck_assert_uint_eq(bare->hs_timeout, 20);
	ck_assert(!env->tls13 && conn->tls13 && !bare->tls13);
	ck_assert(!env->app_controlled && conn->app_controlled && !bare->app_controlled);
	ck_assert_int_eq(env->role, ROLE_SERVER);
	ck_assert_int_eq(conn->role, ROLE_CLIENT);
	ck_assert_str_eq(env->cert_label, "envkey");
	ck_assert_str_eq(conn->cert_label, "connkey");
	/* what the connection does not override comes from the environment */
	ck_assert_str_eq(conn->host_ref_dns, "env.example");
	ck_assert(conn->secondary_map);
	ck_assert(conn->tls12);                     /* default, through both */
	const struct attls_param_view *v = view(rule(p, "with-conn"), "HandshakeTimeout");
	ck_assert_str_eq(v->value, "30");
	ck_assert_str_eq(v->source, "TTLSConnectionAdvancedParms c.TTLSConnectionAdvancedParms#1");
	v = view(rule(p, "with-conn"), "HandshakeRole");
	ck_assert_str_eq(v->source, "TTLSConnectionAction c");
	v = view(rule(p, "bare-conn"), "HandshakeTimeout");
	ck_assert_str_eq(v->source, "TTLSEnvironmentAdvancedParms e.TTLSEnvironmentAdvancedParms#1");
	policy_unref(p);
}
END_TEST

START_TEST(trace_from_group_environment_connection)
{
	struct policy *p = load(THREE_RULES
		"TTLSGroupAction g { TTLSEnabled On Trace 6 }\n"
		"TTLSEnvironmentAction e { HandshakeRole Server Trace 8 TTLSKeyringParms { Keyring /dev/null } }\n"
		"TTLSConnectionAction c { Trace 16 }\n"
		"TTLSRule group-only { LocalPortRange 4 Direction Inbound TTLSGroupActionRef g "
		"TTLSEnvironmentActionRef e2 }\n"
		"TTLSEnvironmentAction e2 { HandshakeRole Server TTLSKeyringParms { Keyring /dev/null } }\n"
		"TTLSRule default { LocalPortRange 5 Direction Inbound TTLSGroupActionRef g2 "
		"TTLSEnvironmentActionRef e2 }\n"
		"TTLSGroupAction g2 { TTLSEnabled On }\n");
	ck_assert_uint_eq(rule(p, "with-conn")->s->trace, 16);
	ck_assert_uint_eq(rule(p, "env-only")->s->trace, 8);
	ck_assert_uint_eq(rule(p, "bare-conn")->s->trace, 0);
	ck_assert_uint_eq(rule(p, "group-only")->s->trace, 6);
	ck_assert_uint_eq(rule(p, "default")->s->trace, 2);
	ck_assert_str_eq(view(rule(p, "group-only"), "Trace")->source, "TTLSGroupAction g");
	ck_assert_str_eq(view(rule(p, "default"), "Trace")->source, "default");
	policy_unref(p);
}
END_TEST

START_TEST(connection_cipher_list_replaces_the_environments)
{
	struct policy *p = load(THREE_RULES GRP_ON
		"TTLSEnvironmentAction e { HandshakeRole Server TTLSKeyringParms { Keyring /dev/null }\n"
		"  TTLSCipherParmsRef envciphers }\n"
		"TTLSCipherParms envciphers { V3CipherSuites 352F V3CipherSuites4Char 1301 }\n"
		"TTLSConnectionAction c { TTLSCipherParms { V3CipherSuites4Char C02F } }\n");
	const struct attls_settings *env = rule(p, "env-only")->s;
	const struct attls_settings *conn = rule(p, "with-conn")->s;
	ck_assert_uint_eq(env->nciphers, 3);
	ck_assert_uint_eq(env->ciphers[0], 0x0035);
	ck_assert_uint_eq(env->ciphers[1], 0x002F);
	ck_assert_uint_eq(env->ciphers[2], 0x1301);
	/* not merged: the connection's list is the whole list */
	ck_assert_uint_eq(conn->nciphers, 1);
	ck_assert_uint_eq(conn->ciphers[0], 0xC02F);
	/* a connection action without ciphers keeps the environment's */
	ck_assert_uint_eq(rule(p, "bare-conn")->s->nciphers, 3);
	const struct attls_param_view *v = view(rule(p, "with-conn"), "V3CipherSuites");
	ck_assert_ptr_null(v);
	v = view(rule(p, "env-only"), "V3CipherSuites");
	ck_assert_str_eq(v->value, "352F");
	policy_unref(p);
}
END_TEST

START_TEST(cipher_lists_concatenate_in_order)
{
	struct policy *p = load(RULE("r", "LocalPortRange 1") GRP_ON
		"TTLSEnvironmentAction e { HandshakeRole Server TTLSKeyringParms { Keyring /dev/null }\n"
		"  TTLSCipherParms {\n"
		"    V3CipherSuites 9D\n"
		"    V3CipherSuites4Char 1302 TLS_AES_128_GCM_SHA256\n"
		"    V3CipherSuites 0A 9D 2F\n"      /* a legacy suite, a repeat */
		"  } }\n");
	const struct attls_rule *r = attls_rule_at(p, 0);
	static const uint16_t want[] = { 0x009D, 0x1302, 0x1301, 0x002F };
	ck_assert_uint_eq(r->s->nciphers, 4);
	for (size_t i = 0; i < 4; i++)
		ck_assert_uint_eq(r->s->ciphers[i], want[i]);
	/* every line of a repeated parameter shows */
	ck_assert_str_eq(view(r, "V3CipherSuites")->value, "9D 0A 9D 2F");
	policy_unref(p);
}
END_TEST

START_TEST(rules_with_the_same_actions_share_settings)
{
	struct policy *p = load(THREE_RULES BASE RULE("env-too", "LocalPortRange 9")
				"TTLSConnectionAction c { Trace 1 }\n");
	ck_assert_ptr_eq(rule(p, "env-only")->s, rule(p, "env-too")->s);
	ck_assert_ptr_ne(rule(p, "env-only")->s, rule(p, "with-conn")->s);
	ck_assert_ptr_ne(rule(p, "with-conn")->s, rule(p, "bare-conn")->s);
	policy_unref(p);
}
END_TEST

START_TEST(group_and_gsk_parameters)
{
	struct policy *p = load(RULE("r", "LocalPortRange 1")
		"TTLSGroupAction g { TTLSEnabled On FIPS140 Level2 }\n"
		"TTLSEnvironmentAction e { HandshakeRole ServerWithClientAuth TTLSKeyringParms { Keyring /dev/null }\n"
		"  TTLSEnvironmentAdvancedParms { ClientAuthType PassThru ClientHandshakeSNI Required\n"
		"    MiddleBoxCompatMode On TLSv1.1 On ResetCipherTimer 5 }\n"
		"  TTLSGskAdvancedParms { GSK_V3_SESSION_TIMEOUT 600 GSK_V3_SIDCACHE_SIZE 64\n"
		"    GSK_SESSION_TICKET_SERVER_ENABLE Off } }\n");
	const struct attls_rule *r = attls_rule_at(p, 0);
	const struct attls_settings *s = r->s;
	ck_assert_int_eq(s->fips140, FIPS_LEVEL2);
	ck_assert_int_eq(s->client_auth, CAUTH_PASSTHRU);
	ck_assert_int_eq(s->client_sni, SNI_REQUIRED);
	ck_assert(s->middlebox_compat && s->tls11);
	ck_assert_uint_eq(s->session_timeout, 600);
	ck_assert_uint_eq(s->sid_cache_size, 64);
	ck_assert(!s->tickets_server && s->tickets_client);
	/* written but not acted on: shown, and marked */
	const struct attls_param_view *v = view(r, "ResetCipherTimer");
	ck_assert_str_eq(v->value, "5");
	ck_assert(v->not_acted);
	ck_assert(view(r, "FIPS140")->not_acted);
	ck_assert(!view(r, "ClientAuthType")->not_acted);
	policy_unref(p);
}
END_TEST

START_TEST(disabled_group_needs_no_environment)
{
	struct policy *p = load("TTLSRule r { Jobname x Direction Both TTLSGroupActionRef off }\n" GRP_OFF);
	const struct attls_rule *r = attls_rule_at(p, 0);
	ck_assert(!r->s->enabled);
	ck_assert_ptr_null(r->env);
	ck_assert_ptr_null(r->conn);
	ck_assert_ptr_null(r->s->keyring);
	policy_unref(p);
}
END_TEST

/* ---- file names relative to the policy ---------------------------------------- */

#define KEYRING_RULE(path) RULE("r", "LocalPortRange 1") GRP_ON \
	"TTLSEnvironmentAction e { HandshakeRole Server TTLSKeyringParms { Keyring " path \
	" KeyringStashFile pw.sth } }\n" \
	"IkeConfig { Keyring iked.pem }\n"

START_TEST(keyring_relative_to_the_buffer_name)
{
	static const char text[] = KEYRING_RULE("certs/k.pem");
	struct diags d;
	diags_init(&d);
	struct policy *p = policy_load_buffer("etc/attls/p.conf", text, strlen(text), &d);
	ck_assert_ptr_nonnull(p);
	const struct attls_settings *s = attls_rule_at(p, 0)->s;
	ck_assert_str_eq(s->keyring, "etc/attls/certs/k.pem");
	ck_assert_str_eq(s->keyring_stash, "etc/attls/pw.sth");
	ck_assert_str_eq(policy_ipsec(p)->ike.keyring, "etc/attls/iked.pem");
	/* the view shows the value as written */
	ck_assert_str_eq(view(attls_rule_at(p, 0), "Keyring")->value, "certs/k.pem");
	policy_unref(p);
	diags_free(&d);
	/* no directory in the name: the working directory */
	diags_init(&d);
	p = policy_load_buffer("p.conf", text, strlen(text), &d);
	ck_assert_str_eq(attls_rule_at(p, 0)->s->keyring, "certs/k.pem");
	policy_unref(p);
	diags_free(&d);
	/* absolute names stay as they are */
	static const char abs[] = KEYRING_RULE("/etc/ssl/k.pem");
	diags_init(&d);
	p = policy_load_buffer("etc/p.conf", abs, strlen(abs), &d);
	ck_assert_str_eq(attls_rule_at(p, 0)->s->keyring, "/etc/ssl/k.pem");
	policy_unref(p);
	diags_free(&d);
}
END_TEST

START_TEST(keyring_relative_to_the_files_absolute_directory)
{
	/* Loaded by a relative name, the policy's key rings still resolve to
	 * absolute names, so a program that changes directory finds them. */
	char tmpl[] = "/tmp/attls-inherit-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	char sub[PATH_MAX], file[PATH_MAX + 16], cwd[PATH_MAX], real[PATH_MAX], want[PATH_MAX + 32];
	snprintf(sub, sizeof sub, "%s/conf", tmpl);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	snprintf(file, sizeof file, "%s/p.conf", sub);
	FILE *f = fopen(file, "w");
	ck_assert_ptr_nonnull(f);
	fputs(KEYRING_RULE("certs/k.pem"), f);
	fclose(f);
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
	ck_assert_int_eq(chdir(tmpl), 0);
	struct diags d;
	diags_init(&d);
	struct policy *p = policy_load_file("conf/p.conf", &d);
	ck_assert_int_eq(chdir(cwd), 0);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(realpath(sub, real));
	snprintf(want, sizeof want, "%s/certs/k.pem", real);
	ck_assert_str_eq(attls_rule_at(p, 0)->s->keyring, want);
	/* diagnostics keep the name the file was given by */
	ck_assert(has_warning(&d, "does not exist"));
	ck_assert_str_eq(d.v[0].file, "conf/p.conf");
	policy_unref(p);
	diags_free(&d);
	unlink(file);
	rmdir(sub);
	rmdir(tmpl);
}
END_TEST

/* ---- IP security model ---------------------------------------------------------- */

START_TEST(pfs_settings)
{
	struct policy *p = load(
		"IpDynVpnAction legacy { Pfs Group5 IpDataOffer { } }\n"
		"IpDynVpnAction modern { InitiateWithPfs Group14 AcceptablePfs Group14 AcceptablePfs None "
		"AcceptablePfs Group19 IpDataOffer { } }\n"
		"IpDynVpnAction none { IpDataOffer { HowToEncrypt AES_GCM_16 } }\n");
	const struct ipsec_policy *ip = policy_ipsec(p);
	ck_assert_uint_eq(ip->ndynvpn, 3);
	const struct ipsec_dynvpn *l = ip->dynvpns[0], *m = ip->dynvpns[1], *n = ip->dynvpns[2];
	/* Pfs X = InitiateWithPfs X + AcceptablePfs X */
	ck_assert(l->legacy_pfs);
	ck_assert_int_eq(l->initiate_pfs, 5);
	ck_assert_uint_eq(l->acceptable_pfs, PFS_BIT(5));
	ck_assert_int_eq(m->initiate_pfs, 14);
	ck_assert_uint_eq(m->acceptable_pfs, PFS_BIT(14) | PFS_NONE_BIT | PFS_BIT(19));
	ck_assert_int_eq(n->initiate_pfs, 0);
	ck_assert_uint_eq(n->acceptable_pfs, PFS_NONE_BIT);
	/* GCM without HowToAuth authenticates by itself */
	ck_assert_int_eq(n->offers[0]->auth_alg, AUTHALG_NULL);
	ck_assert_int_eq(m->offers[0]->auth_alg, AUTHALG_HMAC_SHA1);
	policy_unref(p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("policy_inherit");
	TCase *tc = tcase_create("effective");
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, connection_over_environment_over_default);
	tcase_add_test(tc, trace_from_group_environment_connection);
	tcase_add_test(tc, connection_cipher_list_replaces_the_environments);
	tcase_add_test(tc, cipher_lists_concatenate_in_order);
	tcase_add_test(tc, rules_with_the_same_actions_share_settings);
	tcase_add_test(tc, group_and_gsk_parameters);
	tcase_add_test(tc, disabled_group_needs_no_environment);
	suite_add_tcase(s, tc);
	TCase *paths = tcase_create("paths");
	tcase_add_test(paths, keyring_relative_to_the_buffer_name);
	tcase_add_test(paths, keyring_relative_to_the_files_absolute_directory);
	suite_add_tcase(s, paths);
	TCase *ip = tcase_create("ipsec");
	tcase_add_test(ip, pfs_settings);
	suite_add_tcase(s, ip);
	return run_suite(s);
}
