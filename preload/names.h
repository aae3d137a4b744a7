/*
 * preload/names — the process's memory of name resolution: which host name
 * getaddrinfo() or gethostbyname*() returned each address for, so a client
 * connection to that address can send SNI and check the server's name.
 */
#ifndef ATTLS_PRELOAD_NAMES_H
#define ATTLS_PRELOAD_NAMES_H

#include <netdb.h>
#include <stddef.h>
#include <sys/socket.h>

void names_remember_ai(const char *name, const struct addrinfo *ai);
void names_remember_hostent(const char *name, const struct hostent *he);
/* The most recent name resolved to this address, or false. */
int names_lookup(const struct sockaddr *sa, char *name, size_t len);

#endif
