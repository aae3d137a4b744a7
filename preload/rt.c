#include "preload/rt.h"

#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "preload/fdtab.h"
#include "preload/loglimit.h"
#include "preload/real.h"
#include "preload/tls.h"
#include "policy/policy.h"

static struct {
	pthread_once_t once;
	struct policy_store store;
	pthread_mutex_t check_lock;
	int64_t next_check_ms;
	bool ever_loaded;
	bool fail_reported;
	int trace_override;
	uid_t user_uid;
	char user[64];
	pthread_mutex_t user_lock;
} R = {
	.once = PTHREAD_ONCE_INIT,
	.check_lock = PTHREAD_MUTEX_INITIALIZER,
	.user_lock = PTHREAD_MUTEX_INITIALIZER,
	.trace_override = -1,
	.user_uid = (uid_t)-1,
};

/* Error lines repeated per rule and kind (loglimit.h), shared by every
 * thread of the process. */
static struct {
	pthread_mutex_t lock;
	struct loglimit l;
} Limit = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int adopt_log_fd(int fd)
{
	int nfd = fdtab_adopt(fd);
	return nfd < 0 ? fd : nfd;
}

/* Report a failed load: the first error with its position, once per file version. */
static void report_load_failure(const struct diags *d, bool at_start)
{
	char first[512];
	diags_first_error(d, first, sizeof first);
	if (at_start) {
		log_emit(LOG_TO_STDERR | LOG_TO_SYSLOG | LOG_TO_FILE, LOG_ERR,
			 "policy %s cannot be used (%s); every TCP connect and accept fails with "
			 "EACCES until it is fixed", R.store.path, first);
	} else {
		log_emit(LOG_TO_SYSLOG | LOG_TO_FILE, LOG_ERR,
			 "policy %s changed but is not valid (%s); the previous policy stays in force",
			 R.store.path, first);
	}
}

static const char *plural(size_t n) { return n == 1 ? "" : "s"; }

/* Process-wide news about the policy: logged whatever the rules' Trace
 * says, as a notice (info lines are Trace 4's). */
static void report_reload(struct policy *before, struct policy *now)
{
	size_t n = attls_rule_count(now);
	if (before) {
		size_t was = attls_rule_count(before);
		log_emit(LOG_TO_SYSLOG | LOG_TO_FILE, LOG_NOTICE,
			 "policy %s reloaded; new connections follow it (%zu TTLSRule%s, was %zu)",
			 R.store.path, n, plural(n), was);
	} else {
		log_emit(LOG_TO_SYSLOG | LOG_TO_FILE, LOG_NOTICE,
			 "policy %s loaded; new connections follow it (%zu TTLSRule%s)",
			 R.store.path, n, plural(n));
	}
}

/* A file emptied or cut short in place is what an editor or a redirection
 * leaves for a moment, and installing it would let covered connections go
 * out in clear text. Removing TLS takes a deliberate rule. */
static void report_no_rules(struct policy *kept)
{
	size_t n = kept ? attls_rule_count(kept) : 0;
	log_emit(LOG_TO_SYSLOG | LOG_TO_FILE, LOG_WARNING,
		 "policy %s has no TTLSRule now; the previous policy (%zu TTLSRule%s) stays in "
		 "force. To stop TLS on purpose, write a rule whose TTLSGroupAction says "
		 "TTLSEnabled Off (e.g. for Jobname *), or restart the program",
		 R.store.path, n, plural(n));
}

/* The environment attls run set, as it was when the library was loaded.
 * Programs may replace their environment before their first connection:
 * nginx keeps only TZ (its "env" directive), daemons call clearenv(). The
 * policy is still read on first use; only the strings are kept early. */
static struct {
	bool captured;
	char policy[4096], log_file[4096], trace[32];
} Env;

static void keep(char *dst, size_t len, const char *name)
{
	const char *v = getenv(name);
	snprintf(dst, len, "%s", v && strlen(v) < len ? v : "");
}

