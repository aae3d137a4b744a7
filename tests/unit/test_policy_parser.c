/* Unit tests for policy/parser: inline and Ref forms, case rules, several
 * parameters on a line, names, singletons, and recovery (every error of a
 * file in one run, each at its line and column). */
#include <stdio.h>
#include <string.h>

#include "policy/attls.h"
#include "policy/ipsec.h"
#include "tests/unit/fixtures.h"
#include "tests/unit/support.h"

static const struct attls_rule *only_rule(const struct policy *p)
{
	ck_assert_uint_eq(attls_rule_count(p), 1);
	return attls_rule_at(p, 0);
}

/* ---- inline and Ref forms -------------------------------------------------- */

START_TEST(inline_and_ref_forms_are_the_same)
{
	static const char inl[] =
		RULE("r", "LocalPortRange 443") GRP_ON
		"TTLSEnvironmentAction e {\n"
		"  HandshakeRole Client\n"
		"  TTLSKeyringParms { Keyring /dev/null }\n"
		"  TTLSEnvironmentAdvancedParms { TLSv1.2 Off HandshakeTimeout 7 }\n"
		"  TTLSCipherParms { V3CipherSuites4Char 1302 }\n"
		"}\n";
	static const char ref[] =
		RULE("r", "LocalPortRange 443") GRP_ON
		"TTLSEnvironmentAction e {\n"
		"  HandshakeRole Client\n"
		"  TTLSKeyringParmsRef k\n"
		"  TTLSEnvironmentAdvancedParmsRef adv\n"
		"  TTLSCipherParmsRef c\n"
		"}\n"
		"TTLSKeyringParms k { Keyring /dev/null }\n"
		"TTLSEnvironmentAdvancedParms adv { TLSv1.2 Off HandshakeTimeout 7 }\n"
		"TTLSCipherParms c { V3CipherSuites4Char 1302 }\n";
	struct diags d1, d2;
	diags_init(&d1);
	diags_init(&d2);
	struct policy *a = must_load(inl, &d1), *b = must_load(ref, &d2);
	const struct attls_settings *x = only_rule(a)->s, *y = only_rule(b)->s;
	ck_assert_str_eq(x->keyring, "/dev/null");
	ck_assert_str_eq(y->keyring, "/dev/null");
	ck_assert(!x->tls12 && !y->tls12);
	ck_assert(x->tls13 && y->tls13);
	ck_assert_uint_eq(x->hs_timeout, 7);
	ck_assert_uint_eq(y->hs_timeout, 7);
	ck_assert_int_eq(x->role, ROLE_CLIENT);
	ck_assert_int_eq(y->role, ROLE_CLIENT);
	ck_assert_uint_eq(x->nciphers, 1);
	ck_assert_uint_eq(y->nciphers, 1);
	ck_assert_uint_eq(x->ciphers[0], 0x1302);
	ck_assert_uint_eq(y->ciphers[0], 0x1302);
	policy_unref(a);
	policy_unref(b);
	diags_free(&d1);
	diags_free(&d2);
}
END_TEST

START_TEST(inline_block_on_the_next_line)
{
	static const char text[] =
		RULE("r", "LocalPortRange 443") GRP_ON
		"TTLSEnvironmentAction e\n{\n  HandshakeRole Server\n  TTLSKeyringParms\n  {\n"
		"    Keyring /dev/null\n  }\n}\n";
	struct diags d;
	diags_init(&d);
	struct policy *p = must_load(text, &d);
	ck_assert_str_eq(only_rule(p)->s->keyring, "/dev/null");
	policy_unref(p);
	diags_free(&d);
}
END_TEST

START_TEST(inline_names_show_where_a_value_came_from)
{
	struct diags d;
	diags_init(&d);
	struct policy *p = must_load(RULE("r", "LocalPortRange 443") GRP_ON ENV_SRV, &d);
	const struct attls_rule *r = only_rule(p);
	bool seen = false;
	for (size_t i = 0; i < r->nview; i++)
		if (!strcmp(r->view[i].keyword, "Keyring")) {
			ck_assert_str_eq(r->view[i].source, "TTLSKeyringParms e.TTLSKeyringParms#1");
			seen = true;
		}
	ck_assert(seen);
	policy_unref(p);
	diags_free(&d);
}
END_TEST

