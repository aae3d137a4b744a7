/*
 * preload/engine — the engine thread: one per process, started with the first
 * covered connection, all signals blocked. It runs an edge-triggered epoll loop
 * over the real sockets and the engine ends of the socketpairs, drives each
 * connection's state machine (connect, handshake, records <-> plain bytes,
 * close_notify, teardown), keeps the handshake clocks (timerfd) and serves the
 * state-export socket. Program threads talk to it through a command queue
 * and an eventfd; blocking callers wait on the connection's condition variable.
 */
#ifndef ATTLS_PRELOAD_ENGINE_H
#define ATTLS_PRELOAD_ENGINE_H

#include <stdbool.h>

#include "preload/conn.h"

/* Hand a converted connection to the engine, which takes over the reference
 * the caller passes. app_dup: a shim descriptor of the program's end the engine
 * keeps until the handshake is over (-1 when not needed). Returns 0 or -1. */
int engine_add(struct conn *c, int app_dup);
/* The program closed its last descriptor of c in this process (asynchronous:
 * close() does not wait for the engine). */
void engine_program_closed(struct conn *c);
/* Block until c's handshake has finished; returns 0 or the errno to report. */
int engine_wait_ready(struct conn *c);
/* Run fn(arg) on the engine thread and wait for it (directly when called from
 * the engine thread, or when no engine runs in this process). */
void engine_call(void (*fn)(void *), void *arg);
/* Whether the calling thread is the engine. */
bool engine_is_self(void);
/* For each live connection, on the engine thread (used by the state export). */
void engine_each(void (*fn)(struct conn *c, void *arg), void *arg);
/* At exit(): let the engine send what the program wrote on every covered
 * connection (close_notify, then close), as the kernel would for a TCP
 * socket, waiting a bounded time. A no-op in processes without an engine. */
void engine_flush_at_exit(void);
/* fork() handlers. */
void engine_atfork_prepare(void);
void engine_atfork_parent(void);
void engine_atfork_child(void);

#endif
