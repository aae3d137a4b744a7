/* iked/match — policy lookups for IKE, identities and selectors. */
#include "iked/match.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "common/strutil.h"
#include "iked/cert.h"
#include "iked/isakmp.h"
#include "policy/schema.h"

/* ---- key exchange rules ---------------------------------------------------- */

bool match_location(const struct ike_endpoint *e, const struct ip_addr *a)
{
	if (e->any_family < 0)
		return ip_range_contains(&e->loc, a);
	return e->any_family == AF_UNSPEC || e->any_family == a->family;
}

static bool addr_of_id(const struct peer_id *id, struct ip_addr *a)
{
	memset(a, 0, sizeof *a);
	if (id->type == IPSEC_ID_IPV4_ADDR && id->len == 4) {
		a->family = AF_INET;
		memcpy(a->b, id->data, 4);
		return true;
	}
	if (id->type == IPSEC_ID_IPV6_ADDR && id->len == 16) {
		a->family = AF_INET6;
		memcpy(a->b, id->data, 16);
		return true;
	}
	return false;
}

static bool name_matches(const char *pattern, const uint8_t *data, size_t len)
{
	char want[256], got[256];
	if (!pattern || len >= sizeof got)
		return false;
	size_t i;
	for (i = 0; pattern[i] && i + 1 < sizeof want; i++)
		want[i] = (char)tolower((unsigned char)pattern[i]);
	want[i] = '\0';
	for (i = 0; i < len; i++)
		got[i] = (char)tolower(data[i]);
	got[len] = '\0';
	if (memchr(data, 0, len))
		return false;
	return str_wildmatch(want, got);
}

bool match_remote_identity(const struct ike_rule *r, const struct peer_id *id,
			   const struct ip_addr *remote)
{
	const struct ike_identity *want = &r->remote.id;
	struct ip_addr a;
	switch (want->type) {
	case IDT_NONE:
		return addr_of_id(id, &a) && memcmp(&a, remote, sizeof a) == 0;
	case IDT_IPV4:
	case IDT_IPV6:
		return addr_of_id(id, &a) && ip_range_contains(&want->range, &a);
	case IDT_FQDN:
		return id->type == IPSEC_ID_FQDN && name_matches(want->value, id->data, id->len);
	case IDT_USER_FQDN:
		return id->type == IPSEC_ID_USER_FQDN && name_matches(want->value, id->data, id->len);
	case IDT_DER_ASN1_DN: {
		char text[512];
		return id->type == IPSEC_ID_DER_ASN1_DN && want->value &&
		       dn_to_text(id->data, id->len, text, sizeof text) == 0 &&
		       dn_text_matches(want->value, text);
	}
	case IDT_KEY_ID:
		return id->type == IPSEC_ID_KEY_ID && id->len == want->len &&
		       memcmp(id->data, want->bytes, id->len) == 0;
	default:
		return false;
	}
}

const struct ike_rule *match_ke_rule(const struct ipsec_policy *ip, const struct ip_addr *local,
				     const struct ip_addr *remote, const struct peer_id *peer)
{
	for (size_t i = 0; i < ip->nke; i++) {
		const struct ike_rule *r = ip->ke_rules[i];
		if (!r->action || !match_location(&r->local, local) ||
		    !match_location(&r->remote, remote))
			continue;
		if (peer && !match_remote_identity(r, peer, remote))
			continue;
		return r;
	}
	return NULL;
}

