/*
 * preload/engine_internal — what the engine's files share (engine.c: the loop
 * and the connection's life; secure.c: TLS states; clear.c: clear text and
 * the choice between them). Only the engine thread calls any of it.
 */
#ifndef ATTLS_PRELOAD_ENGINE_INTERNAL_H
#define ATTLS_PRELOAD_ENGINE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "preload/conn.h"

#define SCRATCH 65536
#define BATCH 16              /* reads per direction before letting others run */
#define PAIR_BUF (1 << 20)    /* send buffer of each socketpair end */
#define LINGER_S 2            /* how long a connection whose program is gone waits
			         for the peer to close */

extern uint8_t eng_scratch[SCRATCH];

/* engine.c */
bool eng_exiting(void);
void eng_again(struct conn *c);                     /* step again without an edge */
void eng_set_deadline(struct conn *c, unsigned seconds);
void eng_mark_ready(struct conn *c, int err);       /* initial connect/handshake result */
void eng_op_start(struct conn *c);                  /* a SIOCTTLSCTL operation begins */
void eng_op_done(struct conn *c, int err);          /* a SIOCTTLSCTL operation finished */
void eng_teardown(struct conn *c);
void eng_fail(struct conn *c, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The same, logged at the given Trace bit and priority: for ends the program
 * learns of itself (a refused connect) or that are no fault at all. */
void eng_end(struct conn *c, int err, unsigned bit, int prio, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void eng_step(struct conn *c);
/* Plain bytes for the program: write now, keep the rest. Returns false when
 * the program's end is full. */
bool eng_flush_to_app(struct conn *c, bool *progress);
bool eng_send_to_app(struct conn *c, const uint8_t *p, size_t n);
/* Discard what the hook left at the head of the pair (see convert.c). */
int  eng_drain_filler(struct conn *c);
/* Keep the program's end from polling writable until eng_drain_filler: a
 * non-blocking operation's "wait for writable" (app_dup: a shim copy of the
 * program's end, which the engine then owns). */
int  eng_hold_unwritable(struct conn *c, int app_dup);

/* secure.c */
void secure_start(struct conn *c);                  /* begin the handshake */
void secure_step_handshake(struct conn *c);
void secure_step(struct conn *c);
void secure_step_stopping(struct conn *c);
/* SIOCTTLSCTL STOP: flush, check, send close_notify. Returns errno (0: started). */
int  secure_begin_stop(struct conn *c, unsigned *jr);
int  secure_reset_cipher(struct conn *c, bool write_only, unsigned *jr);
int  secure_send_ticket(struct conn *c, unsigned *jr);
void secure_reset_session(struct conn *c);

/* clear.c */
void clear_step_connecting(struct conn *c);
void clear_enter(struct conn *c, const char *why);  /* clear text from now on */
void clear_step(struct conn *c);
void clear_step_sniff(struct conn *c);
void clear_sniff_timeout(struct conn *c);
/* SIOCTTLSCTL INIT from clear text: pushback = bytes the program had not read. */
int  clear_begin_tls(struct conn *c, const uint8_t *pushback, size_t n, bool allow_hstimeout);

#endif
