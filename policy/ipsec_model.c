/* policy/ipsec_model — IP security statements compiled into the structures
 * iked reads (policy/ipsec.h), with z/OS defaults applied. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "policy/policy_internal.h"

static bool is(const struct pstmt *s, const char *type)
{
	return strcmp(s->ss->name, type) == 0;
}

static const struct pstmt *deref(const struct pparam *p)
{
	if (!p)
		return NULL;
	return p->ps->kind == VK_INLINE ? p->v.inl : p->v.ref.target;
}

static int64_t int_or(const struct pstmt *s, const char *kw, int64_t dflt)
{
	const struct pparam *p = pstmt_param(s, kw);
	return p ? p->v.i : dflt;
}

static int enum_or(const struct pstmt *s, const char *kw, int dflt)
{
	const struct pparam *p = pstmt_param(s, kw);
	return p ? p->v.e : dflt;
}

static bool bool_or(const struct pstmt *s, const char *kw, bool dflt)
{
	const struct pparam *p = pstmt_param(s, kw);
	return p ? p->v.b : dflt;
}

static void life_accepted(const struct pstmt *s, uint32_t dmin, uint32_t dmax, uint32_t *lo,
			  uint32_t *hi)
{
	const struct pparam *p = pstmt_param(s, "RefreshLifetimeAccepted");
	*lo = p ? (uint32_t)p->v.life.lo : dmin;
	*hi = p ? (uint32_t)p->v.life.hi : dmax;
}

static void size_fields(const struct pstmt *s, uint64_t *prop, uint64_t *lo, uint64_t *hi)
{
	const struct pparam *p = pstmt_param(s, "RefreshLifesizeProposed");
	*prop = p && !p->v.life.none ? (uint64_t)p->v.life.lo : 0;
	const struct pparam *q = pstmt_param(s, "RefreshLifesizeAccepted");
	*lo = q && !q->v.life.none ? (uint64_t)q->v.life.lo : 0;
	*hi = q && !q->v.life.none ? (uint64_t)q->v.life.hi : 0;
}

static struct ipsec_data_offer *data_offer(struct arena *a, struct pstmt *s)
{
	if (s->model)
		return s->model;
	struct ipsec_data_offer *o = arena_alloc(a, sizeof *o);
	if (!o)
		return NULL;
	o->name = s->name;
	o->encap = enum_or(s, "HowToEncap", ENCAP_TUNNEL);
	const struct pparam *enc = pstmt_param(s, "HowToEncrypt");
	o->enc_alg = enc ? enc->v.enc.alg : ENC_AES_CBC;
	o->keylen = enc ? enc->v.enc.keylen : 128;
	const struct pparam *auth = pstmt_param(s, "HowToAuth");
	o->auth_alg = auth ? auth->v.auth.alg :
		      o->enc_alg == ENC_AES_GCM_16 ? AUTHALG_NULL : AUTHALG_HMAC_SHA1;
	o->life_proposed = (uint32_t)int_or(s, "RefreshLifetimeProposed", 240);
	life_accepted(s, 120, 480, &o->life_acc_min, &o->life_acc_max);
	size_fields(s, &o->size_proposed, &o->size_acc_min, &o->size_acc_max);
	s->model = o;
	return o;
}

static struct ipsec_dynvpn *dynvpn(struct arena *a, struct pstmt *s)
{
	if (s->model)
		return s->model;
	struct ipsec_dynvpn *v = arena_alloc(a, sizeof *v);
	if (!v)
		return NULL;
	v->name = s->name;
	v->initiation = enum_or(s, "Initiation", INITIATION_EITHER);
	v->vpnlife = (uint32_t)int_or(s, "VpnLife", 1440);
	const struct pparam *pfs = pstmt_param(s, "Pfs");
	const struct pparam *init = pstmt_param(s, "InitiateWithPfs");
	if (pfs) {
		/* The legacy knob means "initiate with it and accept only it". */
		v->legacy_pfs = true;
		v->initiate_pfs = pfs->v.group;
		v->acceptable_pfs = pfs->v.group ? PFS_BIT(pfs->v.group) : PFS_NONE_BIT;
	} else {
		v->initiate_pfs = init ? init->v.group : 0;
		for (size_t i = 0; i < s->nparams; i++)
			if (strcasecmp(s->params[i].ps->name, "AcceptablePfs") == 0)
				v->acceptable_pfs |= s->params[i].v.group ? PFS_BIT(s->params[i].v.group)
									  : PFS_NONE_BIT;
		if (!v->acceptable_pfs)
			v->acceptable_pfs = PFS_NONE_BIT;   /* the default: AcceptablePfs None */
	}
	size_t n = pstmt_count(s, "IpDataOffer") + pstmt_count(s, "IpDataOfferRef");
	const struct ipsec_data_offer **offers = arena_array(a, n ? n : 1, sizeof *offers);
	if (!offers)
		return NULL;
	for (size_t i = 0; i < s->nparams; i++) {
		const struct pparam *p = &s->params[i];
		if (!p->ps->target || strcmp(p->ps->target, "IpDataOffer") != 0 || !deref(p))
			continue;
		if (!(offers[v->noffers++] = data_offer(a, (struct pstmt *)deref(p))))
			return NULL;
	}
	v->offers = offers;
	s->model = v;
	return v;
}