START_TEST(inline_without_block_is_a_forgotten_ref)
{
	static const char text[] =
		"TTLSEnvironmentAction e {\n"
		"  TTLSKeyringParms kr\n"
		"  HandshakeRole Server\n"
		"}\n"
		"TTLSKeyringParms kr { Keyring /dev/null }\n";
	must_fail_at(text, 2, "TTLSKeyringParms", "TTLSKeyringParms kr needs a '{ ... }' block",
		     "write: TTLSKeyringParmsRef kr");
	/* The next line is still read: no complaint about HandshakeRole or a
	 * missing key ring, only the one error. */
	struct diags d;
	diags_init(&d);
	ck_assert_ptr_null(load_text(text, &d));
	ck_assert_uint_eq(d.nerrors, 1);
	diags_free(&d);
	must_fail_at("TTLSEnvironmentAction e { HandshakeRole Server TTLSKeyringParms }\n", 1,
		     "TTLSKeyringParms", "TTLSKeyringParms needs a '{ ... }' block",
		     "or TTLSKeyringParmsRef NAME");
}
END_TEST

START_TEST(inline_named_block_needs_a_valid_name)
{
	must_fail_at("TTLSEnvironmentAction e { HandshakeRole Server TTLSKeyringParms -k { Keyring x } }\n",
		     1, "-k", "'-k' is not a valid name", "not starting with '-'");
}
END_TEST

/* ---- case rules ----------------------------------------------------------- */

START_TEST(keywords_are_case_insensitive)
{
	static const char text[] =
		"ttlsrule r { localportrange 443 DIRECTION inbound ttlsgroupactionref g }\n"
		"TTLSGROUPACTION g { ttlsenabled OFF }\n";
	struct diags d;
	diags_init(&d);
	struct policy *p = must_load(text, &d);
	const struct attls_rule *r = only_rule(p);
	ck_assert_int_eq(r->direction, DIR_INBOUND);
	ck_assert_uint_eq(r->lports.n, 1);
	ck_assert_uint_eq(r->lports.r[0].lo, 443);
	ck_assert(!r->s->enabled);
	policy_unref(p);
	diags_free(&d);
}
END_TEST

/* The schema's names are looked up through hash tables: every statement and
 * every parameter must be found under its own name in any ASCII case, and
 * nothing else. */
static void recase(char *dst, const char *src, int mode)
{
	size_t i = 0;
	for (; src[i]; i++) {
		char c = src[i];
		if (mode == 0 && c >= 'a' && c <= 'z')
			c = (char)(c - 32);
		else if (mode == 1 && c >= 'A' && c <= 'Z')
			c = (char)(c + 32);
		dst[i] = c;
	}
	dst[i] = '\0';
}

START_TEST(schema_lookup_finds_every_name_in_any_case)
{
	char buf[128];
	for (size_t i = 0; i < policy_nstmts; i++) {
		const struct stmt_schema *ss = &policy_stmts[i];
		for (int mode = 0; mode < 3; mode++) {
			recase(buf, ss->name, mode);
			ck_assert_ptr_eq(schema_stmt(buf), ss);
		}
		for (size_t k = 0; k < ss->nparams; k++) {
			const struct param_schema *ps = &ss->params[k];
			for (int mode = 0; mode < 3; mode++) {
				recase(buf, ps->name, mode);
				ck_assert_ptr_eq(schema_param(ss, buf), ps);
			}
			/* a parameter of another statement is not one of this one's */
			const struct stmt_schema *other = &policy_stmts[(i + 1) % policy_nstmts];
			const struct param_schema *op = schema_param(other, ps->name);
			ck_assert(!op || (op >= other->params && op < other->params + other->nparams));
		}
		snprintf(buf, sizeof buf, "%s\xc9", ss->name);
		ck_assert_ptr_null(schema_stmt(buf));
		snprintf(buf, sizeof buf, "%s", ss->name);
		buf[0] = (char)0xd4;       /* not a letter of any case in ASCII */
		ck_assert_ptr_null(schema_stmt(buf));
	}
	ck_assert_ptr_null(schema_stmt(""));
	ck_assert_ptr_null(schema_param(schema_stmt("TTLSRule"), "Keyring"));
}
END_TEST

