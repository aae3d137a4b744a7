/* iked/filter — the IpFilterPolicy as nftables text (see filter.h).
 *
 * How a rule's IpService becomes nft rules (docs/policy-reference.md has the
 * table): the rule is written from this host's side, source first. Outbound
 * traffic goes from the source to the destination; with Bidirectional the
 * traffic coming back (destination to source, ports swapped) is the inbound
 * half; Direction Inbound alone takes inbound packets as written. Routing
 * Local puts the halves in the output and input hooks, Routed in forward,
 * Either in all three. Each (IpService, half) is one z/OS filter and gets the
 * next "ext" number. */
#include "iked/filter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "policy/schema.h"

enum hook { HOOK_INPUT, HOOK_FORWARD, HOOK_OUTPUT, NHOOKS };

static const char *const hook_name[NHOOKS] = { "input", "forward", "output" };

/* Which end of the connection sends the packets of a half: this host's side
 * (the rule's source) or the other side. IpSec rules check protection by it:
 * what this side sends must go into the tunnel, what the other side sends
 * must have come out of it. */
enum role { ROLE_OUT, ROLE_IN };

struct half {
	enum hook hook;
	bool mirrored;                    /* from the rule's destination to its source */
	enum role role;
};

static const struct ipsec_service any_service = {
	.proto = -1,
	.sport = { 0, 65535 },
	.dport = { 0, 65535 },
	.dir = SVCDIR_BIDIRECTIONAL,
	.conn = CONNDIR_ANY,
	.routing = ROUTING_LOCAL,
};

static size_t halves_of(const struct ipsec_service *s, struct half h[4])
{
	bool local = s->routing != ROUTING_ROUTED, routed = s->routing != ROUTING_LOCAL;
	bool out = s->dir != SVCDIR_INBOUND, in = s->dir != SVCDIR_OUTBOUND;
	bool bidi = s->dir == SVCDIR_BIDIRECTIONAL;
	size_t n = 0;
	if (local && out)
		h[n++] = (struct half){ HOOK_OUTPUT, false, ROLE_OUT };
	if (local && in)
		h[n++] = (struct half){ HOOK_INPUT, bidi, ROLE_IN };
	if (routed && out)
		h[n++] = (struct half){ HOOK_FORWARD, false, ROLE_OUT };
	if (routed && in)
		h[n++] = (struct half){ HOOK_FORWARD, bidi, ROLE_IN };
	return n;
}

bool filter_wanted(const struct ipsec_policy *ip)
{
	return ip->nfilters > 0;
}

static bool logs_drops(const struct ipsec_filter_rule *r)
{
	return r->log && r->action != FILTER_PERMIT;
}

bool filter_logs(const struct ipsec_policy *ip)
{
	if (!ip->filter_logging)
		return false;
	if (ip->log_implicit)
		return true;
	for (size_t i = 0; i < ip->nfilters; i++)
		if (logs_drops(ip->filters[i]))
			return true;
	return false;
}

/* ---- addresses ------------------------------------------------------------ */

static const char *fam_kw(int af)
{
	return af == AF_INET6 ? "ip6" : "ip";
}

static size_t count_family(const struct ip_set *s, int af)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n; i++)
		n += s->r[i].family == af;
	return n;
}

/* A side of a rule may name addresses of this family, or none at all (any). */
static bool side_allows(const struct ip_set *s, int af)
{
	return s->n == 0 || count_family(s, af) > 0;
}

/* "ip saddr 198.18.0.1 " or "ip saddr { a, b } "; nothing for "any". nft
 * merges overlapping elements of an anonymous set itself. */
static void put_addrs(FILE *f, int af, const char *field, const struct ip_set *s)
{
	size_t n = count_family(s, af);
	if (n == 0)
		return;
	fprintf(f, "%s %s %s", fam_kw(af), field, n > 1 ? "{ " : "");
	const char *sep = "";
	for (size_t i = 0; i < s->n; i++) {
		if (s->r[i].family != af)
			continue;
		char buf[IP_RANGE_STRLEN];
		ip_range_format(&s->r[i], buf, sizeof buf);
		fprintf(f, "%s%s", sep, buf);
		sep = ", ";
	}
	fprintf(f, "%s ", n > 1 ? " }" : "");
}

