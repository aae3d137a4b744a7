/*
 * iked/service — what iked tells the service manager, and asks of it.
 *
 * systemd's notification protocol (sd_notify(3)) spoken directly: one
 * datagram of newline-separated VAR=VALUE lines to the AF_UNIX socket that
 * $NOTIFY_SOCKET names (a path, or @ for the abstract namespace), sent
 * without blocking. No libsystemd: the protocol is this one datagram, and
 * iked stays free of a library it would need for nothing else.
 */
#ifndef ATTLS_IKED_SERVICE_H
#define ATTLS_IKED_SERVICE_H

#include <stdbool.h>

/* Send a state such as "READY=1" (printf format). 0 when sent, or when no
 * service manager listens ($NOTIFY_SOCKET unset); -1 with errno when it
 * could not be sent. */
int service_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "RELOADING=1" with the MONOTONIC_USEC= the protocol asks to go with it. */
int service_notify_reloading(void);

/* Whether stderr is the systemd journal ($JOURNAL_STREAM names its device
 * and inode): then a line logged to syslog and to stderr would be in the
 * journal twice. */
bool service_stderr_is_journal(void);

#endif