int local_identity(const struct ike_rule *r, const struct ip_addr *local,
		   const struct keyring *kr, struct peer_id *out, char *err, size_t errlen)
{
	const struct ike_identity *id = &r->local.id;
	memset(out, 0, sizeof *out);
	switch (id->type) {
	case IDT_NONE:
		out->type = local->family == AF_INET6 ? IPSEC_ID_IPV6_ADDR : IPSEC_ID_IPV4_ADDR;
		out->len = local->family == AF_INET6 ? 16 : 4;
		memcpy(out->data, local->b, out->len);
		return 0;
	case IDT_IPV4:
	case IDT_IPV6:
		out->type = id->range.family == AF_INET6 ? IPSEC_ID_IPV6_ADDR : IPSEC_ID_IPV4_ADDR;
		out->len = id->range.family == AF_INET6 ? 16 : 4;
		memcpy(out->data, id->range.lo, out->len);
		return 0;
	case IDT_FQDN:
	case IDT_USER_FQDN: {
		size_t n = id->value ? strlen(id->value) : 0;
		if (n == 0 || n > sizeof out->data) {
			snprintf(err, errlen, "identity of rule %s is empty or too long", r->name);
			return -1;
		}
		out->type = id->type == IDT_FQDN ? IPSEC_ID_FQDN : IPSEC_ID_USER_FQDN;
		memcpy(out->data, id->value, n);
		out->len = n;
		return 0;
	}
	case IDT_DER_ASN1_DN: {
		const uint8_t *der;
		size_t n;
		if (!kr || keyring_subject(kr, &der, &n) || n > sizeof out->data) {
			snprintf(err, errlen, "X500dn identity of rule %s needs a certificate in the "
					      "IkeConfig Keyring", r->name);
			return -1;
		}
		if (id->value && !dn_text_matches(id->value, keyring_subject_text(kr))) {
			snprintf(err, errlen, "X500dn identity of rule %s (%s) is not the subject of "
					      "the keyring's certificate (%s)", r->name, id->value,
				 keyring_subject_text(kr));
			return -1;
		}
		out->type = IPSEC_ID_DER_ASN1_DN;
		memcpy(out->data, der, n);
		out->len = n;
		return 0;
	}
	case IDT_KEY_ID:
		if (!id->len || id->len > sizeof out->data) {
			snprintf(err, errlen, "KeyID identity of rule %s is empty or too long", r->name);
			return -1;
		}
		out->type = IPSEC_ID_KEY_ID;
		memcpy(out->data, id->bytes, id->len);
		out->len = id->len;
		return 0;
	default:
		snprintf(err, errlen, "rule %s has an identity type iked cannot send", r->name);
		return -1;
	}
}

void id_body_write(struct buf *b, const struct peer_id *id)
{
	/* phase 1 identities go with protocol and port 0 (docs/iked.md) */
	struct id_payload p = { .type = id->type, .data = id->data, .len = id->len };
	id_encode(b, &p);
}

int id_from_payload(const struct id_payload *p, struct peer_id *id)
{
	if (p->len > sizeof id->data)
		return -1;
	id->type = p->type;
	id->len = p->len;
	memcpy(id->data, p->data, p->len);
	return 0;
}

const char *id_type_name(uint8_t type)
{
	switch (type) {
	case IPSEC_ID_IPV4_ADDR: return "ID_IPV4_ADDR";
	case IPSEC_ID_FQDN: return "ID_FQDN";
	case IPSEC_ID_USER_FQDN: return "ID_USER_FQDN";
	case IPSEC_ID_IPV4_ADDR_SUBNET: return "ID_IPV4_ADDR_SUBNET";
	case IPSEC_ID_IPV6_ADDR: return "ID_IPV6_ADDR";
	case IPSEC_ID_IPV6_ADDR_SUBNET: return "ID_IPV6_ADDR_SUBNET";
	case IPSEC_ID_IPV4_ADDR_RANGE: return "ID_IPV4_ADDR_RANGE";
	case IPSEC_ID_IPV6_ADDR_RANGE: return "ID_IPV6_ADDR_RANGE";
	case IPSEC_ID_DER_ASN1_DN: return "ID_DER_ASN1_DN";
	case IPSEC_ID_DER_ASN1_GN: return "ID_DER_ASN1_GN";
	case IPSEC_ID_KEY_ID: return "ID_KEY_ID";
	default: return "ID_UNKNOWN";
	}
}

void id_format(const struct peer_id *id, char *buf, size_t len)
{
	struct ip_addr a;
	if (addr_of_id(id, &a)) {
		ip_addr_format(&a, buf, len);
		return;
	}
	switch (id->type) {
	case IPSEC_ID_FQDN:
	case IPSEC_ID_USER_FQDN: {
		size_t k = 0;
		for (size_t i = 0; i < id->len && k + 1 < len; i++)
			buf[k++] = isprint(id->data[i]) ? (char)id->data[i] : '?';
		buf[k] = '\0';
		return;
	}
	case IPSEC_ID_DER_ASN1_DN:
		if (dn_to_text(id->data, id->len, buf, len) == 0)
			return;
		break;
	default:
		break;
	}
	size_t k = 0;
	for (size_t i = 0; i < id->len && k + 3 < len; i++)
		k += (size_t)snprintf(buf + k, len - k, "%02x", id->data[i]);
	buf[k] = '\0';
}

/* ---- filter rules ---------------------------------------------------------- */

const struct ipsec_filter_rule *find_filter_rule(const struct ipsec_policy *ip, const char *name)
{
	for (size_t i = 0; i < ip->nfilters; i++)
		if (strcasecmp(ip->filters[i]->name, name) == 0)
			return ip->filters[i];
	return NULL;
}