/* ---- text helpers ------------------------------------------------------------ */

/* Interface names and comments go between double quotes, which nft cannot
 * escape: anything but a plain name character becomes '_'. */
static void put_quoted(FILE *f, const char *s, size_t max)
{
	fputc('"', f);
	for (size_t i = 0; s[i] && i < max; i++) {
		unsigned char c = (unsigned char)s[i];
		bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9') || strchr(" ._:/@+=-", c);
		fputc(plain ? c : '_', f);
	}
	fputc('"', f);
}

static void put_ports(FILE *f, const char *field, const struct port_range *p)
{
	if (p->lo == 0 && p->hi == 65535)
		return;
	if (p->lo == p->hi)
		fprintf(f, "th %s %u ", field, p->lo);
	else
		fprintf(f, "th %s %u-%u ", field, p->lo, p->hi);
}

static void put_comment(FILE *f, const char *name, unsigned ext)
{
	fprintf(f, " comment ");
	char buf[96];
	snprintf(buf, sizeof buf, "%s ext %u", name ? name : "", ext);
	put_quoted(f, buf, sizeof buf);
}

/* What makes an IpSec rule's packet protected: with xfrm, a secpath (it was
 * decapsulated) or an xfrm route (it will be encrypted); with tun, arriving
 * from the TUN device or being routed into it. FILTER_DP_NONE protects
 * nothing, and put_filter writes no accept for it. */
static void put_protected(FILE *f, const struct filter_env *env, enum role role)
{
	if (env->datapath == FILTER_DP_XFRM) {
		fprintf(f, role == ROLE_OUT ? "rt ipsec exists " : "meta ipsec exists ");
	} else if (env->datapath == FILTER_DP_TUN) {
		fprintf(f, role == ROLE_OUT ? "oifname " : "iifname ");
		put_quoted(f, env->tun_device ? env->tun_device : "", 15);
		fputc(' ', f);
	}
}

/* ---- one filter --------------------------------------------------------------- */

struct emit {
	FILE *f;
	const struct filter_env *env;
	unsigned gen;
	bool log;                         /* log statements are in use at all */
};

/* TCP connect qualifiers: the side that may not open connections sends no
 * initial SYN through this rule. Other protocols are not restricted. */
enum syn_variant { SYN_ANY, SYN_NOT_TCP, SYN_NOT_INITIAL };

static void put_match(FILE *f, const struct ipsec_filter_rule *r, const struct ipsec_service *s,
		      const struct half *h, int af, enum syn_variant v)
{
	const struct ip_set *from = h->mirrored ? &r->dst : &r->src;
	const struct ip_set *to = h->mirrored ? &r->src : &r->dst;
	if (af) {
		put_addrs(f, af, "saddr", from);
		put_addrs(f, af, "daddr", to);
	}
	if (s->proto >= 0)
		fprintf(f, "meta l4proto %d ", s->proto);
	put_ports(f, "sport", h->mirrored ? &s->dport : &s->sport);
	put_ports(f, "dport", h->mirrored ? &s->sport : &s->dport);
	if (v == SYN_NOT_TCP)
		fprintf(f, "meta l4proto != 6 ");
	else if (v == SYN_NOT_INITIAL)
		fprintf(f, "tcp flags & (syn | ack) != syn ");
}

static const char *drop_verdict(const struct ipsec_filter_rule *r)
{
	return r->discard == DISCARD_ICMP ? "reject with icmpx type admin-prohibited" : "drop";
}

