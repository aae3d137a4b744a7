/*
 * bench-shim-blast — the sources, sinks and loops scripts/bench-shim measures
 * with. One small program so every setup moves bytes the same way (128 KiB
 * writes, 1 MiB reads); with --tls it speaks TLS 1.3 AES-128-GCM itself
 * through GnuTLS (the "native GnuTLS" row).
 *
 *   sink PORT [--tls CERT KEY]     accept one connection on 127.0.0.1:PORT, read
 *                                  to end of stream, print the byte count, exit
 *   send PORT BYTES [--tls CA]     connect to 127.0.0.1:PORT, write BYTES, end
 *                                  the stream (close_notify with --tls), read
 *                                  until the sink closes, close
 *   accept PORT                    accept connections forever; read each to end
 *                                  of stream, then close it
 *   connloop PORT N                N times: connect to 127.0.0.1:PORT, close;
 *                                  print N and the seconds taken (after one
 *                                  untimed warm-up connection)
 *   hsloop PORT N CA               N times: connect, full TLS 1.3 handshake
 *                                  (no resumption), close_notify, close; print N
 *                                  and the seconds taken (after one warm-up)
 *
 * Every result goes to stdout as one line; errors to stderr with exit 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WRITE_CHUNK (128 * 1024)
#define READ_CHUNK (1024 * 1024)
#define PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM"

static void die(const char *what)
{
	fprintf(stderr, "bench-shim-blast: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void die_tls(const char *what, int rc)
{
	fprintf(stderr, "bench-shim-blast: %s: %s\n", what, gnutls_strerror(rc));
	exit(1);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sin;
}

static int listen_on(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in sin = loopback(port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0)
		die("bind");
	if (listen(fd, 1024) != 0)
		die("listen");
	return fd;
}

static int connect_to(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	struct sockaddr_in sin = loopback(port);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0)
		die("connect");
	return fd;
}

static gnutls_session_t tls_session(int fd, bool server, gnutls_certificate_credentials_t cred)
{
	gnutls_session_t s;
	int rc = gnutls_init(&s, server ? GNUTLS_SERVER : GNUTLS_CLIENT);
	if (rc < 0)
		die_tls("gnutls_init", rc);
	if ((rc = gnutls_priority_set_direct(s, PRIORITY, NULL)) < 0)
		die_tls("priority", rc);
	gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
	if (!server) {
		gnutls_server_name_set(s, GNUTLS_NAME_DNS, "localhost", 9);
		gnutls_session_set_verify_cert(s, "localhost", 0);
	}
	gnutls_transport_set_int(s, fd);
	do
		rc = gnutls_handshake(s);
	while (rc < 0 && !gnutls_error_is_fatal(rc));
	if (rc < 0)
		die_tls("handshake", rc);
	return s;
}

static gnutls_certificate_credentials_t server_cred(const char *cert, const char *key)
{
	gnutls_certificate_credentials_t c;
	gnutls_certificate_allocate_credentials(&c);
	int rc = gnutls_certificate_set_x509_key_file(c, cert, key, GNUTLS_X509_FMT_PEM);
	if (rc < 0)
		die_tls("server certificate", rc);
	return c;
}

static gnutls_certificate_credentials_t client_cred(const char *ca)
{
	gnutls_certificate_credentials_t c;
	gnutls_certificate_allocate_credentials(&c);
	int rc = gnutls_certificate_set_x509_trust_file(c, ca, GNUTLS_X509_FMT_PEM);
	if (rc < 1)
		die_tls("CA file", rc < 0 ? rc : GNUTLS_E_FILE_ERROR);
	return c;
}

static int cmd_sink(int argc, char **argv)
{
	int port = atoi(argv[2]);
	bool tls = argc >= 6 && !strcmp(argv[3], "--tls");
	int lfd = listen_on(port);
	int fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		die("accept");
	static char buf[READ_CHUNK];
	unsigned long long total = 0;
	if (tls) {
		gnutls_session_t s = tls_session(fd, true, server_cred(argv[4], argv[5]));
		for (;;) {
			ssize_t n = gnutls_record_recv(s, buf, sizeof buf);
			if (n == 0 || n == GNUTLS_E_PREMATURE_TERMINATION)
				break;
			if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
				continue;
			if (n < 0)
				die_tls("receive", (int)n);
			total += (unsigned long long)n;
		}
		gnutls_bye(s, GNUTLS_SHUT_WR);
	} else {
		for (;;) {
			ssize_t n = read(fd, buf, sizeof buf);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				die("read");
			if (n == 0)
				break;
			total += (unsigned long long)n;
		}
	}
	close(fd);
	printf("%llu\n", total);
	return 0;
}

static int cmd_send(int argc, char **argv)
{
	int port = atoi(argv[2]);
	unsigned long long left = strtoull(argv[3], NULL, 10);
	bool tls = argc >= 6 && !strcmp(argv[4], "--tls");
	static char buf[WRITE_CHUNK];
	memset(buf, 'x', sizeof buf);
	int fd = connect_to(port);
	gnutls_session_t s = NULL;
	if (tls)
		s = tls_session(fd, false, client_cred(argv[5]));
	while (left) {
		size_t want = left < sizeof buf ? (size_t)left : sizeof buf;
		ssize_t n = tls ? gnutls_record_send(s, buf, want) : write(fd, buf, want);
		if (n < 0 && (tls ? (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) : errno == EINTR))
			continue;
		if (n < 0) {
			if (tls)
				die_tls("send", (int)n);
			die("write");
		}
		left -= (unsigned long long)n;
	}
	/* End the stream, then read until the sink closes: closing with the
	 * peer's late bytes unread (TLS 1.3 session tickets) would make the
	 * kernel send a reset and drop what it has not transmitted yet. */
	static char drain[65536];
	if (tls) {
		printf("%s\n", gnutls_session_get_desc(s));
		gnutls_bye(s, GNUTLS_SHUT_WR);
		for (;;) {
			ssize_t n = gnutls_record_recv(s, drain, sizeof drain);
			if (n <= 0 && n != GNUTLS_E_AGAIN && n != GNUTLS_E_INTERRUPTED)
				break;
		}
	} else {
		shutdown(fd, SHUT_WR);
		while (read(fd, drain, sizeof drain) > 0)
			;
	}
	close(fd);
	return 0;
}