static struct ip_addr range_end(const struct ip_range *r, bool hi)
{
	struct ip_addr a = { .family = r->family };
	memcpy(a.b, hi ? r->hi : r->lo, 16);
	return a;
}

/* The whole of a selector's addresses inside one range of the set. */
static bool set_covers(const struct ip_set *set, const struct ip_range *r)
{
	if (set->n == 0)
		return true;
	if (r->kind == IPR_ALL)
		return false;
	struct ip_addr lo = range_end(r, false), hi = range_end(r, true);
	for (size_t i = 0; i < set->n; i++)
		if (ip_range_contains(&set->r[i], &lo) && ip_range_contains(&set->r[i], &hi))
			return true;
	return false;
}

static bool port_covers(const struct port_range *pr, uint16_t port)
{
	if (port == 0)
		return pr->lo == 0 && pr->hi == 65535;
	return port >= pr->lo && port <= pr->hi;
}

static bool service_covers(const struct ipsec_filter_rule *r, const struct selector *l,
			   const struct selector *rem)
{
	uint8_t proto = l->proto ? l->proto : rem->proto;
	if (r->nsvc == 0)
		return true;
	for (size_t i = 0; i < r->nsvc; i++) {
		const struct ipsec_service *s = &r->svc[i];
		if (s->proto >= 0 && (proto == 0 || s->proto != proto))
			continue;
		if (port_covers(&s->sport, l->port) && port_covers(&s->dport, rem->port))
			return true;
	}
	return false;
}

const struct ipsec_filter_rule *match_filter_rule(const struct ipsec_policy *ip,
						  const struct selector *local,
						  const struct selector *remote)
{
	for (size_t i = 0; i < ip->nfilters; i++) {
		const struct ipsec_filter_rule *r = ip->filters[i];
		if (!set_covers(&r->src, &local->r) || !set_covers(&r->dst, &remote->r) ||
		    !service_covers(r, local, remote))
			continue;
		/* first match decides, as for packets: a Permit or Deny rule that
		 * covers the traffic means no tunnel for it */
		return r->action == FILTER_IPSEC && r->vpn ? r : NULL;
	}
	return NULL;
}

static void selector_from_set(const struct ip_set *set, uint8_t family, struct selector *s)
{
	memset(s, 0, sizeof *s);
	if (set->n) {
		s->r = set->r[0];
		return;
	}
	s->r.kind = IPR_PREFIX;
	s->r.family = family;
	s->r.prefix = 0;
	memset(s->r.hi, 0xff, family == AF_INET6 ? 16 : 4);
}

int filter_rule_selectors(const struct ipsec_filter_rule *r, struct selector *local,
			  struct selector *remote, char *err, size_t errlen)
{
	if (r->action != FILTER_IPSEC || !r->vpn) {
		snprintf(err, errlen, "IpFilterRule %s does not protect traffic with an IpDynVpnAction",
			 r->name);
		return -1;
	}
	uint8_t family = AF_INET;
	if (r->src.n)
		family = r->src.r[0].family;
	else if (r->dst.n)
		family = r->dst.r[0].family;
	selector_from_set(&r->src, family, local);
	selector_from_set(&r->dst, family, remote);
	if (r->nsvc) {
		const struct ipsec_service *s = &r->svc[0];
		local->proto = remote->proto = s->proto >= 0 ? (uint8_t)s->proto : 0;
		local->port = s->sport.lo == s->sport.hi ? s->sport.lo : 0;
		remote->port = s->dport.lo == s->dport.hi ? s->dport.lo : 0;
	}
	return 0;
}

int filter_rule_peer(const struct ipsec_filter_rule *r, const struct selector *remote,
		     struct ip_addr *peer, char *err, size_t errlen)
{
	if (r->has_gateway) {
		*peer = r->gateway;
		return 0;
	}
	if (remote->r.kind == IPR_SINGLE) {
		*peer = range_end(&remote->r, false);
		return 0;
	}
	snprintf(err, errlen, "IpFilterRule %s: the remote data endpoint is not one address; "
			      "give the IKE peer with RemoteSecurityEndpointAddr", r->name);
	return -1;
}

/* ---- selectors and phase 2 IDs ---------------------------------------------- */

void selector_host(struct selector *s, const struct ip_addr *a)
{
	memset(s, 0, sizeof *s);
	s->r.kind = IPR_SINGLE;
	s->r.family = a->family;
	memcpy(s->r.lo, a->b, 16);
	memcpy(s->r.hi, a->b, 16);
}