START_TEST(enum_values_are_case_insensitive)
{
	static const char text[] =
		"TTLSRule r { LocalPortRange 443 Direction BOTH TTLSGroupActionRef g "
		"TTLSEnvironmentActionRef e }\n"
		GRP_ON
		"TTLSEnvironmentAction e { handshakerole SERVERWITHCLIENTAUTH "
		"TTLSKeyringParms { Keyring /dev/null } "
		"TTLSEnvironmentAdvancedParms { clientauthtype full tlsv1.2 OFF } }\n";
	struct diags d;
	diags_init(&d);
	struct policy *p = must_load(text, &d);
	const struct attls_rule *r = only_rule(p);
	ck_assert_int_eq(r->direction, DIR_BOTH);
	ck_assert_int_eq(r->s->role, ROLE_SERVER_CLIENT_AUTH);
	ck_assert_int_eq(r->s->client_auth, CAUTH_FULL);
	ck_assert(!r->s->tls12);
	policy_unref(p);
	diags_free(&d);
}
END_TEST

START_TEST(names_are_case_sensitive)
{
	/* g and G are two statements, not duplicates */
	static const char two[] = RULE("r", "LocalPortRange 443") BASE
		"TTLSGroupAction G { TTLSEnabled Off }\n";
	struct diags d;
	diags_init(&d);
	struct policy *p = must_load(two, &d);
	ck_assert(only_rule(p)->s->enabled);       /* the rule names g, not G */
	policy_unref(p);
	diags_free(&d);
	/* a reference in the wrong case is not found, and the hint says why */
	must_fail_at("TTLSRule r { LocalPortRange 443 Direction Inbound TTLSGroupActionRef G "
		     "TTLSEnvironmentActionRef e }\n" BASE, 1, "G", "TTLSGroupAction 'G' is not defined",
		     "did you mean 'g'? (names are case-sensitive)");
}
END_TEST

START_TEST(jobname_and_userid_values_keep_their_case)
{
	struct diags d;
	diags_init(&d);
	struct policy *p = must_load(RULE("r", "Jobname NgInX Userid WWW-data") BASE, &d);
	ck_assert_str_eq(only_rule(p)->jobname, "NgInX");
	ck_assert_str_eq(only_rule(p)->userid, "WWW-data");
	policy_unref(p);
	diags_free(&d);
}
END_TEST

/* ---- layout ----------------------------------------------------------------- */

START_TEST(several_parameters_on_one_line)
{
	static const char text[] =
		"TTLSRule r { LocalPortRange 8000 8999 RemoteAddr 10.0.0.0/8 Direction Outbound "
		"Priority 7 TTLSGroupActionRef g TTLSEnvironmentActionRef e Jobname cu?l }\n" BASE;
	struct diags d;
	diags_init(&d);
	struct policy *p = must_load(text, &d);
	const struct attls_rule *r = only_rule(p);
	ck_assert_uint_eq(r->lports.r[0].lo, 8000);
	ck_assert_uint_eq(r->lports.r[0].hi, 8999);
	ck_assert_uint_eq(r->remote.n, 1);
	ck_assert_int_eq(r->direction, DIR_OUTBOUND);
	ck_assert(r->has_priority);
	ck_assert_uint_eq(r->priority, 7);
	ck_assert_str_eq(r->jobname, "cu?l");
	ck_assert_str_eq(r->group, "g");
	ck_assert_str_eq(r->env, "e");
	ck_assert_uint_eq(d.nwarnings, 0);
	policy_unref(p);
	diags_free(&d);
}
END_TEST

START_TEST(one_parameter_per_line_with_braces_alone)
{
	static const char text[] =
		"TTLSRule                 r\n"
		"{\n"
		"  LocalPortRange         443      # the HTTPS port\n"
		"  Direction              Inbound\n"
		"  TTLSGroupActionRef     g\n"
		"  TTLSEnvironmentActionRef e\n"
		"}\n" BASE;
	struct diags d;
	diags_init(&d);
	struct policy *p = must_load(text, &d);
	ck_assert_uint_eq(only_rule(p)->lports.r[0].lo, 443);
	ck_assert_uint_eq(d.nwarnings, 0);
	policy_unref(p);
	diags_free(&d);
}
END_TEST

