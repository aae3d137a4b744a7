/*
 * examples/util — sockets, exact line reads and names for printing; see util.h.
 */
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int tcp_listen(const char *addr, int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
		fprintf(stderr, "not an IPv4 address: %s\n", addr);
		return -1;
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("socket");
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(fd, 64) < 0) {
		fprintf(stderr, "listen on %s:%d: %s\n", addr, port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}

const char *local_addr(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	snprintf(buf, len, "?");
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		getnameinfo((struct sockaddr *)&ss, sl, buf, (socklen_t)len, NULL, 0, NI_NUMERICHOST);
	return buf;
}

int tcp_connect(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		fprintf(stderr, "%s: %s\n", host, gai_strerror(rc));
		return -1;
	}
	int fd = -1, err = 0;
	for (ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			err = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0)
		fprintf(stderr, "connect to %s port %s: %s\n", host, port, strerror(err));
	return fd;
}

/* Peek at what has arrived and take it up to and including the first '\n';
 * when there is none yet, everything seen belongs to this line: take it all
 * and look again. */
ssize_t read_line(int fd, char *line, size_t size)
{
	size_t have = 0;
	while (have + 1 < size) {
		ssize_t n = recv(fd, line + have, size - 1 - have, MSG_PEEK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			line[have] = '\0';
			return have == 0 ? 0 : -1;
		}
		char *nl = memchr(line + have, '\n', (size_t)n);
		size_t take = nl ? (size_t)(nl - (line + have)) + 1 : (size_t)n;
		if (recv(fd, line + have, take, 0) != (ssize_t)take)
			return -1;
		have += take;
		if (nl) {
			size_t end = have - 1;
			if (end > 0 && line[end - 1] == '\r')
				end--;
			line[end] = '\0';
			return (ssize_t)have;
		}
	}
	errno = EMSGSIZE;
	return -1;
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int reply(int fd, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n > sizeof buf - 3)
		n = (int)sizeof buf - 3;
	buf[n++] = '\r';
	buf[n++] = '\n';
	return write_all(fd, buf, (size_t)n);
}

void example_init(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
}

struct job {
	void (*fn)(int fd);
	int fd;
};

static void *job_main(void *arg)
{
	struct job j = *(struct job *)arg;
	free(arg);
	j.fn(j.fd);
	close(j.fd);
	return NULL;
}

static int serve_on_thread(void (*fn)(int fd), int fd)
{
	struct job *j = malloc(sizeof *j);
	pthread_t t;
	pthread_attr_t attr;
	if (!j)
		return -1;
	j->fn = fn;
	j->fd = fd;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&t, &attr, job_main, j);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		free(j);
		errno = rc;
		return -1;
	}
	return 0;
}

int serve_forever(const char *addr, int port, void (*fn)(int fd))
{
	int lfd = tcp_listen(addr, port);
	if (lfd < 0)
		return 1;
	printf("listening on %s:%d\n", addr, local_port(lfd));
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EINTR && errno != ECONNABORTED)
				perror("accept");
			continue;
		}
		if (serve_on_thread(fn, fd) < 0) {
			perror("pthread_create");
			close(fd);
		}
	}
}

unsigned ttls_reason(void)
{
	return __errno2 ? __errno2() : 0;
}

void ttls_perror(const char *what)
{
	int e = errno;
	unsigned jr = ttls_reason();
	fprintf(stderr, "%s: %s (%s), reason %s (0x%04x)\n", what, strerrorname_np(e),
		strerror(e), ttls_reason_name(jr), jr);
	errno = e;
}

const char *ttls_policy_name(unsigned v)
{
	switch (v) {
	case TTLS_POL_OFF: return "AT-TLS off";
	case TTLS_POL_NO_POLICY: return "no policy";
	case TTLS_POL_NOT_ENABLED: return "not enabled";
	case TTLS_POL_ENABLED: return "enabled";
	case TTLS_POL_APPLCNTRL: return "application-controlled";
	}
	return "unknown";
}

const char *ttls_conn_name(unsigned v)
{
	switch (v) {
	case TTLS_CONN_NOTSECURE: return "not secure";
	case TTLS_CONN_HS_INPROGRESS: return "handshake in progress";
	case TTLS_CONN_SECURE: return "secure";
	}
	return "unknown";
}

const char *ttls_sec_type_name(unsigned v)
{
	switch (v) {
	case TTLS_SEC_UNKNOWN: return "unknown";
	case TTLS_SEC_CLIENT: return "client";
	case TTLS_SEC_SERVER: return "server";
	case TTLS_SEC_SRV_CA_PASS: return "server, client auth passthru";
	case TTLS_SEC_SRV_CA_FULL: return "server, client auth full";
	case TTLS_SEC_SRV_CA_REQD: return "server, client auth required";
	case TTLS_SEC_SRV_CA_SAFCHK: return "server, client auth SAF check";
	}
	return "?";
}

const char *ttls_protocol_name(unsigned v)
{
	switch (v) {
	case TTLS_PROT_UNKNOWN: return "none";
	case TTLS_PROT_SSLV2: return "SSLv2";
	case TTLS_PROT_SSLV3: return "SSLv3";
	case TTLS_PROT_TLSV1: return "TLSv1.0";
	case TTLS_PROT_TLSV1_1: return "TLSv1.1";
	case TTLS_PROT_TLSV1_2: return "TLSv1.2";
	case TTLS_PROT_TLSV1_3: return "TLSv1.3";
	}
	return "?";
}

const char *ttls_reason_name(unsigned jr)
{
	switch (jr) {
	case JrOK: return "JrOK";
	case JrConnDeniedPolicy: return "JrConnDeniedPolicy";
	case JrAlreadyActive: return "JrAlreadyActive";
	case JrTTLSHandshakeFailed: return "JrTTLSHandshakeFailed";
	case JrInvalidVersion: return "JrInvalidVersion";
	case JrSocketCallParmError: return "JrSocketCallParmError";
	case JrBuffTooSmall: return "JrBuffTooSmall";
	case JrTTLSStopReadDataPending: return "JrTTLSStopReadDataPending";
	case JrTTLSStopWriteDataPending: return "JrTTLSStopWriteDataPending";
	case JrUnexpectedErr: return "JrUnexpectedErr";
	}
	return "unknown";
}

const char *ttls_cipher(const struct TTLS_IOCTL *ioc, char *buf, size_t len)
{
	if (memcmp(ioc->TTLSi_Neg_Cipher, "4X", 2) == 0)
		snprintf(buf, len, "%.4s", ioc->TTLSi_Neg_Cipher4);
	else
		snprintf(buf, len, "00%.2s", ioc->TTLSi_Neg_Cipher);
	return buf;
}

const char *ttls_describe(const struct TTLS_IOCTL *ioc, char *buf, size_t len)
{
	char cipher[8];
	if (ioc->TTLSi_Stat_Conn != TTLS_CONN_SECURE)
		snprintf(buf, len, "%s", ttls_conn_name(ioc->TTLSi_Stat_Conn));
	else
		snprintf(buf, len, "secure, %s, %s, cipher %s",
			 ttls_sec_type_name(ioc->TTLSi_Sec_Type),
			 ttls_protocol_name(TTLS_SSL_PROT(ioc)),
			 ttls_cipher(ioc, cipher, sizeof cipher));
	return buf;
}
