/*
 * iked/swsa_backend — what a SWSA store implementation provides to the store
 * front (swsa_store.c): connect, put, conditional delete and scan of record
 * texts by key. Only the store's worker thread calls these, one at a time, so
 * they may block (within their timeouts) and need no locking of their own.
 * Implementations: swsa_dir.c (dir:) and swsa_redis.c (redis://).
 *
 * Every function returns 0 or -1 with err saying why in words an operator can
 * act on (never a password). -1 means the store itself failed (unreachable,
 * refused, out of space): the front disconnects and retries later. A record
 * that is merely unreadable is not a failure: scan hands it over as it is.
 */
#ifndef ATTLS_IKED_SWSA_BACKEND_H
#define ATTLS_IKED_SWSA_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/addr.h"
#include "policy/storeurl.h"

struct swsa_backend;

/* One record text found by scan (len may exceed SWSA_RECORD_MAX only by one
 * byte: the backend reads at most that much, so the decoder refuses it). */
typedef void swsa_scan_fn(void *arg, const char *key, const char *text, size_t len);

/* Whether the record text under a key belongs to owner (a delete removes it
 * only then; an unreadable record counts as nobody else's). */
bool swsa_text_owned_by(const char *text, size_t len, const char *owner);

struct swsa_backend_ops {
	int (*connect)(struct swsa_backend *b, char *err, size_t errlen);
	void (*disconnect)(struct swsa_backend *b);
	/* Write key's record; only_if_absent leaves an existing one alone. */
	int (*put)(struct swsa_backend *b, const char *key, const char *text, size_t len,
		   bool only_if_absent, char *err, size_t errlen);
	/* Remove key's record unless it names another owner; *kept says it did. */
	int (*del)(struct swsa_backend *b, const char *key, const char *owner, bool *kept,
		   char *err, size_t errlen);
	/* Every record of one DVIPA (or of all when dvipa is NULL). */
	int (*scan)(struct swsa_backend *b, const struct ip_addr *dvipa, swsa_scan_fn *fn,
		    void *arg, char *err, size_t errlen);
	void (*free)(struct swsa_backend *b);
};

struct swsa_backend {
	const struct swsa_backend_ops *ops;
};

/* Backends; timeouts in milliseconds bound every call to the store. */
struct swsa_backend *swsa_dir_new(const struct store_url *u);
struct swsa_backend *swsa_redis_new(const struct store_url *u, const char *password_file,
				    unsigned timeout_ms);

#endif
