/* policy/validate — checks that need the whole file: required and conflicting
 * parameters, repeats, unused statements, and the IP security rules (PFS,
 * supported algorithms, FIPS). AT-TLS rules are checked as they are compiled
 * (attls_model.c), where their effective parameters are known. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "policy/policy_internal.h"

static const char *enum_list(const char *const *e, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	for (int i = 0; e && e[i] && off < len; i++) {
		int w = snprintf(buf + off, len - off, "%s%s", i ? "|" : "", e[i]);
		if (w < 0)
			break;
		off += (size_t)w;
	}
	return buf;
}

/* What to suggest writing for a missing parameter. */
static void example_of(const struct param_schema *ps, char *buf, size_t len)
{
	char e[200];
	switch (ps->kind) {
	case VK_ONOFF: snprintf(buf, len, "%s On|Off", ps->name); break;
	case VK_YESNO: snprintf(buf, len, "%s Yes|No", ps->name); break;
	case VK_ENUM: snprintf(buf, len, "%s %s", ps->name, enum_list(ps->enums, e, sizeof e)); break;
	case VK_REF: snprintf(buf, len, "%s NAME", ps->name); break;
	case VK_INLINE: snprintf(buf, len, "%s { ... }", ps->name); break;
	default: snprintf(buf, len, "%s VALUE", ps->name);
	}
}

#define MAX_SCHEMA_PARAMS 64

/* Which of its schema's parameters s gives (valid or not): one pass, so the
 * checks below do not search the statement once per schema entry. */
static bool given_params(const struct pstmt *s, bool *given)
{
	if (s->ss->nparams > MAX_SCHEMA_PARAMS)
		return false;
	memset(given, 0, s->ss->nparams * sizeof *given);
	for (size_t i = 0; i < s->nparams; i++) {
		const struct param_schema *ps = s->params[i].ps;
		if (ps < s->ss->params || ps >= s->ss->params + s->ss->nparams)
			return false;
		given[ps - s->ss->params] = true;
	}
	return true;
}

static void check_required(const struct pstmt *s, struct diags *d)
{
	bool given[MAX_SCHEMA_PARAMS];
	bool known = given_params(s, given);
	for (size_t i = 0; i < s->ss->nparams; i++) {
		const struct param_schema *ps = &s->ss->params[i];
		if (!(ps->flags & PF_REQUIRED))
			continue;
		/* In a group, report once: at the group's first member. */
		if (ps->excl) {
			bool first = true, have = false;
			for (size_t k = 0; k < s->ss->nparams; k++) {
				const struct param_schema *o = &s->ss->params[k];
				if (!o->excl || strcmp(o->excl, ps->excl) != 0)
					continue;
				if (k < i)
					first = false;
				if (known ? given[k] : pstmt_given(s, o->name) != NULL)
					have = true;
			}
			if (!first || have)
				continue;
			char alts[256] = "";
			for (size_t k = 0; k < s->ss->nparams; k++) {
				const struct param_schema *o = &s->ss->params[k];
				if (o->excl && strcmp(o->excl, ps->excl) == 0 && !(o->flags & PF_UNSUPPORTED))
					snprintf(alts + strlen(alts), sizeof alts - strlen(alts), "%s%s",
						 alts[0] ? " or " : "", o->name);
			}
			diag_error(d, s->pos, NULL, "%s %s needs %s", s->ss->name, pstmt_name(s), alts);
			continue;
		}
		if (!(known ? given[i] : pstmt_given(s, ps->name) != NULL)) {
			char ex[256], hint[300];
			example_of(ps, ex, sizeof ex);
			snprintf(hint, sizeof hint, "add: %s", ex);
			diag_error(d, s->pos, hint, "%s %s is missing %s", s->ss->name, pstmt_name(s),
				   ps->name);
		}
	}
}

