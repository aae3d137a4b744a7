/* iked/display — the reports of ipsec -k/-y/-f display (fields as z/OS
 * prints them; docs/iked.md lists them) and of the SA cache, as text or
 * JSON. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/json.h"
#include "iked/control.h"
#include "iked/crypto.h"
#include "iked/dh.h"
#include "iked/exchange.h"
#include "iked/install.h"
#include "iked/match.h"
#include "policy/schema.h"

/* One emitter for both forms: text "Name: value" lines with entries
 * separated by stars, or a JSON array of objects with the same names. */
struct emit {
	FILE *f;
	struct json j;
	bool json;
	bool wide;
	size_t entries;
};

static void emit_begin(struct emit *e, FILE *f, const struct ctl_req *r, const char *primary)
{
	memset(e, 0, sizeof *e);
	e->f = f;
	e->json = r->json;
	e->wide = r->format == FMT_WIDE;
	if (e->json) {
		json_init(&e->j, f, 2);
		json_obj_begin(&e->j);
		json_kstr(&e->j, "primary", primary);
		json_key(&e->j, "entries");
		json_arr_begin(&e->j);
		return;
	}
	char when[64];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(when, sizeof when, "%a %b %d %H:%M:%S %Y", &tm);
	const char *fmt = r->format == FMT_SHORT ? "Short" : r->format == FMT_WIDE ? "Wide" : "Detail";
	fprintf(f, "attls ipsec Stack Name: iked %s\n", when);
	fprintf(f, "Primary: %s Function: Display Format: %s\n", primary, fmt);
	fprintf(f, "Source: IKED Scope: Current TotAvail: n/a\n\n");
}

static void emit_entry(struct emit *e)
{
	if (e->json)
		json_obj_begin(&e->j);
	else if (e->entries)
		fputs("****************************************************************\n", e->f);
	e->entries++;
}

static void emit_entry_end(struct emit *e)
{
	if (e->json)
		json_obj_end(&e->j);
}

/* A field: "Name:" padded to a column in text, the key "Name" in JSON. */
static void text_field(struct emit *e, const char *k, const char *v)
{
	char name[64];
	snprintf(name, sizeof name, "%s:", k);
	fprintf(e->f, "%-28s %s\n", name, v);
}

static void kv(struct emit *e, const char *k, const char *v)
{
	if (e->json)
		json_kstr(&e->j, k, v);
	else
		text_field(e, k, v);
}

