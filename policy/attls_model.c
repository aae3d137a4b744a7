/* policy/attls_model — TTLSRule statements compiled into attls_rule: conditions
 * flattened, actions merged into effective settings, rules sorted into
 * evaluation order, and the checks that need the merged view. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/ciphers.h"
#include "policy/policy_internal.h"

struct compiler;
static bool first_report(struct compiler *c, struct srcpos pos);
static struct diags *compiler_diags(const struct compiler *c);

/* ---- conditions ---------------------------------------------------------- */

struct range_buf {
	struct ip_range *v;
	size_t n, cap;
	bool any;
};

static int range_push(struct arena *a, struct range_buf *b, const struct ip_range *r)
{
	if (r->kind == IPR_ALL) {
		b->any = true;
		return 0;
	}
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4;
		struct ip_range *v = arena_grow(a, b->v, b->n, cap, sizeof *v);
		if (!v)
			return -1;
		b->v = v;
		b->cap = cap;
	}
	b->v[b->n++] = *r;
	return 0;
}

/* An IpAddr statement shared by several rules is reported once. */
static void check_mapped(struct compiler *c, const struct pparam *p, const struct ip_range *r)
{
	if (ip_range_has_v4_mapped(r) && first_report(c, p->vpos))
		diag_error(compiler_diags(c), p->vpos, "write IPv4 addresses in dotted form; attls maps "
			   "::ffff:a.b.c.d connections to IPv4 itself",
			   "IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) addresses "
			   "are not allowed in AT-TLS rules");
}

/* Ranges of an IpAddr, IpAddrSet or IpAddrGroup statement. */
static int collect_stmt_addrs(struct compiler *c, struct arena *a, const struct pstmt *s,
			      struct range_buf *b)
{
	for (size_t i = 0; s && i < s->nparams; i++) {
		const struct pparam *p = &s->params[i];
		switch (p->ps->kind) {
		case VK_ADDR: case VK_PREFIX: case VK_IPRANGE:
			check_mapped(c, p, &p->v.range);
			if (range_push(a, b, &p->v.range))
				return -1;
			break;
		case VK_INLINE:
			if (collect_stmt_addrs(c, a, p->v.inl, b))
				return -1;
			break;
		case VK_REF:
			if (collect_stmt_addrs(c, a, p->v.ref.target, b))
				return -1;
			break;
		default:
			break;
		}
	}
	return 0;
}

/* The address set of a rule side from whichever of the four forms is used. */
/* The parameter that states one side's condition, whichever of its
 * alternative forms is written (validation allows at most one); *form is its
 * index in suffix, *text "Keyword value" for explanations. */
static const struct pparam *condition_form(struct arena *a, const struct pstmt *rule,
					   const char *side, const char *const *suffix, int n,
					   int *form, const char **text)
{
	*text = NULL;
	for (int k = 0; k < n; k++) {
		char kw[40];
		snprintf(kw, sizeof kw, "%s%s", side, suffix[k]);
		const struct pparam *p = pstmt_param(rule, kw);
		if (!p)
			continue;
		*form = k;
		*text = arena_printf(a, "%s %s", p->ps->name, p->text);
		return p;
	}
	return NULL;
}

static int rule_addrs(struct compiler *c, struct arena *a, const struct pstmt *rule,
		      const char *side, struct ip_set *out, const char **text)
{
	static const char *const suffix[] = { "Addr", "AddrRef", "AddrSetRef", "AddrGroupRef" };
	struct range_buf b = { 0 };
	int form = 0;
	const struct pparam *p = condition_form(a, rule, side, suffix, 4, &form, text);
	if (p && !*text)
		return -1;
	if (p && form == 0) {
		check_mapped(c, p, &p->v.range);
		if (range_push(a, &b, &p->v.range))
			return -1;
	} else if (p && collect_stmt_addrs(c, a, p->v.ref.target, &b)) {
		return -1;
	}
	out->n = b.any ? 0 : b.n;
	out->r = b.v;
	return 0;
}

