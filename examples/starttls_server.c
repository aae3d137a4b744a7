/*
 * starttls_server — an SMTP-like line server that starts TLS when the client
 * says STARTTLS, as a z/OS server does under an AT-TLS rule with
 * ApplicationControlled On.
 *
 *   attls run -p policy/examples/starttls.conf -- build/examples/starttls_server
 *   openssl s_client -starttls smtp -connect 127.0.0.1:2525 \
 *       -CAfile policy/examples/certs/ca.pem
 *
 * The connection starts in clear text. EHLO advertises STARTTLS only when the
 * SIOCTTLSCTL query says the program may start TLS itself. On STARTTLS the
 * server answers "220 Ready to start TLS" and asks AT-TLS to do the handshake
 * (TTLS_INIT_CONNECTION); the session then goes on over TLS. Commands: EHLO,
 * HELO, STARTTLS, NOOP, MAIL FROM:, RCPT TO:, DATA, RSET, XSTATE (the state the
 * ioctl reports), QUIT. Mail is counted, not stored.
 *
 * Options: -a ADDR (default 127.0.0.1), -p PORT (default 2525).
 * stdout: "listening on ADDR:PORT", then one line per event.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ezbztlsc.h>

#include "util.h"

struct session {
	int fd;
	unsigned id;
	bool secure;
	bool have_from;
	unsigned rcpts;
};

static atomic_uint next_id = 1;

/* TTLS_QUERY_ONLY: fills ioc; false when there is no AT-TLS here. */
static bool query(int fd, struct TTLS_IOCTL *ioc)
{
	memset(ioc, 0, sizeof *ioc);
	ioc->TTLSi_Ver = TTLS_VERSION1;
	ioc->TTLSi_Req_Type = TTLS_QUERY_ONLY;
	return ioctl(fd, SIOCTTLSCTL, ioc) == 0;
}

/* Whether the policy lets this program start TLS on the connection. */
static bool can_start_tls(int fd)
{
	struct TTLS_IOCTL ioc;
	return query(fd, &ioc) && ioc.TTLSi_Stat_Policy == TTLS_POL_APPLCNTRL &&
	       ioc.TTLSi_Stat_Conn == TTLS_CONN_NOTSECURE;
}

/* TTLS_INIT_CONNECTION on a blocking socket: returns when the handshake is
 * done. The role (server here) comes from the policy. */
static int start_tls(struct session *s)
{
	struct TTLS_IOCTL ioc;
	char desc[128];
	memset(&ioc, 0, sizeof ioc);
	ioc.TTLSi_Ver = TTLS_VERSION1;
	ioc.TTLSi_Req_Type = TTLS_INIT_CONNECTION;
	if (ioctl(s->fd, SIOCTTLSCTL, &ioc) < 0) {
		ttls_perror("SIOCTTLSCTL TTLS_INIT_CONNECTION");
		return -1;
	}
	printf("conn %u: TLS started: %s\n", s->id, ttls_describe(&ioc, desc, sizeof desc));
	return 0;
}

static void ehlo(struct session *s, const char *arg)
{
	reply(s->fd, "250-starttls_server greets %s", *arg ? arg : "you");
	if (!s->secure && can_start_tls(s->fd))
		reply(s->fd, "250-STARTTLS");
	reply(s->fd, "250-8BITMIME");
	reply(s->fd, "250 HELP");
}

/* Returns false when the connection must end. */
static bool starttls(struct session *s)
{
	if (s->secure) {
		reply(s->fd, "503 5.5.1 TLS already active");
		return true;
	}
	if (!can_start_tls(s->fd)) {
		reply(s->fd, "454 4.7.0 TLS not available");
		return true;
	}
	reply(s->fd, "220 2.0.0 Ready to start TLS");
	if (start_tls(s) < 0)
		return false;   /* AT-TLS has reset the connection */
	/* RFC 3207: forget what the client said before TLS. */
	s->secure = true;
	s->have_from = false;
	s->rcpts = 0;
	return true;
}

static void xstate(struct session *s)
{
	struct TTLS_IOCTL ioc;
	char desc[128];
	if (!query(s->fd, &ioc)) {
		reply(s->fd, "250 no AT-TLS (%s)", strerror(errno));
		return;
	}
	reply(s->fd, "250 %s; policy %s", ttls_describe(&ioc, desc, sizeof desc),
	      ttls_policy_name(ioc.TTLSi_Stat_Policy));
}

/* DATA: lines up to ".", counted. Returns false on a broken connection. */
static bool data(struct session *s)
{
	char line[1024];
	size_t bytes = 0;
	if (!s->have_from || s->rcpts == 0) {
		reply(s->fd, "503 5.5.1 MAIL and RCPT first");
		return true;
	}
	reply(s->fd, "354 End data with <CR><LF>.<CR><LF>");
	for (;;) {
		if (read_line(s->fd, line, sizeof line) <= 0)
			return false;
		if (!strcmp(line, "."))
			break;
		bytes += strlen(line) + 2;
	}
	printf("conn %u: message of %zu bytes over %s\n", s->id, bytes,
	       s->secure ? "TLS" : "clear text");
	reply(s->fd, "250 2.0.0 Ok: %zu bytes queued", bytes);
	s->have_from = false;
	s->rcpts = 0;
	return true;
}

/* One command; returns false when the session is over. */
static bool command(struct session *s, char *line)
{
	char *arg = strchr(line, ' ');
	if (arg)
		*arg++ = '\0';
	else
		arg = line + strlen(line);
	printf("conn %u: %s%s\n", s->id, line, s->secure ? " (TLS)" : "");
	if (!strcasecmp(line, "EHLO")) {
		ehlo(s, arg);
	} else if (!strcasecmp(line, "HELO")) {
		reply(s->fd, "250 starttls_server");
	} else if (!strcasecmp(line, "STARTTLS")) {
		return starttls(s);
	} else if (!strcasecmp(line, "NOOP")) {
		reply(s->fd, "250 2.0.0 Ok");
	} else if (!strcasecmp(line, "MAIL")) {
		s->have_from = true;
		reply(s->fd, "250 2.1.0 Ok");
	} else if (!strcasecmp(line, "RCPT")) {
		if (!s->have_from) {
			reply(s->fd, "503 5.5.1 MAIL first");
		} else {
			s->rcpts++;
			reply(s->fd, "250 2.1.5 Ok");
		}
	} else if (!strcasecmp(line, "DATA")) {
		return data(s);
	} else if (!strcasecmp(line, "RSET")) {
		s->have_from = false;
		s->rcpts = 0;
		reply(s->fd, "250 2.0.0 Ok");
	} else if (!strcasecmp(line, "XSTATE")) {
		xstate(s);
	} else if (!strcasecmp(line, "QUIT")) {
		reply(s->fd, "221 2.0.0 Bye");
		return false;
	} else {
		reply(s->fd, "502 5.5.2 Command not recognized");
	}
	return true;
}

static void session(int fd)
{
	struct session s = { .fd = fd, .id = atomic_fetch_add(&next_id, 1) };
	char line[1024];
	printf("conn %u: accepted\n", s.id);
	reply(fd, "220 starttls_server ESMTP ready");
	for (;;) {
		ssize_t n = read_line(fd, line, sizeof line);
		if (n < 0 && errno == EMSGSIZE)
			reply(fd, "500 5.5.2 Line too long");
		if (n <= 0 || !command(&s, line))
			break;
	}
	printf("conn %u: closed\n", s.id);
}

int main(int argc, char **argv)
{
	const char *addr = "127.0.0.1";
	int port = 2525, opt;
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
	return serve_forever(addr, port, session);
}