void rt_capture_env(void)
{
	if (Env.captured)
		return;
	keep(Env.policy, sizeof Env.policy, "ATTLS_POLICY");
	keep(Env.log_file, sizeof Env.log_file, "ATTLS_LOG_FILE");
	keep(Env.trace, sizeof Env.trace, "ATTLS_TRACE");
	Env.captured = true;
}

static void init_once(void)
{
	rt_capture_env();   /* no-op after the constructor; covers hooks that ran before it */
	real_init();
	fdtab_init();
	log_set_fd_hook(adopt_log_fd);
	log_init("attls", LOG_TO_SYSLOG);
	log_set_level(LOG_DEBUG);
	const char *file = Env.log_file;
	if (file && *file)
		log_set_file(file);
	const char *tr = Env.trace;
	if (tr && *tr) {
		char *end;
		long v = strtol(tr, &end, 0);
		if (!*end && v >= 0 && v <= 255)
			R.trace_override = (int)v;
	}
	const char *path = Env.policy;
	policy_store_init(&R.store, path && *path ? path : POLICY_DEFAULT_PATH);
	policy_store_guard_rules(&R.store, attls_rule_count);
	struct diags d;
	diags_init(&d);
	if (policy_store_reload(&R.store, true, now_ms(), &d) == POLICY_INSTALLED) {
		R.ever_loaded = true;
	} else {
		report_load_failure(&d, true);
		R.fail_reported = true;
	}
	diags_free(&d);
	R.next_check_ms = now_ms() + 1000;
}

/* Key rings of every rule that says TLS, loaded into the context cache. A
 * key ring that cannot be read now is tried again when a connection needs it. */
static void build_contexts(struct policy *p)
{
	size_t n = attls_rule_count(p);
	for (size_t i = 0; i < n; i++) {
		const struct attls_rule *r = attls_rule_at(p, i);
		if (!r->s->enabled)
			continue;
		char err[256];
		struct tls_ctx *x = tls_ctx_get(p, r->s, r->s->role, err, sizeof err);
		tls_ctx_put(x);
	}
}

void rt_preload(void)
{
	rt_init();
	struct policy *p = policy_store_get(&R.store);
	if (p)
		build_contexts(p);
	policy_unref(p);
}

void rt_init(void)
{
	pthread_once(&R.once, init_once);
}

struct policy *rt_policy(void)
{
	rt_init();
	int64_t now = now_ms();
	if (now >= R.next_check_ms && pthread_mutex_trylock(&R.check_lock) == 0) {
		R.next_check_ms = now + 1000;
		struct diags d;
		diags_init(&d);
		struct policy *before = policy_store_get(&R.store);
		int rc = policy_store_reload(&R.store, false, now, &d);
		if (rc == POLICY_INSTALLED) {
			struct policy *cur = policy_store_get(&R.store);
			tls_ctx_trim(cur);   /* contexts of old snapshots go with their last connection */
			build_contexts(cur);
			report_reload(before, cur);
			policy_unref(cur);
			R.ever_loaded = true;
		} else if (rc == POLICY_NO_RULES) {
			report_no_rules(before);
		} else if (rc == POLICY_INVALID) {
			report_load_failure(&d, false);
		}
		policy_unref(before);
		diags_free(&d);
		pthread_mutex_unlock(&R.check_lock);
	}
	return policy_store_get(&R.store);
}

void rt_fill_identity(const struct policy *p, struct attls_conn *c, char *job, size_t joblen,
		      char *user, size_t userlen)
{
	c->jobname = NULL;
	c->userid = NULL;
	if (attls_uses_jobname(p)) {
		char name[17] = "";
		if (prctl(PR_GET_NAME, name) == 0) {
			snprintf(job, joblen, "%s", name);
			c->jobname = job;
		}
	}
	if (attls_uses_userid(p)) {
		uid_t uid = geteuid();
		pthread_mutex_lock(&R.user_lock);
		if (uid != R.user_uid) {
			/* NSS may talk to nscd or sssd over sockets: that is fine, our
			 * hooks pass non-TCP sockets through untouched. */
			struct passwd pw, *res = NULL;
			char buf[2048];
			if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res)
				snprintf(R.user, sizeof R.user, "%s", res->pw_name);
			else
				snprintf(R.user, sizeof R.user, "%u", (unsigned)uid);
			R.user_uid = uid;
		}
		snprintf(user, userlen, "%s", R.user);
		pthread_mutex_unlock(&R.user_lock);
		c->userid = user;
	}
}

