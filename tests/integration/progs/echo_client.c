/*
 * echo_client — a plain TCP client for running under attls against an echo
 * server; checks that every byte comes back in order.
 *
 *   echo_client --port P [--host H] [--bytes N] MODE
 *   MODE: --concurrent N   N non-blocking connects at once, edge-triggered
 *                          epoll, SO_ERROR checked, half-close, echo verified
 *         --sequential N   N blocking connections one after another; prints
 *                          descriptor count and RSS after a warm-up and at the end
 *         --poll           one connection, level-triggered poll, writes and
 *                          reads of 1-13 bytes interleaved
 *         --once           one blocking connection; on failure prints
 *                          "error ERRNO_NAME" and exits 1
 * Prints "ok ..." and exits 0 when everything came back intact.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_storage target;
static socklen_t target_len;
static size_t nbytes = 10000;

static uint8_t pattern(size_t conn, size_t i)
{
	return (uint8_t)(i * 131 + conn * 7 + (i >> 8));
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n - 3;
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "VmRSS:", 6))
			kb = atol(line + 6);
	if (f)
		fclose(f);
	return kb;
}

static const char *errname(int e)
{
	switch (e) {
	case ECONNRESET: return "ECONNRESET";
	case ECONNREFUSED: return "ECONNREFUSED";
	case EACCES: return "EACCES";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EPIPE: return "EPIPE";
	case 0: return "EOF";
	default: return strerror(e);
	}
}

static int resolve(const char *host, int port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	char ps[16];
	snprintf(ps, sizeof ps, "%d", port);
	if (getaddrinfo(host, ps, &hints, &res) != 0)
		return -1;
	memcpy(&target, res->ai_addr, res->ai_addrlen);
	target_len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* One blocking exchange. Returns 0, or an errno (0 stands for early EOF -> -2). */
