/*
 * ttls_driver — one TCP connection under attls, driven line by line from
 * stdin, so a test decides exactly what the program reads, writes and asks
 * SIOCTTLSCTL for, and when (the transition tests of test_ioctl_transitions.py).
 *
 *   ttls_driver connect PORT     connect to 127.0.0.1:PORT; prints "ok connected"
 *   ttls_driver listen PORT      prints "ok listening PORT", then "ok accepted"
 *
 * Commands, one per line; one answer line each ("ok ..." or "err ..."):
 *   send TEXT        write TEXT (C escapes \r \n \\ \xHH)
 *   expect TEXT      read exactly as many bytes, compare
 *   echo N           read exactly N bytes, write them back
 *   pattern N        write N bytes of pattern_byte(i) in writes of 256 KiB, as
 *                    fast as the socket takes them
 *   fill             non-blocking: write pattern bytes until the socket stays
 *                    full for half a second; "ok sent N"
 *   avail N          wait until at least N unread bytes wait in the socket
 *   eof              read, expecting end of file
 *   nonblock on|off  O_NONBLOCK on the socket
 *   writable         wait until the socket polls writable
 *   pollout          whether it polls writable now ("ok writable" / "ok not writable")
 *   init | init_hst | stop | query | reset_session | reset_cipher |
 *   reset_write_cipher | send_ticket
 *                    SIOCTTLSCTL with that request (init_hst: INIT_CONNECTION |
 *                    ALLOW_HSTIMEOUT); "ok STATE" or "err ERRNO REASON STATE"
 *   shut             shutdown(SHUT_WR)
 *   quit             exit
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
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

#define WAIT_MS 20000

static int fd = -1;

static size_t unescape(const char *s, char *out)
{
	size_t n = 0;
	while (*s) {
		if (*s != '\\' || !s[1]) {
			out[n++] = *s++;
			continue;
		}
		s++;
		switch (*s) {
		case 'r': out[n++] = '\r'; s++; break;
		case 'n': out[n++] = '\n'; s++; break;
		case 'x': {
			char hex[3] = { s[1], s[1] ? s[2] : 0, 0 };
			out[n++] = (char)strtoul(hex, NULL, 16);
			s += 3;
			break;
		}
		default: out[n++] = *s++; break;
		}
	}
	return n;
}

static bool wait_for(short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	return poll(&p, 1, WAIT_MS) == 1;
}

/* Exactly n bytes, waiting when the socket is non-blocking. */
static ssize_t read_exact(char *buf, size_t n)
{
	size_t have = 0;
	while (have < n) {
		ssize_t r = read(fd, buf + have, n - have);
		if (r < 0 && (errno == EAGAIN || errno == EINTR) && wait_for(POLLIN))
			continue;
		if (r <= 0)
			return r < 0 ? -1 : (ssize_t)have;
		have += (size_t)r;
	}
	return (ssize_t)have;
}

static int write_exact(const char *buf, size_t n)
{
	size_t done = 0;
	while (done < n) {
		ssize_t w = write(fd, buf + done, n - done);
		if (w < 0 && (errno == EAGAIN || errno == EINTR) && wait_for(POLLOUT))
			continue;
		if (w < 0)
			return -1;
		done += (size_t)w;
	}
	return 0;
}

static void ctl(uint16_t req)
{
	struct TTLS_IOCTL ioc;
	char desc[128];
	memset(&ioc, 0, sizeof ioc);
	ioc.TTLSi_Ver = TTLS_VERSION1;
	ioc.TTLSi_Req_Type = req;
	if (ioctl(fd, SIOCTTLSCTL, &ioc) == 0) {
		printf("ok %s\n", ttls_describe(&ioc, desc, sizeof desc));
		return;
	}
	int e = errno;
	printf("err %s %s %s\n", strerrorname_np(e), ttls_reason_name(ttls_reason()),
	       ttls_describe(&ioc, desc, sizeof desc));
}

static const struct { const char *name; uint16_t req; } requests[] = {
	{ "init", TTLS_INIT_CONNECTION },
	{ "init_hst", TTLS_INIT_CONNECTION | TTLS_ALLOW_HSTIMEOUT },
	{ "stop", TTLS_STOP_CONNECTION },
	{ "query", TTLS_QUERY_ONLY },
	{ "reset_session", TTLS_RESET_SESSION },
	{ "reset_cipher", TTLS_RESET_CIPHER },
	{ "reset_write_cipher", TTLS_RESET_WRITE_CIPHER },
	{ "send_ticket", TTLS_SEND_SESSION_TICKET },
};

static void cmd_expect(const char *arg)
{
	char want[4096], got[4096];
	size_t n = unescape(arg, want);
	ssize_t r = read_exact(got, n);
	if (r == (ssize_t)n && !memcmp(got, want, n))
		printf("ok\n");
	else
		printf("err got %zd bytes: %.*s\n", r, r > 0 ? (int)r : 0, got);
}

static void cmd_echo(size_t n)
{
	char buf[65536];
	size_t done = 0;
	while (done < n) {
		size_t want = n - done < sizeof buf ? n - done : sizeof buf;
		ssize_t r = read_exact(buf, want);
		if (r != (ssize_t)want || write_exact(buf, want) < 0) {
			printf("err after %zu bytes: %s\n", done + (r > 0 ? (size_t)r : 0),
			       r < 0 ? strerror(errno) : "end of file");
			return;
		}
		done += want;
	}
	printf("ok echoed %zu\n", done);
}

