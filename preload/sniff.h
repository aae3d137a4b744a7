/*
 * preload/sniff — tells from the first bytes of a connection whether the peer
 * is starting TLS (a handshake record holding a ClientHello), and reads the
 * server name it asks for. Every length is checked against the buffer.
 */
#ifndef ATTLS_PRELOAD_SNIFF_H
#define ATTLS_PRELOAD_SNIFF_H

#include <stddef.h>
#include <stdint.h>

enum sniff_result {
	SNIFF_MORE = -1,     /* too few bytes to tell */
	SNIFF_NOT_TLS = 0,   /* clear text (or garbage) */
	SNIFF_TLS = 1,       /* a TLS ClientHello begins here */
};

/* sni receives the server_name extension's host name when the whole
 * ClientHello is in buf ("" otherwise). */
enum sniff_result sniff_client_hello(const uint8_t *buf, size_t len, char *sni, size_t snilen);

#endif
