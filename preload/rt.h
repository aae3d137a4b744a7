/*
 * preload/rt — the shim's process-wide runtime: one-time initialisation, the
 * policy store (ATTLS_POLICY or /etc/attls/attls.conf) with its reload check,
 * the fail-closed state when no valid policy can be had, the program and user
 * names rules match on, and where log lines go (and how many repeats of one).
 */
#ifndef ATTLS_PRELOAD_RT_H
#define ATTLS_PRELOAD_RT_H

#include <stdarg.h>
#include <stdbool.h>

#include "policy/attls.h"

struct policy;

/* Keep ATTLS_POLICY, ATTLS_LOG_FILE and ATTLS_TRACE as they are at load time
 * (the library's constructor calls it), before the program can change its
 * environment. */
void rt_capture_env(void);
/* Idempotent and thread-safe; every hook calls it before doing anything. */
void rt_init(void);
/* Load the policy and build the TLS contexts of its rules now (see shim.c). */
void rt_preload(void);
/* The current policy snapshot (a reference), after a reload check at most once
 * a second. NULL when no valid policy could ever be loaded: fail closed. */
struct policy *rt_policy(void);
/* Fill the program and user fields of a connection to match, as the policy
 * needs them (names are only looked up when some rule uses them). */
void rt_fill_identity(const struct policy *p, struct attls_conn *c, char *job, size_t joblen,
		      char *user, size_t userlen);
/* In a forked child: re-create locks another thread may have held. */
void rt_atfork_child(void);
/* ATTLS_TRACE (from attls run --trace), or -1 when the policy decides. */
int rt_trace_override(void);
/* Emit a log line if trace allows it. Errors and warnings (prio LOG_ERR,
 * LOG_WARNING) follow the stderr and syslog bits; any other line is a trace
 * line printed at bit alone and labelled by it (info, event, flow, data), so
 * pass LOG_INFO with TRACE_INFO and LOG_DEBUG with the others. */
void rt_vlog(unsigned trace, unsigned bit, int prio, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
void rt_log(unsigned trace, unsigned bit, int prio, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The same for a line about a connection of rule: errors and warnings are
 * limited per rule and kind (the message without the connection's details;
 * preload/loglimit.h), and the count of those held back is logged later. */
void rt_rule_log(const char *rule, const char *kind, unsigned trace, unsigned bit, int prio,
		 const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Log every count of lines held back (at exit). */
void rt_log_flush(void);

#endif
