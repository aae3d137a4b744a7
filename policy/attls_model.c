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

/* The keywords of one side's condition in their alternative forms: the
 * value itself first, then the references. */
static const char *const addr_forms[2][4] = {
	{ "LocalAddr", "LocalAddrRef", "LocalAddrSetRef", "LocalAddrGroupRef" },
	{ "RemoteAddr", "RemoteAddrRef", "RemoteAddrSetRef", "RemoteAddrGroupRef" },
};
static const char *const port_forms[2][3] = {
	{ "LocalPortRange", "LocalPortRangeRef", "LocalPortGroupRef" },
	{ "RemotePortRange", "RemotePortRangeRef", "RemotePortGroupRef" },
};

/* The parameter that states one side's condition, whichever of its
 * alternative forms is written (validation allows at most one); *form is its
 * index in forms, *text "Keyword value" for explanations. */
static const struct pparam *condition_form(struct arena *a, const struct pstmt *rule,
					   const char *const *forms, int n, int *form,
					   const char **text)
{
	*text = NULL;
	for (int k = 0; k < n; k++) {
		const struct pparam *p = pstmt_param(rule, forms[k]);
		if (!p)
			continue;
		*form = k;
		*text = arena_concat(a, p->ps->name, " ", p->text, NULL);
		return p;
	}
	return NULL;
}

/* The address set of a rule side (0 local, 1 remote) from whichever of the
 * four forms is used. */