static int addr_set(struct arena *a, const struct pstmt *s, const char *prefix,
		    struct ip_set *out)
{
	static const char *const suffix[] = { "Addr", "AddrRef", "AddrSetRef", "AddrGroupRef" };
	struct ip_range *v = NULL;
	size_t n = 0, cap = 0;
	bool any = true;
	for (int k = 0; k < 4; k++) {
		char kw[40];
		snprintf(kw, sizeof kw, "%s%s", prefix, suffix[k]);
		const struct pparam *p = pstmt_param(s, kw);
		if (!p)
			continue;
		/* Walk the single statement or the group's members. */
		const struct pstmt *stack[32];
		size_t sp = 0;
		struct pstmt single = { .params = (struct pparam *)p, .nparams = 1 };
		stack[sp++] = k == 0 ? &single : p->v.ref.target;
		while (sp) {
			const struct pstmt *st = stack[--sp];
			for (size_t i = 0; st && i < st->nparams; i++) {
				const struct pparam *q = &st->params[i];
				if ((q->ps->kind == VK_INLINE || q->ps->kind == VK_REF) && sp < 32) {
					stack[sp++] = deref(q);
					continue;
				}
				if (q->ps->kind != VK_ADDR && q->ps->kind != VK_PREFIX &&
				    q->ps->kind != VK_IPRANGE)
					continue;
				if (q->v.range.kind == IPR_ALL)
					continue;
				any = false;
				if (n == cap) {
					cap = cap ? cap * 2 : 4;
					struct ip_range *nv = arena_grow(a, v, n, cap, sizeof *v);
					if (!nv)
						return -1;
					v = nv;
				}
				v[n++] = q->v.range;
			}
		}
	}
	out->n = any ? 0 : n;
	out->r = v;
	return 0;
}

static void service(const struct pstmt *s, struct ipsec_service *sv)
{
	const struct pparam *p = pstmt_param(s, "Protocol");
	sv->proto = p ? p->v.proto : -1;
	const struct pparam *sp = pstmt_param(s, "SourcePortRange");
	const struct pparam *dp = pstmt_param(s, "DestinationPortRange");
	sv->sport = sp ? sp->v.ports : (struct port_range){ 0, 65535 };
	sv->dport = dp ? dp->v.ports : (struct port_range){ 0, 65535 };
	const struct pparam *d = pstmt_param(s, "Direction");
	sv->dir = d ? d->v.svcdir.dir : SVCDIR_BIDIRECTIONAL;
	sv->conn = d ? d->v.svcdir.conn : CONNDIR_ANY;
	sv->routing = enum_or(s, "Routing", ROUTING_LOCAL);
}

