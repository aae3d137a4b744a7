/*
 * nbconnect — one non-blocking TCP connect driven by a list of steps, each
 * answer printed on its own line, so that a test can run the same sequence
 * with and without attls and compare what the program saw.
 *
 *   nbconnect HOST PORT STEP...
 *   connect   connect() again (the first step is always the first connect)
 *             -> "connect 0" | "connect ERRNO_NAME"
 *   poll      wait (at most 10 s) for the socket to poll writable
 *             -> "poll OUT ERR HUP" (those of the three that are set) | "poll timeout"
 *   poll-short  the same with a 200 ms limit (a connect that will not finish)
 *   soerror   getsockopt(SO_ERROR) -> "soerror 0" | "soerror ERRNO_NAME"
 *   echo      write a line and read it back (echo server)
 *             -> "echo ok" | "echo ERRNO_NAME" | "echo eof"
 *   read      one read -> "read N" | "read eof" | "read ERRNO_NAME"
 *   close     close() -> "close 0" | "close ERRNO_NAME"
 *   nosyn     after close: wait (at most 10 s) until no socket of this process
 *             is still trying to reach PORT (SYN-SENT in /proc/net/tcp)
 *             -> "nosyn ok" | "nosyn left"
 * Exit status 0 when every step ran (whatever it answered), 2 on bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *err_name(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "E?";
}

static void say(const char *step, int rc, int e)
{
	if (rc == 0)
		printf("%s 0\n", step);
	else
		printf("%s %s\n", step, err_name(e));
	fflush(stdout);
}

static void step_poll(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int n;
	do
		n = poll(&p, 1, ms);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		say("poll", -1, errno);
		return;
	}
	if (n == 0) {
		printf("poll timeout\n");
	} else {
		printf("poll%s%s%s\n", (p.revents & POLLOUT) ? " OUT" : "",
		       (p.revents & POLLERR) ? " ERR" : "", (p.revents & POLLHUP) ? " HUP" : "");
	}
	fflush(stdout);
}

static void step_soerror(int fd)
{
	int v = -1;
	socklen_t l = sizeof v;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &l) != 0)
		say("soerror getsockopt", -1, errno);
	else
		say("soerror", v ? -1 : 0, v);
}

/* Read up to want bytes, waiting at most 10 s in all. Returns the count, 0 at
 * end of file, -1 with errno. */
static ssize_t read_some(int fd, char *buf, size_t want)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, 10000) <= 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	return read(fd, buf, want);
}

static void step_echo(int fd)
{
	static const char line[] = "non-blocking connect\n";
	char back[sizeof line];
	size_t got = 0;
	if (write(fd, line, sizeof line - 1) != (ssize_t)(sizeof line - 1)) {
		say("echo", -1, errno);
		return;
	}
	while (got < sizeof line - 1) {
		ssize_t n = read_some(fd, back + got, sizeof line - 1 - got);
		if (n < 0) {
			say("echo", -1, errno);
			return;
		}
		if (n == 0) {
			printf("echo eof\n");
			fflush(stdout);
			return;
		}
		got += (size_t)n;
	}
	printf(memcmp(back, line, got) ? "echo mismatch\n" : "echo ok\n");
	fflush(stdout);
}

static void step_read(int fd)
{
	char buf[256];
	ssize_t n = read_some(fd, buf, sizeof buf);
	if (n < 0)
		say("read", -1, errno);
	else if (n == 0)
		printf("read eof\n");
	else
		printf("read %zd\n", n);
	fflush(stdout);
}

/* Whether /proc/net/tcp lists a connection to port in SYN-SENT. The test runs
 * alone against its own port, so any such entry is this process's. */
static bool syn_sent_to(unsigned port)
{
	FILE *f = fopen("/proc/net/tcp", "r");
	char line[512];
	bool found = false;
	if (!f)
		return false;
	while (fgets(line, sizeof line, f)) {
		unsigned rport, st;
		if (sscanf(line, " %*d: %*x:%*x %*x:%x %x", &rport, &st) == 2 && rport == port &&
		    st == 0x02)
			found = true;
	}
	fclose(f);
	return found;
}

static void step_nosyn(unsigned port)
{
	for (int i = 0; i < 1000 && syn_sent_to(port); i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	printf("nosyn %s\n", syn_sent_to(port) ? "left" : "ok");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: nbconnect HOST PORT STEP...\n");
		return 2;
	}
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])) };
	if (inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1) {
		fprintf(stderr, "nbconnect: %s: not an IPv4 address\n", argv[1]);
		return 2;
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		perror("socket");
		return 2;
	}
	int rc = connect(fd, (struct sockaddr *)&sin, sizeof sin);
	say("connect", rc, errno);
	for (int i = 3; i < argc; i++) {
		const char *s = argv[i];
		if (!strcmp(s, "connect")) {
			rc = connect(fd, (struct sockaddr *)&sin, sizeof sin);
			say("connect", rc, errno);
		} else if (!strcmp(s, "poll")) {
			step_poll(fd, 10000);
		} else if (!strcmp(s, "poll-short")) {
			step_poll(fd, 200);
		} else if (!strcmp(s, "soerror")) {
			step_soerror(fd);
		} else if (!strcmp(s, "echo")) {
			step_echo(fd);
		} else if (!strcmp(s, "read")) {
			step_read(fd);
		} else if (!strcmp(s, "close")) {
			rc = close(fd);
			say("close", rc, errno);
		} else if (!strcmp(s, "nosyn")) {
			step_nosyn(ntohs(sin.sin_port));
		} else {
			fprintf(stderr, "nbconnect: unknown step %s\n", s);
			return 2;
		}
	}
	return 0;
}
