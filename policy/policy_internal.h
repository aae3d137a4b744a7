/*
 * policy/policy_internal — what the policy module's own files share: the
 * snapshot's layout and the compile steps. Nothing outside policy/ includes it.
 */
#ifndef ATTLS_POLICY_INTERNAL_H
#define ATTLS_POLICY_INTERNAL_H

#include <stdatomic.h>
#include <string.h>

#include "common/arena.h"
#include "policy/attls.h"
#include "policy/ipsec.h"
#include "policy/policy.h"
#include "policy/tree.h"

/* Elementary intervals of one key space (ports, IPv4 or IPv6 addresses):
 * interval i runs from its key to the next interval's. set is the rules
 * whose condition covers it, home those of them the index finds through
 * this dimension (see attls_index). Ports and IPv4 use v32, IPv6 v128 (high
 * and low halves); the first interval starts at key 0. Key and sets share a
 * cache line, as a lookup reads them together. */
struct iv32 {
	uint32_t key, set, home;
};

struct iv128 {
	uint64_t hi, lo;
	uint32_t set, home;
};

struct interval_map {
	size_t n;
	struct iv32 *v32;
	struct iv128 *v128;
};

/* Literal prefixes (or reversed literal suffixes) of Jobname or Userid
 * patterns. A node's set: the rules whose literal is the node's string or a
 * prefix of it; home as for intervals. Node 0 is the root; a node's
 * children are contiguous and sorted by byte. */
struct trie_node {
	uint32_t child, set, home;
	uint16_t nchild;
	uint8_t ch;
};

struct name_trie {
	size_t n;
	struct trie_node *node;
};

/* The dimensions of a condition, in the order a lookup filters by them. */
enum { D_LPORT, D_RPORT, D_LADDR, D_RADDR, D_JOB_PRE, D_JOB_SUF, D_USER_PRE, D_USER_SUF,
       D_DIR, NDIMS };

/* The lookup index. Everything is a rule set (policy/ruleset) in one pool.
 * Each rule has a home: the dimension among its conditions whose values it
 * shares with the fewest other rules (or none: wild). A lookup unions, per
 * dimension, the home set of the connection's value there, and the wild
 * rules: every rule that can match is among them, each once. It filters
 * those 64 at a time by every dimension some rule uses (rules with no
 * condition there, or whose condition covers the value) and tests the
 * survivors in rank order with the full condition. */
struct attls_index {
	size_t nwords, nsum;          /* rule-set shape: 64-rule words, summary words */
	uint64_t *pool;
	uint64_t *zeros;              /* nwords zero words: the empty set, read densely */
	uint32_t all, wild;           /* every rule; rules without a home */
	uint32_t dir[3];              /* rules for inbound, outbound, other directions */
	uint32_t any[NDIMS];          /* rules without a condition in the dimension */
	bool used[NDIMS];             /* some rule has a condition in the dimension */
	bool homed[NDIMS];            /* some rule has its home there */
	struct interval_map lport, rport, laddr4, laddr6, raddr4, raddr6;
	struct name_trie job_pre, job_suf, user_pre, user_suf;
	size_t bytes;                 /* memory the index takes */
};

/* Index keys: addresses as big-endian integers, so numeric order is the
 * policy's byte order. */
static inline uint32_t key_be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static inline uint64_t key_be64(const uint8_t *b)
{
	return (uint64_t)key_be32(b) << 32 | key_be32(b + 4);
}

/* The literal text every name a Jobname/Userid pattern matches starts with
 * (suffix: ends with): up to its first (after its last) '*' or '?'; a
 * pattern without wildcards is literal both ways. NULL pattern: empty. */
static inline void attls_literal(const char *pat, bool suffix, const char **lit, size_t *len)
{
	*lit = pat;
	*len = 0;
	if (!pat)
		return;
	size_t n = strlen(pat), first = strcspn(pat, "*?"), last = n;
	while (last > 0 && pat[last - 1] != '*' && pat[last - 1] != '?')
		last--;      /* no wildcard: 0, the whole pattern */
	*lit = suffix ? pat + last : pat;
	*len = suffix ? n - last : first;
}

struct policy {
	atomic_uint refs;
	struct arena arena;
	struct ptree tree;
	const char *path;
	struct attls_rule *rules;     /* evaluation order */
	size_t nrules;
	struct attls_index idx;
	bool uses_jobname, uses_userid;
	bool outbound_local_addr, outbound_local_port;
	struct policy_counts counts;
	struct ipsec_policy ipsec;
};

void policy_validate(const struct ptree *t, struct diags *d);
int  attls_compile(struct policy *p, struct diags *d);        /* 0, or -1 on ENOMEM */
int  attls_index_build(struct policy *p);                     /* 0, or -1 on ENOMEM */
int  ipsec_compile(struct policy *p, struct diags *d);        /* 0, or -1 on ENOMEM */
/* A file the policy names (Keyring, ...): relative names are taken from dir,
 * the policy file's directory (struct ptree's dir), so a policy and its key
 * rings can move together. Absolute names and dir == NULL give path itself. */
const char *policy_resolve_path(struct arena *a, const char *dir, const char *path);

#endif
