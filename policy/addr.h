/*
 * policy/addr — IP addresses, prefixes and ranges as the policy language writes
 * them (a, a/len, a-b, All), and the containment tests matching needs.
 *
 * IPv4 lives in the first four bytes; an IPv4-mapped IPv6 address from a
 * dual-stack socket is normalised to IPv4 so one rule covers both.
 */
#ifndef ATTLS_POLICY_ADDR_H
#define ATTLS_POLICY_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct ip_addr {
	uint8_t family;          /* AF_INET or AF_INET6 */
	uint8_t b[16];
};

enum ip_range_kind { IPR_ALL, IPR_SINGLE, IPR_PREFIX, IPR_RANGE };

struct ip_range {
	uint8_t kind;            /* enum ip_range_kind */
	uint8_t family;          /* AF_UNSPEC for All */
	uint8_t prefix;          /* IPR_PREFIX only */
	uint8_t lo[16], hi[16];  /* inclusive, big-endian */
};

/* A set of ranges; n == 0 means "any address". */
struct ip_set {
	size_t n;
	const struct ip_range *r;
};

#define IP_STRLEN 64       /* enough for "v6addr/128" and "v6-v6" halves */
#define IP_RANGE_STRLEN 100

int  ip_addr_parse(const char *s, struct ip_addr *out);     /* 0 or -1 */
void ip_addr_format(const struct ip_addr *a, char *buf, size_t len);
/* Parses a, a/len, a-b, or All. Returns NULL, or a message saying what is wrong. */
const char *ip_range_parse(const char *s, struct ip_range *out);
/* Range from two addresses (the "Range a b" form). */
const char *ip_range_from_pair(const struct ip_addr *lo, const struct ip_addr *hi,
			       struct ip_range *out);
void ip_range_format(const struct ip_range *r, char *buf, size_t len);
bool ip_range_contains(const struct ip_range *r, const struct ip_addr *a);
bool ip_set_contains(const struct ip_set *s, const struct ip_addr *a);
/* IPv4 inside IPv6: mapped (::ffff:0:0/96) or compatible (::/96 except :: and
 * ::1, which are IPv6's own). */
bool ip_addr_is_v4_mapped(const struct ip_addr *a);
/* Whether a rule address names such addresses: a single address or a range
 * end inside those spaces, or a prefix of /96 or longer there. ::/0 does not. */
bool ip_range_has_v4_mapped(const struct ip_range *r);
/* From a sockaddr; maps ::ffff:a.b.c.d to IPv4. Returns 0, or -1 for other families. */
int  ip_addr_from_sockaddr(const struct sockaddr *sa, struct ip_addr *a, uint16_t *port);

#endif