static int collect_stmt_ports(struct arena *a, const struct pstmt *s, struct port_range **v,
			      size_t *n, size_t *cap, bool *any)
{
	for (size_t i = 0; s && i < s->nparams; i++) {
		const struct pparam *p = &s->params[i];
		if (p->ps->kind == VK_INLINE || p->ps->kind == VK_REF) {
			if (collect_stmt_ports(a, p->ps->kind == VK_INLINE ? p->v.inl : p->v.ref.target,
					       v, n, cap, any))
				return -1;
			continue;
		}
		if (p->ps->kind != VK_PORTS)
			continue;
		if (p->v.ports.lo == 0 && p->v.ports.hi == 65535) {
			*any = true;
			continue;
		}
		if (*n == *cap) {
			size_t c = *cap ? *cap * 2 : 4;
			struct port_range *nv = arena_grow(a, *v, *n, c, sizeof **v);
			if (!nv)
				return -1;
			*v = nv;
			*cap = c;
		}
		(*v)[(*n)++] = p->v.ports;
	}
	return 0;
}

static int rule_ports(struct arena *a, const struct pstmt *rule, const char *side,
		      struct port_set *out, const char **text)
{
	static const char *const suffix[] = { "PortRange", "PortRangeRef", "PortGroupRef" };
	struct port_range *v = NULL;
	size_t n = 0, cap = 0;
	bool any = false;
	int form = 0;
	const struct pparam *p = condition_form(a, rule, side, suffix, 3, &form, text);
	if (p && !*text)
		return -1;
	if (p && form == 0) {
		struct pstmt fake = { .params = (struct pparam *)p, .nparams = 1 };
		if (collect_stmt_ports(a, &fake, &v, &n, &cap, &any))
			return -1;
	} else if (p && collect_stmt_ports(a, p->v.ref.target, &v, &n, &cap, &any)) {
		return -1;
	}
	out->n = any ? 0 : n;
	out->r = v;
	return 0;
}

/* ---- effective settings -------------------------------------------------- */

/* The statements that feed a rule's settings, highest precedence first. */
struct sources {
	const struct pstmt *v[12];
	size_t n;
};

static void add_source(struct sources *s, const struct pstmt *st)
{
	if (st && s->n < sizeof s->v / sizeof s->v[0])
		s->v[s->n++] = st;
}

static void gather_sources(const struct pstmt *group, const struct pstmt *env,
			   const struct pstmt *conn, struct sources *s)
{
	add_source(s, conn);
	add_source(s, pstmt_sub(conn, "TTLSConnectionAdvancedParms"));
	add_source(s, pstmt_sub(conn, "TTLSCipherParms"));
	add_source(s, env);
	add_source(s, pstmt_sub(env, "TTLSEnvironmentAdvancedParms"));
	add_source(s, pstmt_sub(env, "TTLSKeyringParms"));
	/* A connection action's cipher list replaces the environment's whole. */
	if (!pstmt_sub(conn, "TTLSCipherParms"))
		add_source(s, pstmt_sub(env, "TTLSCipherParms"));
	add_source(s, pstmt_sub(env, "TTLSGskAdvancedParms"));
	add_source(s, group);
}

/* The keywords that make up effective settings, in display order: every value
 * parameter of the statements that can feed a rule. */
static const char *const feeder_types[] = {
	"TTLSGroupAction", "TTLSEnvironmentAction", "TTLSConnectionAction", "TTLSKeyringParms",
	"TTLSCipherParms", "TTLSEnvironmentAdvancedParms", "TTLSConnectionAdvancedParms",
	"TTLSGskAdvancedParms",
};

struct keyword {
	const struct param_schema *ps;   /* the first schema entry with this name */
	const char *dflt;                /* default from whichever schema has one */
};