START_TEST(quoted_value_that_looks_like_a_keyword)
{
	/* unquoted, "Priority" would start the next parameter */
	struct diags d;
	diags_init(&d);
	struct policy *p = must_load(RULE("r", "Jobname \"Priority\"") BASE, &d);
	ck_assert_str_eq(only_rule(p)->jobname, "Priority");
	policy_unref(p);
	diags_free(&d);
}
END_TEST

START_TEST(quoted_names)
{
	struct diags d;
	diags_init(&d);
	struct policy *p = must_load(
		"TTLSRule \"web server\" { LocalPortRange 443 Direction Inbound "
		"TTLSGroupActionRef \"my group\" }\n"
		"TTLSGroupAction \"my group\" { TTLSEnabled Off }\n", &d);
	ck_assert_str_eq(only_rule(p)->name, "web server");
	ck_assert_str_eq(only_rule(p)->group, "my group");
	policy_unref(p);
	diags_free(&d);
}
END_TEST

START_TEST(words_after_the_value_are_ignored_with_a_warning)
{
	static const char text[] = RULE("r", "LocalPortRange 443") GRP_ON
		"TTLSEnvironmentAction e { HandshakeRole Server ZOSA TTLSKeyringParms { Keyring /dev/null } }\n";
	must_warn_at(text, 3, "ZOSA", "HandshakeRole: ignoring 'ZOSA' after the value");
	struct diags d;
	diags_init(&d);
	struct policy *p = must_load(text, &d);
	ck_assert_str_eq(d.v[0].hint, "start comments with '#'");
	policy_unref(p);
	diags_free(&d);
}
END_TEST

START_TEST(empty_policy_is_valid_with_a_warning)
{
	struct diags d;
	diags_init(&d);
	struct policy *p = must_load("# nothing here yet\n\n", &d);
	ck_assert_uint_eq(attls_rule_count(p), 0);
	ck_assert_uint_eq(d.nwarnings, 1);
	ck_assert(has_warning(&d, "the policy has no statements"));
	policy_unref(p);
	diags_free(&d);
}
END_TEST

/* ---- names and statements ---------------------------------------------------- */

START_TEST(invalid_names)
{
	must_fail_at("TTLSGroupAction -g { TTLSEnabled Off }\n", 1, "-g", "'-g' is not a valid name",
		     "1 to 32 characters");
	must_fail_at("TTLSGroupAction a,b { TTLSEnabled Off }\n", 1, "a,b", "'a,b' is not a valid name",
		     "without ','");
	must_fail_at("TTLSGroupAction abcdefghijklmnopqrstuvwxyz0123456 { TTLSEnabled Off }\n", 1,
		     "abcdefghij", "is not a valid name", NULL);
	must_fail_at("TTLSGroupAction \"\" { TTLSEnabled Off }\n", 1, "\"\"", "'' is not a valid name",
		     NULL);
	/* 32 characters is still fine */
	struct diags d;
	diags_init(&d);
	policy_unref(must_load("TTLSGroupAction abcdefghijklmnopqrstuvwxyz012345 { TTLSEnabled Off }\n",
			       &d));
	diags_free(&d);
}
END_TEST

START_TEST(global_statement_needs_a_name)
{
	must_fail_at("TTLSGroupAction { TTLSEnabled Off }\n", 1, "{", "TTLSGroupAction needs a name",
		     "write: TTLSGroupAction NAME {");
}
END_TEST

START_TEST(unnamed_statement_takes_no_name)
{
	must_fail_at("IkeConfig main { IkePort 500 }\n", 1, "main", "IkeConfig takes no name",
		     "remove the name");
	struct diags d;
	diags_init(&d);
	policy_unref(must_load("IkeConfig { IkePort 500 }\n", &d));
	diags_free(&d);
}
END_TEST

