/*
 * policy/policy — loading a policy file into an immutable, reference-counted
 * snapshot, and the store that swaps snapshots atomically on reload. A file
 * that fails validation, one still being written, and one without rules in
 * place of one with rules never become the current snapshot; the store keeps
 * the last good one and says why.
 */
#ifndef ATTLS_POLICY_POLICY_H
#define ATTLS_POLICY_POLICY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/diag.h"

struct policy;

/* The policy when neither attls run -p nor ATTLS_POLICY names one. */
#define POLICY_DEFAULT_PATH "/etc/attls/attls.conf"

/* Largest policy file accepted. */
#define POLICY_MAX_BYTES (64u << 20)

/* Parse, validate and compile. On success returns a snapshot with one
 * reference (warnings may be in d); on failure returns NULL, errors in d. */
struct policy *policy_load_file(const char *path, struct diags *d);
struct policy *policy_load_buffer(const char *name, const char *buf, size_t len, struct diags *d);

struct policy *policy_ref(struct policy *p);
void policy_unref(struct policy *p);

const char *policy_path(const struct policy *p);
/* Counts for the one-line summary of "attls policy check". */
struct policy_counts {
	size_t ttls_rules, group_actions, env_actions, conn_actions;
	size_t filter_rules, dynvpn_actions, ke_rules, ke_actions;
};
void policy_counts(const struct policy *p, struct policy_counts *c);

/* The parse tree, for tools that print statements (attls policy show). */
const struct ptree *policy_tree(const struct policy *p);

/* ---- the store: the current snapshot of one policy file ------------------ */

/* A changed file is installed only when two checks at least this far apart
 * read the same stamp and the same bytes: an editor or `cat new > file`
 * truncates the file and then writes it, and every moment in between is a
 * shorter file, possibly a valid policy cut at a statement boundary. */
#define POLICY_STABLE_MS 1000

struct file_stamp {
	uint64_t dev, ino, size;
	int64_t mtime_ns, ctime_ns;
};

/* What policy_store_reload did. */
enum {
	POLICY_NO_RULES = -2,   /* valid, but without rules while the current has some: kept */
	POLICY_INVALID = -1,    /* could not be read or has errors (in d): kept */
	POLICY_UNCHANGED = 0,   /* nothing new, or a change still settling */
	POLICY_INSTALLED = 1,   /* a new snapshot is current */
};

struct policy_store {
	pthread_mutex_t lock;         /* guards cur */
	char *path;
	struct policy *cur;           /* NULL until a load succeeds */
	/* Rules the store's owner cares about (NULL: no guard). A policy where
	 * this is 0 never replaces one where it is not. */
	size_t (*count_rules)(const struct policy *p);
	/* The file as the last check read it. File times are coarse (a clock
	 * tick, seconds on some file systems): a stamp taken right after a write
	 * may also describe the next write. Such a stamp is "racy" and the
	 * content is read again instead. */
	struct file_stamp stamp;
	bool have_stamp, racy;
	/* The content the last decision was about (installed or refused), and
	 * the content of cur: the same bytes are never decided on twice. */
	uint64_t decided_hash, cur_hash;
	bool have_decided, have_cur_hash;
	char read_failure[256];       /* why the last read failed; "" when it did not */
	/* A changed file waiting to be stable: its bytes, stamp, first seen. */
	char *pending;
	size_t pending_len;
	struct file_stamp pending_stamp;
	int64_t pending_since_ms;
};

void policy_store_init(struct policy_store *st, const char *path);
/* Never let a policy with no rules (as count_rules counts them) replace one
 * with rules. */
void policy_store_guard_rules(struct policy_store *st,
			      size_t (*count_rules)(const struct policy *p));
void policy_store_destroy(struct policy_store *st);
/* Check the file and install it when it changed, has been stable for
 * POLICY_STABLE_MS (now_ms is a monotonic clock in milliseconds) and is valid.
 * force: read and install now, stable or not (at start). Returns one of
 * POLICY_*; a failure is returned once per content (or read error) and
 * POLICY_UNCHANGED after that. Calls are serialised by the caller; lookups
 * (policy_store_get) may run meanwhile. */
int policy_store_reload(struct policy_store *st, bool force, int64_t now_ms, struct diags *d);
/* The current snapshot with a reference taken, or NULL. */
struct policy *policy_store_get(struct policy_store *st);

#endif
