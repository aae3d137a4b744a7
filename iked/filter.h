/*
 * iked/filter — the IP filter policy as nftables text: one table, `table inet
 * attls`, with a base chain each for the input, forward and output hooks. The
 * IpFilterRules become rules in policy order (Permit accepts, Deny drops,
 * IpSec accepts only what the data path protects and drops the rest), after
 * the traffic iked itself needs (loopback, IKE and ESP between the security
 * endpoints, IPv6 neighbour discovery), and an implicit deny ends each chain.
 * Drops the policy asks to log go to an NFLOG group with a prefix that names
 * the rule (see filter_prefix_parse); filter_log.c turns them into z/OS lines.
 *
 * Pure text: nothing here talks to the kernel (filter_nft.c installs it), so
 * the translation is tested byte for byte.
 */
#ifndef ATTLS_IKED_FILTER_H
#define ATTLS_IKED_FILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/ipsec.h"

#define FILTER_TABLE "inet attls"

/* What carries protected traffic, which decides how an IpSec rule tells
 * protected packets from clear text. */
enum filter_datapath {
	FILTER_DP_NONE,   /* KernelBackend log: nothing is ever protected */
	FILTER_DP_XFRM,   /* the kernel's IPsec: secpath in, xfrm route out */
	FILTER_DP_TUN,    /* iked's own ESP: decapsulated traffic comes out of the
			   * TUN device, traffic to protect is routed into it */
};

struct filter_env {
	enum filter_datapath datapath;
	const char *tun_device;           /* FILTER_DP_TUN */
	int log_group;                    /* NFLOG group of the log statements; -1: none */
};

/* At most this many log lines a second (with a burst as large), shared by
 * every rule, so a flood of denied packets cannot keep iked busy. */
#define FILTER_LOG_RATE 100

/* Kinds of logged drops, as they appear in a log prefix. */
enum filter_log_kind {
	FLOG_DENY = 'D',                  /* a Deny rule */
	FLOG_CLEAR = 'T',                 /* clear text that an IpSec rule covers */
	FLOG_IMPLICIT = 'I',              /* no rule: the implicit deny */
};

/* The log prefix "attls:GEN:RULE:EXT:KIND": the ruleset generation, the
 * rule's 1-based position in IpFilterPolicy (0 for the implicit deny), the
 * filter of that rule (1-based: one per IpService and direction; for the
 * implicit deny 1 input, 2 output, 3 forward), and the kind. */
struct filter_prefix {
	unsigned gen;
	size_t rule;
	unsigned ext;
	enum filter_log_kind kind;
};

/* Whether the policy asks for the filter at all (it has IpFilterRules). */
bool filter_wanted(const struct ipsec_policy *ip);
/* Whether it asks for any drop to be logged. */
bool filter_logs(const struct ipsec_policy *ip);

/* The nft script that replaces the table in one transaction with the
 * policy's (gen goes into the log prefixes), or that removes it when the
 * policy has no IpFilterRules. Returns a malloc'ed string, NULL when out of
 * memory. */
char *filter_script(const struct ipsec_policy *ip, const struct filter_env *env, unsigned gen);
/* The script that removes the table, whether or not it exists. */
const char *filter_remove_script(void);

/* 0, or -1 when s is not one of our prefixes. */
int filter_prefix_parse(const char *s, struct filter_prefix *p);

#endif
