/*
 * iked/ippkt — what the userspace data path reads in a clear IP packet and
 * writes around one: the flow (addresses, protocol, ports) that selects an
 * SA and that an opened packet must match, the IPv4/IPv6 header transport
 * mode puts back in front of a payload, and Internet checksums. Pure
 * functions over caller buffers: no I/O, no allocation, every length read
 * from a packet checked against the buffer.
 */
#ifndef ATTLS_IKED_IPPKT_H
#define ATTLS_IKED_IPPKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iked/kernel.h"
#include "policy/addr.h"

#define IPV4_HDR_LEN 20
#define IPV6_HDR_LEN 40

struct ip_flow {
	struct ip_addr src, dst;
	uint8_t proto;                    /* the upper-layer protocol */
	uint16_t sport, dport;            /* TCP, UDP, SCTP in a first fragment; else 0 */
	bool later_fragment;              /* a fragment other than the first: no ports */
	size_t hdr_len;                   /* IP header and IPv6 extensions before the upper layer */
	size_t total;                     /* the packet's own length (<= the buffer's) */
};

/* The flow of the IPv4 or IPv6 packet in p[0..len). 0, or -1 when it is
 * not one (too short, another version, lengths that do not fit). */
int ip_flow_parse(const uint8_t *p, size_t len, struct ip_flow *f);

/* Whether a flow is one a selector covers, the selector's src on the
 * flow's src side. Ports of a selector that names them must be there. */
bool ip_flow_matches(const struct kernel_sel *s, const struct ip_flow *f);

/* One's complement sum of a buffer, folded to 16 bits and complemented
 * (the Internet checksum, RFC 1071), as a number (put16 stores it). */
uint16_t ip_checksum(const void *p, size_t len);
/* The same in parts: sums (in the machine's byte order) added up, folded,
 * and stored as they are, complemented or not. */
uint64_t ip_sum(const void *p, size_t len, uint64_t acc);
uint16_t ip_sum_fold(uint64_t acc);
void ip_sum_put(uint8_t *at, uint16_t folded);
/* The sum of the TCP/UDP pseudo-header (RFC 793, RFC 8200 8.1). */
uint64_t ip_pseudo_sum(const struct ip_addr *src, const struct ip_addr *dst, uint8_t proto,
		       size_t len);

/* Transport mode, inbound: put an IP header for (src, dst, proto) in the
 * hdr bytes before payload (IPV4_HDR_LEN or IPV6_HDR_LEN, which the caller
 * made room for) and recompute a TCP or UDP checksum, whose pseudo-header
 * may have changed on the way (a NAT, RFC 3948 3.1.2). Returns the header
 * length, or 0 when the payload cannot be carried (too long). */
size_t ip_build_header(uint8_t *payload, size_t len, const struct ip_addr *src,
		       const struct ip_addr *dst, uint8_t proto, uint8_t ttl);

#endif
