/*
 * preload/convert — the moment a TCP connection becomes covered: look up its
 * rule, and when the rule says TLS, move the real socket into the shim's range
 * and put one end of a socketpair at the descriptor number the program holds,
 * before the program can register it anywhere. Also: failing closed when no
 * valid policy exists.
 */
#ifndef ATTLS_PRELOAD_CONVERT_H
#define ATTLS_PRELOAD_CONVERT_H

#include <stdbool.h>
#include <sys/socket.h>

/* Whether fd is an IPv4/IPv6 TCP socket. */
bool convert_is_inet_tcp(int fd);

struct policy;

/* Before the program's connect() on fd to addr, under policy p: -1 with
 * errno EACCES when the connection's rule says TLS but its key ring (or
 * settings) cannot be used, so nothing reaches the network; else 0. A rule
 * that depends on the local address or port an unbound socket gets only at
 * connect() is checked after it (convert_after_connect, same errno). */
int convert_before_connect(struct policy *p, int fd, const struct sockaddr *addr, socklen_t alen);

/* After the program's connect() on fd: rc/err are what the real connect
 * returned, p the policy snapshot the hook checked before connecting (the
 * reference passes to this function). Returns what the hook must return
 * (setting errno). */
int convert_after_connect(struct policy *p, int fd, const struct sockaddr *addr, socklen_t alen,
			  int rc, int err);

/* After accept() produced fd. Returns fd, or -1 with errno set (fd closed). */
int convert_after_accept(int fd);

#endif