static struct ipsec_filter_rule *filter_rule(struct arena *a, struct pstmt *s)
{
	if (s->model)
		return s->model;
	struct ipsec_filter_rule *r = arena_alloc(a, sizeof *r);
	if (!r)
		return NULL;
	r->name = s->name;
	r->pos = s->pos;
	if (addr_set(a, s, "IpSource", &r->src) || addr_set(a, s, "IpDest", &r->dst))
		return NULL;
	size_t n = pstmt_count(s, "IpService") + pstmt_count(s, "IpServiceRef");
	struct ipsec_service *svc = arena_array(a, n ? n : 1, sizeof *svc);
	if (!svc)
		return NULL;
	for (size_t i = 0; i < s->nparams; i++) {
		const struct pparam *p = &s->params[i];
		if (p->ps->target && strcmp(p->ps->target, "IpService") == 0 && deref(p))
			service(deref(p), &svc[r->nsvc++]);
	}
	r->svc = svc;
	const struct pparam *ga = pstmt_param(s, "IpGenericFilterActionRef");
	const struct pstmt *g = deref(ga);
	r->action_name = g ? g->name : NULL;
	r->action = enum_or(g, "IpFilterAction", FILTER_DENY);
	r->log = bool_or(g, "IpFilterLogging", false);
	r->discard = enum_or(g, "DiscardAction", DISCARD_SILENT);
	const struct pparam *dv = pstmt_param(s, "IpDynVpnActionRef");
	if (dv && dv->v.ref.target && !(r->vpn = dynvpn(a, dv->v.ref.target)))
		return NULL;
	const struct pparam *ls = pstmt_param(s, "IpLocalStartActionRef");
	r->localstart = ls ? ls->v.ref.name : NULL;
	const struct pparam *gw = pstmt_param(s, "RemoteSecurityEndpointAddr");
	if (gw) {
		r->has_gateway = true;
		r->gateway.family = gw->v.range.family;
		memcpy(r->gateway.b, gw->v.range.lo, 16);
	}
	s->model = r;
	return r;
}

static struct ike_offer *ke_offer(struct arena *a, struct pstmt *s)
{
	if (s->model)
		return s->model;
	struct ike_offer *o = arena_alloc(a, sizeof *o);
	if (!o)
		return NULL;
	o->name = s->name;
	const struct pparam *enc = pstmt_param(s, "HowToEncrypt");
	o->enc_alg = ENC_AES_CBC;
	o->keylen = enc ? enc->v.enc.keylen : 128;
	o->hash = enum_or(s, "HowToAuthMsgs", HASH_SHA1);
	int m = enum_or(s, "HowToAuthPeers", AUTHMETH_PRESHARED_KEY);
	o->auth_method = m == AUTHMETH_DIGITAL_SIGNATURE ? AUTHMETH_RSA_SIGNATURE : m;
	const struct pparam *g = pstmt_param(s, "DHGroup");
	o->dh_group = g ? g->v.group : 14;
	o->life_proposed = (uint32_t)int_or(s, "RefreshLifetimeProposed", 480);
	life_accepted(s, 240, 1440, &o->life_acc_min, &o->life_acc_max);
	size_fields(s, &o->size_proposed, &o->size_acc_min, &o->size_acc_max);
	s->model = o;
	return o;
}

static struct ike_action *ke_action(struct arena *a, struct pstmt *s, const struct ipsec_policy *ip)
{
	if (s->model)
		return s->model;
	struct ike_action *x = arena_alloc(a, sizeof *x);
	if (!x)
		return NULL;
	x->name = s->name;
	x->how_to_initiate = enum_or(s, "HowToInitiate", ip->how_to_initiate);
	x->how_to_respond = enum_or(s, "HowToRespondIKEv1", enum_or(s, "HowToRespond",
								      ip->how_to_respond));
	x->allow_nat = bool_or(s, "AllowNat", ip->allow_nat);
	int me = enum_or(s, "HowToAuthMe", -1);
	x->auth_me = me == AUTHMETH_DIGITAL_SIGNATURE ? AUTHMETH_RSA_SIGNATURE : me;
	size_t n = pstmt_count(s, "KeyExchangeOffer") + pstmt_count(s, "KeyExchangeOfferRef");
	const struct ike_offer **offers = arena_array(a, n ? n : 1, sizeof *offers);
	if (!offers)
		return NULL;
	for (size_t i = 0; i < s->nparams; i++) {
		const struct pparam *p = &s->params[i];
		if (!p->ps->target || strcmp(p->ps->target, "KeyExchangeOffer") != 0 || !deref(p))
			continue;
		if (!(offers[x->noffers++] = ke_offer(a, (struct pstmt *)deref(p))))
			return NULL;
	}
	x->offers = offers;
	s->model = x;
	return x;
}

static void endpoint(const struct pstmt *s, struct ike_endpoint *e, bool remote)
{
	const struct pparam *id = pstmt_param(s, "Identity");
	if (id) {
		e->id.type = id->v.ident.type;
		e->id.value = id->v.ident.value;
		e->id.bytes = id->v.ident.bytes;
		e->id.len = id->v.ident.len;
		e->id.range = id->v.ident.range;
	}
	const struct pparam *loc = pstmt_param(s, "Location");
	if (loc) {
		e->any_family = loc->v.loc.any_family;
		e->loc = loc->v.loc.range;
	} else {
		e->any_family = remote ? AF_INET : AF_UNSPEC;   /* Any4 is the remote default */
		e->loc.kind = IPR_ALL;
	}
	const struct pparam *ca = pstmt_param(s, "CaLabel");
	e->ca_label = ca ? ca->v.s : NULL;
}

