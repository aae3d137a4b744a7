/*
 * query_client — a TCP client that asks AT-TLS about its connection: the rule
 * and actions that cover it, the negotiated protocol and cipher, the server's
 * certificate, and whether the server's certificate carries a host name
 * (TTLSK_Host_Status). Under a rule with ApplicationControlled On it starts
 * TLS itself (TTLS_INIT_CONNECTION, client role); under one with
 * ApplicationControlled Off AT-TLS did the handshake during connect().
 *
 *   attls run -p policy/examples/query-client.conf -- \
 *       build/examples/query_client -n localhost -n www.example.com localhost 8025
 *
 * Options:
 *   -n NAME   check NAME against the server's certificate (repeatable)
 *   -c FILE   write the server's certificate (DER) to FILE
 *   -r ROOM   room for the certificate in the first version 2 query (default
 *             4096); a smaller room shows the ENOBUFS retry with the sizes
 *             AT-TLS says it needs (TTLSHdr_BytesNeeded, TTLSQ_Length)
 *   -1        fetch the certificate with version 1 TTLS_RETURN_CERTIFICATE too,
 *             first into a 16-byte buffer (ENOBUFS, TTLSi_Cert_Len), then again
 *   -s LINE   after the report, send LINE and CRLF (repeatable), then print
 *             what the server sends until it closes
 * stdout: one "key: value" line per fact. Exit status 0, or 1 on failure.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ezbztlsc.h>

#include "util.h"

#define MAX_NAMES 8
#define MAX_LINES 8
#define MAX_ENTRIES (5 + MAX_NAMES)
#define REPLY_WAIT_MS 10000

/* One Get entry of a version 2 query: its key, the room for the answer,
 * the data it carries in (a host name), and what came back. */
struct entry {
	const char *label;
	uint32_t key;
	uint32_t room;
	const char *in;
	uint32_t rcode, length;
	char *data;             /* the answer, a copy (length bytes) */
};

struct options {
	const char *host, *port, *cert_file;
	const char *names[MAX_NAMES], *lines[MAX_LINES];
	int nnames, nlines;
	uint32_t cert_room;
	bool v1_cert;
};

/* ---- version 1 --------------------------------------------------------------- */

static int query(int fd, struct TTLS_IOCTL *ioc)
{
	memset(ioc, 0, sizeof *ioc);
	ioc->TTLSi_Ver = TTLS_VERSION1;
	ioc->TTLSi_Req_Type = TTLS_QUERY_ONLY;
	if (ioctl(fd, SIOCTTLSCTL, ioc) == 0)
		return 0;
	ttls_perror("SIOCTTLSCTL TTLS_QUERY_ONLY");
	return -1;
}

static void print_state(const struct TTLS_IOCTL *ioc)
{
	char cipher[8];
	printf("policy: %s\n", ttls_policy_name(ioc->TTLSi_Stat_Policy));
	printf("connection: %s\n", ttls_conn_name(ioc->TTLSi_Stat_Conn));
	if (ioc->TTLSi_Stat_Conn != TTLS_CONN_SECURE)
		return;
	printf("role: %s\n", ttls_sec_type_name(ioc->TTLSi_Sec_Type));
	printf("protocol: %s\n", ttls_protocol_name(TTLS_SSL_PROT(ioc)));
	printf("cipher: %s\n", ttls_cipher(ioc, cipher, sizeof cipher));
	if (TTLS_SSL_PROT(ioc) == TTLS_PROT_TLSV1_3)
		printf("key share: %.4s\n", ioc->TTLSi_Neg_KeyShare);
}

/* TTLS_INIT_CONNECTION, blocking: the handshake as a client. */
static int start_tls(int fd)
{
	struct TTLS_IOCTL ioc;
	memset(&ioc, 0, sizeof ioc);
	ioc.TTLSi_Ver = TTLS_VERSION1;
	ioc.TTLSi_Req_Type = TTLS_INIT_CONNECTION;
	if (ioctl(fd, SIOCTTLSCTL, &ioc) < 0) {
		ttls_perror("SIOCTTLSCTL TTLS_INIT_CONNECTION");
		return -1;
	}
	printf("init: TLS started\n");
	return 0;
}

/* TTLS_RETURN_CERTIFICATE: into a buffer that is too small first, then into
 * one of the size AT-TLS asked for. Returns the DER (malloc) or NULL. */
static char *v1_certificate(int fd, uint32_t *len)
{
	struct TTLS_IOCTL ioc;
	uint32_t size = 16;
	char *buf = NULL;
	for (int tries = 0; tries < 3; tries++) {
		char *nbuf = realloc(buf, size);
		if (!nbuf)
			break;
		buf = nbuf;
		memset(&ioc, 0, sizeof ioc);
		ioc.TTLSi_Ver = TTLS_VERSION1;
		ioc.TTLSi_Req_Type = TTLS_RETURN_CERTIFICATE;
		ioc.TTLSi_BufferPtr = buf;
		ioc.TTLSi_BufferLen = size;
		if (ioctl(fd, SIOCTTLSCTL, &ioc) == 0) {
			*len = ioc.TTLSi_Cert_Len;
			return buf;
		}
		if (errno != ENOBUFS) {
			ttls_perror("SIOCTTLSCTL TTLS_RETURN_CERTIFICATE");
			break;
		}
		printf("v1 enobufs: buffer %u bytes, needed %u (TTLSi_Cert_Len, %s)\n", size,
		       ioc.TTLSi_Cert_Len, ttls_reason_name(ttls_reason()));
		size = ioc.TTLSi_Cert_Len;
	}
	free(buf);
	return NULL;
}