static void check_repeats_and_conflicts(const struct pstmt *s, struct diags *d)
{
	for (size_t i = 0; i < s->nparams; i++) {
		const struct pparam *p = &s->params[i];
		for (size_t k = 0; k < i; k++) {
			const struct pparam *q = &s->params[k];
			if (q->ps == p->ps && !(p->ps->flags & PF_REPEAT)) {
				char hint[128];
				snprintf(hint, sizeof hint, "the first is at line %u; keep one (z/OS would "
					 "silently use the last)", q->pos.line);
				diag_error(d, p->pos, hint, "%s is given more than once in %s %s",
					   p->ps->name, s->ss->name, pstmt_name(s));
				break;
			}
			if (q->ps != p->ps && p->ps->excl && q->ps->excl &&
			    strcmp(p->ps->excl, q->ps->excl) == 0 &&
			    !((p->ps->flags & PF_REPEAT) && (q->ps->flags & PF_REPEAT))) {
				char hint[160];
				snprintf(hint, sizeof hint, "%s (line %u) and %s say the same thing; keep one",
					 q->ps->name, q->pos.line, p->ps->name);
				diag_error(d, p->pos, hint, "%s conflicts with %s", p->ps->name, q->ps->name);
				break;
			}
		}
	}
}

static void warn_not_acted(const struct pstmt *s, struct diags *d)
{
	for (size_t i = 0; i < s->nparams; i++) {
		const struct pparam *p = &s->params[i];
		if (p->ps->flags & PF_NOT_ACTED)
			diag_warn(d, p->pos, NULL, "%s is accepted but attls does not act on it yet",
				  p->ps->name);
	}
}

/* Values attls never accepts, refused wherever they are written (a statement
 * nothing uses today may be used tomorrow). */
static void check_refused_values(const struct pstmt *s, struct diags *d)
{
	for (size_t i = 0; i < s->nparams; i++) {
		const struct pparam *p = &s->params[i];
		if (p->invalid)
			continue;
		const char *kw = p->ps->name;
		if (p->ps->kind != VK_ONOFF && p->ps->kind != VK_ENUM)
			continue;
		if (p->ps->kind == VK_ONOFF && p->v.b && (!strcmp(kw, "SSLv2") || !strcmp(kw, "SSLv3")))
			diag_error(d, p->vpos, "use TLSv1.2 or TLSv1.3",
				   "%s On is not supported: attls does not implement %s", kw, kw);
		else if (p->ps->kind == VK_ENUM && p->v.e == CAUTH_SAFCHECK &&
			 !strcmp(kw, "ClientAuthType"))
			diag_error(d, p->vpos, "use Required (a verified client certificate) instead",
				   "ClientAuthType SAFCheck is not supported: attls has no SAF user mapping");
	}
}

/* ---- IP security --------------------------------------------------------- */

static void check_fips_group(const struct pparam *p, bool fips, struct diags *d)
{
	if (p && fips && p->v.group == 1)
		diag_error(d, p->vpos, "use Group14 or stronger, or set FIPS140 No in IpFilterPolicy",
			   "%s Group1 is not allowed in FIPS 140 mode", p->ps->name);
}

static void check_dynvpn(const struct pstmt *s, bool fips, struct diags *d)
{
	const struct pparam *pfs = pstmt_param(s, "Pfs");
	const struct pparam *init = pstmt_param(s, "InitiateWithPfs");
	size_t nacc = pstmt_count(s, "AcceptablePfs");
	if (pfs && (init || nacc)) {
		const struct pparam *other = init ? init : pstmt_param(s, "AcceptablePfs");
		diag_error(d, pfs->pos, "use InitiateWithPfs and AcceptablePfs, and remove Pfs",
			   "Pfs cannot be used together with %s (line %u)", other->ps->name,
			   other->pos.line);
	}
	if (init && init->v.group != 0) {
		bool found = false;
		for (size_t i = 0; i < s->nparams; i++)
			if (!s->params[i].invalid &&
			    strcasecmp(s->params[i].ps->name, "AcceptablePfs") == 0 &&
			    s->params[i].v.group == init->v.group)
				found = true;
		if (!found) {
			char hint[96];
			snprintf(hint, sizeof hint, "add: AcceptablePfs Group%d", init->v.group);
			diag_error(d, init->vpos, hint,
				   "InitiateWithPfs Group%d must also be one of the AcceptablePfs values",
				   init->v.group);
		}
	}
	for (size_t i = 0; i < s->nparams; i++) {
		const struct pparam *p = &s->params[i];
		if (p->invalid)
			continue;
		if (p->ps->kind == VK_DHGROUP)
			check_fips_group(p, fips, d);
		if (strcasecmp(p->ps->name, "AcceptablePfs") != 0)
			continue;
		for (size_t k = 0; k < i; k++)
			if (!s->params[k].invalid &&
			    strcasecmp(s->params[k].ps->name, "AcceptablePfs") == 0 &&
			    s->params[k].v.group == p->v.group) {
				diag_warn(d, p->pos, NULL, "AcceptablePfs %s is listed twice", p->text);
				break;
			}
	}
}

