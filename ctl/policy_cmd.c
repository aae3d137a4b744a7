/*
 * ctl/policy_cmd — "attls policy": check files, show rules in evaluation order
 * with effective parameters (what pasearch -t shows on z/OS), explain which
 * rule a connection maps to, and print the language reference from the schema.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/json.h"
#include "common/ring.h"
#include "ctl/ctl.h"
#include "ctl/reference.h"
#include "policy/attls.h"
#include "policy/ipsec.h"
#include "policy/policy.h"
#include "policy/schema.h"

/* ---- check ----------------------------------------------------------------- */

static void summary_line(FILE *out, const char *file, const struct policy_counts *c)
{
	fprintf(out, "%s: OK: %zu TTLSRule%s, %zu action%s (%zu group, %zu environment, "
		"%zu connection)", file, c->ttls_rules, c->ttls_rules == 1 ? "" : "s",
		c->group_actions + c->env_actions + c->conn_actions,
		c->group_actions + c->env_actions + c->conn_actions == 1 ? "" : "s",
		c->group_actions, c->env_actions, c->conn_actions);
	if (c->filter_rules || c->ke_rules || c->dynvpn_actions || c->ke_actions)
		fprintf(out, "; %zu IpFilterRule%s, %zu IpDynVpnAction%s, %zu KeyExchangeRule%s, "
			"%zu KeyExchangeAction%s", c->filter_rules, c->filter_rules == 1 ? "" : "s",
			c->dynvpn_actions, c->dynvpn_actions == 1 ? "" : "s", c->ke_rules,
			c->ke_rules == 1 ? "" : "s", c->ke_actions, c->ke_actions == 1 ? "" : "s");
	fputc('\n', out);
}

static void counts_json(struct json *j, const struct policy_counts *c)
{
	json_key(j, "counts");
	json_obj_begin(j);
	json_kuint(j, "TTLSRule", c->ttls_rules);
	json_kuint(j, "TTLSGroupAction", c->group_actions);
	json_kuint(j, "TTLSEnvironmentAction", c->env_actions);
	json_kuint(j, "TTLSConnectionAction", c->conn_actions);
	json_kuint(j, "IpFilterRule", c->filter_rules);
	json_kuint(j, "IpDynVpnAction", c->dynvpn_actions);
	json_kuint(j, "KeyExchangeRule", c->ke_rules);
	json_kuint(j, "KeyExchangeAction", c->ke_actions);
	json_obj_end(j);
}

/* ---- key rings, loaded as the shim loads them ------------------------------ */

/* The policy's own check already warned about files that are missing or
 * that this user may not read; the ring check says nothing more about them. */
struct ring_read {
	bool unreadable;
};

static int read_noting(void *arg, const char *path, gnutls_datum_t *out, struct stat *st,
		       char *err, size_t errlen)
{
	struct ring_read *rr = arg;
	int rc = ring_read_file(NULL, path, out, st, err, errlen);
	if (rc && (errno == ENOENT || errno == ENOTDIR || errno == EACCES || errno == EPERM))
		rr->unreadable = true;
	return rc;
}

/* Whether d already says msg at pos (settings of several rules share one
 * Keyring line). */
static bool said(const struct diags *d, struct srcpos pos, const char *msg)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].line == pos.line && d->v[i].col == pos.col &&
		    strcmp(d->v[i].file, pos.file) == 0 && strcmp(d->v[i].msg, msg) == 0)
			return true;
	return false;
}

static void ring_diag(struct diags *d, enum diag_sev sev, struct srcpos pos, const char *hint,
		      const char *msg)
{
	if (!said(d, pos, msg))
		diag_add(d, sev, pos, hint, "%s", msg);
}