START_TEST(duplicate_names)
{
	static const char text[] =
		"TTLSGroupAction g { TTLSEnabled Off }\n"
		"TTLSGroupAction g { TTLSEnabled On }\n";
	must_fail_at(text, 2, "TTLSGroupAction", "duplicate TTLSGroupAction name 'g'",
		     "the first TTLSGroupAction g is at line 1");
	/* the same name for statements of different types is fine */
	struct diags d;
	diags_init(&d);
	policy_unref(must_load(RULE("x", "LocalPortRange 1") GRP_ON
			       "TTLSEnvironmentAction e { HandshakeRole Server TTLSKeyringParmsRef x }\n"
			       "TTLSKeyringParms x { Keyring /dev/null }\n", &d));
	diags_free(&d);
}
END_TEST

START_TEST(singleton_last_one_wins)
{
	static const char text[] =
		"IkeConfig { IkePort 500 }\n"
		"IkeConfig { IkePort 1500 }\n";
	must_warn_at(text, 2, "IkeConfig", "IkeConfig appears more than once; the last one is used");
	struct diags d;
	diags_init(&d);
	struct policy *p = must_load(text, &d);
	ck_assert_uint_eq(policy_ipsec(p)->ike.ike_port, 1500);
	ck_assert_str_eq(d.v[0].hint, "the IkeConfig at line 1 is ignored");
	policy_unref(p);
	diags_free(&d);
}
END_TEST

START_TEST(unknown_statement)
{
	must_fail_at("TTLSRuel r { }\n", 1, "TTLSRuel", "unknown statement 'TTLSRuel'",
		     "did you mean 'TTLSRule'?");
	must_fail_at("LocalPortRange 443\n", 1, "LocalPortRange",
		     "'LocalPortRange' cannot stand outside a statement",
		     "'LocalPortRange' is a parameter: put it inside a TTLSRule { } block");
	must_fail_at("Frobnicator x { }\n", 1, "Frobnicator", "unknown statement 'Frobnicator'",
		     "see docs/policy-reference.md for the statements");
}
END_TEST

START_TEST(unsupported_statements)
{
	must_fail_at("TTLSConfig /etc/pagent.conf\n", 1, "TTLSConfig",
		     "TTLSConfig is a z/OS statement attls does not support", NULL);
	must_fail_at("IpManVpnAction m { }\n", 1, "IpManVpnAction",
		     "IpManVpnAction is a z/OS statement attls does not support: manual tunnels", NULL);
}
END_TEST

START_TEST(unknown_parameters)
{
	must_fail_at(RULE("r", "LocalPortRang 443") BASE, 1, "LocalPortRang",
		     "unknown parameter 'LocalPortRang' in TTLSRule", "did you mean 'LocalPortRange'?");
	must_fail_at("TTLSEnvironmentAction e {\n  HandshakeRole Server\n  Keyring /dev/null\n}\n", 3,
		     "Keyring", "unknown parameter 'Keyring' in TTLSEnvironmentAction",
		     "'Keyring' belongs in TTLSKeyringParms");
	must_fail_at("TTLSGroupAction g { TTLSEnabled Off IpAddrGroup x }\n", 1, "IpAddrGroup",
		     "unknown parameter 'IpAddrGroup' in TTLSGroupAction",
		     "IpAddrGroup statements cannot appear inside TTLSGroupAction");
	must_fail_at("TTLSGroupAction g {\n  Whatever 1\n  TTLSEnabled Off\n}\n", 2, "Whatever",
		     "unknown parameter 'Whatever' in TTLSGroupAction",
		     "see docs/policy-reference.md for the parameters of TTLSGroupAction");
	must_fail_at("TTLSGroupAction g { TTLSEnabled Off Envfile /x }\n", 1, "Envfile",
		     "TTLSGroupAction: 'Envfile' is a z/OS parameter attls does not support: "
		     "attls has no LE environment file", NULL);
}
END_TEST