static size_t effective_keywords(struct keyword *out, size_t max)
{
	size_t n = 0;
	for (size_t t = 0; t < sizeof feeder_types / sizeof feeder_types[0]; t++) {
		const struct stmt_schema *ss = schema_stmt(feeder_types[t]);
		for (size_t i = 0; i < ss->nparams; i++) {
			const struct param_schema *ps = &ss->params[i];
			if (ps->kind == VK_REF || ps->kind == VK_INLINE || (ps->flags & PF_UNSUPPORTED))
				continue;
			size_t k;
			for (k = 0; k < n; k++)
				if (strcasecmp(out[k].ps->name, ps->name) == 0)
					break;
			if (k == n) {
				if (n == max)
					return n;
				out[n++] = (struct keyword){ ps, ps->dflt };
			} else if (!out[k].dflt) {
				out[k].dflt = ps->dflt;
			}
		}
	}
	return n;
}

struct effective {
	const struct pstmt *key[3];     /* group, env, conn: the cache key */
	struct attls_settings s;
	struct attls_param_view *view;
	size_t nview;
	const struct pparam **found;    /* per keyword: the line that set it, or NULL */
	struct effective *next;
};

#define MAX_KEYWORDS 128

struct compiler {
	struct policy *p;
	struct arena *a;
	struct diags *d;
	struct keyword kw[MAX_KEYWORDS];
	size_t nkw;
	struct effective **buckets;
	size_t nbuckets;
	struct srcpos *reported;        /* positions already reported, to say things once */
	size_t nreported, capreported;
};

static struct diags *compiler_diags(const struct compiler *c) { return c->d; }

static bool first_report(struct compiler *c, struct srcpos pos)
{
	for (size_t i = 0; i < c->nreported; i++)
		if (c->reported[i].line == pos.line && c->reported[i].col == pos.col &&
		    c->reported[i].file == pos.file)
			return false;
	if (c->nreported == c->capreported) {
		size_t cap = c->capreported ? c->capreported * 2 : 16;
		struct srcpos *v = arena_grow(c->a, c->reported, c->nreported, cap, sizeof *v);
		if (!v)
			return true;
		c->reported = v;
		c->capreported = cap;
	}
	c->reported[c->nreported++] = pos;
	return true;
}

static const struct pparam *find_kw(const struct sources *src, const char *kw,
				    const struct pstmt **from)
{
	for (size_t i = 0; i < src->n; i++) {
		const struct pparam *p = pstmt_param(src->v[i], kw);
		if (p) {
			*from = src->v[i];
			return p;
		}
	}
	return NULL;
}

static size_t kw_index(const struct compiler *c, const char *name)
{
	for (size_t i = 0; i < c->nkw; i++)
		if (strcasecmp(c->kw[i].ps->name, name) == 0)
			return i;
	return c->nkw;   /* never: callers ask for known keywords */
}

static bool eff_onoff(const struct compiler *c, const struct effective *e, const char *kw)
{
	size_t i = kw_index(c, kw);
	const struct pparam *p = i < c->nkw ? e->found[i] : NULL;
	if (p)
		return p->v.b;
	return i < c->nkw && c->kw[i].dflt && strcasecmp(c->kw[i].dflt, "On") == 0;
}

static int eff_enum(const struct compiler *c, const struct effective *e, const char *kw,
		    const char *const *values)
{
	size_t i = kw_index(c, kw);
	const struct pparam *p = i < c->nkw ? e->found[i] : NULL;
	if (p)
		return p->v.e;
	for (int k = 0; i < c->nkw && c->kw[i].dflt && values[k]; k++)
		if (strcasecmp(values[k], c->kw[i].dflt) == 0)
			return k;
	return -1;
}

static int64_t eff_int(const struct compiler *c, const struct effective *e, const char *kw)
{
	size_t i = kw_index(c, kw);
	const struct pparam *p = i < c->nkw ? e->found[i] : NULL;
	if (p)
		return p->v.i;
	return i < c->nkw && c->kw[i].dflt ? atoll(c->kw[i].dflt) : 0;
}

static const char *eff_str(const struct compiler *c, const struct effective *e, const char *kw)
{
	size_t i = kw_index(c, kw);
	const struct pparam *p = i < c->nkw ? e->found[i] : NULL;
	return p ? p->v.s : NULL;
}