static void check_ring(const struct attls_rule *r, struct diags *d)
{
	const struct attls_settings *s = r->s;
	struct srcpos pos = s->keyring_pos.line ? s->keyring_pos : r->pos;
	gnutls_certificate_credentials_t cred;
	if (gnutls_certificate_allocate_credentials(&cred) < 0) {
		ring_diag(d, DIAG_ERROR, pos, NULL, "out of memory loading the key ring");
		return;
	}
	struct ring_want w = {
		.path = s->keyring, .pw = s->keyring_pw, .stash = s->keyring_stash,
		.label = s->cert_label,
		.need_key = attls_needs_key(s, s->role), .need_cas = attls_verifies_peer(s, s->role),
	};
	struct ring_read rr = { .unreadable = false };
	struct ring_info info;
	char msg[600];
	if (ring_load(cred, &w, read_noting, &rr, &info, msg, sizeof msg) && !rr.unreadable)
		ring_diag(d, DIAG_ERROR, pos, NULL, msg);
	gnutls_certificate_free_credentials(cred);
	if (info.key_exposed) {
		snprintf(msg, sizeof msg, "Keyring %s holds a private key that every user on this "
			 "host can read", s->keyring);
		ring_diag(d, DIAG_WARNING, pos, "make it readable by the program's user (or root) "
			  "only, e.g. chmod o-r", msg);
	}
	if (info.stash_exposed) {
		snprintf(msg, sizeof msg, "KeyringStashFile %s (the key ring's password) can be read "
			 "by every user on this host", s->keyring_stash);
		ring_diag(d, DIAG_WARNING, pos, "make it readable by the program's user (or root) "
			  "only, e.g. chmod o-r", msg);
	}
}

/* Every key ring a rule that says TLS will use: what the shim would refuse
 * is an error here, not a connection failure later. */
static void check_rings(const struct policy *p, struct diags *d)
{
	size_t n = attls_rule_count(p);
	for (size_t i = 0; i < n; i++) {
		const struct attls_rule *r = attls_rule_at(p, i);
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = attls_rule_at(p, k)->s == r->s;
		if (r->s->enabled && !seen)
			check_ring(r, d);
	}
	diags_sort(d);
}

struct policy *ctl_check_policy(const char *path, struct diags *d)
{
	struct policy *p = policy_load_file(path, d);
	if (p)
		check_rings(p, d);
	return p;
}

static int policy_check(int argc, char **argv, bool as_json)
{
	if (argc < 1) {
		fputs("usage: attls policy check [--json] FILE...\n", stderr);
		return 2;
	}
	int status = 0;
	struct json j;
	if (as_json) {
		json_init(&j, stdout, 2);
		json_obj_begin(&j);
		json_key(&j, "files");
		json_arr_begin(&j);
	}
	for (int i = 0; i < argc; i++) {
		struct diags d;
		diags_init(&d);
		struct policy *p = ctl_check_policy(argv[i], &d);
		bool ok = p && !d.nerrors;
		if (!ok)
			status = 1;
		if (as_json) {
			json_obj_begin(&j);
			json_kstr(&j, "file", argv[i]);
			json_kbool(&j, "valid", ok);
			if (p) {
				struct policy_counts c;
				policy_counts(p, &c);
				counts_json(&j, &c);
			}
			json_kuint(&j, "errors", d.nerrors);
			json_kuint(&j, "warnings", d.nwarnings);
			json_key(&j, "diagnostics");
			diags_json(&d, &j);
			json_obj_end(&j);
		} else {
			diags_print(&d, stderr, 1);
			if (ok) {
				struct policy_counts c;
				policy_counts(p, &c);
				summary_line(stdout, argv[i], &c);
			} else {
				fprintf(stderr, "%s: %zu error%s\n", argv[i], d.nerrors,
					d.nerrors == 1 ? "" : "s");
			}
		}
		policy_unref(p);
		diags_free(&d);
	}
	if (as_json) {
		json_arr_end(&j);
		json_kbool(&j, "valid", status == 0);
		json_obj_end(&j);
		json_end(&j);
	}
	return status;
}

/* ---- connection spec for --match ---------------------------------------- */

static int parse_endpoint(const char *s, struct ip_addr *a, uint16_t *port)
{
	char host[80];
	const char *colon;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof host)
			return -1;
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= sizeof host || strchr(s, ':') != colon)
			return -1;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
	}
	char *end;
	long p = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || p < 0 || p > 65535)
		return -1;
	if (ip_addr_parse(host, a) != 0)
		return -1;
	/* The shim sees IPv4-mapped peers as IPv4; do the same here. */
	if (ip_addr_is_v4_mapped(a) && a->b[10] == 0xff) {
		uint8_t v4[4];
		memcpy(v4, a->b + 12, 4);
		memset(a, 0, sizeof *a);
		a->family = AF_INET;
		memcpy(a->b, v4, 4);
	}
	*port = (uint16_t)p;
	return 0;
}