START_TEST(refused_parameters)
{
	must_fail_at(RULE("r", "LocalPortRange 443 IpTimeConditionRef t") BASE, 1,
		     "IpTimeConditionRef", "IpTimeConditionRef: time conditions are not supported", NULL);
	must_fail_at("TTLSEnvironmentAction e { HandshakeRole Server TTLSKeyringParms { Keyring /x } "
		     "TTLSSignatureParms { } }\n", 1, "TTLSSignatureParms",
		     "TTLSSignatureParms: TTLSSignatureParms is not supported", NULL);
}
END_TEST

START_TEST(reference_to_wrong_type)
{
	must_fail_at("TTLSRule r { LocalPortRange 443 Direction Inbound TTLSGroupActionRef e "
		     "TTLSEnvironmentActionRef e }\n" BASE, 1, "e", "TTLSGroupActionRef 'e' is not a "
		     "TTLSGroupAction", "e is a TTLSEnvironmentAction (line 3); TTLSGroupActionRef needs "
		     "a TTLSGroupAction");
	must_fail_at("TTLSRule r { LocalAddrSetRef e Direction Inbound TTLSGroupActionRef g "
		     "TTLSEnvironmentActionRef e }\n" BASE, 1, "e", "LocalAddrSetRef 'e' is not an IpAddrSet",
		     "LocalAddrSetRef needs an IpAddrSet");
}
END_TEST

START_TEST(reference_not_defined)
{
	must_fail_at("TTLSRule r { LocalPortRange 443 Direction Inbound TTLSGroupActionRef nogroup }\n",
		     1, "nogroup", "TTLSGroupAction 'nogroup' is not defined",
		     "define it: TTLSGroupAction nogroup { ... }");
	must_fail_at("TTLSRule r { LocalPortRange 443 Direction Inbound TTLSGroupActionRef gg "
		     "TTLSEnvironmentActionRef e }\n" BASE, 1, "gg", "TTLSGroupAction 'gg' is not defined",
		     "did you mean 'g'?");
}
END_TEST

START_TEST(value_where_a_block_is_not_allowed)
{
	must_fail_at("TTLSGroupAction g { TTLSEnabled Off Trace 2 { } }\n", 1, "{ }",
		     "unexpected '{' after Trace", "Trace takes a value, not a block");
}
END_TEST

START_TEST(string_where_a_keyword_belongs)
{
	must_fail_at("TTLSGroupAction g { \"TTLSEnabled\" Off }\n", 1, "\"TTLSEnabled\"",
		     "expected a parameter of TTLSGroupAction, found 'TTLSEnabled'",
		     "each line holds one parameter");
}
END_TEST

/* ---- structure errors and recovery ---------------------------------------------- */

START_TEST(block_not_closed_at_end_of_file)
{
	must_fail_at("TTLSGroupAction g {\n  TTLSEnabled Off\n", 1, "TTLSGroupAction",
		     "TTLSGroupAction g is not closed", "add '}' to close the '{' at line 1");
}
END_TEST

START_TEST(block_not_closed_before_the_next_statement)
{
	static const char text[] =
		"TTLSGroupAction g {\n"
		"  TTLSEnabled Off\n"
		"TTLSRule r { LocalPortRange 1 Direction Inbound TTLSGroupActionRef g }\n";
	must_fail_at(text, 1, "TTLSGroupAction", "TTLSGroupAction g is not closed",
		     "add '}' before line 3 to close the '{' at line 1");
	/* the rule after it is still read: it is the only error */
	struct diags d;
	diags_init(&d);
	ck_assert_ptr_null(load_text(text, &d));
	ck_assert_uint_eq(d.nerrors, 1);
	diags_free(&d);
}
END_TEST

START_TEST(brace_without_match)
{
	must_fail_at(GRP_OFF "}\n", 2, "}", "'}' without a matching '{'", "remove it");
}
END_TEST

START_TEST(statement_without_braces)
{
	must_fail_at("TTLSGroupAction g TTLSEnabled Off\n", 1, "TTLSEnabled",
		     "expected '{' after TTLSGroupAction g, found 'TTLSEnabled'",
		     "the parameters go between '{' and '}'");
	/* at end of file the position is just after the last character */
	struct diags d;
	diags_init(&d);
	ck_assert_ptr_null(load_text("TTLSGroupAction g", &d));
	ck_assert(has_error_at(&d, 1, 18, "expected '{' after TTLSGroupAction g, found 'end of file'"));
	diags_free(&d);
}
END_TEST