const char *policy_resolve_path(struct arena *a, const char *dir, const char *path)
{
	if (!path || path[0] == '/' || !dir)
		return path;
	return arena_printf(a, "%s/%s", dir, path);
}

/* Cipher codes from the TTLSCipherParms that applies, in the order written. */
static int eff_ciphers(struct compiler *c, const struct sources *src, struct effective *e)
{
	const struct pstmt *cp = NULL;
	for (size_t i = 0; i < src->n && !cp; i++)
		if (strcmp(src->v[i]->ss->name, "TTLSCipherParms") == 0)
			cp = src->v[i];
	if (!cp)
		return 0;
	size_t total = 0;
	for (size_t i = 0; i < cp->nparams; i++)
		if (cp->params[i].ps->kind == VK_CIPHER2 || cp->params[i].ps->kind == VK_CIPHER4)
			total += cp->params[i].v.ciphers.n;
	uint16_t *codes = arena_array(c->a, total ? total : 1, sizeof *codes);
	if (!codes)
		return -1;
	size_t n = 0, legacy = 0;
	bool listed = false;
	struct attls_settings *s = &e->s;
	for (size_t i = 0; i < cp->nparams; i++) {
		const struct pparam *p = &cp->params[i];
		if (p->ps->kind != VK_CIPHER2 && p->ps->kind != VK_CIPHER4)
			continue;
		listed = true;
		for (size_t k = 0; k < p->v.ciphers.n; k++) {
			const struct cipher_suite *cs = cipher_by_code(p->v.ciphers.codes[k]);
			if (!cs->supported) {
				legacy++;
				if (first_report(c, p->vpos))
					diag_warn(c->d, p->vpos, NULL, "%s: %s is a legacy suite attls never "
						  "enables; it is ignored", p->ps->name, cs->name);
				continue;
			}
			bool dup = false;
			for (size_t j = 0; j < n; j++)
				dup |= codes[j] == cs->code;
			if (!dup)
				codes[n++] = cs->code;
		}
	}
	/* A list that leaves nothing for the enabled versions would silently fail every
	 * handshake; say so now. */
	bool usable = false;
	for (size_t i = 0; i < n; i++) {
		const struct cipher_suite *cs = cipher_by_code(codes[i]);
		if ((cs->tls13 && s->tls13) || (!cs->tls13 && (s->tls12 || s->tls11 || s->tls10)))
			usable = true;
	}
	if (listed && !usable && first_report(c, cp->pos))
		diag_error(c->d, cp->pos, s->tls13 ? "TLS 1.3 needs 4-char codes 1301, 1302 or 1303 "
			   "in V3CipherSuites4Char" : NULL,
			   "TTLSCipherParms %s leaves no cipher suite for the enabled TLS versions%s",
			   pstmt_name(cp), legacy ? " (its legacy suites are ignored)" : "");
	s->ciphers = codes;
	s->nciphers = n;
	return 0;
}

/* A file a key ring parameter names, as far as the file system says: missing
 * (the rules can be in place before the ring is) or not readable by whoever
 * checks. What is in the file is `attls policy check`'s to test. */
static void check_ring_file(struct compiler *c, const struct pparam *p, const char *what,
			    const char *path)
{
	struct stat st;
	int e = 0;
	if (stat(path, &st) != 0)
		e = errno;
	else if (S_ISREG(st.st_mode) && access(path, R_OK) != 0)
		e = errno;
	if (e == ENOENT || e == ENOTDIR)
		diag_warn(c->d, p->vpos, "connections of rules that use it will fail until it exists",
			  "%s %s does not exist", what, path);
	else if (e)
		diag_warn(c->d, p->vpos, "the program reads it as the user it runs as; a program "
			  "started as root reads it before it drops privileges",
			  "%s %s cannot be read by this user (uid %u): %s", what, path,
			  (unsigned)geteuid(), strerror(e));
}

