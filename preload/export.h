/*
 * preload/export — the state a process with covered connections publishes for
 * `attls conns`: an abstract unix socket @attls/<pid> served by the engine
 * thread, answering only its own user or root (SO_PEERCRED). The answer is a
 * small line protocol (see export_format.h), one line per connection.
 */
#ifndef ATTLS_PRELOAD_EXPORT_H
#define ATTLS_PRELOAD_EXPORT_H

/* Open the listening socket (a shim descriptor), or -1. */
int export_open(void);
/* Answer every pending client (engine thread). */
void export_serve(int lfd);

#endif
