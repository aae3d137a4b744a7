/*
 * policy/policy — loading a policy file into an immutable, reference-counted
 * snapshot, and the store that swaps snapshots atomically on reload. A file
 * that fails validation never becomes a snapshot; the store keeps the last good
 * one and hands back the errors.
 */
#ifndef ATTLS_POLICY_POLICY_H
#define ATTLS_POLICY_POLICY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/diag.h"

struct policy;

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

struct file_stamp {
	uint64_t dev, ino, size;
	int64_t mtime_ns, ctime_ns;
};

struct policy_store {
	pthread_mutex_t lock;
	char *path;
	struct policy *cur;           /* NULL until a load succeeds */
	struct file_stamp stamp;      /* of the file the last attempt read */
	bool have_stamp;
	/* File times are coarse (a clock tick, seconds on some file systems):
	 * a stamp taken right after a write may also describe the next write.
	 * Such a stamp is "racy" and the content is compared instead. */
	bool racy;
	uint64_t hash;                /* of the content the last attempt read */
	bool have_hash;
};

void policy_store_init(struct policy_store *st, const char *path);
void policy_store_destroy(struct policy_store *st);
/* Load the file if it changed since the last attempt (or force). Returns 1 when
 * a new snapshot was installed, 0 when nothing changed (same stamp, or same
 * content as the last attempt), -1 when the file failed (the previous snapshot
 * stays; errors in d; the same content is not reported again). */
int policy_store_reload(struct policy_store *st, bool force, struct diags *d);
/* The current snapshot with a reference taken, or NULL. */
struct policy *policy_store_get(struct policy_store *st);

#endif