static int exchange(size_t id, int *err)
{
	int fd = socket(target.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (connect(fd, (struct sockaddr *)&target, target_len) != 0) {
		*err = errno;
		close(fd);
		return -1;
	}
	uint8_t buf[16384];
	for (size_t off = 0; off < nbytes;) {
		size_t n = nbytes - off < sizeof buf ? nbytes - off : sizeof buf;
		for (size_t i = 0; i < n; i++)
			buf[i] = pattern(id, off + i);
		ssize_t w = write(fd, buf, n);
		if (w <= 0) {
			*err = errno;
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	shutdown(fd, SHUT_WR);
	size_t got = 0;
	for (;;) {
		ssize_t r = read(fd, buf, sizeof buf);
		if (r < 0) {
			*err = errno;
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		for (ssize_t i = 0; i < r; i++)
			if (got + (size_t)i >= nbytes || buf[i] != pattern(id, got + (size_t)i)) {
				fprintf(stderr, "conn %zu: wrong byte at %zu\n", id, got + (size_t)i);
				*err = EILSEQ;
				close(fd);
				return -1;
			}
		got += (size_t)r;
	}
	close(fd);
	if (got != nbytes) {
		fprintf(stderr, "conn %zu: %zu of %zu bytes came back\n", id, got, nbytes);
		*err = EILSEQ;
		return -1;
	}
	return 0;
}

static int run_sequential(size_t n)
{
	size_t warm = n < 200 ? n / 2 : 100;
	int fds0 = -1;
	long rss0 = -1;
	for (size_t i = 0; i < n; i++) {
		int err = 0;
		if (exchange(i, &err) != 0) {
			printf("error %s at connection %zu\n", errname(err), i);
			return 1;
		}
		if (i + 1 == warm) {
			fds0 = count_fds();
			rss0 = rss_kb();
		}
	}
	/* The engine may hold the last connection's socket a moment longer (it
	 * waits up to 2 s for the peer to close): let it go before counting. */
	int fds1 = count_fds();
	for (int i = 0; i < 50 && fds1 > fds0; i++) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		fds1 = count_fds();
	}
	printf("ok %zu fds %d %d rss %ld %ld\n", n, fds0, fds1, rss0, rss_kb());
	return 0;
}

struct cstate {
	int fd;
	size_t id, sent, got;
	bool connected, shut, done;
};

static int run_concurrent(size_t n)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct cstate *cs = calloc(n, sizeof *cs);
	uint8_t buf[16384];
	for (size_t i = 0; i < n; i++) {
		cs[i].id = i;
		cs[i].fd = socket(target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		int rc = connect(cs[i].fd, (struct sockaddr *)&target, target_len);
		if (rc != 0 && errno != EINPROGRESS) {
			printf("error %s on connect %zu\n", errname(errno), i);
			return 1;
		}
		struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = &cs[i] };
		epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
	}
	size_t done = 0;
	time_t start = time(NULL);
	while (done < n) {
		if (time(NULL) - start > 120) {
			printf("error timeout with %zu of %zu done\n", done, n);
			return 1;
		}
		struct epoll_event evs[128];
		int k = epoll_wait(ep, evs, 128, 1000);
		for (int e = 0; e < k; e++) {
			struct cstate *c = evs[e].data.ptr;
			if (c->done)
				continue;
			if (!c->connected) {
				int err = 0;
				socklen_t l = sizeof err;
				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
				if (err) {
					printf("error %s on connection %zu\n", errname(err), c->id);
					return 1;
				}
				c->connected = true;
			}
			/* Edge-triggered: write and read until the kernel says EAGAIN. */
			while (c->sent < nbytes) {
				size_t m = nbytes - c->sent < sizeof buf ? nbytes - c->sent : sizeof buf;
				for (size_t i = 0; i < m; i++)
					buf[i] = pattern(c->id, c->sent + i);
				ssize_t w = write(c->fd, buf, m);
				if (w < 0 && errno == EAGAIN)
					break;
				if (w < 0) {
					printf("error %s writing %zu\n", errname(errno), c->id);
					return 1;
				}
				c->sent += (size_t)w;
			}
			if (c->sent == nbytes && !c->shut) {
				shutdown(c->fd, SHUT_WR);
				c->shut = true;
			}
			for (;;) {
				ssize_t r = read(c->fd, buf, sizeof buf);
				if (r < 0 && errno == EAGAIN)
					break;
				if (r < 0) {
					printf("error %s reading %zu\n", errname(errno), c->id);
					return 1;
				}
				if (r == 0) {
					if (c->got != nbytes) {
						printf("error short echo on %zu: %zu of %zu\n", c->id, c->got, nbytes);
						return 1;
					}
					c->done = true;
					done++;
					close(c->fd);
					break;
				}
				for (ssize_t i = 0; i < r; i++)
					if (buf[i] != pattern(c->id, c->got + (size_t)i)) {
						printf("error wrong byte on %zu at %zu\n", c->id, c->got + (size_t)i);
						return 1;
					}
				c->got += (size_t)r;
			}
		}
	}
	printf("ok %zu concurrent\n", n);
	return 0;
}

/* Level-triggered poll, tiny writes and reads interleaved. */
static int run_poll(void)
{
	int fd = socket(target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (connect(fd, (struct sockaddr *)&target, target_len) != 0 && errno != EINPROGRESS) {
		printf("error %s on connect\n", errname(errno));
		return 1;
	}
	struct pollfd p = { fd, POLLOUT, 0 };
	if (poll(&p, 1, 30000) != 1) {
		printf("error connect did not finish\n");
		return 1;
	}
	int err = 0;
	socklen_t l = sizeof err;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l);
	if (err) {
		printf("error %s after connect\n", errname(err));
		return 1;
	}
	size_t sent = 0, got = 0, step = 0;
	bool shut = false;
	time_t start = time(NULL);
	while (got < nbytes) {
		if (time(NULL) - start > 60) {
			printf("error timeout at %zu/%zu\n", got, nbytes);
			return 1;
		}
		p.events = POLLIN | (sent < nbytes ? POLLOUT : 0);
		if (poll(&p, 1, 1000) <= 0)
			continue;
		if ((p.revents & POLLOUT) && sent < nbytes) {
			uint8_t b[13];
			size_t m = 1 + step++ % 13;
			if (m > nbytes - sent)
				m = nbytes - sent;
			for (size_t i = 0; i < m; i++)
				b[i] = pattern(0, sent + i);
			ssize_t w = write(fd, b, m);
			if (w > 0)
				sent += (size_t)w;
			if (sent == nbytes && !shut) {
				shutdown(fd, SHUT_WR);
				shut = true;
			}
		}
		if (p.revents & (POLLIN | POLLHUP)) {
			uint8_t b[13];
			ssize_t r = read(fd, b, 1 + step % 13);
			if (r < 0 && errno == EAGAIN)
				continue;
			if (r <= 0) {
				printf("error %s at %zu/%zu\n", errname(r < 0 ? errno : 0), got, nbytes);
				return 1;
			}
			for (ssize_t i = 0; i < r; i++)
				if (b[i] != pattern(0, got + (size_t)i)) {
					printf("error wrong byte at %zu\n", got + (size_t)i);
					return 1;
				}
			got += (size_t)r;
		}
	}
	char c;
	while (read(fd, &c, 1) < 0 && errno == EAGAIN)
		poll(&(struct pollfd){ fd, POLLIN, 0 }, 1, 1000);
	close(fd);
	printf("ok poll %zu\n", got);
	return 0;
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1";
	int port = 0;
	enum { NONE, CONC, SEQ, POLL, ONCE } mode = NONE;
	size_t count = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--port") && i + 1 < argc) port = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--host") && i + 1 < argc) host = argv[++i];
		else if (!strcmp(argv[i], "--bytes") && i + 1 < argc) nbytes = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--concurrent") && i + 1 < argc) { mode = CONC; count = strtoul(argv[++i], NULL, 10); }
		else if (!strcmp(argv[i], "--sequential") && i + 1 < argc) { mode = SEQ; count = strtoul(argv[++i], NULL, 10); }
		else if (!strcmp(argv[i], "--poll")) mode = POLL;
		else if (!strcmp(argv[i], "--once")) mode = ONCE;
		else { fprintf(stderr, "echo_client: bad argument %s\n", argv[i]); return 2; }
	}
	signal(SIGPIPE, SIG_IGN);
	if (!port || mode == NONE || resolve(host, port) != 0) {
		fprintf(stderr, "usage: echo_client --port P [--host H] [--bytes N] --concurrent N|--sequential N|--poll|--once\n");
		return 2;
	}
	switch (mode) {
	case CONC: return run_concurrent(count);
	case SEQ: return run_sequential(count);
	case POLL: return run_poll();
	default: {
		int err = 0;
		if (exchange(0, &err) != 0) {
			printf("error %s\n", errname(err));
			return 1;
		}
		printf("ok once\n");
		return 0;
	}
	}
}