static void check_keyring(struct compiler *c, const struct effective *e)
{
	size_t i = kw_index(c, "Keyring");
	const struct pparam *p = i < c->nkw ? e->found[i] : NULL;
	if (p && e->s.keyring && first_report(c, p->vpos))
		check_ring_file(c, p, "Keyring", e->s.keyring);
	i = kw_index(c, "KeyringStashFile");
	p = i < c->nkw ? e->found[i] : NULL;
	if (p && e->s.keyring_stash && !e->s.keyring_pw && first_report(c, p->vpos))
		check_ring_file(c, p, "KeyringStashFile", e->s.keyring_stash);
}

bool attls_needs_key(const struct attls_settings *s, int role)
{
	(void)s;
	return role != ROLE_CLIENT;
}

bool attls_verifies_peer(const struct attls_settings *s, int role)
{
	/* A server that does not ask for client certificates verifies nobody. */
	return role == ROLE_CLIENT ||
	       (role == ROLE_SERVER_CLIENT_AUTH && s->client_auth != CAUTH_PASSTHRU);
}

/* Errors in the merged view. Values attls refuses wherever they are written
 * (SSLv2 On, ClientAuthType SAFCheck) are checked per statement in validate.c. */
static void check_effective(struct compiler *c, const struct pstmt *rule, struct effective *e)
{
	struct attls_settings *s = &e->s;
	if (!s->tls10 && !s->tls11 && !s->tls12 && !s->tls13 && first_report(c, rule->pos))
		diag_error(c->d, rule->pos, "turn TLSv1.2 or TLSv1.3 On",
			   "TTLSRule %s enables no TLS version", pstmt_name(rule));
	check_keyring(c, e);
}

static int build_view(struct compiler *c, struct effective *e, const struct sources *src)
{
	e->view = arena_array(c->a, c->nkw, sizeof *e->view);
	e->found = arena_array(c->a, c->nkw, sizeof *e->found);
	if (!e->view || !e->found)
		return -1;
	for (size_t i = 0; i < c->nkw; i++) {
		const struct param_schema *ps = c->kw[i].ps;
		const struct pstmt *from = NULL;
		const struct pparam *p = find_kw(src, ps->name, &from);
		e->found[i] = p;
		struct attls_param_view *v = &e->view[e->nview];
		if (p) {
			/* repeated parameters (cipher lists) show every line */
			const char *text = p->text;
			if (ps->flags & PF_REPEAT) {
				for (size_t k = 0; k < from->nparams; k++) {
					const struct pparam *q = &from->params[k];
					if (q != p && q->ps == p->ps)
						text = arena_printf(c->a, "%s %s", text, q->text);
					if (!text)
						return -1;
				}
			}
			v->value = text;
			v->source = arena_printf(c->a, "%s %s", from->ss->name, pstmt_name(from));
			if (!v->source)
				return -1;
		} else if (c->kw[i].dflt && !(ps->flags & PF_NOT_ACTED)) {
			/* Defaults of parameters attls ignores would only be noise. */
			v->value = c->kw[i].dflt;
			v->source = "default";
		} else {
			continue;
		}
		v->keyword = ps->name;
		v->not_acted = (ps->flags & PF_NOT_ACTED) != 0;
		e->nview++;
	}
	return 0;
}