START_TEST(top_level_junk)
{
	must_fail_at("\"quoted\" x\n", 1, "\"quoted\"", "expected a statement, found 'quoted'",
		     "a statement starts with its type");
	must_fail_at("{ TTLSEnabled On }\n" GRP_OFF, 1, "{", "expected a statement, found '{'", NULL);
}
END_TEST

/* One file, many mistakes: each is reported at its place, in order, and the
 * good statements between them are still read (their references resolve). */
START_TEST(every_error_in_one_run)
{
	static const char text[] =
		"TTLSRule r1 {\n"                                        /* 1 */
		"  LocalPortRange 99999\n"                               /* 2 bad value */
		"  Direction Sideways\n"                                 /* 3 bad enum */
		"  TTLSGroupActionRef g\n"                               /* 4 */
		"  TTLSEnvironmentActionRef e\n"                         /* 5 */
		"  Frobnicate yes\n"                                     /* 6 unknown */
		"}\n"                                                    /* 7 */
		"TTLSGroupAction g { TTLSEnabled Maybe }\n"              /* 8 bad on/off */
		"TTLSRuel r2 { }\n"                                      /* 9 unknown stmt */
		"TTLSEnvironmentAction e {\n"                            /* 10 */
		"  HandshakeRole Server\n"                               /* 11 */
		"  TTLSKeyringParms { Keyring /dev/null }\n"             /* 12 missing } */
		"TTLSRule r3 { Jobname x Direction Inbound TTLSGroupActionRef missing }\n" /* 13 */
		"}\n";                                                   /* 14 stray */
	struct diags d;
	diags_init(&d);
	ck_assert_ptr_null(load_text(text, &d));
	struct { unsigned line; const char *tok, *msg; } want[] = {
		{ 2, "99999", "'99999' is not a port number (0 to 65535)" },
		{ 3, "Sideways", "'Sideways' is not a valid value" },
		{ 6, "Frobnicate", "unknown parameter 'Frobnicate' in TTLSRule" },
		{ 8, "Maybe", "'Maybe' is not a valid value" },
		{ 9, "TTLSRuel", "unknown statement 'TTLSRuel'" },
		{ 10, "TTLSEnvironmentAction", "TTLSEnvironmentAction e is not closed" },
		{ 13, "missing", "TTLSGroupAction 'missing' is not defined" },
		{ 14, "}", "'}' without a matching '{'" },
	};
	size_t nwant = sizeof want / sizeof want[0];
	for (size_t i = 0; i < nwant; i++) {
		unsigned col = col_of(text, want[i].line, want[i].tok);
		if (!find_diag(&d, DIAG_ERROR, want[i].line, col, want[i].msg)) {
			dump_diags(&d);
			ck_abort_msg("no error '%s' at %u:%u", want[i].msg, want[i].line, col);
		}
	}
	ck_assert_uint_eq(d.nerrors, nwant);
	/* sorted by position */
	for (size_t i = 1; i < d.n; i++)
		ck_assert(d.v[i - 1].line < d.v[i].line ||
			  (d.v[i - 1].line == d.v[i].line && d.v[i - 1].col <= d.v[i].col));
	diags_free(&d);
}
END_TEST

START_TEST(bad_parameter_keeps_the_rest_of_its_line)
{
	/* Only the refused parameter and its value are skipped: Direction and
	 * the rest still count, so that is the only error. */
	static const char text[] = "TTLSRule r { IpTimeConditionRef t LocalPortRange 443 Direction "
				   "Inbound TTLSGroupActionRef g TTLSEnvironmentActionRef e }\n" BASE;
	must_fail_at(text, 1, "IpTimeConditionRef", "time conditions are not supported", NULL);
	struct diags d;
	diags_init(&d);
	ck_assert_ptr_null(load_text(text, &d));
	ck_assert_uint_eq(d.nerrors, 1);
	diags_free(&d);
	/* A word of no statement after a complete value is a comment to z/OS,
	 * a warning here; the parameters after it still count. */
	static const char ignored[] = "TTLSRule r { LocalPortRange 443 Frobnicate 3 Direction Inbound "
				      "TTLSGroupActionRef g TTLSEnvironmentActionRef e }\n" BASE;
	must_warn_at(ignored, 1, "Frobnicate", "LocalPortRange: ignoring 'Frobnicate' after the value");
}
END_TEST