void selector_id_write(struct buf *b, const struct selector *s)
{
	bool v6 = s->r.family == AF_INET6;
	size_t n = v6 ? 16 : 4;
	uint8_t type;
	uint8_t mask[16] = { 0 };
	switch (s->r.kind) {
	case IPR_SINGLE:
		type = v6 ? IPSEC_ID_IPV6_ADDR : IPSEC_ID_IPV4_ADDR;
		break;
	case IPR_RANGE:
		type = v6 ? IPSEC_ID_IPV6_ADDR_RANGE : IPSEC_ID_IPV4_ADDR_RANGE;
		break;
	default:
		type = v6 ? IPSEC_ID_IPV6_ADDR_SUBNET : IPSEC_ID_IPV4_ADDR_SUBNET;
		for (unsigned i = 0; i < s->r.prefix && i < n * 8; i++)
			mask[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	}
	/* the address, then the range's end or the subnet's mask */
	uint8_t data[32];
	memcpy(data, s->r.lo, n);
	size_t len = n;
	if (type == IPSEC_ID_IPV4_ADDR_RANGE || type == IPSEC_ID_IPV6_ADDR_RANGE) {
		memcpy(data + n, s->r.hi, n);
		len += n;
	} else if (type == IPSEC_ID_IPV4_ADDR_SUBNET || type == IPSEC_ID_IPV6_ADDR_SUBNET) {
		memcpy(data + n, mask, n);
		len += n;
	}
	struct id_payload id = { .type = type, .proto = s->proto, .port = s->port, .data = data,
				 .len = len };
	id_encode(b, &id);
}

static int mask_prefix(const uint8_t *m, size_t n)
{
	int p = 0;
	size_t i = 0;
	for (; i < n && m[i] == 0xff; i++)
		p += 8;
	if (i < n) {
		uint8_t v = m[i];
		while (v & 0x80) {
			p++;
			v = (uint8_t)(v << 1);
		}
		if (v)
			return -1;                   /* holes in the mask */
		for (i++; i < n; i++)
			if (m[i])
				return -1;
	}
	return p;
}

int selector_from_id(const struct id_payload *id, struct selector *s)
{
	memset(s, 0, sizeof *s);
	s->proto = id->proto;
	s->port = id->port;
	size_t n;
	switch (id->type) {
	case IPSEC_ID_IPV4_ADDR:
	case IPSEC_ID_IPV6_ADDR:
		n = id->type == IPSEC_ID_IPV4_ADDR ? 4 : 16;
		s->r.kind = IPR_SINGLE;
		s->r.family = n == 4 ? AF_INET : AF_INET6;
		memcpy(s->r.lo, id->data, n);
		memcpy(s->r.hi, id->data, n);
		return 0;
	case IPSEC_ID_IPV4_ADDR_SUBNET:
	case IPSEC_ID_IPV6_ADDR_SUBNET: {
		n = id->type == IPSEC_ID_IPV4_ADDR_SUBNET ? 4 : 16;
		int p = mask_prefix(id->data + n, n);
		if (p < 0)
			return -1;
		s->r.kind = IPR_PREFIX;
		s->r.family = n == 4 ? AF_INET : AF_INET6;
		s->r.prefix = (uint8_t)p;
		for (size_t i = 0; i < n; i++) {
			s->r.lo[i] = id->data[i] & id->data[n + i];
			s->r.hi[i] = (uint8_t)(id->data[i] | (uint8_t)~id->data[n + i]);
		}
		return 0;
	}
	case IPSEC_ID_IPV4_ADDR_RANGE:
	case IPSEC_ID_IPV6_ADDR_RANGE:
		n = id->type == IPSEC_ID_IPV4_ADDR_RANGE ? 4 : 16;
		if (memcmp(id->data, id->data + n, n) > 0)
			return -1;
		s->r.kind = IPR_RANGE;
		s->r.family = n == 4 ? AF_INET : AF_INET6;
		memcpy(s->r.lo, id->data, n);
		memcpy(s->r.hi, id->data + n, n);
		return 0;
	default:
		return -1;
	}
}

void selector_format(const struct selector *s, char *buf, size_t len)
{
	char r[IP_RANGE_STRLEN];
	ip_range_format(&s->r, r, sizeof r);
	if (s->proto || s->port)
		snprintf(buf, len, "%s proto %u port %u", r, s->proto, s->port);
	else
		snprintf(buf, len, "%s", r);
}

bool selector_equal(const struct selector *a, const struct selector *b)
{
	return a->proto == b->proto && a->port == b->port && a->r.family == b->r.family &&
	       memcmp(a->r.lo, b->r.lo, 16) == 0 && memcmp(a->r.hi, b->r.hi, 16) == 0;
}
