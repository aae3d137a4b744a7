/*
 * policy/attls — the compiled AT-TLS rules of a policy snapshot: each rule's
 * conditions and the effective settings of its actions (connection action over
 * environment action over defaults), and the lookup that maps a connection to
 * its rule. Everything here is read-only once the snapshot is built; a lookup
 * neither parses nor allocates.
 */
#ifndef ATTLS_POLICY_ATTLS_H
#define ATTLS_POLICY_ATTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/addr.h"
#include "policy/diag.h"
#include "policy/tree.h"

struct policy;

struct port_set {
	size_t n;                      /* 0 = any port */
	const struct port_range *r;
};

/* Trace bits (z/OS Trace n). */
#define TRACE_ERR_STDERR 1
#define TRACE_ERR_SYSLOG 2
#define TRACE_INFO       4
#define TRACE_EVENT      8
#define TRACE_FLOW       16
#define TRACE_DATA       32

/* What the shim acts on for a connection of this rule. */
struct attls_settings {
	bool enabled;                  /* TTLSEnabled */
	unsigned trace;
	int role;                      /* ROLE_* */
	int client_auth;               /* CAUTH_* */
	bool tls10, tls11, tls12, tls13;
	bool middlebox_compat;
	bool app_controlled;
	bool secondary_map;
	unsigned hs_timeout;           /* seconds; 0 = no limit */
	const char *keyring, *keyring_pw, *keyring_stash;
	struct srcpos keyring_pos;     /* where Keyring is written (line 0: nowhere) */
	const char *cert_label;
	const uint16_t *ciphers;       /* IANA codes in preference order, usable ones only */
	size_t nciphers;               /* 0 = the library's secure defaults */
	const char *host_ref_dns;      /* client: the name the server must prove */
	int client_sni;                /* SNI_* */
	unsigned session_timeout;      /* seconds */
	unsigned sid_cache_size;
	bool tickets_client, tickets_server;
	int fips140;                   /* FIPS_* */
};

/* What a connection with settings s in role needs from its key ring: a key
 * with its certificate (it proves who it is), CA certificates (it verifies
 * its peer). */
bool attls_needs_key(const struct attls_settings *s, int role);
bool attls_verifies_peer(const struct attls_settings *s, int role);

/* One line of "policy show": an effective parameter and where it came from. */
struct attls_param_view {
	const char *keyword;
	const char *value;
	const char *source;            /* "TTLSEnvironmentAction env1", "default", ... */
	bool not_acted;
};

struct attls_rule {
	const char *name;
	struct srcpos pos;
	bool has_priority;
	uint32_t priority;
	uint32_t rank;                 /* 0-based position in evaluation order */
	int direction;                 /* DIR_* */
	struct ip_set local, remote;
	struct port_set lports, rports;
	const char *jobname, *userid;  /* NULL = any */
	const char *group, *env, *conn;/* action names; NULL when the rule has none */
	/* The conditions as written, for explanations ("LocalPortRange 8443"). */
	const char *lport_text, *rport_text, *laddr_text, *raddr_text;
	/* Shared by every rule with the same three actions. */
	const struct attls_settings *s;
	const struct attls_param_view *view;
	size_t nview;
};

/* The connection to map. */
struct attls_conn {
	int direction;                 /* DIR_INBOUND or DIR_OUTBOUND */
	struct ip_addr local, remote;
	uint16_t lport, rport;
	const char *jobname;           /* NULL matches only rules without Jobname */
	const char *userid;
};

/* The rule a connection maps to, or NULL. */
const struct attls_rule *attls_match(const struct policy *p, const struct attls_conn *c);

/* The same by plain evaluation in order, calling fn for every rule tried with
 * the reason it did not match (NULL for the rule that matched). */
typedef void (*attls_explain_fn)(void *arg, const struct attls_rule *r, const char *why_not);
const struct attls_rule *attls_explain(const struct policy *p, const struct attls_conn *c,
				       attls_explain_fn fn, void *arg);

/* Why r does not match c (into buf), or NULL when it matches. */
const char *attls_rule_mismatch(const struct attls_rule *r, const struct attls_conn *c,
				char *buf, size_t len);

/* Whether any rule has a Jobname / Userid condition (so callers can skip
 * looking the names up). */
bool attls_uses_jobname(const struct policy *p);
bool attls_uses_userid(const struct policy *p);
/* Whether some rule covering outbound connections has a condition on the
 * local address / local port, which a socket not yet bound does not know
 * before connect(). */
bool attls_outbound_uses_local_addr(const struct policy *p);
bool attls_outbound_uses_local_port(const struct policy *p);

/* Bytes the lookup index of p takes (for benchmarks and reports). */
size_t attls_index_size(const struct policy *p);

/* Rules in evaluation order. */
size_t attls_rule_count(const struct policy *p);
const struct attls_rule *attls_rule_at(const struct policy *p, size_t i);

#endif
