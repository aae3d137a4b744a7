/*
 * mixed_server — one port for TLS clients and clear-text clients, as a z/OS
 * server does with TTLS_INIT_CONNECTION | TTLS_ALLOW_HSTIMEOUT.
 *
 *   attls run -p policy/examples/mixed-port.conf -- build/examples/mixed_server
 *   curl http://127.0.0.1:8025/
 *   curl --cacert policy/examples/certs/ca.pem https://localhost:8025/
 *
 * On each accepted connection the program asks AT-TLS to start TLS at once,
 * allowing the handshake to time out. A client whose first bytes are a TLS
 * ClientHello gets TLS. A client that sends anything else, or nothing for
 * the rule's HandshakeTimeout, is left in clear text, and the bytes it sent
 * are the program's to read. The answer to the ioctl says which happened.
 *
 * The server answers HTTP: one request per connection, and the response body
 * says whether the connection is secure (from TTLS_QUERY_ONLY). A client that
 * says nothing gets a greeting first, as in protocols where the server speaks
 * first, and may then send its request.
 *
 * Options: -a ADDR (default 127.0.0.1), -p PORT (default 8025).
 * stdout: "listening on ADDR:PORT", then one line per connection and request.
 */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ezbztlsc.h>

#include "util.h"

#define REQUEST_WAIT_MS 30000

static atomic_uint next_id = 1;

/* TTLS_INIT_CONNECTION | TTLS_ALLOW_HSTIMEOUT on a blocking socket: returns 1
 * with TLS up, or with the connection in clear text when the client did not
 * start a handshake (the answer in ioc says which); 0 when the program does
 * not control TLS here (ENOTTY: no attls; EOPNOTSUPP: no rule, clear text;
 * EACCES: a rule with ApplicationControlled Off, AT-TLS did the handshake),
 * so the server carries on; -1 when a handshake began and failed (AT-TLS
 * reset the connection). */
static int start_tls_or_clear(int fd, struct TTLS_IOCTL *ioc)
{
	memset(ioc, 0, sizeof *ioc);
	ioc->TTLSi_Ver = TTLS_VERSION1;
	ioc->TTLSi_Req_Type = TTLS_INIT_CONNECTION | TTLS_ALLOW_HSTIMEOUT;
	if (ioctl(fd, SIOCTTLSCTL, ioc) == 0)
		return 1;
	ttls_perror("SIOCTTLSCTL TTLS_INIT_CONNECTION|TTLS_ALLOW_HSTIMEOUT");
	return errno == ENOTTY || errno == EOPNOTSUPP || errno == EACCES ? 0 : -1;
}

static bool readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, timeout_ms) == 1;
}

/* The request line of an HTTP request; the header lines are read and
 * dropped. -1 when the client went away first. */
static int read_request(int fd, char *request, size_t len)
{
	char line[2048];
	if (!readable(fd, REQUEST_WAIT_MS) || read_line(fd, request, len) <= 0)
		return -1;
	do {
		if (read_line(fd, line, sizeof line) <= 0)
			return -1;
	} while (line[0] != '\0');
	return 0;
}

/* The answer: what TTLS_QUERY_ONLY says about this connection. */
static void respond(int fd, unsigned id, const char *request)
{
	struct TTLS_IOCTL ioc;
	char body[5120], cipher[8];
	int n;
	memset(&ioc, 0, sizeof ioc);
	ioc.TTLSi_Ver = TTLS_VERSION1;
	ioc.TTLSi_Req_Type = TTLS_QUERY_ONLY;
	if (ioctl(fd, SIOCTTLSCTL, &ioc) < 0)
		n = snprintf(body, sizeof body, "secure: unknown (%s)\n", strerror(errno));
	else if (ioc.TTLSi_Stat_Conn == TTLS_CONN_SECURE)
		n = snprintf(body, sizeof body, "secure: yes\nprotocol: %s\ncipher: %s\n",
			     ttls_protocol_name(TTLS_SSL_PROT(&ioc)),
			     ttls_cipher(&ioc, cipher, sizeof cipher));
	else
		n = snprintf(body, sizeof body, "secure: no\n");
	n += snprintf(body + n, sizeof body - (size_t)n, "request: %s\n", request);
	printf("conn %u: %s -> %.*s\n", id, request, (int)strcspn(body, "\n"), body);
	reply(fd, "HTTP/1.0 200 OK");
	reply(fd, "Content-Type: text/plain");
	reply(fd, "Content-Length: %d", n);
	reply(fd, "Connection: close");
	reply(fd, "%s", "");
	write_all(fd, body, (size_t)n);
}

static void connection(int fd)
{
	unsigned id = atomic_fetch_add(&next_id, 1);
	struct TTLS_IOCTL ioc;
	char desc[128], request[4096];
	printf("conn %u: accepted\n", id);
	int rc = start_tls_or_clear(fd, &ioc);
	if (rc < 0)
		return;
	if (rc > 0) {
		printf("conn %u: %s\n", id, ttls_describe(&ioc, desc, sizeof desc));
		/* Clear text and nothing to read: the client waited for us. */
		if (ioc.TTLSi_Stat_Conn != TTLS_CONN_SECURE && !readable(fd, 0)) {
			printf("conn %u: silent client, greeting\n", id);
			reply(fd, "220 mixed_server ready, clear text; send an HTTP request");
		}
	}
	if (read_request(fd, request, sizeof request) == 0)
		respond(fd, id, request);
	shutdown(fd, SHUT_WR);
	printf("conn %u: closed\n", id);
}

int main(int argc, char **argv)
{
	const char *addr = "127.0.0.1";
	int port = 8025, opt;
	while ((opt = getopt(argc, argv, "a:p:")) != -1) {
		switch (opt) {
		case 'a': addr = optarg; break;
		case 'p': port = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: %s [-a ADDR] [-p PORT]\n", argv[0]);
			return 2;
		}
	}
	example_init();
	return serve_forever(addr, port, connection);
}