static void kvf(struct emit *e, const char *k, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void kvf(struct emit *e, const char *k, const char *fmt, ...)
{
	char v[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v, sizeof v, fmt, ap);
	va_end(ap);
	kv(e, k, v);
}

static void kvu(struct emit *e, const char *k, uint64_t v)
{
	char num[24];
	if (e->json) {
		json_kuint(&e->j, k, v);
		return;
	}
	snprintf(num, sizeof num, "%" PRIu64, v);
	text_field(e, k, num);
}

static void emit_end(struct emit *e)
{
	if (e->json) {
		json_arr_end(&e->j);
		json_obj_end(&e->j);
		json_end(&e->j);
		return;
	}
	fprintf(e->f, "\n%zu entries selected\n", e->entries);
}

/* A monotonic deadline as a wall-clock time. */
static void when_str(struct iked *ike, const struct timer *t, char *buf, size_t len)
{
	if (!timer_armed(t)) {
		snprintf(buf, len, "n/a");
		return;
	}
	uint64_t now = iked_now(ike);
	time_t at = time(NULL) + (time_t)((t->when > now ? t->when - now : 0) / 1000);
	struct tm tm;
	localtime_r(&at, &tm);
	strftime(buf, len, "%Y/%m/%d %H:%M:%S", &tm);
}

static const char *idtype_of_str(const struct buf *idb)
{
	return idb->len ? id_type_name(idb->d[0]) : "n/a";
}

static void cookie_str(const uint8_t *c, char *buf, size_t len)
{
	snprintf(buf, len, "0x%02X%02X%02X%02X%02X%02X%02X%02X", c[0], c[1], c[2], c[3], c[4], c[5],
		 c[6], c[7]);
}

/* KEY_ID values are long: z/OS shortens them unless -r wide. */
static void id_value(struct emit *e, const char *k, const char *v, const struct buf *idb)
{
	if (!e->wide && idb->len && idb->d[0] == IPSEC_ID_KEY_ID && strlen(v) > 24)
		kvf(e, k, "%.24s...", v);
	else
		kv(e, k, v);
}

static bool id_matches(const char *want, char kind, unsigned id)
{
	if (!*want)
		return true;
	char s[16];
	snprintf(s, sizeof s, "%c%u", kind, id);
	return strcasecmp(s, want) == 0;
}

static struct p1sa *newest_p1(struct iked *ike, const struct ktunnel *kt)
{
	if (kt->cur)
		return kt->cur;
	struct p1sa *p1, *best = NULL;
	LIST_FOREACH(p1, &ike->p1_all, all)
		if (p1->kt == kt && (!best || p1->created_ms > best->created_ms))
			best = p1;
	return best;
}

static size_t assoc_dyn(struct iked *ike, unsigned kid, char *buf, size_t len)
{
	size_t n = 0, k = 0;
	struct ytunnel *yt;
	buf[0] = '\0';
	TAILQ_FOREACH(yt, &ike->ytunnels, all)
		if (yt->cur && yt->cur->parent_kid == kid) {
			k += (size_t)snprintf(buf + k, k < len ? len - k : 0, "%sY%u", n ? " " : "", yt->id);
			n++;
		}
	return n;
}

static void ike_short_header(struct emit *e)
{
	if (!e->json)
		fprintf(e->f, "%-8s %-4s %-14s %-39s %-39s %s\n", "TunnelID", "Gen", "State",
			"LocalEndPoint", "RemoteEndPoint", "KeyExchangeRuleName");
}

static void ike_entry(struct iked *ike, struct emit *e, const struct ktunnel *kt,
		      const struct p1sa *p1, bool shortfmt)
{
	char l[IP_STRLEN], r[IP_STRLEN], b1[64], b2[64];
	ip_addr_format(&kt->local.ip, l, sizeof l);
	ip_addr_format(&kt->remote.ip, r, sizeof r);
	const char *state = p1 ? p1_state_name(p1->state) : "n/a";
	if (shortfmt && !e->json) {
		fprintf(e->f, "K%-7u %-4u %-14s %-39s %-39s %s\n", kt->id, p1 ? p1->generation : kt->generation,
			state, l, r, kt->rule);
		e->entries++;
		return;
	}
	emit_entry(e);
	kvf(e, "TunnelID", "K%u", kt->id);
	kvu(e, "Generation", p1 ? p1->generation : kt->generation);
	kv(e, "IKEVersion", "1.0");
	kv(e, "KeyExchangeRuleName", kt->rule);
	kv(e, "KeyExchangeActionName", kt->action);
	kv(e, "LocalEndPoint", l);
	if (shortfmt) {
		kv(e, "RemoteEndPoint", r);
		kv(e, "State", state);
		emit_entry_end(e);
		return;
	}
	bool init = p1 && p1->role == IKE_INITIATOR;
	const struct buf *lid = p1 ? (init ? &p1->idi_b : &p1->idr_b) : NULL;
	const struct buf *rid = p1 ? (init ? &p1->idr_b : &p1->idi_b) : NULL;
	kv(e, "LocalIDType", lid ? idtype_of_str(lid) : "n/a");
	if (lid)
		id_value(e, "LocalID", p1->local_id_str, lid);
	kv(e, "RemoteEndPoint", r);
	kv(e, "RemoteIDType", rid ? idtype_of_str(rid) : "n/a");
	if (rid)
		id_value(e, "RemoteID", p1->peer_id_str, rid);
	if (!p1) {
		kv(e, "State", "n/a");
		emit_entry_end(e);
		return;
	}
	const struct p1_attrs *a = &p1->agreed;
	bool done = p1->state == P1_ESTABLISHED;
	kv(e, "ExchangeMode", exch_name((uint8_t)p1->exch));
	kv(e, "State", state);
	kvf(e, "AuthenticationAlgorithm", "HMAC-%s", done ? hash_name(a->hash) : "n/a");
	kv(e, "EncryptionAlgorithm", done ? "AES-CBC" : "n/a");
	kvu(e, "KeyLength", done ? (uint64_t)a->keylen : 0);
	kvf(e, "PseudoRandomFunction", "HMAC-%s", done ? hash_name(a->hash) : "n/a");
	kv(e, "DiffieHellmanGroup", done ? dh_group_name(a->group) : "n/a");
	const char *am = a->auth == AUTHMETH_RSA_SIGNATURE ? "RsaSignature" : "PresharedKey";
	kv(e, "LocalAuthenticationMethod", done ? am : "n/a");
	kv(e, "RemoteAuthenticationMethod", done ? am : "n/a");
	cookie_str(p1->icky, b1, sizeof b1);
	kv(e, "InitiatorCookie", b1);
	cookie_str(p1->rcky, b1, sizeof b1);
	kv(e, "ResponderCookie", b1);
	kvf(e, "Lifesize", "%" PRIu64 "K", a->life_kb);
	kvf(e, "CurrentByteCount", "%" PRIu64 "b", p1->bytes);
	kvf(e, "Lifetime", "%um", a->life_secs / 60);
	when_str(ike, &p1->t_refresh, b1, sizeof b1);
	when_str(ike, &p1->t_expire, b2, sizeof b2);
	kv(e, "LifetimeRefresh", b1);
	kv(e, "LifetimeExpires", b2);
	kv(e, "ReauthInterval", "None");
	kv(e, "ReauthTime", "None");
	kv(e, "Role", init ? "Initiator" : "Responder");
	char assoc[256];
	assoc_dyn(ike, kt->id, assoc, sizeof assoc);
	kv(e, "AssociatedDynamicTunnels", *assoc ? assoc : "None");
	kv(e, "NATTSupportLevel", p1->peer_natt ? "RFC" : "None");
	kv(e, "NATInFrntLclScEndPnt", p1->nat_local ? "Yes" : "No");
	kv(e, "NATInFrntRmtScEndPnt", p1->nat_remote ? "Yes" : "No");
	kv(e, "zOSCanInitiateP1SA", p1->rule && p1->rule->action &&
				     p1->rule->action->how_to_initiate != HOWINIT_DONOT ? "Yes" : "No");
	kv(e, "AllowNat", p1->rule && p1->rule->action && p1->rule->action->allow_nat ? "Yes" : "No");
	kv(e, "RmtNAPTDetected", p1->nat_remote && p1->remote.port != ike->ip->ike.nat_port ? "Yes" : "No");
	if (p1->natt_port)
		kvu(e, "RmtUdpEncapPort", p1->remote.port);
	else
		kv(e, "RmtUdpEncapPort", "n/a");
	/* attls additions */
	kv(e, "KeyExchangeOfferName", a->offer_name[0] ? a->offer_name : "n/a");
	kv(e, "OfferFromSaCache", p1->from_cache ? "Yes" : "No");
	emit_entry_end(e);
}

int display_ike_tunnels(struct iked *ike, const struct ctl_req *r, FILE *out)
{
	struct emit e;
	emit_begin(&e, out, r, "IKE tunnel");
	bool shortfmt = r->format == FMT_SHORT;
	if (shortfmt)
		ike_short_header(&e);
	struct ktunnel *kt;
	TAILQ_FOREACH(kt, &ike->ktunnels, all)
		if (id_matches(r->id, 'K', kt->id))
			ike_entry(ike, &e, kt, newest_p1(ike, kt), shortfmt);
	emit_end(&e);
	return 0;
}

/* The z/OS state of a dynamic tunnel. */
static const char *dyn_state_name(const struct ytunnel *yt, const struct p2sa *p2)
{
	if (!p2)
		return yt->activation_pending ? "Pending" : "Expired";
	switch (p2->state) {
	case P2_ESTABLISHED: return "Active";
	case P2_WAIT_P1: return "Pending";
	case P2_I_SENT: case P2_R_SENT: return "InProgress";
	default: return "Expired";
	}
}

static struct p2sa *shown_p2(const struct ytunnel *yt)
{
	if (yt->cur)
		return yt->cur;
	return LIST_FIRST(&yt->sas);
}

static void sel_addr(struct emit *e, const char *base, const struct selector *s)
{
	char v[IP_RANGE_STRLEN], k[64];
	ip_range_format(&s->r, v, sizeof v);
	const char *kind = s->r.kind == IPR_SINGLE ? "" : s->r.kind == IPR_RANGE ? "Range" : "Prefix";
	snprintf(k, sizeof k, "%s%s", base, kind);
	kv(e, k, v);
}

/* The byte counts come from the backend (xfrm: GETSA); with one that has
 * none (log) both fields read n/a, since nothing there ever refreshes on
 * bytes. The count shown is the larger direction's: each SA of the pair has
 * the limit, and that one reaches it first. */
static void lifesize_fields(struct iked *ike, struct emit *e, const struct p2sa *p2)
{
	uint64_t in, out;
	if (!p2 || kernel_p2_bytes(ike, p2, &in, &out)) {
		kv(e, "LifesizeRefresh", "n/a");
		kv(e, "CurrentByteCount", "n/a");
		return;
	}
	uint64_t soft = kernel_soft_bytes(kernel_hard_bytes(p2->agreed.life_kb), p2->role);
	kvf(e, "LifesizeRefresh", "%" PRIu64 "K", soft / 1024);
	kvf(e, "CurrentByteCount", "%" PRIu64 "b", in > out ? in : out);
}

static void dyn_entry(struct iked *ike, struct emit *e, const struct ytunnel *yt, bool shortfmt)
{
	const struct p2sa *p2 = shown_p2(yt);
	char l[IP_STRLEN], r[IP_STRLEN], b1[64], b2[64];
	ip_addr_format(&yt->local_ep, l, sizeof l);
	ip_addr_format(&yt->peer, r, sizeof r);
	const char *state = dyn_state_name(yt, p2);
	if (shortfmt && !e->json) {
		char ls[128], rs[128];
		selector_format(&yt->lsel, ls, sizeof ls);
		selector_format(&yt->rsel, rs, sizeof rs);
		fprintf(e->f, "Y%-7u %-4u %-10s %-24s %-24s %s\n", yt->id, yt->generation, state, ls,
			rs, yt->rule);
		e->entries++;
		return;
	}
	emit_entry(e);
	kvf(e, "TunnelID", "Y%u", yt->id);
	kvu(e, "Generation", p2 && p2->generation ? p2->generation : yt->generation);
	kv(e, "IKEVersion", "1.0");
	if (p2 && p2->parent_kid)
		kvf(e, "ParentIKETunnelID", "K%u", p2->parent_kid);
	else
		kv(e, "ParentIKETunnelID", "n/a");
	kv(e, "IpFilterRuleName", yt->rule);
	kv(e, "VpnActionName", yt->action);
	kv(e, "LocalDynVpnRuleName", "n/a");
	kv(e, "State", state);
	if (shortfmt) {
		emit_entry_end(e);
		return;
	}
	const struct p2_attrs *a = p2 ? &p2->agreed : NULL;
	bool up = p2 && p2->state == P2_ESTABLISHED;
	kv(e, "HowToEncap", up ? (a->encap == ENCAP_TRANSPORT ? "Transport" : "Tunnel") : "n/a");
	kv(e, "LocalEndPoint", l);
	kv(e, "RemoteEndPoint", r);
	sel_addr(e, "LocalAddressBase", &yt->lsel);
	sel_addr(e, "RemoteAddressBase", &yt->rsel);
	kvu(e, "SourcePort", yt->lsel.port);
	kvu(e, "DestinationPort", yt->rsel.port);
	kvu(e, "Protocol", yt->lsel.proto ? yt->lsel.proto : yt->rsel.proto);
	kv(e, "HowToAuth", "ESP");
	kv(e, "AuthAlgorithm", up ? authalg_name(a->auth_alg) : "n/a");
	kvf(e, "AuthInboundSpi", "0x%08X", up ? p2->spi_in : 0);
	kvf(e, "AuthOutboundSpi", "0x%08X", up ? p2->spi_out : 0);
	kv(e, "HowToEncrypt", up ? enc_name(a->enc_alg) : "n/a");
	kvu(e, "EncryptKeyLength", up ? (uint64_t)a->keylen : 0);
	kvf(e, "EncryptInboundSpi", "0x%08X", up ? p2->spi_in : 0);
	kvf(e, "EncryptOutboundSpi", "0x%08X", up ? p2->spi_out : 0);
	kvf(e, "Lifesize", "%" PRIu64 "K", a ? a->life_kb : 0);
	lifesize_fields(ike, e, up ? p2 : NULL);
	kvf(e, "Lifetime", "%um", a ? a->life_secs / 60 : 0);
	if (up) {
		when_str(ike, &p2->t_refresh, b1, sizeof b1);
		when_str(ike, &p2->t_expire, b2, sizeof b2);
	}
	kv(e, "LifetimeRefresh", up ? b1 : "n/a");
	kv(e, "LifetimeExpires", up ? b2 : "n/a");
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(b1, sizeof b1, "%Y/%m/%d %H:%M:%S", &tm);
	kv(e, "CurrentTime", b1);
	if (yt->vpnlife_ms) {
		uint64_t left = yt->created_ms + yt->vpnlife_ms;
		uint64_t mono = iked_now(ike);
		time_t at = now + (time_t)((left > mono ? left - mono : 0) / 1000);
		localtime_r(&at, &tm);
		strftime(b2, sizeof b2, "%Y/%m/%d %H:%M:%S", &tm);
		kv(e, "VPNLifeExpires", b2);
	} else {
		kv(e, "VPNLifeExpires", "n/a");
	}
	if (up && a->pfs_group)
		kv(e, "DiffieHellmanGroup", dh_group_name(a->pfs_group));
	else
		kv(e, "DiffieHellmanGroup", up ? "None" : "n/a");
	kv(e, "Role", p2 ? (p2->role == IKE_INITIATOR ? "Initiator" : "Responder") : "n/a");
	kv(e, "UdpEncapsulation", up && a->udp ? "Yes" : "No");
	/* attls additions */
	kv(e, "IpDataOfferName", up && a->offer_name[0] ? a->offer_name : "n/a");
	kv(e, "OfferFromSaCache", p2 && p2->from_cache ? "Yes" : "No");
	emit_entry_end(e);
}

int display_dyn_tunnels(struct iked *ike, const struct ctl_req *r, FILE *out)
{
	struct emit e;
	emit_begin(&e, out, r, "Dynamic tunnel");
	bool shortfmt = r->format == FMT_SHORT;
	if (shortfmt && !e.json)
		fprintf(out, "%-8s %-4s %-10s %-24s %-24s %s\n", "TunnelID", "Gen", "State",
			"LocalAddress", "RemoteAddress", "IpFilterRuleName");
	struct ytunnel *yt;
	TAILQ_FOREACH(yt, &ike->ytunnels, all)
		if (id_matches(r->id, 'Y', yt->id) || strcasecmp(r->id, yt->rule) == 0 ||
		    strcasecmp(r->id, yt->action) == 0)
			dyn_entry(ike, &e, yt, shortfmt);
	emit_end(&e);
	return 0;
}

static void set_str(const struct ip_set *s, char *buf, size_t len)
{
	if (s->n == 0) {
		snprintf(buf, len, "All");
		return;
	}
	size_t k = 0;
	for (size_t i = 0; i < s->n && k < len; i++) {
		char r[IP_RANGE_STRLEN];
		ip_range_format(&s->r[i], r, sizeof r);
		k += (size_t)snprintf(buf + k, len - k, "%s%s", i ? " " : "", r);
	}
}

int display_filters(struct iked *ike, const struct ctl_req *r, FILE *out)
{
	struct emit e;
	emit_begin(&e, out, r, "Filter");
	bool shortfmt = r->format == FMT_SHORT;
	if (shortfmt && !e.json)
		fprintf(out, "%-24s %-8s %-20s %-20s %s\n", "FilterName", "Action", "Source",
			"Destination", "IpDynVpnAction");
	for (size_t i = 0; i < ike->ip->nfilters; i++) {
		const struct ipsec_filter_rule *f = ike->ip->filters[i];
		if (*r->id && strcasecmp(r->id, f->name) != 0)
			continue;
		char src[256], dst[256];
		set_str(&f->src, src, sizeof src);
		set_str(&f->dst, dst, sizeof dst);
		const char *act = f->action == FILTER_IPSEC ? "IpSec" : f->action == FILTER_PERMIT ? "Permit" : "Deny";
		if (shortfmt && !e.json) {
			fprintf(out, "%-24s %-8s %-20s %-20s %s\n", f->name, act, src, dst,
				f->vpn ? f->vpn->name : "n/a");
			e.entries++;
			continue;
		}
		emit_entry(&e);
		kv(&e, "FilterName", f->name);
		kvu(&e, "RulePosition", i + 1);
		kv(&e, "Type", "Dynamic");
		kv(&e, "Action", act);
		kv(&e, "GenericFilterActionName", f->action_name ? f->action_name : "n/a");
		kv(&e, "SourceAddress", src);
		kv(&e, "DestAddress", dst);
		if (f->nsvc) {
			const struct ipsec_service *s = &f->svc[0];
			if (s->proto >= 0)
				kvu(&e, "Protocol", (uint64_t)s->proto);
			else
				kv(&e, "Protocol", "All");
			kvf(&e, "SourcePort", "%u-%u", s->sport.lo, s->sport.hi);
			kvf(&e, "DestPort", "%u-%u", s->dport.lo, s->dport.hi);
			kv(&e, "Direction", s->dir == SVCDIR_INBOUND ? "Inbound" :
					     s->dir == SVCDIR_OUTBOUND ? "Outbound" : "Bidirectional");
		} else {
			kv(&e, "Protocol", "All");
		}
		kv(&e, "VpnActionName", f->vpn ? f->vpn->name : "n/a");
		if (f->vpn) {
			char pfs[160];
			pfs_set_format(f->vpn->acceptable_pfs, pfs, sizeof pfs);
			if (f->vpn->initiate_pfs)
				kvf(&e, "InitiateWithPfs", "Group%d", f->vpn->initiate_pfs);
			else
				kv(&e, "InitiateWithPfs", "None");
			kv(&e, "AcceptablePfs", pfs);
		}
		if (f->has_gateway) {
			char gw[IP_STRLEN];
			ip_addr_format(&f->gateway, gw, sizeof gw);
			kv(&e, "RemoteSecurityEndpoint", gw);
		}
		char tunnels[256] = "";
		size_t k = 0;
		struct ytunnel *yt;
		TAILQ_FOREACH(yt, &ike->ytunnels, all)
			if (strcmp(yt->rule, f->name) == 0)
				k += (size_t)snprintf(tunnels + k, k < sizeof tunnels ? sizeof tunnels - k : 0,
						      "%sY%u", k ? " " : "", yt->id);
		kv(&e, "TunnelID", *tunnels ? tunnels : "None");
		emit_entry_end(&e);
	}
	emit_end(&e);
	return 0;
}

int display_cache(struct iked *ike, const struct ctl_req *r, FILE *out)
{
	struct emit e;
	emit_begin(&e, out, r, "SA cache");
	const struct sacache_entry *c;
	TAILQ_FOREACH(c, &ike->cache.entries, all) {
		if (*r->id && !id_matches(r->id, c->kind, c->tunnel_id))
			continue;
		emit_entry(&e);
		kvf(&e, "TunnelID", "%c%u", c->kind, c->tunnel_id);
		kvu(&e, "Generation", c->generation);
		kv(&e, c->kind == 'K' ? "KeyExchangeRuleName" : "IpFilterRuleName", c->rule);
		kv(&e, c->kind == 'K' ? "KeyExchangeActionName" : "VpnActionName", c->action);
		if (c->kind == 'K') {
			kv(&e, "ExchangeMode", exch_name((uint8_t)c->exch));
			kv(&e, "KeyExchangeOfferName", c->p1.offer_name);
			kvf(&e, "Offer", "AES_CBC-%d %s %s %s", c->p1.keylen, hash_name(c->p1.hash),
			    dh_group_name(c->p1.group),
			    c->p1.auth == AUTHMETH_RSA_SIGNATURE ? "RsaSignature" : "PresharedKey");
			kvf(&e, "Lifetime", "%us", c->p1.life_secs);
		} else {
			kv(&e, "IpDataOfferName", c->p2.offer_name);
			kvf(&e, "Offer", "ESP %s-%d %s", enc_name(c->p2.enc_alg), c->p2.keylen,
			    authalg_name(c->p2.auth_alg));
			kv(&e, "HowToEncap", c->p2.encap == ENCAP_TRANSPORT ? "Transport" : "Tunnel");
			kv(&e, "UdpEncapsulation", c->p2.udp ? "Yes" : "No");
			if (c->p2.pfs_group)
				kvf(&e, "PfsGroup", "Group%d", c->p2.pfs_group);
			else
				kv(&e, "PfsGroup", "None");
			kvf(&e, "Lifetime", "%us", c->p2.life_secs);
		}
		kv(&e, "LocalID", c->local_id[0] ? c->local_id : "n/a");
		kv(&e, "RemoteID", c->remote_id[0] ? c->remote_id : "n/a");
		emit_entry_end(&e);
	}
	emit_end(&e);
	return 0;
}
