/*
 * preload/conn — one covered TCP connection: the real socket and the engine's
 * end of the socketpair whose other end the program holds, the policy rule it
 * was mapped to, its TLS session and its state.
 *
 * Ownership: the engine thread owns everything under "engine only" once the
 * connection is registered; program threads touch only the fields under mu
 * (results for blocking waiters) and the immutable fields set before
 * registration. References: one for the engine while it serves the
 * connection, one per program descriptor in the fd table.
 */
#ifndef ATTLS_PRELOAD_CONN_H
#define ATTLS_PRELOAD_CONN_H

#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

struct policy;
struct attls_rule;
struct attls_settings;
struct tls_ctx;

enum conn_state {
	CS_CONNECTING,    /* outbound TCP connect still in progress */
	CS_CLEAR,         /* application-controlled: clear text passes through */
	CS_SNIFF,         /* INIT with ALLOW_HSTIMEOUT: waiting for the peer's first bytes */
	CS_HANDSHAKE,     /* TLS handshake in progress */
	CS_SECURE,        /* TLS records <-> plain bytes */
	CS_STOPPING,      /* close_notify exchange back to clear text */
	CS_DEAD,          /* finished: sockets closed */
};

const char *conn_state_name(enum conn_state st);

struct conn {
	atomic_uint refs;
	uint64_t id;

	/* Set before the engine sees the connection, then read-only. */
	int dir;                          /* DIR_INBOUND or DIR_OUTBOUND */
	struct sockaddr_storage local, remote;
	socklen_t llen, rlen;
	struct policy *pol;               /* reference held for the connection's life */
	const struct attls_rule *rule;
	const struct attls_settings *s;
	int role;                         /* effective HandshakeRole */
	bool app_controlled;              /* the program starts and stops TLS (SIOCTTLSCTL) */
	char host[256];                   /* server name for SNI and the name check; "" = none */
	ino_t app_ino;                    /* inode of the program's end (stale-entry check) */
	pid_t owner;                      /* process whose engine serves it */

	/* Engine only. */
	int tcp;                          /* the real socket (shim descriptor) */
	int eng;                          /* engine end of the pair (shim descriptor) */
	int app_dup;                      /* the program's end, held only while connecting */
	size_t app_sndbuf;                /* send buffer to give the program's end after that */
	enum conn_state st;
	struct tls_ctx *ctx;
	gnutls_session_t ses;
	size_t filler;                    /* bytes at the head of eng's queue to discard */
	uint8_t *to_app;                  /* plaintext not yet taken by the program */
	size_t to_app_len, to_app_off;
	uint8_t *to_net;                  /* clear text not yet taken by the socket */
	size_t to_net_len, to_net_off;
	uint8_t *inject;                  /* peer bytes that go into TLS before the socket's */
	size_t inject_len, inject_off;
	bool tls_ever;                    /* the program asked for TLS at least once */
	bool tls_pending, tls_pending_sniff;  /* INIT waits for clear output to drain */
	bool peer_stopped;                /* application-controlled: the peer sent close_notify */
	bool frozen;                      /* clear: nothing more for the program (INIT coming) */
	bool no_resume_store;             /* RESET_SESSION: do not keep this session */
	bool net_blocked;                 /* TLS output waits for the socket to drain */
	uint8_t *rbuf;                    /* read-ahead from the socket (not with exact reads) */
	size_t rbuf_len, rbuf_off;
	bool uncork_pending;              /* corked records wait for the socket */
	bool rd_eagain, wr_eagain;        /* the transport's reads / writes met EAGAIN
					     (cleared by the engine before a GnuTLS call) */
	bool app_eof;                     /* the program shut its sending side */
	bool app_gone;                    /* every program descriptor is closed */
	bool app_rd_closed;               /* the program shut its receiving side */
	bool net_eof;                     /* the peer finished sending */
	bool bye_pending;                 /* close_notify waits in GnuTLS for the socket */
	bool bye_sent;
	bool lingering;                   /* program gone, close_notify sent: waiting for the
					     peer to close before closing the socket */
	bool rehandshake;                 /* a renegotiation is under way */
	bool exact_reads;                 /* never read past a TLS record (stop-to-clear) */
	uint8_t rec_hdr[5];               /* record boundary tracking for exact reads */
	size_t rec_hdr_have, rec_body_left;
	int64_t deadline_ms;              /* handshake deadline (monotonic), 0 = none */
	struct conn *next, *prev;         /* engine's list */
	bool queued_again;                /* on the engine's list of work to resume */
	struct conn *again_next;
	unsigned ev_registered;
	char proto[16], cipher[64], peer_subject[256];
	uint16_t cipher_code;
	uint16_t keyshare;

	/* Under mu: what blocking callers wait for. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool ready;                       /* the handshake finished, one way or the other */
	bool failed;                      /* ... and it failed (err may be taken since) */
	int err;                          /* 0, or the errno a failed connection reports
					     (SO_ERROR takes it, as on a TCP socket) */
	bool connect_told;                /* connect() has given the program the outcome */
	uint64_t op_seq, op_done;         /* SIOCTTLSCTL operations started / finished */
	int op_err;                       /* the last finished operation's errno */
	bool foreign;                     /* inherited across fork: the parent's engine serves it */

	atomic_uint_fast64_t bytes_in, bytes_out;   /* plaintext, each way */
};

struct conn *conn_new(void);
void conn_ref(struct conn *c);
void conn_unref(struct conn *c);
/* The shim descriptor oldfd was moved to newfd: update whichever object holds
 * it. Returns false when no shim object owned oldfd. */
bool conn_renumber(int oldfd, int newfd);

/* Per-connection log line, emitted when the rule's Trace bits include bit. */
void conn_log(const struct conn *c, unsigned bit, int prio, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
