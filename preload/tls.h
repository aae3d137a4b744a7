/*
 * preload/tls — everything GnuTLS for the shim: one context per set of
 * effective settings (credentials from the keyring, the priority string from
 * versions and cipher suites, the session-ticket key, resumption caches), and
 * per-connection sessions with peer verification, SNI and the transport
 * functions that read either freely or never past a record boundary.
 */
#ifndef ATTLS_PRELOAD_TLS_H
#define ATTLS_PRELOAD_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct conn;
struct policy;
struct attls_settings;
struct tls_ctx;

/* The context for these settings (built and cached on first use), with a
 * reference; NULL with err set when the keyring or settings cannot be used. */
struct tls_ctx *tls_ctx_get(struct policy *p, const struct attls_settings *s, int role,
			    char *err, size_t errlen);
void tls_ctx_put(struct tls_ctx *ctx);

/* Create c->ses for c->role with c->ctx. Returns 0 or -1 with err set. */
int tls_session_start(struct conn *c, char *err, size_t errlen);
/* After a successful handshake: fill c->proto/cipher/peer_subject and check the
 * suite against the policy's list. Returns 0, or -1 with err set. */
int tls_session_established(struct conn *c, char *err, size_t errlen);
/* Why a handshake failed, as one line (verification details when relevant). */
void tls_failure_reason(struct conn *c, int gnutls_rc, char *buf, size_t len);
/* Before a TLS 1.2 renegotiation: GnuTLS cannot pack a session (for the
 * cache or a ticket) between the epochs of a handshake on an established
 * connection, so a renegotiation is a full handshake whose session is neither
 * stored nor sent as a ticket. */
void tls_prepare_renegotiation(struct conn *c);
/* A new session-ticket key for the context: tickets issued so far stop working. */
void tls_ctx_new_ticket_key(struct tls_ctx *ctx);
/* Forget what could resume this connection's session (RESET_SESSION). */
void tls_forget_resumption(struct conn *c);
/* Keep resumption data (client), then free the session. */
void tls_session_end(struct conn *c);

/* Record-boundary tracking for exact reads, exposed for unit tests:
 * how many bytes may be read now without crossing a record boundary, and
 * account for n bytes that were read. */
size_t tls_exact_limit(const struct conn *c, size_t want);
void tls_exact_consumed(struct conn *c, const uint8_t *data, size_t n);

/* The transport's read: recv on c->tcp, never past a record boundary when
 * c->exact_reads. Returns bytes read or -1 with errno. */
ssize_t tls_transport_read(struct conn *c, void *buf, size_t len);
/* Give c->ses the shim's transport (reads on c->tcp, exact when
 * c->exact_reads). tls_session_start does this; tests use it directly. */
void tls_transport_attach(struct conn *c);

/* Drop cached contexts of snapshots that are no longer current. */
void tls_ctx_trim(const struct policy *current);

#endif
