/*
 * policy/policy_internal — what the policy module's own files share: the
 * snapshot's layout and the compile steps. Nothing outside policy/ includes it.
 */
#ifndef ATTLS_POLICY_INTERNAL_H
#define ATTLS_POLICY_INTERNAL_H

#include <stdatomic.h>

#include "common/arena.h"
#include "policy/attls.h"
#include "policy/ipsec.h"
#include "policy/policy.h"
#include "policy/tree.h"

struct port_index {
	size_t nint;          /* elementary port intervals */
	uint16_t *lo;         /* interval i covers lo[i] .. lo[i+1]-1 (last: .. 65535) */
	uint32_t *off;        /* rules of interval i: ids[off[i] .. off[i+1]) */
	uint32_t *ids;        /* rule ranks, ascending */
};

struct attls_index {
	struct port_index by_lport;   /* rules with specific local ports */
	struct port_index by_rport;   /* rules with any local port, specific remote ports */
	uint32_t *wild;               /* rules with any port at all */
	size_t nwild;
};

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