static void check_data_offer(const struct pstmt *s, struct diags *d)
{
	const struct pparam *enc = pstmt_param(s, "HowToEncrypt");
	const struct pparam *auth = pstmt_param(s, "HowToAuth");
	int alg = enc ? enc->v.enc.alg : ENC_AES_CBC;
	if (alg != ENC_AES_CBC && alg != ENC_AES_GCM_16)
		diag_error(d, enc->vpos, "use AES_CBC KeyLength 128|192|256 or AES_GCM_16 KeyLength 128|256",
			   "HowToEncrypt %s is not supported by attls", enc->text);
	if (!auth)
		return;
	if (auth->v.auth.proto == AUTHPROTO_AH) {
		diag_error(d, auth->vpos, "use ESP", "AH is not supported by attls");
		return;
	}
	int a = auth->v.auth.alg;
	if (alg == ENC_AES_GCM_16) {
		if (a != AUTHALG_NULL)
			diag_error(d, auth->vpos, "write HowToAuth ESP Null, or leave HowToAuth out",
				   "AES_GCM_16 authenticates by itself; HowToAuth must be ESP Null");
		return;
	}
	if (a == AUTHALG_NULL)
		diag_error(d, auth->vpos, "use HMAC_SHA1 or an HMAC_SHA2 variant",
			   "ESP with AES_CBC needs an integrity algorithm");
	else if (a != AUTHALG_HMAC_SHA1 && a != AUTHALG_HMAC_SHA2_256_128 &&
		 a != AUTHALG_HMAC_SHA2_384_192 && a != AUTHALG_HMAC_SHA2_512_256)
		diag_error(d, auth->vpos, "use HMAC_SHA1, HMAC_SHA2_256_128, HMAC_SHA2_384_192 or "
			   "HMAC_SHA2_512_256", "HowToAuth %s is not supported by attls", auth->text);
}

static void check_ke_offer(const struct pstmt *s, bool fips, struct diags *d)
{
	const struct pparam *enc = pstmt_param(s, "HowToEncrypt");
	if (enc && enc->v.enc.alg != ENC_AES_CBC)
		diag_error(d, enc->vpos, "IKEv1 phase 1 uses AES_CBC KeyLength 128|192|256",
			   "HowToEncrypt %s is not supported for phase 1", enc->text);
	const struct pparam *h = pstmt_param(s, "HowToAuthMsgs");
	if (h && h->v.e == HASH_MD5)
		diag_error(d, h->vpos, "use SHA1, SHA2_256, SHA2_384 or SHA2_512",
			   "HowToAuthMsgs MD5 is not supported by attls");
	const struct pparam *a = pstmt_param(s, "HowToAuthPeers");
	if (a && a->v.e >= AUTHMETH_ECDSA256)
		diag_error(d, a->vpos, "use PresharedKey or RsaSignature",
			   "HowToAuthPeers %s is not supported by attls", a->text);
	check_fips_group(pstmt_param(s, "DHGroup"), fips, d);
}

/* KeyExchangePolicy and KeyExchangeAction both say how to initiate; the
 * action inherits the policy's, so both must name an exchange iked has. */
static void check_how_to_initiate(const struct pstmt *s, struct diags *d)
{
	const struct pparam *hi = pstmt_param(s, "HowToInitiate");
	if (hi && hi->v.e == HOWINIT_IKEV2)
		diag_error(d, hi->vpos, "use Main or Aggressive",
			   "HowToInitiate IKEv2 is not supported: attls's iked speaks IKEv1 only");
}