static int parse_match_spec(const char *spec, struct attls_conn *c, char *err, size_t errlen)
{
	char buf[512];
	if (strlen(spec) >= sizeof buf) {
		snprintf(err, errlen, "the connection spec is too long");
		return -1;
	}
	strcpy(buf, spec);
	memset(c, 0, sizeof *c);
	c->direction = -1;
	bool have_local = false, have_remote = false;
	char *save = NULL;
	for (char *w = strtok_r(buf, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (!strcasecmp(w, "inbound") || !strcasecmp(w, "outbound")) {
			c->direction = !strcasecmp(w, "inbound") ? DIR_INBOUND : DIR_OUTBOUND;
			continue;
		}
		bool remote = !strcasecmp(w, "from") || !strcasecmp(w, "to") || !strcasecmp(w, "remote");
		bool local = !strcasecmp(w, "local");
		bool job = !strcasecmp(w, "job") || !strcasecmp(w, "jobname");
		bool user = !strcasecmp(w, "user") || !strcasecmp(w, "userid");
		char *arg = w;
		if (remote || local || job || user) {
			arg = strtok_r(NULL, " \t", &save);
			if (!arg) {
				snprintf(err, errlen, "'%s' needs a value", w);
				return -1;
			}
		} else if (!have_local) {
			local = true;
		} else {
			snprintf(err, errlen, "unexpected '%s' (write: inbound LOCAL:PORT from "
				 "REMOTE:PORT [job NAME] [user NAME])", w);
			return -1;
		}
		if (job) {
			static char jobname[64];
			snprintf(jobname, sizeof jobname, "%s", arg);
			c->jobname = jobname;
		} else if (user) {
			static char userid[64];
			snprintf(userid, sizeof userid, "%s", arg);
			c->userid = userid;
		} else if (parse_endpoint(arg, local ? &c->local : &c->remote,
					  local ? &c->lport : &c->rport) != 0) {
			snprintf(err, errlen, "'%s' is not ADDRESS:PORT (IPv6 as [ADDRESS]:PORT)", arg);
			return -1;
		} else if (local) {
			have_local = true;
		} else {
			have_remote = true;
		}
	}
	if (c->direction < 0) {
		snprintf(err, errlen, "say inbound or outbound");
		return -1;
	}
	if (!have_local || !have_remote) {
		snprintf(err, errlen, "give both ends: LOCAL:PORT and from|to REMOTE:PORT");
		return -1;
	}
	return 0;
}

/* ---- show ------------------------------------------------------------------ */

/* "Keyword value" as two aligned columns. */
static void condition_line(const char *text)
{
	if (!text)
		return;
	size_t k = strcspn(text, " ");
	printf("  %-22.*s %s\n", (int)k, text, text[k] ? text + k + 1 : "");
}

static void rule_conditions_text(const struct attls_rule *r)
{
	printf("  %-22s %s\n", "Direction", enum_direction[r->direction]);
	condition_line(r->laddr_text);
	condition_line(r->raddr_text);
	condition_line(r->lport_text);
	condition_line(r->rport_text);
	if (r->jobname)
		printf("  %-22s %s\n", "Jobname", r->jobname);
	if (r->userid)
		printf("  %-22s %s\n", "Userid", r->userid);
	printf("  %-22s %s\n", "TTLSGroupAction", r->group ? r->group : "(none)");
	printf("  %-22s %s\n", "TTLSEnvironmentAction", r->env ? r->env : "(none)");
	printf("  %-22s %s\n", "TTLSConnectionAction", r->conn ? r->conn : "(none)");
}

static void effective_text(const struct attls_rule *r)
{
	/* Columns as wide as this rule's longest keyword and value. */
	int kw = 0, val = 0;
	for (size_t i = 0; i < r->nview; i++) {
		int k = (int)strlen(r->view[i].keyword), v = (int)strlen(r->view[i].value);
		kw = k > kw ? k : kw;
		val = v > val ? v : val;
	}
	printf("  Effective parameters:\n");
	for (size_t i = 0; i < r->nview; i++) {
		const struct attls_param_view *v = &r->view[i];
		printf("    %-*s %-*s (%s)%s\n", kw, v->keyword, val, v->value, v->source,
		       v->not_acted ? " [not acted on]" : "");
	}
}

static void rule_header(const struct attls_rule *r)
{
	if (r->has_priority)
		printf("TTLSRule %s (priority %u)\n", r->name, r->priority);
	else
		printf("TTLSRule %s (no priority)\n", r->name);
}

static void rule_json(struct json *j, const struct attls_rule *r)
{
	json_obj_begin(j);
	json_kstr(j, "name", r->name);
	json_kuint(j, "rank", r->rank + 1);
	json_key(j, "priority");
	if (r->has_priority)
		json_uint(j, r->priority);
	else
		json_null(j);
	json_kstr(j, "direction", enum_direction[r->direction]);
	json_key(j, "conditions");
	json_obj_begin(j);
	json_kstr(j, "local_addr", r->laddr_text);
	json_kstr(j, "remote_addr", r->raddr_text);
	json_kstr(j, "local_port", r->lport_text);
	json_kstr(j, "remote_port", r->rport_text);
	json_kstr(j, "jobname", r->jobname);
	json_kstr(j, "userid", r->userid);
	json_obj_end(j);
	json_kstr(j, "group_action", r->group);
	json_kstr(j, "environment_action", r->env);
	json_kstr(j, "connection_action", r->conn);
	json_key(j, "effective");
	json_arr_begin(j);
	for (size_t i = 0; i < r->nview; i++) {
		json_obj_begin(j);
		json_kstr(j, "parameter", r->view[i].keyword);
		json_kstr(j, "value", r->view[i].value);
		json_kstr(j, "source", r->view[i].source);
		json_kbool(j, "acted_on", !r->view[i].not_acted);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}

static const char *range_text(const struct ip_set *s, char *buf, size_t len)
{
	if (s->n == 0)
		return "All";
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < s->n && off + 1 < len; i++) {
		char r[IP_RANGE_STRLEN];
		ip_range_format(&s->r[i], r, sizeof r);
		int w = snprintf(buf + off, len - off, "%s%s", i ? "," : "", r);
		if (w < 0)
			break;
		off += (size_t)w;
	}
	return buf;
}

static void pfs_text(uint32_t mask, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	if (mask & PFS_NONE_BIT)
		off += (size_t)snprintf(buf, len, "None");
	for (int g = 1; g < 32 && off < len; g++)
		if (mask & PFS_BIT(g))
			off += (size_t)snprintf(buf + off, len - off, "%sGroup%d", off ? " " : "", g);
}

static void ipsec_text(const struct ipsec_policy *ip)
{
	if (!ip->present)
		return;
	char a[512], b[512], pf[128];
	printf("\nIpFilterPolicy: %zu rule%s in order\n", ip->nfilters, ip->nfilters == 1 ? "" : "s");
	for (size_t i = 0; i < ip->nfilters; i++) {
		const struct ipsec_filter_rule *r = ip->filters[i];
		printf("%3zu IpFilterRule %s: %s -> %s, %s", i + 1, r->name, range_text(&r->src, a, sizeof a),
		       range_text(&r->dst, b, sizeof b), enum_filter_action[r->action]);
		if (r->vpn) {
			pfs_text(r->vpn->acceptable_pfs, pf, sizeof pf);
			printf(", IpDynVpnAction %s (InitiateWithPfs %s%d, AcceptablePfs %s, offers",
			       r->vpn->name, r->vpn->initiate_pfs ? "Group" : "None",
			       r->vpn->initiate_pfs, pf);
			for (size_t k = 0; k < r->vpn->noffers; k++)
				printf(" %s", r->vpn->offers[k]->name);
			printf(")");
		}
		printf("\n");
	}
	printf("\nKeyExchangePolicy: %zu rule%s in order\n", ip->nke, ip->nke == 1 ? "" : "s");
	for (size_t i = 0; i < ip->nke; i++) {
		const struct ike_rule *r = ip->ke_rules[i];
		printf("%3zu KeyExchangeRule %s: local %s, remote %s, KeyExchangeAction %s (%s; offers",
		       i + 1, r->name, r->local.id.value ? r->local.id.value : "-",
		       r->remote.id.value ? r->remote.id.value : "-",
		       r->action ? r->action->name : "-",
		       r->action ? enum_how_to_initiate[r->action->how_to_initiate] : "-");
		for (size_t k = 0; r->action && k < r->action->noffers; k++)
			printf(" %s", r->action->offers[k]->name);
		printf(")\n");
	}
}

struct explain_ctx {
	bool as_json;
	struct json *j;
};

static void explain_cb(void *arg, const struct attls_rule *r, const char *why)
{
	struct explain_ctx *x = arg;
	if (x->as_json) {
		json_obj_begin(x->j);
		json_kstr(x->j, "rule", r->name);
		json_kbool(x->j, "matched", why == NULL);
		json_kstr(x->j, "reason", why);
		json_obj_end(x->j);
		return;
	}
	if (why)
		printf("  %-24s no: %s\n", r->name, why);
	else
		printf("  %-24s MATCH\n", r->name);
}

static int policy_show(int argc, char **argv, bool as_json, const char *match)
{
	if (argc != 1) {
		fputs("usage: attls policy show [--json] [--match SPEC] FILE\n", stderr);
		return 2;
	}
	struct attls_conn conn;
	char err[256];
	if (match && parse_match_spec(match, &conn, err, sizeof err) != 0) {
		fprintf(stderr, "attls: --match: %s\n", err);
		return 2;
	}
	struct diags d;
	diags_init(&d);
	struct policy *p = policy_load_file(argv[0], &d);
	if (!p) {
		diags_print(&d, stderr, 1);
		fprintf(stderr, "%s: %zu error%s\n", argv[0], d.nerrors, d.nerrors == 1 ? "" : "s");
		diags_free(&d);
		return 1;
	}
	diags_free(&d);
	size_t n = attls_rule_count(p);
	struct json j;
	if (as_json) {
		json_init(&j, stdout, 2);
		json_obj_begin(&j);
		json_kstr(&j, "file", argv[0]);
	}
	if (match) {
		struct explain_ctx x = { as_json, &j };
		if (as_json) {
			json_kstr(&j, "match", match);
			json_key(&j, "tried");
			json_arr_begin(&j);
		} else {
			printf("%s\n", match);
		}
		const struct attls_rule *r = attls_explain(p, &conn, explain_cb, &x);
		/* The indexed lookup the shim uses must agree with the plain walk. */
		if (attls_match(p, &conn) != r) {
			fprintf(stderr, "attls: internal error: indexed lookup disagrees with the rule walk\n");
			policy_unref(p);
			return 3;
		}
		if (as_json) {
			json_arr_end(&j);
			json_key(&j, "rule");
			json_str(&j, r ? r->name : NULL);
			if (r) {
				json_key(&j, "matched_rule");
				rule_json(&j, r);
			}
		} else if (r) {
			printf("=> ");
			rule_header(r);
			rule_conditions_text(r);
			effective_text(r);
			if (!r->s->enabled)
				printf("  TTLSEnabled Off: the connection stays in clear text.\n");
		} else {
			printf("=> no rule matches: attls leaves this connection alone (clear text)\n");
		}
	} else if (as_json) {
		json_key(&j, "rules");
		json_arr_begin(&j);
		for (size_t i = 0; i < n; i++)
			rule_json(&j, attls_rule_at(p, i));
		json_arr_end(&j);
	} else {
		printf("# %s: %zu TTLSRule%s in evaluation order\n", argv[0], n, n == 1 ? "" : "s");
		for (size_t i = 0; i < n; i++) {
			const struct attls_rule *r = attls_rule_at(p, i);
			printf("\n%zu. ", i + 1);
			rule_header(r);
			rule_conditions_text(r);
			effective_text(r);
		}
		ipsec_text(policy_ipsec(p));
	}
	if (as_json) {
		json_obj_end(&j);
		json_end(&j);
	}
	policy_unref(p);
	return 0;
}

/* ---- reference --------------------------------------------------------------- */

static int policy_reference(int nfiles, bool as_json, bool as_man, const char *match)
{
	if (nfiles || as_json || match) {
		fputs("attls: policy reference takes no file and no option but --man\n", stderr);
		return 2;
	}
	reference_print(stdout, as_man ? REF_MDOC : REF_MARKDOWN);
	return 0;
}

static const struct {
	const char *name, *usage;
} policy_cmds[] = {
	{ "check", "usage: attls policy check [--json] FILE...\n"
		   "  Check each policy file on its own: every error as FILE:LINE:COL with a\n"
		   "  hint, or a summary of what the file holds. Exit status 1 when any\n"
		   "  file has an error.\n" },
	{ "show", "usage: attls policy show [--json] [--match SPEC] FILE\n"
		  "  The TTLSRules in evaluation order with every effective parameter and\n"
		  "  where it comes from; with --match, the rule a connection maps to and\n"
		  "  why each rule before it did not match. SPEC, e.g.\n"
		  "    'inbound 127.0.0.1:443 from 10.1.2.3:5555 job nginx user www'\n"
		  "    'outbound 10.0.0.5:40000 to [2001:db8::1]:443 job curl'\n" },
	{ "reference", "usage: attls policy reference [--man]\n"
		       "  Every statement and parameter attls knows, as Markdown (the second\n"
		       "  half of docs/policy-reference.md), or with --man as mdoc (the\n"
		       "  STATEMENTS section of attls.conf(5)).\n" },
};

/* The usage of sub (NULL: of all); false when there is no such command. */
static bool policy_usage(FILE *out, const char *sub)
{
	if (!sub)
		fputs("usage: attls policy check|show|reference ...\n\n", out);
	bool any = false;
	for (size_t i = 0; i < sizeof policy_cmds / sizeof policy_cmds[0]; i++)
		if (!sub || !strcmp(sub, policy_cmds[i].name)) {
			fputs(policy_cmds[i].usage, out);
			any = true;
		}
	return any;
}

int cmd_policy(int argc, char **argv)
{
	if (argc < 2 || ctl_is_help(argv[1])) {
		policy_usage(argc < 2 ? stderr : stdout, NULL);
		return argc < 2 ? 2 : 0;
	}
	const char *sub = argv[1];
	for (int i = 2; i < argc; i++)
		if (ctl_is_help(argv[i])) {
			if (policy_usage(stdout, sub))
				return 0;
			break;   /* an unknown command: said below */
		}
	bool as_json = false, as_man = false;
	const char *match = NULL;
	char **files = calloc((size_t)argc, sizeof *files);
	int nfiles = 0;
	if (!files)
		return 1;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			as_json = true;
		} else if (!strcmp(argv[i], "--man")) {
			as_man = true;
		} else if (!strcmp(argv[i], "--match")) {
			if (++i >= argc) {
				fputs("attls: --match needs a connection spec\n", stderr);
				free(files);
				return 2;
			}
			match = argv[i];
		} else if (!strncmp(argv[i], "--match=", 8)) {
			match = argv[i] + 8;
		} else if (argv[i][0] == '-' && argv[i][1] && !ctl_is_help(argv[i])) {
			fprintf(stderr, "attls: unknown option '%s'\n", argv[i]);
			free(files);
			return 2;
		} else {
			files[nfiles++] = argv[i];
		}
	}
	int rc;
	if (!strcmp(sub, "check"))
		rc = match ? 2 : policy_check(nfiles, files, as_json);
	else if (!strcmp(sub, "show"))
		rc = policy_show(nfiles, files, as_json, match);
	else if (!strcmp(sub, "reference"))
		rc = policy_reference(nfiles, as_json, as_man, match);
	else {
		fprintf(stderr, "attls: unknown policy command '%s' (check, show, reference)\n", sub);
		rc = 2;
	}
	if (!strcmp(sub, "check") && match)
		fputs("attls: --match goes with 'policy show'\n", stderr);
	free(files);
	return rc;
}