void rt_atfork_child(void)
{
	pthread_mutex_init(&R.check_lock, NULL);
	pthread_mutex_init(&R.user_lock, NULL);
	pthread_mutex_init(&R.store.lock, NULL);
	pthread_mutex_init(&Limit.lock, NULL);
	loglimit_init(&Limit.l);   /* the parent reports what it held back */
}

int rt_trace_override(void)
{
	return R.trace_override;
}

/* A trace line's label and syslog level come from its bit (z/OS writes
 * its info messages at INFO and the event and flow traces at DEBUG). */
static const char *trace_label(unsigned bit, int *prio)
{
	*prio = bit == TRACE_INFO ? LOG_INFO : LOG_DEBUG;
	switch (bit) {
	case TRACE_INFO: return "info";
	case TRACE_EVENT: return "event";
	case TRACE_FLOW: return "flow";
	case TRACE_DATA: return "data";
	default: return "debug";
	}
}

void rt_vlog(unsigned trace, unsigned bit, int prio, const char *fmt, va_list ap)
{
	if (R.trace_override >= 0)
		trace = (unsigned)R.trace_override;
	unsigned dests = 0;
	const char *label = NULL;
	if (prio <= LOG_WARNING) {
		if (trace & TRACE_ERR_STDERR)
			dests |= LOG_TO_STDERR;
		if (trace & TRACE_ERR_SYSLOG)
			dests |= LOG_TO_SYSLOG | LOG_TO_FILE;
	} else if (trace & bit) {
		dests |= LOG_TO_SYSLOG | LOG_TO_FILE;
		label = trace_label(bit, &prio);
	}
	if (dests)
		log_vemit_as(dests, prio, label, fmt, ap);
}

static void report_suppressed(const struct loglimit_summary *due, size_t n)
{
	for (size_t i = 0; i < n; i++)
		rt_log(due[i].trace, TRACE_ERR_SYSLOG, LOG_WARNING,
		       "rule %s: %lu more lines like \"%s\" within %d s were not logged (at most "
		       "%d of a kind per rule every %d s)", due[i].rule, due[i].count,
		       due[i].sample, LOGLIMIT_INTERVAL_MS / 1000, LOGLIMIT_BURST,
		       LOGLIMIT_INTERVAL_MS / 1000);
}

void rt_rule_log(const char *rule, const char *kind, unsigned trace, unsigned bit, int prio,
		 const char *fmt, ...)
{
	unsigned t = R.trace_override >= 0 ? (unsigned)R.trace_override : trace;
	if (prio <= LOG_WARNING) {
		if (!(t & (TRACE_ERR_STDERR | TRACE_ERR_SYSLOG)))
			return;
		struct loglimit_summary due[LOGLIMIT_MAX_DUE];
		size_t ndue;
		pthread_mutex_lock(&Limit.lock);
		bool print = loglimit_check(&Limit.l, rule, kind, trace, now_ms(), due, &ndue);
		pthread_mutex_unlock(&Limit.lock);
		report_suppressed(due, ndue);
		if (!print)
			return;
	}
	va_list ap;
	va_start(ap, fmt);
	rt_vlog(trace, bit, prio, fmt, ap);
	va_end(ap);
}

void rt_log_flush(void)
{
	struct loglimit_summary due[LOGLIMIT_MAX_DUE];
	size_t ndue;
	do {
		pthread_mutex_lock(&Limit.lock);
		loglimit_drain(&Limit.l, due, &ndue);
		pthread_mutex_unlock(&Limit.lock);
		report_suppressed(due, ndue);
	} while (ndue);
}

void rt_log(unsigned trace, unsigned bit, int prio, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rt_vlog(trace, bit, prio, fmt, ap);
	va_end(ap);
}