static void check_ke_action(const struct pstmt *s, struct diags *d)
{
	check_how_to_initiate(s, d);
	const struct pparam *r1 = pstmt_param(s, "HowToRespond");
	const struct pparam *r2 = pstmt_param(s, "HowToRespondIKEv1");
	if (r1 && r2)
		diag_error(d, r2->pos, "keep HowToRespondIKEv1 and remove HowToRespond",
			   "HowToRespondIKEv1 conflicts with HowToRespond (line %u)", r1->pos.line);
	const struct pparam *me = pstmt_param(s, "HowToAuthMe");
	if (me && me->v.e >= AUTHMETH_ECDSA256)
		diag_error(d, me->vpos, "use PresharedKey or RsaSignature",
			   "HowToAuthMe %s is not supported by attls", me->text);
}

static bool action_uses(const struct pstmt *action, int method)
{
	for (size_t i = 0; action && i < action->nparams; i++) {
		const struct pparam *p = &action->params[i];
		if (!p->ps->target || strcmp(p->ps->target, "KeyExchangeOffer") != 0)
			continue;
		const struct pstmt *o = p->ps->kind == VK_INLINE ? p->v.inl : p->v.ref.target;
		const struct pparam *ap = pstmt_param(o, "HowToAuthPeers");
		if (!ap)
			continue;
		int m = ap->v.e == AUTHMETH_DIGITAL_SIGNATURE ? AUTHMETH_RSA_SIGNATURE : ap->v.e;
		if (m == method)
			return true;
	}
	const struct pparam *me = pstmt_param(action, "HowToAuthMe");
	if (me) {
		int m = me->v.e == AUTHMETH_DIGITAL_SIGNATURE ? AUTHMETH_RSA_SIGNATURE : me->v.e;
		if (m == method)
			return true;
	}
	return false;
}

static void check_ke_rule(const struct pstmt *ike_config, const struct pstmt *s,
			  struct diags *d)
{
	const struct pparam *ar = pstmt_param(s, "KeyExchangeActionRef");
	const struct pstmt *action = ar ? ar->v.ref.target : NULL;
	if (!action)
		return;
	if (action_uses(action, AUTHMETH_PRESHARED_KEY) && !pstmt_param(s, "SharedKey"))
		diag_error(d, s->pos, "add: SharedKey Ascii SECRET (or Hex ...)",
			   "KeyExchangeRule %s uses PresharedKey (action %s) but has no SharedKey",
			   pstmt_name(s), pstmt_name(action));
	if (action_uses(action, AUTHMETH_RSA_SIGNATURE)) {
		if (!pstmt_param(ike_config, "Keyring"))
			diag_error(d, s->pos, "add to IkeConfig: Keyring /path/to/iked.pem",
				   "KeyExchangeRule %s uses RsaSignature, which needs a Keyring in IkeConfig",
				   pstmt_name(s));
	}
	const struct pstmt *lse = pstmt_sub(s, "LocalSecurityEndpoint");
	const struct pparam *lid = pstmt_param(lse, "Identity");
	if (lid && (lid->v.ident.type == IDT_IPV4 || lid->v.ident.type == IDT_IPV6) &&
	    lid->v.ident.range.kind != IPR_SINGLE)
		diag_error(d, lid->vpos, "the local identity is one address",
			   "local Identity IpAddr must be a single address");
}

