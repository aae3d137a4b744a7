/*
 * iked/filter_log — the z/OS line for a packet the IP filter dropped and
 * logged: EZD0815I "Packet denied by policy" for a Deny rule and for the
 * implicit deny, EZD0822I "Packet denied, tunnel inactive" for clear text an
 * IpSec rule covers. Input is what NFLOG hands over: the log prefix, the
 * packet's headers (as many bytes as the kernel copied) and its interfaces.
 * The headers are the sender's bytes: every length is checked against what
 * was copied, and fields that are not there print as Unknown.
 */
#ifndef ATTLS_IKED_FILTER_LOG_H
#define ATTLS_IKED_FILTER_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "iked/filter.h"

/* The rule name z/OS gives the deny at the end of the filter rules. */
#define FILTER_IMPLICIT_RULE "SYSDEFAULTDENYRULE"

struct filter_log_rec {
	int family;                       /* AF_INET or AF_INET6 */
	const uint8_t *pkt;               /* from the IP header on */
	size_t len;                       /* bytes copied */
	const char *indev, *outdev;       /* interface names; NULL when there is none */
	struct timespec when;             /* wall clock */
};

/* Writes the line for the drop p describes into out (always terminated).
 * rule and vpn name the IpFilterRule and its IpDynVpnAction; NULL when the
 * generation is no longer known. */
void filter_log_line(const struct filter_prefix *p, const char *rule, const char *vpn,
		     const struct filter_log_rec *rec, char *out, size_t outlen);

#endif