START_TEST(misplaced_parameter_after_a_value)
{
	/* On a line of several parameters, a keyword of another statement is a
	 * misplaced parameter, not words to ignore. */
	must_fail_at("TTLSEnvironmentAction e { HandshakeRole Server Keyring /dev/null }\n", 1,
		     "Keyring", "unknown parameter 'Keyring' in TTLSEnvironmentAction",
		     "'Keyring' belongs in TTLSKeyringParms");
}
END_TEST

START_TEST(bad_condition_value_is_not_also_a_missing_condition)
{
	static const char text[] = RULE("r", "LocalPortRange 70000") BASE;
	struct diags d;
	diags_init(&d);
	ck_assert_ptr_null(load_text(text, &d));
	ck_assert_uint_eq(d.nerrors, 1);
	ck_assert(has_error_at(&d, 1, col_of(text, 1, "70000"), "is not a port number"));
	diags_free(&d);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("policy_parser");
	TCase *forms = tcase_create("forms");
	tcase_add_test(forms, inline_and_ref_forms_are_the_same);
	tcase_add_test(forms, inline_block_on_the_next_line);
	tcase_add_test(forms, inline_names_show_where_a_value_came_from);
	tcase_add_test(forms, inline_without_block_is_a_forgotten_ref);
	tcase_add_test(forms, inline_named_block_needs_a_valid_name);
	suite_add_tcase(s, forms);
	TCase *cases = tcase_create("case");
	tcase_add_test(cases, keywords_are_case_insensitive);
	tcase_add_test(cases, schema_lookup_finds_every_name_in_any_case);
	tcase_add_test(cases, enum_values_are_case_insensitive);
	tcase_add_test(cases, names_are_case_sensitive);
	tcase_add_test(cases, jobname_and_userid_values_keep_their_case);
	suite_add_tcase(s, cases);
	TCase *layout = tcase_create("layout");
	tcase_add_test(layout, several_parameters_on_one_line);
	tcase_add_test(layout, one_parameter_per_line_with_braces_alone);
	tcase_add_test(layout, quoted_value_that_looks_like_a_keyword);
	tcase_add_test(layout, quoted_names);
	tcase_add_test(layout, words_after_the_value_are_ignored_with_a_warning);
	tcase_add_test(layout, empty_policy_is_valid_with_a_warning);
	suite_add_tcase(s, layout);
	TCase *names = tcase_create("statements");
	tcase_add_test(names, invalid_names);
	tcase_add_test(names, global_statement_needs_a_name);
	tcase_add_test(names, unnamed_statement_takes_no_name);
	tcase_add_test(names, duplicate_names);
	tcase_add_test(names, singleton_last_one_wins);
	tcase_add_test(names, unknown_statement);
	tcase_add_test(names, unsupported_statements);
	tcase_add_test(names, unknown_parameters);
	tcase_add_test(names, refused_parameters);
	tcase_add_test(names, reference_to_wrong_type);
	tcase_add_test(names, reference_not_defined);
	tcase_add_test(names, value_where_a_block_is_not_allowed);
	tcase_add_test(names, string_where_a_keyword_belongs);
	suite_add_tcase(s, names);
	TCase *rec = tcase_create("recovery");
	tcase_add_test(rec, block_not_closed_at_end_of_file);
	tcase_add_test(rec, block_not_closed_before_the_next_statement);
	tcase_add_test(rec, brace_without_match);
	tcase_add_test(rec, statement_without_braces);
	tcase_add_test(rec, top_level_junk);
	tcase_add_test(rec, every_error_in_one_run);
	tcase_add_test(rec, bad_parameter_keeps_the_rest_of_its_line);
	tcase_add_test(rec, misplaced_parameter_after_a_value);
	tcase_add_test(rec, bad_condition_value_is_not_also_a_missing_condition);
	suite_add_tcase(s, rec);
	return run_suite(s);
}