/* Never repeating within 16 MiB, so a misplaced block shows. */
static char pattern_byte(size_t i)
{
	return (char)((i * 7 + (i >> 9) + (i >> 17)) & 0xff);
}

static void cmd_pattern(size_t n)
{
	static char buf[256 * 1024];
	size_t done = 0;
	while (done < n) {
		size_t k = n - done < sizeof buf ? n - done : sizeof buf;
		for (size_t i = 0; i < k; i++)
			buf[i] = pattern_byte(done + i);
		if (write_exact(buf, k) < 0) {
			printf("err after %zu bytes: %s\n", done, strerror(errno));
			return;
		}
		done += k;
	}
	printf("ok sent %zu\n", done);
}

static void cmd_fill(void)
{
	static char buf[65536];
	size_t done = 0;
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	do {
		ssize_t n;
		do {
			for (size_t i = 0; i < sizeof buf; i++)
				buf[i] = pattern_byte(done + i);
			n = write(fd, buf, sizeof buf);
			if (n > 0)
				done += (size_t)n;
		} while (n > 0);
	} while (poll(&p, 1, 500) == 1 && done < (256u << 20));
	printf("ok sent %zu\n", done);
}

static void cmd_avail(int n)
{
	int have = 0;
	for (int waited = 0; waited < WAIT_MS; waited += 5) {
		if (ioctl(fd, FIONREAD, &have) == 0 && have >= n) {
			printf("ok avail %d\n", have);
			return;
		}
		poll(NULL, 0, 5);
	}
	printf("err only %d bytes\n", have);
}

static void cmd_eof(void)
{
	char c;
	ssize_t r = read_exact(&c, 1);
	if (r == 0)
		printf("ok eof\n");
	else
		printf("err %s\n", r < 0 ? strerror(errno) : "data");
}

static void cmd_nonblock(const char *arg)
{
	int fl = fcntl(fd, F_GETFL);
	fl = strcmp(arg, "on") ? fl & ~O_NONBLOCK : fl | O_NONBLOCK;
	printf(fcntl(fd, F_SETFL, fl) == 0 ? "ok\n" : "err fcntl\n");
}

static bool command(char *line)
{
	char *arg = strchr(line, ' ');
	char buf[4096];
	if (arg)
		*arg++ = '\0';
	else
		arg = line + strlen(line);
	for (size_t i = 0; i < sizeof requests / sizeof requests[0]; i++)
		if (!strcmp(line, requests[i].name)) {
			ctl(requests[i].req);
			return true;
		}
	if (!strcmp(line, "send")) {
		size_t n = unescape(arg, buf);
		printf(write_exact(buf, n) == 0 ? "ok sent %zu\n" : "err write\n", n);
	} else if (!strcmp(line, "expect")) {
		cmd_expect(arg);
	} else if (!strcmp(line, "echo")) {
		cmd_echo(strtoul(arg, NULL, 10));
	} else if (!strcmp(line, "pattern")) {
		cmd_pattern(strtoul(arg, NULL, 10));
	} else if (!strcmp(line, "fill")) {
		cmd_fill();
	} else if (!strcmp(line, "avail")) {
		cmd_avail(atoi(arg));
	} else if (!strcmp(line, "eof")) {
		cmd_eof();
	} else if (!strcmp(line, "nonblock")) {
		cmd_nonblock(arg);
	} else if (!strcmp(line, "writable")) {
		printf(wait_for(POLLOUT) ? "ok writable\n" : "err not writable\n");
	} else if (!strcmp(line, "pollout")) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		printf(poll(&p, 1, 0) == 1 ? "ok writable\n" : "ok not writable\n");
	} else if (!strcmp(line, "shut")) {
		printf(shutdown(fd, SHUT_WR) == 0 ? "ok\n" : "err shutdown\n");
	} else if (!strcmp(line, "quit")) {
		return false;
	} else {
		printf("err unknown command %s\n", line);
	}
	return true;
}

static int open_connection(const char *how, const char *port)
{
	if (!strcmp(how, "connect")) {
		fd = tcp_connect("127.0.0.1", port);
		if (fd >= 0)
			printf("ok connected\n");
		return fd;
	}
	int lfd = tcp_listen("127.0.0.1", atoi(port));
	if (lfd < 0)
		return -1;
	printf("ok listening %d\n", local_port(lfd));
	fd = accept(lfd, NULL, NULL);
	close(lfd);
	if (fd >= 0)
		printf("ok accepted\n");
	return fd;
}

int main(int argc, char **argv)
{
	char line[8192];
	if (argc != 3 || (strcmp(argv[1], "connect") && strcmp(argv[1], "listen"))) {
		fprintf(stderr, "usage: %s connect|listen PORT\n", argv[0]);
		return 2;
	}
	example_init();
	if (open_connection(argv[1], argv[2]) < 0)
		return 1;
	while (fgets(line, sizeof line, stdin)) {
		line[strcspn(line, "\n")] = '\0';
		if (!command(line))
			break;
	}
	return 0;
}