static int rule_addrs(struct compiler *c, struct arena *a, const struct pstmt *rule,
		      int side, struct ip_set *out, const char **text)
{
	struct range_buf b = { 0 };
	int form = 0;
	const struct pparam *p = condition_form(a, rule, addr_forms[side], 4, &form, text);
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

static int rule_ports(struct arena *a, const struct pstmt *rule, int side,
		      struct port_set *out, const char **text)
{
	struct port_range *v = NULL;
	size_t n = 0, cap = 0;
	bool any = false;
	int form = 0;
	const struct pparam *p = condition_form(a, rule, port_forms[side], 3, &form, text);
	if (p && !*text)
		return -1;
	if (p && form == 0) {
		struct pstmt fake = { .ss = rule->ss, .params = (struct pparam *)p, .nparams = 1 };
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
	/* Per keyword, the line that set it or NULL: only while the effective
	 * settings are being built (it points into effective_for's frame). */
	const struct pparam **found;
	struct effective *next;
};

#define MAX_KEYWORDS 128

/* The keywords fill_settings reads, resolved to keyword indexes once per
 * compile rather than by name for every action triple. */
enum setting {
	K_ENABLED, K_TRACE, K_ROLE, K_CLIENT_AUTH, K_TLS10, K_TLS11, K_TLS12, K_TLS13,
	K_MIDDLEBOX, K_APP_CONTROLLED, K_SECONDARY_MAP, K_HS_TIMEOUT, K_KEYRING, K_KEYRING_PW,
	K_KEYRING_STASH, K_CERT_LABEL, K_HOST_REF_DNS, K_SNI, K_SESSION_TIMEOUT, K_SIDCACHE,
	K_TICKETS_CLIENT, K_TICKETS_SERVER, K_FIPS140, NSETTINGS
};

static const char *const setting_keyword[NSETTINGS] = {
	"TTLSEnabled", "Trace", "HandshakeRole", "ClientAuthType", "TLSv1", "TLSv1.1", "TLSv1.2",
	"TLSv1.3", "MiddleBoxCompatMode", "ApplicationControlled", "SecondaryMap",
	"HandshakeTimeout", "Keyring", "KeyringPw", "KeyringStashFile", "CertificateLabel",
	"HostReferenceIdDNS", "ClientHandshakeSNI", "GSK_V3_SESSION_TIMEOUT", "GSK_V3_SIDCACHE_SIZE",
	"GSK_SESSION_TICKET_CLIENT_ENABLE", "GSK_SESSION_TICKET_SERVER_ENABLE", "FIPS140",
};

/* For one statement type that feeds settings: the keyword index of each of
 * its parameters (by position in its schema), or -1. */
struct feeder_map {
	const struct stmt_schema *ss;
	int16_t *kw;
};

struct compiler {
	struct policy *p;
	struct arena *a;
	struct diags *d;
	struct keyword kw[MAX_KEYWORDS];
	size_t nkw;
	size_t at[NSETTINGS];           /* keyword index of each setting */
	struct feeder_map feeders[sizeof feeder_types / sizeof feeder_types[0]];
	struct effective **buckets;
	size_t nbuckets;
	/* Positions already reported, to say things once: an open-addressing
	 * set (a shared statement is seen by every rule that uses it). */
	struct srcpos *reported;
	size_t nreported, capreported;
};

static struct diags *compiler_diags(const struct compiler *c) { return c->d; }

static size_t pos_hash(struct srcpos pos)
{
	uint64_t h = ((uint64_t)pos.line << 20 ^ pos.col ^ (uintptr_t)pos.file) *
		     0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 32);
}

static bool same_pos(struct srcpos a, struct srcpos b)
{
	return a.line == b.line && a.col == b.col && a.file == b.file;
}

/* Slot of pos in the set: where it is, or the empty slot it would take. */
static struct srcpos *pos_slot(struct srcpos *set, size_t cap, struct srcpos pos)
{
	size_t h = pos_hash(pos) & (cap - 1);
	while (set[h].line && !same_pos(set[h], pos))
		h = (h + 1) & (cap - 1);
	return &set[h];
}

static bool first_report(struct compiler *c, struct srcpos pos)
{
	if (2 * (c->nreported + 1) > c->capreported) {
		size_t cap = c->capreported ? c->capreported * 2 : 64;
		struct srcpos *v = arena_array(c->a, cap, sizeof *v);
		if (!v)
			return true;
		for (size_t i = 0; i < c->capreported; i++)
			if (c->reported[i].line)
				*pos_slot(v, cap, c->reported[i]) = c->reported[i];
		c->reported = v;
		c->capreported = cap;
	}
	/* Positions start at line 1: line 0 marks a free slot. A position
	 * without a line cannot be remembered; report it every time. */
	if (!pos.line)
		return true;
	struct srcpos *slot = pos_slot(c->reported, c->capreported, pos);
	if (slot->line)
		return false;
	*slot = pos;
	c->nreported++;
	return true;
}

static size_t kw_index(const struct compiler *c, const char *name)
{
	for (size_t i = 0; i < c->nkw; i++)
		if (strcasecmp(c->kw[i].ps->name, name) == 0)
			return i;
	return c->nkw;   /* never: callers ask for known keywords */
}

static int init_feeder_maps(struct compiler *c)
{
	for (size_t t = 0; t < sizeof feeder_types / sizeof feeder_types[0]; t++) {
		const struct stmt_schema *ss = schema_stmt(feeder_types[t]);
		struct feeder_map *m = &c->feeders[t];
		m->ss = ss;
		m->kw = arena_array(c->a, ss->nparams ? ss->nparams : 1, sizeof *m->kw);
		if (!m->kw)
			return -1;
		for (size_t i = 0; i < ss->nparams; i++) {
			size_t k = kw_index(c, ss->params[i].name);
			m->kw[i] = k < c->nkw ? (int16_t)k : -1;
		}
	}
	for (int k = 0; k < NSETTINGS; k++)
		c->at[k] = kw_index(c, setting_keyword[k]);
	return 0;
}

/* The keyword a parameter of statement s sets, or -1. */
static int keyword_of(const struct compiler *c, const struct pstmt *s, const struct pparam *p)
{
	for (size_t t = 0; t < sizeof c->feeders / sizeof c->feeders[0]; t++)
		if (c->feeders[t].ss == s->ss && p->ps >= s->ss->params &&
		    p->ps < s->ss->params + s->ss->nparams)
			return c->feeders[t].kw[p->ps - s->ss->params];
	size_t k = kw_index(c, p->ps->name);
	return k < c->nkw ? (int)k : -1;
}

static bool eff_onoff(const struct compiler *c, const struct effective *e, enum setting kw)
{
	size_t i = c->at[kw];
	const struct pparam *p = i < c->nkw ? e->found[i] : NULL;
	if (p)
		return p->v.b;
	return i < c->nkw && c->kw[i].dflt && strcasecmp(c->kw[i].dflt, "On") == 0;
}

static int eff_enum(const struct compiler *c, const struct effective *e, enum setting kw,
		    const char *const *values)
{
	size_t i = c->at[kw];
	const struct pparam *p = i < c->nkw ? e->found[i] : NULL;
	if (p)
		return p->v.e;
	for (int k = 0; i < c->nkw && c->kw[i].dflt && values[k]; k++)
		if (strcasecmp(values[k], c->kw[i].dflt) == 0)
			return k;
	return -1;
}

static int64_t eff_int(const struct compiler *c, const struct effective *e, enum setting kw)
{
	size_t i = c->at[kw];
	const struct pparam *p = i < c->nkw ? e->found[i] : NULL;
	if (p)
		return p->v.i;
	return i < c->nkw && c->kw[i].dflt ? atoll(c->kw[i].dflt) : 0;
}

static const char *eff_str(const struct compiler *c, const struct effective *e, enum setting kw)
{
	size_t i = c->at[kw];
	const struct pparam *p = i < c->nkw ? e->found[i] : NULL;
	return p ? p->v.s : NULL;
}

const char *policy_resolve_path(struct arena *a, const char *dir, const char *path)
{
	if (!path || path[0] == '/' || !dir)
		return path;
	return arena_concat(a, dir, "/", path, NULL);
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
	size_t i = c->at[K_KEYRING];
	const struct pparam *p = i < c->nkw ? e->found[i] : NULL;
	if (p && e->s.keyring && first_report(c, p->vpos))
		check_ring_file(c, p, "Keyring", e->s.keyring);
	i = c->at[K_KEYRING_STASH];
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

/* Which line sets each keyword: the first valid one in the first source (in
 * precedence order) that has it. One pass over the sources' parameters. */
static void find_keywords(const struct compiler *c, const struct sources *src,
			  const struct pparam **found, uint8_t *from)
{
	for (size_t i = 0; i < src->n; i++) {
		const struct pstmt *st = src->v[i];
		for (size_t k = 0; k < st->nparams; k++) {
			const struct pparam *p = &st->params[k];
			if (p->invalid)
				continue;
			int kw = keyword_of(c, st, p);
			if (kw >= 0 && !found[kw]) {
				found[kw] = p;
				from[kw] = (uint8_t)i;
			}
		}
	}
}

static int build_view(struct compiler *c, struct effective *e, const struct sources *src)
{
	struct attls_param_view view[MAX_KEYWORDS];
	uint8_t from_src[MAX_KEYWORDS];
	const char *label[sizeof src->v / sizeof src->v[0]] = { 0 };
	find_keywords(c, src, e->found, from_src);
	for (size_t i = 0; i < c->nkw; i++) {
		const struct param_schema *ps = c->kw[i].ps;
		const struct pparam *p = e->found[i];
		struct attls_param_view *v = &view[e->nview];
		if (p) {
			const struct pstmt *from = src->v[from_src[i]];
			/* repeated parameters (cipher lists) show every line */
			const char *text = p->text;
			if (ps->flags & PF_REPEAT) {
				for (size_t k = 0; k < from->nparams; k++) {
					const struct pparam *q = &from->params[k];
					if (q != p && q->ps == p->ps)
						text = arena_concat(c->a, text, " ", q->text, NULL);
					if (!text)
						return -1;
				}
			}
			v->value = text;
			const char **l = &label[from_src[i]];
			if (!*l)
				*l = arena_concat(c->a, from->ss->name, " ", pstmt_name(from), NULL);
			if (!*l)
				return -1;
			v->source = *l;
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
	e->view = arena_array(c->a, e->nview ? e->nview : 1, sizeof *e->view);
	if (!e->view)
		return -1;
	memcpy(e->view, view, e->nview * sizeof *view);
	return 0;
}

static int fill_settings(struct compiler *c, struct effective *e, const struct sources *src)
{
	struct attls_settings *s = &e->s;
	s->enabled = eff_onoff(c, e, K_ENABLED);
	s->trace = (unsigned)eff_int(c, e, K_TRACE);
	s->role = eff_enum(c, e, K_ROLE, enum_role);
	s->client_auth = eff_enum(c, e, K_CLIENT_AUTH, enum_client_auth);
	s->tls10 = eff_onoff(c, e, K_TLS10);
	s->tls11 = eff_onoff(c, e, K_TLS11);
	s->tls12 = eff_onoff(c, e, K_TLS12);
	s->tls13 = eff_onoff(c, e, K_TLS13);
	s->middlebox_compat = eff_onoff(c, e, K_MIDDLEBOX);
	s->app_controlled = eff_onoff(c, e, K_APP_CONTROLLED);
	s->secondary_map = eff_onoff(c, e, K_SECONDARY_MAP);
	s->hs_timeout = (unsigned)eff_int(c, e, K_HS_TIMEOUT);
	const char *dir = c->p->tree.dir;
	s->keyring = policy_resolve_path(c->a, dir, eff_str(c, e, K_KEYRING));
	size_t kr = c->at[K_KEYRING];
	if (kr < c->nkw && e->found[kr])
		s->keyring_pos = e->found[kr]->vpos;
	s->keyring_pw = eff_str(c, e, K_KEYRING_PW);
	s->keyring_stash = policy_resolve_path(c->a, dir, eff_str(c, e, K_KEYRING_STASH));
	s->cert_label = eff_str(c, e, K_CERT_LABEL);
	s->host_ref_dns = eff_str(c, e, K_HOST_REF_DNS);
	s->client_sni = eff_enum(c, e, K_SNI, enum_sni);
	s->session_timeout = (unsigned)eff_int(c, e, K_SESSION_TIMEOUT);
	s->sid_cache_size = (unsigned)eff_int(c, e, K_SIDCACHE);
	s->tickets_client = eff_onoff(c, e, K_TICKETS_CLIENT);
	s->tickets_server = eff_onoff(c, e, K_TICKETS_SERVER);
	s->fips140 = eff_enum(c, e, K_FIPS140, enum_fips140);
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
	const struct pparam *found[MAX_KEYWORDS] = { 0 };
	e->found = found;
	if (build_view(c, e, &src) || fill_settings(c, e, &src))
		return NULL;
	if (e->s.enabled && env)
		check_effective(c, rule, e);
	e->found = NULL;
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

static bool is_condition(const struct param_schema *ps)
{
	for (size_t i = 0; i < sizeof condition_params / sizeof condition_params[0]; i++)
		if (strcmp(ps->name, condition_params[i]) == 0)
			return true;
	return false;
}

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
	for (size_t i = 0; i < st->nparams && !has_condition; i++)
		has_condition = is_condition(st->params[i].ps);
	if (!has_condition)
		diag_error(c->d, st->pos, "add e.g. LocalPortRange 443, RemoteAddr ..., or Jobname NAME",
			   "TTLSRule %s has no condition: it needs an address, port, Jobname or Userid",
			   st->name);

	if (rule_addrs(c, a, st, 0, &r->local, &r->laddr_text) ||
	    rule_addrs(c, a, st, 1, &r->remote, &r->raddr_text) ||
	    rule_ports(a, st, 0, &r->lports, &r->lport_text) ||
	    rule_ports(a, st, 1, &r->rports, &r->rport_text))
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
	if (init_feeder_maps(&c))
		return -1;
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