static void check_filter_rule(const struct pstmt *s, struct diags *d)
{
	const struct pparam *ga = pstmt_param(s, "IpGenericFilterActionRef");
	const struct pparam *dv = pstmt_param(s, "IpDynVpnActionRef");
	const struct pparam *fa = ga && ga->v.ref.target ?
				  pstmt_param(ga->v.ref.target, "IpFilterAction") : NULL;
	if (!fa)
		return;
	if (fa->v.e == FILTER_IPSEC && !dv)
		diag_error(d, s->pos, "add: IpDynVpnActionRef NAME",
			   "IpFilterRule %s has action IpSec (%s) but no IpDynVpnActionRef",
			   pstmt_name(s), ga->v.ref.name);
	if (fa->v.e != FILTER_IPSEC && dv)
		diag_error(d, dv->pos, "set IpFilterAction IpSec in the generic action, or remove this",
			   "IpDynVpnActionRef needs an IpSec action, but %s says %s", ga->v.ref.name,
			   enum_filter_action[fa->v.e]);
	const struct pparam *src = pstmt_param(s, "IpSourceAddr");
	const struct pparam *dst = pstmt_param(s, "IpDestAddr");
	if (src && dst && src->v.range.family && dst->v.range.family &&
	    src->v.range.family != dst->v.range.family)
		diag_error(d, dst->vpos, "use addresses of one family in one rule",
			   "IpDestAddr is %s but IpSourceAddr is %s; the rule can match nothing",
			   dst->v.range.family == AF_INET ? "IPv4" : "IPv6",
			   src->v.range.family == AF_INET ? "IPv4" : "IPv6");
}

/* The SWSA parameters of IkeConfig: a store URL that parses, and the
 * parameters that only mean something together. */
static void check_swsa(const struct pstmt *s, struct diags *d)
{
	const struct pparam *store = pstmt_param(s, "SwsaStore");
	const struct pparam *pw = pstmt_param(s, "SwsaStorePasswordFile");
	const struct pparam *dvipa = pstmt_param(s, "SwsaDvipa");
	struct store_url u = { .kind = STORE_NONE };
	char err[256], hint[128];
	if (store && store_url_parse(store->v.s, &u, err, sizeof err, hint, sizeof hint)) {
		diag_error(d, store->vpos, *hint ? hint : NULL, "SwsaStore: %s", err);
		return;
	}
	if (dvipa && !store)
		diag_error(d, dvipa->pos, "add to IkeConfig: SwsaStore dir:/var/lib/attls/swsa "
			   "(or redis://HOST)", "SwsaDvipa needs SwsaStore: where the records go");
	if (store && !dvipa)
		diag_warn(d, store->pos, "add SwsaDvipa ADDRESS for each address that moves "
			  "between nodes", "SwsaStore is set but no SwsaDvipa: no tunnel is sysplex-wide");
	if (pw && u.kind != STORE_REDIS)
		diag_warn(d, pw->pos, NULL, "SwsaStorePasswordFile is ignored: only a redis:// store "
			  "has a password");
	for (size_t i = 0; i < s->nparams; i++) {
		const struct pparam *a = &s->params[i];
		if (a->invalid || strcmp(a->ps->name, "SwsaDvipa") != 0)
			continue;
		for (size_t k = 0; k < i; k++) {
			const struct pparam *b = &s->params[k];
			if (!b->invalid && strcmp(b->ps->name, "SwsaDvipa") == 0 &&
			    b->v.range.family == a->v.range.family &&
			    memcmp(b->v.range.lo, a->v.range.lo, 16) == 0) {
				diag_warn(d, a->vpos, NULL, "SwsaDvipa %s is listed twice", a->text);
				break;
			}
		}
	}
}

static void check_service(const struct pstmt *s, struct diags *d)
{
	const struct pparam *proto = pstmt_param(s, "Protocol");
	int pr = proto ? proto->v.proto : -1;
	for (size_t i = 0; i < s->nparams; i++) {
		const struct pparam *p = &s->params[i];
		if (p->ps->kind != VK_PORTS || (p->v.ports.lo == 0 && p->v.ports.hi == 65535))
			continue;
		if (pr != 6 && pr != 17)
			diag_error(d, p->pos, "add: Protocol TCP (or UDP)",
				   "%s needs Protocol TCP or UDP", p->ps->name);
	}
}

static void check_nonempty(const struct pstmt *s, const char *what, struct diags *d)
{
	if (s->nparams == 0)
		diag_error(d, s->pos, NULL, "%s %s is empty: it needs at least one %s", s->ss->name,
			   pstmt_name(s), what);
}

static bool is(const struct pstmt *s, const char *type)
{
	return strcmp(s->ss->name, type) == 0;
}

/* The statement types validate treats specially, resolved once per run. */
struct types {
	const struct stmt_schema *ke_policy, *dynvpn, *data_offer, *ke_offer, *ke_action, *ke_rule,
				 *filter_rule, *service, *addr_group, *addr_set, *port_group,
				 *filter_policy, *ike_config;
};