/* ---- version 2 --------------------------------------------------------------- */

static size_t layout_size(const struct entry *e, size_t n)
{
	size_t total = sizeof(struct TTLSHeader) + n * sizeof(struct TTLSQuadruplet);
	for (size_t i = 0; i < n; i++)
		total += e[i].room;
	return total;
}

/* Header, the Get quadruplets, then their data areas (input data copied in). */
static char *build_query(const struct entry *e, size_t n, size_t *len)
{
	*len = layout_size(e, n);
	char *buf = calloc(1, *len);
	if (!buf)
		return NULL;
	struct TTLSHeader *h = (struct TTLSHeader *)buf;
	struct TTLSQuadruplet *q = (struct TTLSQuadruplet *)(buf + sizeof *h);
	size_t off = sizeof *h + n * sizeof *q;
	memcpy(h->TTLSHdr_Ident, TTLSHDR_IDENT, sizeof h->TTLSHdr_Ident);
	h->TTLSHdr_GetCount = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		q[i].TTLSQ_Key = e[i].key;
		q[i].TTLSQ_Offset = (uint32_t)off;
		q[i].TTLSQ_Length = e[i].room;
		if (e[i].in)
			memcpy(buf + off, e[i].in, e[i].room);
		off += e[i].room;
	}
	return buf;
}

/* Copy the answers out of the buffer. */
static int take_answers(struct entry *e, size_t n, const char *buf)
{
	const struct TTLSQuadruplet *q =
		(const struct TTLSQuadruplet *)(buf + sizeof(struct TTLSHeader));
	for (size_t i = 0; i < n; i++) {
		e[i].rcode = q[i].TTLSQ_Rcode;
		e[i].length = q[i].TTLSQ_Length;
		if (e[i].rcode != TTLSQ_RC_OK || e[i].in)
			continue;
		if (e[i].length > e[i].room || !(e[i].data = malloc(e[i].length + 1)))
			return -1;
		memcpy(e[i].data, buf + q[i].TTLSQ_Offset, e[i].length);
		e[i].data[e[i].length] = '\0';
	}
	return 0;
}

/* A version 2 TTLS_QUERY_ONLY. On ENOBUFS every answer gets the room AT-TLS
 * says it needs (TTLSQ_Length), which adds up to TTLSHdr_BytesNeeded, and the
 * query is made again. */
static int query_v2(int fd, struct entry *e, size_t n)
{
	for (int tries = 0; tries < 3; tries++) {
		size_t len;
		char *buf = build_query(e, n, &len);
		struct TTLS_IOCTL ioc;
		if (!buf)
			return -1;
		memset(&ioc, 0, sizeof ioc);
		ioc.TTLSi_Ver = TTLS_VERSION2;
		ioc.TTLSi_Req_Type = TTLS_QUERY_ONLY;
		ioc.TTLSi_BufferPtr = buf;
		ioc.TTLSi_BufferLen = (uint32_t)len;
		int rc = ioctl(fd, SIOCTTLSCTL, &ioc);
		if (rc == 0 || errno != ENOBUFS) {
			if (rc < 0)
				ttls_perror("SIOCTTLSCTL TTLS_QUERY_ONLY version 2");
			rc = rc == 0 ? take_answers(e, n, buf) : -1;
			free(buf);
			return rc;
		}
		const struct TTLSHeader *h = (const struct TTLSHeader *)buf;
		const struct TTLSQuadruplet *q = (const struct TTLSQuadruplet *)(h + 1);
		for (size_t i = 0; i < n; i++)
			if (!e[i].in && (q[i].TTLSQ_Rcode == TTLSQ_RC_BUFFER_TOO_SMALL ||
					 q[i].TTLSQ_Rcode == TTLSQ_RC_OK))
				e[i].room = q[i].TTLSQ_Length;
		printf("enobufs: buffer %zu bytes, needed %u (TTLSHdr_BytesNeeded, %s), "
		       "retrying with %zu\n", len, h->TTLSHdr_BytesNeeded,
		       ttls_reason_name(ttls_reason()), layout_size(e, n));
		free(buf);
	}
	return -1;
}

static void print_answer(const struct entry *e)
{
	if (e->key == TTLSK_Host_Status) {
		const char *verdict = e->rcode == TTLSQ_RC_OK ? "match" :
				      e->rcode == TTLSQ_RC_HOST_MISMATCH ? "mismatch" : NULL;
		if (verdict)
			printf("host %s: %s\n", e->in, verdict);
		else
			printf("host %s: rcode %u\n", e->in, e->rcode);
	} else if (e->rcode != TTLSQ_RC_OK) {
		printf("%s: (none: rcode %u)\n", e->label, e->rcode);
	} else if (e->key == TTLSK_Certificate) {
		printf("%s: %u bytes\n", e->label, e->length);
	} else {
		printf("%s: %.*s\n", e->label, (int)strnlen(e->data, e->length), e->data);
	}
}

