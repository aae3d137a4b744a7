/*
 * examples/util — what the example programs share and is not about AT-TLS:
 * sockets, exact line reads, formatted replies; plus the names of the
 * ioctl's output values and reason codes, for printing.
 *
 * The SIOCTTLSCTL calls themselves stay in each example, written out as a
 * z/OS program writes them (memset, TTLSi_Ver, TTLSi_Req_Type, ioctl).
 */
#ifndef ATTLS_EXAMPLES_UTIL_H
#define ATTLS_EXAMPLES_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ezbztlsc.h"

/* A listening TCP socket on addr:port (port 0: any free port). -1 on error
 * (message on stderr). */
int tcp_listen(const char *addr, int port);
/* The local port of a socket, or -1. */
int local_port(int fd);
/* The local address of a socket as text (buf of at least 64 bytes). */
const char *local_addr(int fd, char *buf, size_t len);
/* A connected TCP socket to host:port (getaddrinfo, every address in turn),
 * or -1 (message on stderr). */
int tcp_connect(const char *host, const char *port);

/* Read one line, never a byte past its '\n' (bytes that follow stay in the
 * socket: when the program starts TLS they are the start of the TLS stream).
 * line gets the text without its end (LF or CRLF). Returns the number of
 * bytes taken from the socket (line end included), 0 at end of file before
 * any byte, -1 on error (EMSGSIZE: the line does not fit). */
ssize_t read_line(int fd, char *line, size_t size);
/* Write all of buf. 0 or -1. */
int write_all(int fd, const void *buf, size_t len);
/* Write a formatted line followed by CRLF. 0 or -1. */
int reply(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* stdout line-buffered, SIGPIPE ignored: what every example does first. */
void example_init(void);
/* Listen on addr:port, say so on stdout ("listening on ADDR:PORT"), then
 * run fn(fd) for every connection on its own detached thread, which closes
 * fd. Returns 1 only if it cannot listen. */
int serve_forever(const char *addr, int port, void (*fn)(int fd));

/* The reason code of the last failed SIOCTTLSCTL (__errno2), 0 without the
 * shim. */
unsigned ttls_reason(void);
/* Print "what: ERRNO (message), reason JrName" on stderr, for a failed
 * SIOCTTLSCTL; errno is kept. */
void ttls_perror(const char *what);

/* Names of the values in a TTLS_IOCTL answer, and of reason codes. */
const char *ttls_policy_name(unsigned v);     /* TTLS_POL_*: "application-controlled" */
const char *ttls_conn_name(unsigned v);       /* TTLS_CONN_*: "secure" */
const char *ttls_sec_type_name(unsigned v);   /* TTLS_SEC_*: "server" */
const char *ttls_protocol_name(unsigned v);   /* TTLS_PROT_*: "TLSv1.3" */
const char *ttls_reason_name(unsigned jr);    /* Jr*: "JrConnDeniedPolicy" */
/* The negotiated cipher as 4 hex digits (from TTLSi_Neg_Cipher4 when
 * TTLSi_Neg_Cipher says "4X"); buf of at least 5 bytes. */
const char *ttls_cipher(const struct TTLS_IOCTL *ioc, char *buf, size_t len);
/* One line describing an answer: "secure, server, TLSv1.3, cipher 1302" or
 * "not secure". */
const char *ttls_describe(const struct TTLS_IOCTL *ioc, char *buf, size_t len);

#endif