static void types_init(struct types *ty)
{
	ty->ke_policy = schema_stmt("KeyExchangePolicy");
	ty->dynvpn = schema_stmt("IpDynVpnAction");
	ty->data_offer = schema_stmt("IpDataOffer");
	ty->ke_offer = schema_stmt("KeyExchangeOffer");
	ty->ke_action = schema_stmt("KeyExchangeAction");
	ty->ke_rule = schema_stmt("KeyExchangeRule");
	ty->filter_rule = schema_stmt("IpFilterRule");
	ty->service = schema_stmt("IpService");
	ty->addr_group = schema_stmt("IpAddrGroup");
	ty->addr_set = schema_stmt("IpAddrSet");
	ty->port_group = schema_stmt("PortGroup");
	ty->filter_policy = schema_stmt("IpFilterPolicy");
	ty->ike_config = schema_stmt("IkeConfig");
}

/* The singleton statement of type ss that is in force (the last one). */
static const struct pstmt *singleton(const struct ptree *t, const struct stmt_schema *ss)
{
	const struct pstmt *found = NULL;
	for (size_t i = 0; i < t->nstmts; i++)
		if (t->stmts[i]->ss == ss && !t->stmts[i]->replaced)
			found = t->stmts[i];
	return found;
}

static void check_unused(const struct pstmt *s, struct diags *d)
{
	if (s->parent || !s->named || s->uses || s->replaced)
		return;
	/* Rules are used by being there (TTLSRule) or by their policy block. */
	if (is(s, "TTLSRule"))
		return;
	const char *how = "nothing refers to it";
	if (is(s, "IpFilterRule"))
		how = "it is not listed in IpFilterPolicy";
	else if (is(s, "KeyExchangeRule"))
		how = "it is not listed in KeyExchangePolicy";
	diag_warn(d, s->pos, NULL, "%s %s is never used: %s", s->ss->name, s->name, how);
}

static void check_by_type(const struct types *ty, const struct pstmt *ike_config, bool fips,
			  const struct pstmt *s, struct diags *d)
{
	const struct stmt_schema *ss = s->ss;
	if (ss == ty->ke_policy)
		check_how_to_initiate(s, d);
	else if (ss == ty->ike_config)
		check_swsa(s, d);
	else if (ss == ty->dynvpn)
		check_dynvpn(s, fips, d);
	else if (ss == ty->data_offer)
		check_data_offer(s, d);
	else if (ss == ty->ke_offer)
		check_ke_offer(s, fips, d);
	else if (ss == ty->ke_action)
		check_ke_action(s, d);
	else if (ss == ty->ke_rule)
		check_ke_rule(ike_config, s, d);
	else if (ss == ty->filter_rule)
		check_filter_rule(s, d);
	else if (ss == ty->service)
		check_service(s, d);
	else if (ss == ty->addr_group)
		check_nonempty(s, "IpAddr or IpAddrSet", d);
	else if (ss == ty->addr_set)
		check_nonempty(s, "Prefix or Range", d);
	else if (ss == ty->port_group)
		check_nonempty(s, "PortRange", d);
}

void policy_validate(const struct ptree *t, struct diags *d)
{
	struct types ty;
	types_init(&ty);
	const struct pparam *f = pstmt_param(singleton(t, ty.filter_policy), "FIPS140");
	bool fips = f && f->v.b;
	const struct pstmt *ike_config = singleton(t, ty.ike_config);
	/* Usually the wrong file, or one whose statements were all dropped. */
	if (t->nstmts == 0)
		diag_warn(d, ((struct srcpos){ t->file, 1, 1 }), NULL,
			  "the policy has no statements: attls leaves every connection alone");
	for (size_t i = 0; i < t->nstmts; i++) {
		const struct pstmt *s = t->stmts[i];
		check_required(s, d);
		check_repeats_and_conflicts(s, d);
		check_refused_values(s, d);
		warn_not_acted(s, d);
		check_unused(s, d);
		check_by_type(&ty, ike_config, fips, s, d);
	}
}