static int put_filter(const struct emit *e, const struct ipsec_filter_rule *r, size_t idx,
		      const struct ipsec_service *s, const struct half *h, unsigned ext, int af,
		      enum syn_variant v)
{
	char *m = NULL;
	size_t mlen = 0;
	FILE *mf = open_memstream(&m, &mlen);
	if (!mf)
		return -1;
	put_match(mf, r, s, h, af, v);
	if (fclose(mf) != 0) {
		free(m);
		return -1;
	}
	FILE *f = e->f;
	bool accepts = r->action == FILTER_PERMIT ||
		       (r->action == FILTER_IPSEC && e->env->datapath != FILTER_DP_NONE);
	if (accepts) {
		fprintf(f, "\t\t%s", m);
		if (r->action == FILTER_IPSEC)
			put_protected(f, e->env, h->role);
		fprintf(f, "counter accept");
		put_comment(f, r->name, ext);
		fputc('\n', f);
	}
	if (r->action != FILTER_PERMIT) {
		char kind = r->action == FILTER_IPSEC ? FLOG_CLEAR : FLOG_DENY;
		if (e->log && r->log)
			fprintf(f, "\t\t%slimit name \"log_rate\" log prefix \"attls:%u:%zu:%u:%c\" "
				"group %d\n", m, e->gen, idx, ext, kind, e->env->log_group);
		fprintf(f, "\t\t%scounter %s", m, drop_verdict(r));
		put_comment(f, r->name, ext);
		fputc('\n', f);
	}
	free(m);
	return 0;
}

/* Every filter of rule idx (1-based) that belongs to hook hk, in ext order. */
static int put_rule(const struct emit *e, const struct ipsec_filter_rule *r, size_t idx,
		    enum hook hk)
{
	int fams[2], nf = 0;
	if (r->src.n == 0 && r->dst.n == 0) {
		fams[nf++] = 0;           /* both families, no address to match */
	} else {
		if (side_allows(&r->src, AF_INET) && side_allows(&r->dst, AF_INET))
			fams[nf++] = AF_INET;
		if (side_allows(&r->src, AF_INET6) && side_allows(&r->dst, AF_INET6))
			fams[nf++] = AF_INET6;
	}
	size_t nsvc = r->nsvc ? r->nsvc : 1;
	unsigned ext = 0;
	for (size_t i = 0; i < nsvc; i++) {
		const struct ipsec_service *s = r->nsvc ? &r->svc[i] : &any_service;
		struct half h[4];
		size_t nh = halves_of(s, h);
		for (size_t j = 0; j < nh; j++) {
			ext++;
			if (h[j].hook != hk)
				continue;
			bool no_syn = (s->conn == CONNDIR_INBOUND_CONNECT && h[j].role == ROLE_OUT) ||
				      (s->conn == CONNDIR_OUTBOUND_CONNECT && h[j].role == ROLE_IN);
			for (int k = 0; k < nf; k++) {
				int rc;
				if (!no_syn || (s->proto != -1 && s->proto != 6))
					rc = put_filter(e, r, idx, s, &h[j], ext, fams[k], SYN_ANY);
				else if (s->proto == 6)
					rc = put_filter(e, r, idx, s, &h[j], ext, fams[k],
							SYN_NOT_INITIAL);
				else
					rc = put_filter(e, r, idx, s, &h[j], ext, fams[k],
							SYN_NOT_TCP) ||
					     put_filter(e, r, idx, s, &h[j], ext, fams[k],
							SYN_NOT_INITIAL);
				if (rc)
					return -1;
			}
		}
	}
	return 0;
}

/* ---- what iked itself needs --------------------------------------------------- */

/* Addresses of one family: any, or a list. */
struct endpoints {
	bool any[2];                      /* [0] IPv4, [1] IPv6 */
	struct ip_range *r;
	size_t n;
};

static int fam_index(int af)
{
	return af == AF_INET6;
}

static bool same_range(const struct ip_range *a, const struct ip_range *b)
{
	return a->kind == b->kind && a->family == b->family && a->prefix == b->prefix &&
	       memcmp(a->lo, b->lo, 16) == 0 && memcmp(a->hi, b->hi, 16) == 0;
}

/* The same peer is often both a Location and a RemoteSecurityEndpointAddr. */
static void ep_add(struct endpoints *ep, const struct ip_range *r)
{
	for (size_t i = 0; i < ep->n; i++)
		if (same_range(&ep->r[i], r))
			return;
	ep->r[ep->n++] = *r;
}

static void ep_add_addr(struct endpoints *ep, const struct ip_addr *a)
{
	static const uint8_t zero[16];
	if (memcmp(a->b, zero, a->family == AF_INET6 ? 16 : 4) == 0) {
		ep->any[fam_index(a->family)] = true;   /* the wildcard */
		return;
	}
	struct ip_range r = { .kind = IPR_SINGLE, .family = a->family };
	memcpy(r.lo, a->b, 16);
	memcpy(r.hi, a->b, 16);
	ep_add(ep, &r);
}