static size_t make_entries(const struct options *o, struct entry *e)
{
	static const struct { const char *label; uint32_t key; } names[] = {
		{ "rule", TTLSK_TTLSRuleName },
		{ "group action", TTLSK_TTLSGroupActionName },
		{ "environment action", TTLSK_TTLSEnvironmentActionName },
		{ "connection action", TTLSK_TTLSConnectionActionName },
	};
	size_t n = 0;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		e[n++] = (struct entry){ .label = names[i].label, .key = names[i].key,
					 .room = TTLS_NAME_MAX };
	e[n++] = (struct entry){ .label = "certificate", .key = TTLSK_Certificate,
				 .room = o->cert_room };
	for (int i = 0; i < o->nnames; i++)
		e[n++] = (struct entry){ .label = "host", .key = TTLSK_Host_Status,
					 .room = (uint32_t)strlen(o->names[i]), .in = o->names[i] };
	return n;
}

/* ---- the program ------------------------------------------------------------- */

static int write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	int rc = f && fwrite(data, 1, len, f) == len ? 0 : -1;
	if (f && fclose(f) != 0)
		rc = -1;
	if (rc < 0)
		perror(path);
	return rc;
}

/* The version 2 report, and the version 1 certificate when asked. */
static int report(int fd, const struct options *o)
{
	struct entry e[MAX_ENTRIES];
	size_t n = make_entries(o, e);
	const struct entry *cert = e;
	while (cert->key != TTLSK_Certificate)
		cert++;
	int rc = query_v2(fd, e, n);
	for (size_t i = 0; rc == 0 && i < n; i++)
		print_answer(&e[i]);
	if (rc == 0 && o->cert_file && cert->data)
		rc = write_file(o->cert_file, cert->data, cert->length);
	if (rc == 0 && o->v1_cert) {
		uint32_t len = 0;
		char *der = v1_certificate(fd, &len);
		if (der)
			printf("v1 certificate: %u bytes, %s version 2's\n", len,
			       cert->data && len == cert->length && !memcmp(der, cert->data, len)
			       ? "same as" : "differs from");
		rc = der ? 0 : -1;
		free(der);
	}
	for (size_t i = 0; i < n; i++)
		free(e[i].data);
	return rc;
}

/* Send the -s lines, print what comes back until the server closes. */
static int converse(int fd, const struct options *o)
{
	char line[4096];
	if (o->nlines == 0)
		return 0;
	for (int i = 0; i < o->nlines; i++)
		if (reply(fd, "%s", o->lines[i]) < 0)
			return -1;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, REPLY_WAIT_MS) != 1) {
			fprintf(stderr, "no reply within %d ms\n", REPLY_WAIT_MS);
			return -1;
		}
		ssize_t n = read_line(fd, line, sizeof line);
		if (n <= 0)
			return n == 0 ? 0 : -1;
		printf("reply: %s\n", line);
	}
}

static int parse(int argc, char **argv, struct options *o)
{
	int opt;
	o->cert_room = 4096;
	while ((opt = getopt(argc, argv, "n:c:r:1s:")) != -1) {
		if (opt == 'n' && o->nnames < MAX_NAMES)
			o->names[o->nnames++] = optarg;
		else if (opt == 's' && o->nlines < MAX_LINES)
			o->lines[o->nlines++] = optarg;
		else if (opt == 'c')
			o->cert_file = optarg;
		else if (opt == 'r')
			o->cert_room = (uint32_t)strtoul(optarg, NULL, 10);
		else if (opt == '1')
			o->v1_cert = true;
		else
			return -1;
	}
	if (argc - optind != 2)
		return -1;
	o->host = argv[optind];
	o->port = argv[optind + 1];
	return 0;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	struct TTLS_IOCTL ioc;
	if (parse(argc, argv, &o) < 0) {
		fprintf(stderr, "usage: %s [-n NAME]... [-c FILE] [-r ROOM] [-1] [-s LINE]... "
			"HOST PORT\n", argv[0]);
		return 2;
	}
	example_init();
	int fd = tcp_connect(o.host, o.port);
	if (fd < 0)
		return 1;
	printf("connected: %s port %s\n", o.host, o.port);
	if (query(fd, &ioc) < 0)
		return 1;
	if (ioc.TTLSi_Stat_Policy == TTLS_POL_APPLCNTRL &&
	    ioc.TTLSi_Stat_Conn == TTLS_CONN_NOTSECURE) {
		print_state(&ioc);
		if (start_tls(fd) < 0 || query(fd, &ioc) < 0)
			return 1;
	}
	print_state(&ioc);
	if (report(fd, &o) < 0 || converse(fd, &o) < 0)
		return 1;
	close(fd);
	return 0;
}
