/*
 * iked/swsa_store — the sysplex-wide SA store as iked's event loop sees it:
 * put, delete, get by DVIPA and list of SWSA records, none of which ever
 * blocks the caller. Requests go to one worker thread through a bounded
 * table; the worker talks to the store (swsa_backend.h: a directory or
 * Redis) with timeouts, and hands read results back through an eventfd that
 * the loop polls (swsa_store_event_fd), the callbacks running in
 * swsa_store_dispatch on the loop's thread.
 *
 * Writes are kept per record key, newest wins: a put replaces a put or a
 * delete of the same key that has not reached the store yet, so the table
 * holds at most one pending write per tunnel. A store that cannot be reached
 * does not lose them: the worker retries with a growing delay (reconnecting
 * each time) and writes everything still pending once the store is back. The
 * outage is logged once (the URL, never the password) and its end once.
 * swsa_store_state says, per tunnel, whether its record is in the store yet.
 *
 * A node deletes only its own records: a delete leaves a record that names
 * another owner in place (the DVIPA moved on). swsa_store_forget drops what
 * is pending for a DVIPA without touching the store (giveback).
 */
#ifndef ATTLS_IKED_SWSA_STORE_H
#define ATTLS_IKED_SWSA_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iked/swsa_record.h"
#include "policy/ipsec.h"
#include "policy/storeurl.h"

struct swsa_store;

struct swsa_store_config {
	struct store_url url;
	const char *password_file;        /* redis: first line is the password; NULL = none */
	const char *node;                 /* NULL: the host name */
	unsigned timeout_ms;              /* each connect and each call; 0: 2000 */
	unsigned retry_min_ms;            /* first retry after a failure; 0: 250 */
	unsigned retry_max_ms;            /* the delay doubles up to this; 0: 10000 */
	size_t max_records;               /* tunnels tracked (written or pending); 0: 16384 */
	size_t max_reads;                 /* gets and lists queued; 0: 64 */
};

/* The store an IkeConfig describes (SwsaStore, SwsaStorePasswordFile,
 * SwsaNode; default timeouts and bounds). Returns false when SWSA is off.
 * c points into the policy snapshot: open the store while it lives. */
bool swsa_config_from_policy(const struct ike_config *ic, struct swsa_store_config *c);
/* Whether a is one of IkeConfig's SwsaDvipa addresses. */
bool swsa_is_dvipa(const struct ike_config *ic, const struct ip_addr *a);

/* Starts the worker; does not wait for the store (the first connection is
 * the worker's). Returns NULL with err on a configuration that cannot work. */
struct swsa_store *swsa_store_open(const struct swsa_store_config *c, char *err, size_t errlen);
/* Stops the worker after at most flush_ms of writing what is pending (0:
 * not at all); what is still pending then is dropped. No read's callback
 * runs; their release hooks do. */
void swsa_store_close(struct swsa_store *s, unsigned flush_ms);

const char *swsa_store_node(const struct swsa_store *s);
const char *swsa_store_url(const struct swsa_store *s);   /* for messages */
/* Whether the last attempt to use the store worked. */
bool swsa_store_up(const struct swsa_store *s);

/* Readable when results are ready: then call swsa_store_dispatch. */
int swsa_store_event_fd(const struct swsa_store *s);
void swsa_store_dispatch(struct swsa_store *s);

/* Queue the write of r (its Owner becomes this node; r->tunnel must be set).
 * Returns 0, or -1 when the table is full or r cannot be encoded. */
int swsa_store_put(struct swsa_store *s, const struct swsa_record *r);
/* Queue the removal of a tunnel's record (kept if another node owns it). */
int swsa_store_delete(struct swsa_store *s, const struct ip_addr *dvipa, const char *tunnel);
/* Giveback: forget every record of dvipa this node still meant to write or
 * delete; the store is not touched (a write already on the wire may land). */
void swsa_store_forget(struct swsa_store *s, const struct ip_addr *dvipa);

enum swsa_state {
	SWSA_NONE,                        /* nothing put (or deleted since) */
	SWSA_PENDING,                     /* put, not in the store yet */
	SWSA_WRITTEN,                     /* the store has the latest put */
};
enum swsa_state swsa_store_state(const struct swsa_store *s, const struct ip_addr *dvipa,
				 const char *tunnel);
const char *swsa_state_name(enum swsa_state st);          /* "none", "pending", "written" */
/* Puts and deletes not in the store yet. */
size_t swsa_store_pending(const struct swsa_store *s);

/* Results of a read: err 0 or ETIMEDOUT (the store stayed unreachable for
 * timeout_ms), the records that decoded, and how many did not. The records
 * are the callback's to read, not to keep. */
typedef void swsa_records_fn(void *arg, int err, const struct swsa_record *recs, size_t n,
			     size_t unreadable);
/* Every record of one DVIPA (takeover), or of all (dvipa NULL). fn runs once
 * in swsa_store_dispatch; release, when not NULL, runs instead when the read
 * is cancelled or the store closes first (to free what arg holds). Returns a
 * request id (> 0) for swsa_store_cancel, or -1 when too many reads wait. */
long swsa_store_get(struct swsa_store *s, const struct ip_addr *dvipa, unsigned timeout_ms,
		    swsa_records_fn *fn, void (*release)(void *arg), void *arg);
/* The callback of a read will not run (its release does, at the next dispatch). */
void swsa_store_cancel(struct swsa_store *s, long id);

#endif