static _Noreturn void cmd_accept(char **argv)
{
	int lfd = listen_on(atoi(argv[2]));
	static char buf[65536];
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == ECONNRESET)
				continue;
			die("accept");
		}
		while (read(fd, buf, sizeof buf) > 0)
			;
		close(fd);
	}
}

static int cmd_connloop(char **argv)
{
	int port = atoi(argv[2]);
	long n = atol(argv[3]);
	close(connect_to(port));   /* warm-up: the shim reads its policy on first use */
	double t0 = now();
	for (long i = 0; i < n; i++)
		close(connect_to(port));
	printf("%ld %.6f\n", n, now() - t0);
	return 0;
}

static int cmd_hsloop(char **argv)
{
	int port = atoi(argv[2]);
	long n = atol(argv[3]);
	gnutls_certificate_credentials_t cred = client_cred(argv[4]);
	double t0 = 0;
	for (long i = -1; i < n; i++) {   /* i = -1: warm-up, untimed */
		if (i == 0)
			t0 = now();
		int fd = connect_to(port);
		gnutls_session_t s = tls_session(fd, false, cred);
		gnutls_bye(s, GNUTLS_SHUT_WR);
		gnutls_deinit(s);
		close(fd);
	}
	printf("%ld %.6f\n", n, now() - t0);
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	const char *m = argc > 1 ? argv[1] : "";
	if (!strcmp(m, "sink") && argc >= 3)
		return cmd_sink(argc, argv);
	if (!strcmp(m, "send") && argc >= 4)
		return cmd_send(argc, argv);
	if (!strcmp(m, "accept") && argc >= 3)
		cmd_accept(argv);
	if (!strcmp(m, "connloop") && argc >= 4)
		return cmd_connloop(argv);
	if (!strcmp(m, "hsloop") && argc >= 5)
		return cmd_hsloop(argv);
	fprintf(stderr, "usage: bench-shim-blast sink PORT [--tls CERT KEY] | send PORT BYTES "
		"[--tls CA] | accept PORT | connloop PORT N | hsloop PORT N CA\n");
	return 2;
}
