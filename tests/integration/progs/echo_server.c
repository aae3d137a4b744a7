/*
 * echo_server — a plain TCP echo server for running under attls.
 *
 *   echo_server --port P [--poll] [--chunk N] [--sndbuf N]
 *
 * Default: non-blocking sockets with edge-triggered epoll, draining reads of at
 * most --chunk bytes at a time (small reads) and coping with partial writes.
 * --poll: level-triggered poll() instead. On end-of-file from a client it
 * finishes echoing, then shuts down its sending side (half-close).
 * Prints "ready PORT" on stdout once listening; one line per event on stderr:
 * "accept", "eof N" (bytes echoed), "error MSG". Counts: SIGUSR1 prints
 * "fds N" (open descriptors of this process) on stderr.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXC 4096

struct client {
	int fd;
	char *buf;          /* bytes read, not yet echoed */
	size_t len, off;
	bool eof;
	size_t total;
};

static struct client *clients[65536];
static size_t chunk = 7;
static volatile sig_atomic_t want_count;

static void on_usr1(int sig) { (void)sig; want_count = 1; }

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n - 3;   /* ".", "..", and the directory's own descriptor */
}

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void drop(struct client *c, const char *why)
{
	if (why)
		fprintf(stderr, "error %s\n", why);
	close(c->fd);
	clients[c->fd] = NULL;
	free(c->buf);
	free(c);
}

/* Move bytes: read small chunks, write back what we can. Returns false when
 * the client is finished (dropped). */
static bool service(struct client *c)
{
	for (;;) {
		while (c->off < c->len) {
			ssize_t w = write(c->fd, c->buf + c->off, c->len - c->off);
			if (w < 0 && errno == EAGAIN)
				return true;
			if (w < 0) {
				drop(c, strerror(errno));
				return false;
			}
			c->off += (size_t)w;
			c->total += (size_t)w;
		}
		c->len = c->off = 0;
		if (c->eof) {
			fprintf(stderr, "eof %zu\n", c->total);
			shutdown(c->fd, SHUT_WR);
			drop(c, NULL);
			return false;
		}
		ssize_t r = read(c->fd, c->buf, chunk);
		if (r < 0 && errno == EAGAIN)
			return true;
		if (r < 0) {
			drop(c, strerror(errno));
			return false;
		}
		if (r == 0)
			c->eof = true;
		c->len = (size_t)r;
	}
}

static struct client *accept_one(int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN)
			fprintf(stderr, "error accept: %s\n", strerror(errno));
		return NULL;
	}
	if (fd >= 65536) {
		close(fd);
		return NULL;
	}
	struct client *c = calloc(1, sizeof *c);
	c->fd = fd;
	c->buf = malloc(chunk);
	clients[fd] = c;
	fprintf(stderr, "accept\n");
	return c;
}

static void report_if_asked(void)
{
	if (want_count) {
		want_count = 0;
		fprintf(stderr, "fds %d\n", count_fds());
	}
}

static _Noreturn void run_epoll(int lfd)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.fd = lfd };
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, 200);
		report_if_asked();
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == lfd) {
				struct client *c;
				while ((c = accept_one(lfd))) {
					struct epoll_event e = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
								 .data.fd = c->fd };
					epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
					service(c);
				}
				continue;
			}
			struct client *c = clients[evs[i].data.fd];
			if (c)
				service(c);
		}
	}
}

static _Noreturn void run_poll(int lfd)
{
	struct pollfd *p = calloc(MAXC + 1, sizeof *p);
	for (;;) {
		size_t n = 0;
		p[n++] = (struct pollfd){ lfd, POLLIN, 0 };
		for (int fd = 0; fd < 65536 && n <= MAXC; fd++) {
			struct client *c = clients[fd];
			if (c)
				p[n++] = (struct pollfd){ fd, c->off < c->len ? POLLOUT : POLLIN, 0 };
		}
		int r = poll(p, n, 200);
		report_if_asked();
		if (r <= 0)
			continue;
		if (p[0].revents & POLLIN) {
			struct client *c = accept_one(lfd);
			if (c)
				service(c);
		}
		for (size_t i = 1; i < n; i++)
			if (p[i].revents && clients[p[i].fd])
				service(clients[p[i].fd]);
	}
}

int main(int argc, char **argv)
{
	int port = 0, sndbuf = 0;
	bool use_poll = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--port") && i + 1 < argc)
			port = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--poll"))
			use_poll = true;
		else if (!strcmp(argv[i], "--chunk") && i + 1 < argc)
			chunk = (size_t)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--sndbuf") && i + 1 < argc)
			sndbuf = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: echo_server --port P [--poll] [--chunk N] [--sndbuf N]\n");
			return 2;
		}
	}
	if (chunk == 0)
		chunk = 1;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR1, on_usr1);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (sndbuf)
		setsockopt(lfd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (bind(lfd, (struct sockaddr *)&a, sizeof a) || listen(lfd, 1024)) {
		perror("bind/listen");
		return 1;
	}
	socklen_t al = sizeof a;
	getsockname(lfd, (struct sockaddr *)&a, &al);
	set_nonblock(lfd);
	printf("ready %d\n", ntohs(a.sin_port));
	fflush(stdout);
	if (use_poll)
		run_poll(lfd);
	run_epoll(lfd);
}
