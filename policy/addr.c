#include "policy/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int ip_addr_parse(const char *s, struct ip_addr *out)
{
	memset(out, 0, sizeof *out);
	if (strchr(s, ':')) {
		if (inet_pton(AF_INET6, s, out->b) != 1)
			return -1;
		out->family = AF_INET6;
		return 0;
	}
	/* inet_pton accepts only dotted quads: no "10.1", no octal surprises. */
	if (inet_pton(AF_INET, s, out->b) != 1)
		return -1;
	out->family = AF_INET;
	return 0;
}

void ip_addr_format(const struct ip_addr *a, char *buf, size_t len)
{
	if (!inet_ntop(a->family == AF_INET ? AF_INET : AF_INET6, a->b, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

static int addr_bytes(uint8_t family)
{
	return family == AF_INET ? 4 : 16;
}

static void set_prefix(struct ip_range *r, const uint8_t *base, unsigned plen)
{
	int nb = addr_bytes(r->family);
	for (int i = 0; i < nb; i++) {
		unsigned bits = plen >= (unsigned)(i + 1) * 8 ? 8 : plen > (unsigned)i * 8 ? plen - i * 8 : 0;
		uint8_t mask = bits ? (uint8_t)(0xff << (8 - bits)) : 0;
		r->lo[i] = base[i] & mask;
		r->hi[i] = (uint8_t)(base[i] | (uint8_t)~mask);
	}
}

const char *ip_range_from_pair(const struct ip_addr *lo, const struct ip_addr *hi,
			       struct ip_range *out)
{
	memset(out, 0, sizeof *out);
	if (lo->family != hi->family)
		return "the two ends of a range must both be IPv4 or both IPv6";
	if (memcmp(lo->b, hi->b, sizeof lo->b) > 0)
		return "the first address of a range must not be above the second";
	out->kind = IPR_RANGE;
	out->family = lo->family;
	memcpy(out->lo, lo->b, 16);
	memcpy(out->hi, hi->b, 16);
	return NULL;
}

const char *ip_range_parse(const char *s, struct ip_range *out)
{
	memset(out, 0, sizeof *out);
	if (strcasecmp(s, "all") == 0) {
		out->kind = IPR_ALL;
		out->family = AF_UNSPEC;
		return NULL;
	}
	char buf[2 * IP_STRLEN];
	if (strlen(s) >= sizeof buf)
		return "address is too long";
	strcpy(buf, s);

	char *slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		struct ip_addr a;
		if (ip_addr_parse(buf, &a) != 0)
			return "not an IP address before '/'";
		char *end;
		const char *p = slash + 1;
		if (*p < '0' || *p > '9')
			return "prefix length must be a number";
		unsigned long plen = strtoul(p, &end, 10);
		unsigned max = a.family == AF_INET ? 32 : 128;
		if (*end || plen > max)
			return a.family == AF_INET ? "IPv4 prefix length must be 0 to 32"
						   : "IPv6 prefix length must be 0 to 128";
		out->kind = IPR_PREFIX;
		out->family = a.family;
		out->prefix = (uint8_t)plen;
		set_prefix(out, a.b, (unsigned)plen);
		/* Host bits set below the prefix are a typo more often than not. */
		if (memcmp(out->lo, a.b, 16) != 0)
			return "address has bits set beyond the prefix length";
		return NULL;
	}

	/* a-b: IPv6 addresses contain no '-', so the first dash splits. */
	char *dash = strchr(buf, '-');
	if (dash) {
		*dash = '\0';
		struct ip_addr lo, hi;
		if (ip_addr_parse(buf, &lo) != 0 || ip_addr_parse(dash + 1, &hi) != 0)
			return "a range is written FIRST-LAST with two IP addresses";
		return ip_range_from_pair(&lo, &hi, out);
	}

	struct ip_addr a;
	if (ip_addr_parse(buf, &a) != 0)
		return "not an IP address (expected a, a/len, a-b or All)";
	out->kind = IPR_SINGLE;
	out->family = a.family;
	memcpy(out->lo, a.b, 16);
	memcpy(out->hi, a.b, 16);
	return NULL;
}

void ip_range_format(const struct ip_range *r, char *buf, size_t len)
{
	char a[IP_STRLEN], b[IP_STRLEN];
	struct ip_addr lo = { .family = r->family }, hi = { .family = r->family };
	memcpy(lo.b, r->lo, 16);
	memcpy(hi.b, r->hi, 16);
	switch (r->kind) {
	case IPR_ALL:
		snprintf(buf, len, "All");
		break;
	case IPR_SINGLE:
		ip_addr_format(&lo, buf, len);
		break;
	case IPR_PREFIX:
		ip_addr_format(&lo, a, sizeof a);
		snprintf(buf, len, "%s/%u", a, r->prefix);
		break;
	default:
		ip_addr_format(&lo, a, sizeof a);
		ip_addr_format(&hi, b, sizeof b);
		snprintf(buf, len, "%s-%s", a, b);
	}
}

bool ip_range_contains(const struct ip_range *r, const struct ip_addr *a)
{
	if (r->kind == IPR_ALL)
		return true;
	if (r->family != a->family)
		return false;
	int nb = addr_bytes(a->family);
	return memcmp(r->lo, a->b, nb) <= 0 && memcmp(a->b, r->hi, nb) <= 0;
}

bool ip_set_contains(const struct ip_set *s, const struct ip_addr *a)
{
	if (s->n == 0)
		return true;
	for (size_t i = 0; i < s->n; i++)
		if (ip_range_contains(&s->r[i], a))
			return true;
	return false;
}

/* IPv4 carried in IPv6: ::ffff:a.b.c.d (mapped) or ::a.b.c.d (compatible,
 * deprecated). :: and ::1 lie in ::/96 too but are IPv6's own unspecified and
 * loopback addresses, not IPv4 ones. */
static bool v6_embeds_v4(const uint8_t *b)
{
	static const uint8_t zero[10];
	if (memcmp(b, zero, 10) != 0)
		return false;
	if (b[10] == 0xff && b[11] == 0xff)
		return true;
	if (b[10] != 0 || b[11] != 0)
		return false;
	static const uint8_t v6_own[4] = { 0, 0, 0, 1 };
	return memcmp(b + 12, v6_own, 4) > 0;   /* above ::1 */
}

bool ip_addr_is_v4_mapped(const struct ip_addr *a)
{
	return a->family == AF_INET6 && v6_embeds_v4(a->b);
}

bool ip_range_has_v4_mapped(const struct ip_range *r)
{
	if (r->family != AF_INET6)
		return false;
	/* A prefix shorter than /96 (::/0, say) means far more than the IPv4
	 * space in it; it is a legitimate way to say "IPv6 addresses". What is
	 * refused is naming IPv4-in-IPv6 addresses themselves: an address, a
	 * range end, or a /96-or-longer prefix inside those spaces. */
	if (r->kind == IPR_PREFIX && r->prefix < 96)
		return false;
	return v6_embeds_v4(r->lo) || v6_embeds_v4(r->hi);
}

int ip_addr_from_sockaddr(const struct sockaddr *sa, struct ip_addr *a, uint16_t *port)
{
	memset(a, 0, sizeof *a);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		a->family = AF_INET;
		memcpy(a->b, &s4->sin_addr, 4);
		if (port)
			*port = ntohs(s4->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		const uint8_t *b = s6->sin6_addr.s6_addr;
		static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
		if (memcmp(b, mapped, 12) == 0) {
			a->family = AF_INET;
			memcpy(a->b, b + 12, 4);
		} else {
			a->family = AF_INET6;
			memcpy(a->b, b, 16);
		}
		if (port)
			*port = ntohs(s6->sin6_port);
		return 0;
	}
	return -1;
}