static int fill_settings(struct compiler *c, struct effective *e, const struct sources *src)
{
	struct attls_settings *s = &e->s;
	s->enabled = eff_onoff(c, e, "TTLSEnabled");
	s->trace = (unsigned)eff_int(c, e, "Trace");
	s->role = eff_enum(c, e, "HandshakeRole", enum_role);
	s->client_auth = eff_enum(c, e, "ClientAuthType", enum_client_auth);
	s->tls10 = eff_onoff(c, e, "TLSv1");
	s->tls11 = eff_onoff(c, e, "TLSv1.1");
	s->tls12 = eff_onoff(c, e, "TLSv1.2");
	s->tls13 = eff_onoff(c, e, "TLSv1.3");
	s->middlebox_compat = eff_onoff(c, e, "MiddleBoxCompatMode");
	s->app_controlled = eff_onoff(c, e, "ApplicationControlled");
	s->secondary_map = eff_onoff(c, e, "SecondaryMap");
	s->hs_timeout = (unsigned)eff_int(c, e, "HandshakeTimeout");
	const char *dir = c->p->tree.dir;
	s->keyring = policy_resolve_path(c->a, dir, eff_str(c, e, "Keyring"));
	size_t kr = kw_index(c, "Keyring");
	if (kr < c->nkw && e->found[kr])
		s->keyring_pos = e->found[kr]->vpos;
	s->keyring_pw = eff_str(c, e, "KeyringPw");
	s->keyring_stash = policy_resolve_path(c->a, dir, eff_str(c, e, "KeyringStashFile"));
	s->cert_label = eff_str(c, e, "CertificateLabel");
	s->host_ref_dns = eff_str(c, e, "HostReferenceIdDNS");
	s->client_sni = eff_enum(c, e, "ClientHandshakeSNI", enum_sni);
	s->session_timeout = (unsigned)eff_int(c, e, "GSK_V3_SESSION_TIMEOUT");
	s->sid_cache_size = (unsigned)eff_int(c, e, "GSK_V3_SIDCACHE_SIZE");
	s->tickets_client = eff_onoff(c, e, "GSK_SESSION_TICKET_CLIENT_ENABLE");
	s->tickets_server = eff_onoff(c, e, "GSK_SESSION_TICKET_SERVER_ENABLE");
	s->fips140 = eff_enum(c, e, "FIPS140", enum_fips140);
	return eff_ciphers(c, src, e);
}

static struct effective *effective_for(struct compiler *c, const struct pstmt *rule,
				       const struct pstmt *group, const struct pstmt *env,
				       const struct pstmt *conn)
{
	size_t h = ((size_t)group * 31 + (size_t)env) * 31 + (size_t)conn;
	h = (h ^ (h >> 17)) % c->nbuckets;
	for (struct effective *e = c->buckets[h]; e; e = e->next)
		if (e->key[0] == group && e->key[1] == env && e->key[2] == conn)
			return e;
	struct effective *e = arena_alloc(c->a, sizeof *e);
	if (!e)
		return NULL;
	e->key[0] = group;
	e->key[1] = env;
	e->key[2] = conn;
	struct sources src = { .n = 0 };
	gather_sources(group, env, conn, &src);
	if (build_view(c, e, &src) || fill_settings(c, e, &src))
		return NULL;
	if (e->s.enabled && env)
		check_effective(c, rule, e);
	e->next = c->buckets[h];
	c->buckets[h] = e;
	return e;
}

/* ---- rules --------------------------------------------------------------- */

static const char *const condition_params[] = {
	"LocalAddr", "LocalAddrRef", "LocalAddrSetRef", "LocalAddrGroupRef",
	"RemoteAddr", "RemoteAddrRef", "RemoteAddrSetRef", "RemoteAddrGroupRef",
	"LocalPortRange", "LocalPortRangeRef", "LocalPortGroupRef",
	"RemotePortRange", "RemotePortRangeRef", "RemotePortGroupRef", "Jobname", "Userid",
};

static const struct pstmt *ref_target(const struct pstmt *s, const char *kw)
{
	const struct pparam *p = pstmt_param(s, kw);
	return p ? p->v.ref.target : NULL;
}