/* The peers iked talks IKE and ESP with: every KeyExchangeRule's remote
 * Location and every RemoteSecurityEndpointAddr. */
static void remote_endpoints(const struct ipsec_policy *ip, struct endpoints *ep)
{
	for (size_t i = 0; i < ip->nke; i++) {
		const struct ike_endpoint *re = &ip->ke_rules[i]->remote;
		if (re->any_family == AF_INET || re->any_family == AF_UNSPEC)
			ep->any[0] = true;
		if (re->any_family == AF_INET6 || re->any_family == AF_UNSPEC)
			ep->any[1] = true;
		if (re->any_family < 0 && re->loc.kind != IPR_ALL)
			ep_add(ep, &re->loc);
		else if (re->any_family < 0)
			ep->any[0] = ep->any[1] = true;
	}
	for (size_t i = 0; i < ip->nfilters; i++)
		if (ip->filters[i]->has_gateway)
			ep_add_addr(ep, &ip->filters[i]->gateway);
}

/* This host's side: the ListenAddrs (0.0.0.0 when there is none). */
static void local_endpoints(const struct ipsec_policy *ip, struct endpoints *ep)
{
	if (ip->ike.nlisten == 0)
		ep->any[0] = true;
	for (size_t i = 0; i < ip->ike.nlisten; i++)
		ep_add_addr(ep, &ip->ike.listen[i]);
}

static bool ep_has(const struct endpoints *ep, int af)
{
	struct ip_set s = { ep->n, ep->r };
	return ep->any[fam_index(af)] || count_family(&s, af) > 0;
}

static void put_ep(FILE *f, const struct endpoints *ep, int af, const char *field)
{
	if (ep->any[fam_index(af)])
		return;
	struct ip_set s = { ep->n, ep->r };
	put_addrs(f, af, field, &s);
}

static void put_ike(FILE *f, const struct ipsec_policy *ip, const struct endpoints *local,
		    const struct endpoints *remote, enum hook hk)
{
	static const int fams[] = { AF_INET, AF_INET6 };
	bool in = hk == HOOK_INPUT;
	char ports[32];
	if (ip->ike.ike_port == ip->ike.nat_port)
		snprintf(ports, sizeof ports, "%u", ip->ike.ike_port);
	else
		snprintf(ports, sizeof ports, "{ %u, %u }", ip->ike.ike_port, ip->ike.nat_port);
	for (size_t i = 0; i < 2; i++) {
		int af = fams[i];
		if (!ep_has(local, af) || !ep_has(remote, af))
			continue;
		for (int esp = 0; esp < 2; esp++) {
			fprintf(f, "\t\t");
			put_ep(f, in ? remote : local, af, "saddr");
			put_ep(f, in ? local : remote, af, "daddr");
			if (local->any[fam_index(af)] && remote->any[fam_index(af)])
				fprintf(f, "meta nfproto %s ", af == AF_INET ? "ipv4" : "ipv6");
			if (esp)
				fprintf(f, "meta l4proto 50 accept comment \"ESP\"\n");
			else
				fprintf(f, "meta l4proto 17 th %s %s accept comment \"IKE\"\n",
					in ? "dport" : "sport", ports);
		}
	}
}

static void put_own(FILE *f, const struct ipsec_policy *ip, const struct endpoints *local,
		    const struct endpoints *remote, enum hook hk)
{
	if (hk == HOOK_FORWARD)
		return;
	/* z/OS does not filter loopback traffic */
	fprintf(f, "\t\t%s \"lo\" accept comment \"loopback\"\n", hk == HOOK_INPUT ? "iif" : "oif");
	put_ike(f, ip, local, remote, hk);
	/* IPv6's ARP, and the multicast listener reports switches need to
	 * deliver its solicitations: link-local only (RFC 4861 hop limit 255,
	 * RFC 3810 hop limit 1) */
	fprintf(f, "\t\ticmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, "
		   "nd-neighbor-advert } ip6 hoplimit 255 accept comment \"neighbour discovery\"\n");
	fprintf(f, "\t\ticmpv6 type { mld-listener-query, mld-listener-report, mld-listener-done, "
		   "mld2-listener-report } ip6 hoplimit 1 accept comment \"multicast listeners\"\n");
}

