/*
 * preload/ttlsctl — the SIOCTTLSCTL ioctl (include/ezbztlsc.h): checks a
 * request as z/OS does (spec 1.3-1.8), runs it on the connection's engine,
 * waits for it when the socket is blocking, and fills the query fields, the
 * version 1 certificate buffer or the version 2 TTLSHeader buffer. Also the
 * thread's reason code, __errno2().
 */
#ifndef ATTLS_PRELOAD_TTLSCTL_H
#define ATTLS_PRELOAD_TTLSCTL_H

#include <stdbool.h>

/* right_size: the command's encoded argument size is sizeof(struct TTLS_IOCTL). */
int ttlsctl_ioctl(int fd, void *arg, bool right_size);

#endif