static struct ike_rule *ke_rule(struct arena *a, struct pstmt *s, const struct ipsec_policy *ip)
{
	if (s->model)
		return s->model;
	struct ike_rule *r = arena_alloc(a, sizeof *r);
	if (!r)
		return NULL;
	r->name = s->name;
	r->pos = s->pos;
	endpoint(pstmt_sub(s, "LocalSecurityEndpoint"), &r->local, false);
	endpoint(pstmt_sub(s, "RemoteSecurityEndpoint"), &r->remote, true);
	const struct pparam *ar = pstmt_param(s, "KeyExchangeActionRef");
	if (ar && ar->v.ref.target && !(r->action = ke_action(a, ar->v.ref.target, ip)))
		return NULL;
	const struct pparam *k = pstmt_param(s, "SharedKey");
	if (k) {
		r->psk = k->v.key.bytes;
		r->psk_len = k->v.key.len;
	}
	s->model = r;
	return r;
}

/* Every value of a repeatable VK_HOST parameter, in file order. */
static int host_list(struct arena *a, const struct pstmt *s, const char *name,
		     const struct ip_addr **out, size_t *nout)
{
	size_t n = pstmt_count(s, name);
	struct ip_addr *v = arena_array(a, n ? n : 1, sizeof *v);
	if (!v)
		return -1;
	*nout = 0;
	for (size_t i = 0; s && i < s->nparams; i++) {
		const struct pparam *q = &s->params[i];
		if (q->invalid || strcasecmp(q->ps->name, name) != 0)
			continue;   /* pstmt_count does not count invalid values either */
		struct ip_addr *x = &v[(*nout)++];
		x->family = q->v.range.family;
		memcpy(x->b, q->v.range.lo, 16);
	}
	*out = v;
	return 0;
}

/* A password file that cannot be read now may be readable by the daemon (it
 * reads the file at each connection, and iked -n may run as another user):
 * a warning, not an error, said the way the key ring checks say it. */
static void check_password_file(const struct pstmt *s, const char *path, struct diags *d)
{
	const struct pparam *p = pstmt_param(s, "SwsaStorePasswordFile");
	if (!p || !path || access(path, R_OK) == 0)
		return;
	int e = errno;
	if (e == ENOENT || e == ENOTDIR)
		diag_warn(d, p->vpos, "iked cannot log in to Redis until it exists",
			  "SwsaStorePasswordFile %s does not exist", path);
	else
		diag_warn(d, p->vpos, "iked reads it as the user it runs as, at each connection",
			  "SwsaStorePasswordFile %s cannot be read by this user (uid %u): %s", path,
			  (unsigned)geteuid(), strerror(e));
}

static int ike_config(struct arena *a, const char *dir, const struct pstmt *s,
		      struct ike_config *c, struct diags *d)
{
	c->ike_port = (uint16_t)int_or(s, "IkePort", 500);
	c->nat_port = (uint16_t)int_or(s, "NatPort", 4500);
	c->backend = enum_or(s, "KernelBackend", BACKEND_AUTO);
	const struct pparam *p;
	c->tun_device = (p = pstmt_param(s, "TunDevice")) ? p->v.s : "attls0";
	c->control_socket = (p = pstmt_param(s, "ControlSocket")) ? p->v.s : "/run/attls/iked.sock";
	c->pid_file = (p = pstmt_param(s, "PidFile")) ? p->v.s : "/run/attls/iked.pid";
	c->keyring = (p = pstmt_param(s, "Keyring")) ? p->v.s : NULL;
	c->keyring = policy_resolve_path(a, dir, c->keyring);
	c->syslog_level = (unsigned)int_or(s, "IkeSyslogLevel", 1);
	c->retries = (unsigned)int_or(s, "IkeRetries", 10);
	c->init_wait = (unsigned)int_or(s, "IkeInitWait", 2);
	c->max_wait = (unsigned)int_or(s, "IkeMaxWait", 8);
	if (host_list(a, s, "ListenAddr", &c->listen, &c->nlisten))
		return -1;