static int compile_rule(struct compiler *c, const struct pstmt *st, struct attls_rule *r)
{
	struct arena *a = c->a;
	r->name = st->name;
	r->pos = st->pos;
	const struct pparam *pr = pstmt_param(st, "Priority");
	r->has_priority = pr != NULL;
	r->priority = pr ? (uint32_t)pr->v.i : 0;
	const struct pparam *dir = pstmt_param(st, "Direction");
	r->direction = dir ? dir->v.e : DIR_BOTH;
	const struct pparam *job = pstmt_param(st, "Jobname");
	const struct pparam *user = pstmt_param(st, "Userid");
	r->jobname = job ? job->v.s : NULL;
	r->userid = user ? user->v.s : NULL;

	/* A condition whose value is wrong is still a condition: its own error
	 * says what is wrong with it. */
	bool has_condition = false;
	for (size_t i = 0; i < sizeof condition_params / sizeof condition_params[0]; i++)
		has_condition |= pstmt_given(st, condition_params[i]) != NULL;
	if (!has_condition)
		diag_error(c->d, st->pos, "add e.g. LocalPortRange 443, RemoteAddr ..., or Jobname NAME",
			   "TTLSRule %s has no condition: it needs an address, port, Jobname or Userid",
			   st->name);

	if (rule_addrs(c, a, st, "Local", &r->local, &r->laddr_text) ||
	    rule_addrs(c, a, st, "Remote", &r->remote, &r->raddr_text) ||
	    rule_ports(a, st, "Local", &r->lports, &r->lport_text) ||
	    rule_ports(a, st, "Remote", &r->rports, &r->rport_text))
		return -1;

	const struct pstmt *group = ref_target(st, "TTLSGroupActionRef");
	const struct pstmt *env = ref_target(st, "TTLSEnvironmentActionRef");
	const struct pstmt *conn = ref_target(st, "TTLSConnectionActionRef");
	r->group = group ? group->name : NULL;
	r->env = env ? env->name : NULL;
	r->conn = conn ? conn->name : NULL;
	const struct pparam *en = pstmt_param(group, "TTLSEnabled");
	if (group && en && en->v.b && !env && !pstmt_param(st, "TTLSEnvironmentActionRef"))
		diag_error(c->d, st->pos, "add: TTLSEnvironmentActionRef NAME",
			   "TTLSRule %s: its group %s has TTLSEnabled On, so it needs an environment action",
			   st->name, group->name);
	struct effective *e = effective_for(c, st, group, env, conn);
	if (!e)
		return -1;
	r->s = &e->s;
	r->view = e->view;
	r->nview = e->nview;
	return 0;
}

static int cmp_rules(const void *a, const void *b)
{
	const struct attls_rule *x = a, *y = b;
	if (x->has_priority != y->has_priority)
		return x->has_priority ? -1 : 1;
	if (x->priority != y->priority)
		return x->priority > y->priority ? -1 : 1;
	return strcmp(x->name, y->name);
}

int attls_compile(struct policy *p, struct diags *d)
{
	struct compiler c = { .p = p, .a = &p->arena, .d = d };
	c.nkw = effective_keywords(c.kw, MAX_KEYWORDS);
	size_t n = 0;
	for (size_t i = 0; i < p->tree.nstmts; i++) {
		const struct pstmt *s = p->tree.stmts[i];
		const char *t = s->ss->name;
		if (strcmp(t, "TTLSRule") == 0)
			n++;
		else if (strcmp(t, "TTLSGroupAction") == 0)
			p->counts.group_actions++;
		else if (strcmp(t, "TTLSEnvironmentAction") == 0)
			p->counts.env_actions++;
		else if (strcmp(t, "TTLSConnectionAction") == 0)
			p->counts.conn_actions++;
	}
	p->counts.ttls_rules = n;
	c.nbuckets = n * 2 + 7;
	c.buckets = arena_array(c.a, c.nbuckets, sizeof *c.buckets);
	p->rules = arena_array(c.a, n ? n : 1, sizeof *p->rules);
	if (!c.buckets || !p->rules)
		return -1;
	size_t k = 0;
	for (size_t i = 0; i < p->tree.nstmts; i++) {
		const struct pstmt *s = p->tree.stmts[i];
		if (strcmp(s->ss->name, "TTLSRule") != 0)
			continue;
		if (compile_rule(&c, s, &p->rules[k++]))
			return -1;
	}
	p->nrules = n;
	qsort(p->rules, n, sizeof *p->rules, cmp_rules);
	for (size_t i = 0; i < n; i++)
		p->rules[i].rank = (uint32_t)i;
	return 0;
}