static void put_implicit(const struct emit *e, const struct ipsec_policy *ip, enum hook hk)
{
	static const unsigned ext[NHOOKS] = { [HOOK_INPUT] = 1, [HOOK_OUTPUT] = 2,
					      [HOOK_FORWARD] = 3 };
	if (e->log && ip->log_implicit)
		fprintf(e->f, "\t\tlimit name \"log_rate\" log prefix \"attls:%u:0:%u:%c\" group %d\n",
			e->gen, ext[hk], (char)FLOG_IMPLICIT, e->env->log_group);
	fprintf(e->f, "\t\tcounter drop comment \"implicit deny\"\n");
}

/* ---- the script ---------------------------------------------------------------- */

const char *filter_remove_script(void)
{
	/* adding first makes the delete succeed when there is nothing to delete */
	return "table " FILTER_TABLE "\ndelete table " FILTER_TABLE "\n";
}

static int put_table(FILE *f, const struct ipsec_policy *ip, const struct filter_env *env,
		     unsigned gen)
{
	struct endpoints local = { .r = calloc(ip->ike.nlisten + 1, sizeof *local.r) };
	struct endpoints remote = { .r = calloc(ip->nke + ip->nfilters + 1, sizeof *remote.r) };
	int rc = -1;
	if (!local.r || !remote.r)
		goto out;
	local_endpoints(ip, &local);
	remote_endpoints(ip, &remote);
	struct emit e = { f, env, gen, env->log_group >= 0 && filter_logs(ip) };
	fprintf(f, "%s", filter_remove_script());
	fprintf(f, "table " FILTER_TABLE " {\n");
	if (e.log)
		fprintf(f, "\tlimit log_rate {\n\t\trate %u/second burst %u packets\n\t}\n\n",
			FILTER_LOG_RATE, FILTER_LOG_RATE);
	static const enum hook order[] = { HOOK_INPUT, HOOK_FORWARD, HOOK_OUTPUT };
	for (size_t k = 0; k < NHOOKS; k++) {
		enum hook hk = order[k];
		fprintf(f, "%s\tchain %s {\n\t\ttype filter hook %s priority filter; policy accept;\n",
			k ? "\n" : "", hook_name[hk], hook_name[hk]);
		put_own(f, ip, &local, &remote, hk);
		for (size_t i = 0; i < ip->nfilters; i++)
			if (put_rule(&e, ip->filters[i], i + 1, hk))
				goto out;
		put_implicit(&e, ip, hk);
		fprintf(f, "\t}\n");
	}
	fprintf(f, "}\n");
	rc = 0;
out:
	free(local.r);
	free(remote.r);
	return rc;
}

char *filter_script(const struct ipsec_policy *ip, const struct filter_env *env, unsigned gen)
{
	if (!filter_wanted(ip))
		return strdup(filter_remove_script());
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	int rc = put_table(f, ip, env, gen);
	if (fclose(f) != 0 || rc) {
		free(text);
		return NULL;
	}
	return text;
}

/* A decimal number of at most max, ending at a ':' (or at the end when last). */
static const char *number(const char *s, unsigned long max, unsigned long *v)
{
	if (*s < '0' || *s > '9')
		return NULL;
	unsigned long n = 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		n = n * 10 + (unsigned long)(*s - '0');
		if (n > max)
			return NULL;
	}
	if (*s != ':')
		return NULL;
	*v = n;
	return s + 1;
}

int filter_prefix_parse(const char *s, struct filter_prefix *p)
{
	unsigned long gen, rule, ext;
	if (strncmp(s, "attls:", 6) != 0)
		return -1;
	s += 6;
	if (!(s = number(s, 0xffffffffUL, &gen)) || !(s = number(s, 0xffffffffUL, &rule)) ||
	    !(s = number(s, 0xffffffffUL, &ext)))
		return -1;
	if ((s[0] != FLOG_DENY && s[0] != FLOG_CLEAR && s[0] != FLOG_IMPLICIT) || s[1] != '\0')
		return -1;
	p->gen = (unsigned)gen;
	p->rule = rule;
	p->ext = (unsigned)ext;
	p->kind = (enum filter_log_kind)s[0];
	return 0;
}