	/* validate.c has refused a URL that does not parse */
	char err[256], hint[128];
	if ((p = pstmt_param(s, "SwsaStore")) &&
	    store_url_parse(p->v.s, &c->swsa_store, err, sizeof err, hint, sizeof hint))
		c->swsa_store.kind = STORE_NONE;
	p = pstmt_param(s, "SwsaStorePasswordFile");
	c->swsa_password_file = policy_resolve_path(a, dir, p ? p->v.s : NULL);
	if (c->swsa_store.kind == STORE_REDIS)
		check_password_file(s, c->swsa_password_file, d);
	c->swsa_node = (p = pstmt_param(s, "SwsaNode")) ? p->v.s : NULL;
	return host_list(a, s, "SwsaDvipa", &c->swsa_dvipa, &c->nswsa_dvipa);
}

static const struct pstmt *singleton(const struct ptree *t, const char *type)
{
	for (size_t i = 0; i < t->nstmts; i++)
		if (is(t->stmts[i], type) && !t->stmts[i]->replaced)
			return t->stmts[i];
	return NULL;
}

int ipsec_compile(struct policy *p, struct diags *d)
{
	struct arena *a = &p->arena;
	struct ipsec_policy *ip = &p->ipsec;
	const struct ptree *t = &p->tree;
	const struct pstmt *fp = singleton(t, "IpFilterPolicy");
	const struct pstmt *kp = singleton(t, "KeyExchangePolicy");
	const struct pstmt *ic = singleton(t, "IkeConfig");
	ip->present = fp || kp || ic;
	ip->allow_on_demand = bool_or(fp, "AllowOnDemand", true);
	ip->fips = bool_or(fp, "FIPS140", false);
	ip->filter_logging = bool_or(fp, "FilterLogging", true);
	ip->log_implicit = bool_or(fp, "IpFilterLogImplicit", false);
	ip->allow_nat = bool_or(kp, "AllowNat", false);
	ip->how_to_initiate = enum_or(kp, "HowToInitiate", HOWINIT_MAIN);
	ip->how_to_respond = enum_or(kp, "HowToRespondIKEv1", HOWRESP_EITHER);
	ip->liveness = (unsigned)int_or(kp, "LivenessInterval", 0);
	ip->nat_keepalive = (unsigned)int_or(kp, "NatKeepAliveInterval", 20);
	if (ike_config(a, t->dir, ic, &ip->ike, d))
		return -1;

	size_t nf = pstmt_count(fp, "IpFilterRule") + pstmt_count(fp, "IpFilterRuleRef");
	ip->filters = arena_array(a, nf ? nf : 1, sizeof *ip->filters);
	size_t nk = pstmt_count(kp, "KeyExchangeRule") + pstmt_count(kp, "KeyExchangeRuleRef");
	ip->ke_rules = arena_array(a, nk ? nk : 1, sizeof *ip->ke_rules);
	if (!ip->filters || !ip->ke_rules)
		return -1;
	for (size_t i = 0; fp && i < fp->nparams; i++) {
		const struct pparam *q = &fp->params[i];
		if (q->ps->target && strcmp(q->ps->target, "IpFilterRule") == 0 && deref(q) &&
		    !(ip->filters[ip->nfilters++] = filter_rule(a, (struct pstmt *)deref(q))))
			return -1;
	}
	for (size_t i = 0; kp && i < kp->nparams; i++) {
		const struct pparam *q = &kp->params[i];
		if (q->ps->target && strcmp(q->ps->target, "KeyExchangeRule") == 0 && deref(q) &&
		    !(ip->ke_rules[ip->nke++] = ke_rule(a, (struct pstmt *)deref(q), ip)))
			return -1;
	}
	size_t nv = 0;
	for (size_t i = 0; i < t->nstmts; i++)
		nv += is(t->stmts[i], "IpDynVpnAction");
	ip->dynvpns = arena_array(a, nv ? nv : 1, sizeof *ip->dynvpns);
	if (!ip->dynvpns)
		return -1;
	for (size_t i = 0; i < t->nstmts; i++) {
		struct pstmt *s = t->stmts[i];
		if (is(s, "IpDynVpnAction") && !(ip->dynvpns[ip->ndynvpn++] = dynvpn(a, s)))
			return -1;
		if (is(s, "IpFilterRule"))
			p->counts.filter_rules++;
		else if (is(s, "IpDynVpnAction"))
			p->counts.dynvpn_actions++;
		else if (is(s, "KeyExchangeRule"))
			p->counts.ke_rules++;
		else if (is(s, "KeyExchangeAction"))
			p->counts.ke_actions++;
	}
	return 0;
}

const struct ipsec_policy *policy_ipsec(const struct policy *p)
{
	return &p->ipsec;
}
