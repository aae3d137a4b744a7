/*
 * preload/export — the state a process with covered connections publishes for
 * `attls conns`: an abstract unix socket @attls/<pid>, answering only its own
 * user or root (SO_PEERCRED) with one kvline per connection.
 *
 * It is served on the engine thread and must never hold it: each client gets
 * a snapshot taken when it connects, sent as the socket takes it
 * (non-blocking, buffered), and is dropped at a deadline; at most
 * EXPORT_MAX_CLIENTS are served at once (others wait in the listen backlog).
 * Its descriptors sit behind one epoll descriptor, the only one the engine
 * watches.
 */
#ifndef ATTLS_PRELOAD_EXPORT_H
#define ATTLS_PRELOAD_EXPORT_H

#include <stdbool.h>

#define EXPORT_MAX_CLIENTS 8
#define EXPORT_DEADLINE_MS 5000   /* to take a whole answer */

/* Open the export (engine thread): a shim descriptor that polls readable
 * whenever export_serve has work, or -1. */
int export_open(void);
/* Accept, send, expire: whatever is ready now (engine thread). */
void export_serve(void);
/* One of the export's descriptors moved (engine thread). False when oldfd is
 * none of them. */
bool export_renumber(int oldfd, int newfd);
/* In a forked child: forget the parent's export (its descriptors are closed
 * with the other shim descriptors). */
void export_atfork_child(void);

#endif
