#include "ctl/conns_query.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define ACCEPTCON 0x10000   /* __SO_ACCEPTCON in /proc/net/unix: a listening socket */

/* "@attls/<digits>" and nothing else: the pid it names, or 0. */
static pid_t published_pid(const char *path)
{
	static const char prefix[] = "@attls/";
	if (strncmp(path, prefix, sizeof prefix - 1) != 0)
		return 0;
	const char *d = path + sizeof prefix - 1;
	size_t n = strspn(d, "0123456789");
	if (n == 0 || n > 9 || d[n] != '\0' || d[0] == '0')
		return 0;
	return (pid_t)atol(d);
}

size_t conns_find(pid_t *pids, size_t max)
{
	FILE *f = fopen("/proc/net/unix", "re");
	if (!f)
		return 0;
	char line[512];
	size_t n = 0;
	while (n < max && fgets(line, sizeof line, f)) {
		unsigned long flags;
		int at = 0;
		/* Num RefCount Protocol Flags Type St Inode Path */
		if (sscanf(line, "%*s %*s %*s %lx %*s %*s %*s %n", &flags, &at) != 1 || !at ||
		    !(flags & ACCEPTCON))
			continue;
		line[strcspn(line, "\n")] = '\0';
		pid_t pid = published_pid(line + at);
		bool seen = false;
		for (size_t i = 0; i < n && !seen; i++)
			seen = pids[i] == pid;
		if (pid > 0 && !seen)
			pids[n++] = pid;
	}
	fclose(f);
	return n;
}

/* Read a small /proc file of pid into buf; 0 or -1. */
static int proc_read(pid_t pid, const char *what, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, what);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t r = read(fd, buf, size - 1);
	close(fd);
	if (r < 0)
		return -1;
	buf[r] = '\0';
	return 0;
}

/* Whether uid is one of pid's user ids (real, effective, saved, file system).
 * /proc/PID/status rather than the owner of /proc/PID: a process that
 * dropped root is not dumpable and its /proc directory stays root's. */
static int process_runs_as(pid_t pid, uid_t uid, bool *yes)
{
	char status[4096];
	if (proc_read(pid, "status", status, sizeof status) != 0)
		return -1;
	const char *u = strstr(status, "\nUid:");
	unsigned long ids[4];
	if (!u || sscanf(u + 5, "%lu %lu %lu %lu", &ids[0], &ids[1], &ids[2], &ids[3]) != 4)
		return -1;
	*yes = false;
	for (size_t i = 0; i < 4; i++)
		*yes |= ids[i] == (unsigned long)uid;
	return 0;
}

struct query {
	struct conns_answer a;
	int fd;
	size_t cap;
};

static void finish(struct query *q, enum conns_status st)
{
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
	q->a.status = st;
}

/* Whether the peer of fd is process q's own socket, made as one of its users.
 * Anyone can bind @attls/<any pid>; only the kernel's word on who listens
 * on it counts. */
static bool owned_by_process(struct query *q, int fd, struct ucred *peer)
{
	struct ucred cr;
	socklen_t len = sizeof cr;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) {
		snprintf(q->a.why, sizeof q->a.why, "cannot tell who owns @attls/%d: %s",
			 (int)q->a.pid, strerror(errno));
		return false;
	}
	if (cr.pid != q->a.pid) {
		snprintf(q->a.why, sizeof q->a.why,
			 "@attls/%d is a socket of process %d (uid %u), not of process %d",
			 (int)q->a.pid, (int)cr.pid, (unsigned)cr.uid, (int)q->a.pid);
		return false;
	}
	*peer = cr;
	bool yes;
	if (process_runs_as(q->a.pid, cr.uid, &yes) != 0) {
		snprintf(q->a.why, sizeof q->a.why, "process %d is gone", (int)q->a.pid);
		return false;
	}
	if (!yes)
		snprintf(q->a.why, sizeof q->a.why,
			 "@attls/%d was made as uid %u, which process %d no longer runs as",
			 (int)q->a.pid, (unsigned)cr.uid, (int)q->a.pid);
	return yes;
}

static void start(struct query *q)
{
	q->fd = -1;
	if (proc_read(q->a.pid, "comm", q->a.program, sizeof q->a.program) == 0)
		q->a.program[strcspn(q->a.program, "\n")] = '\0';
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(q->a.why, sizeof q->a.why, "socket: %s", strerror(errno));
		finish(q, CONNS_FAILED);
		return;
	}
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int n = snprintf(sun.sun_path + 1, sizeof sun.sun_path - 1, "attls/%d", (int)q->a.pid);
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	q->fd = fd;
	/* A unix stream connect never waits: it succeeds or fails at once. */
	if (connect(fd, (struct sockaddr *)&sun, len) != 0) {
		int err = errno;
		if (err == EAGAIN)
			snprintf(q->a.why, sizeof q->a.why, "its socket accepts no more clients now");
		else
			snprintf(q->a.why, sizeof q->a.why, "connect: %s", strerror(err));
		finish(q, err == ECONNREFUSED || err == ENOENT ? CONNS_GONE : CONNS_FAILED);
		return;
	}
	struct ucred peer;
	if (!owned_by_process(q, fd, &peer)) {
		finish(q, CONNS_UNTRUSTED);
		return;
	}
	if (geteuid() != 0 && peer.uid != geteuid()) {
		finish(q, CONNS_DENIED);   /* it would close without a word */
		return;
	}
	q->a.status = CONNS_OK;   /* so far: reading */
}

/* Take what q's socket has; false when q is finished. */
static bool take(struct query *q)
{
	for (;;) {
		if (q->a.len + 1 >= q->cap) {
			size_t cap = q->cap ? q->cap * 2 : 65536;
			if (cap > CONNS_MAX_ANSWER + 2)
				cap = CONNS_MAX_ANSWER + 2;
			/* len never exceeds the bound here, so cap > len + 1 */
			char *nb = realloc(q->a.text, cap);
			if (!nb) {
				snprintf(q->a.why, sizeof q->a.why, "out of memory");
				finish(q, CONNS_FAILED);
				return false;
			}
			q->a.text = nb;
			q->cap = cap;
		}
		ssize_t r = read(q->fd, q->a.text + q->a.len, q->cap - q->a.len - 1);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return true;
		if (r < 0) {
			snprintf(q->a.why, sizeof q->a.why, "read: %s", strerror(errno));
			finish(q, CONNS_FAILED);
			return false;
		}
		if (r == 0) {
			/* A process answers nothing to a user it does not serve. */
			finish(q, q->a.len ? CONNS_OK : CONNS_DENIED);
			return false;
		}
		q->a.len += (size_t)r;
		q->a.text[q->a.len] = '\0';
		if (q->a.len > CONNS_MAX_ANSWER) {
			finish(q, CONNS_TOO_BIG);
			return false;
		}
	}
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void read_batch(struct query *qs, size_t n)
{
	long long deadline = now_ms() + CONNS_DEADLINE_MS;
	for (;;) {
		struct pollfd p[CONNS_BATCH];
		size_t idx[CONNS_BATCH], np = 0;
		for (size_t i = 0; i < n; i++)
			if (qs[i].fd >= 0) {
				p[np] = (struct pollfd){ qs[i].fd, POLLIN, 0 };
				idx[np++] = i;
			}
		long long left = deadline - now_ms();
		if (!np)
			return;
		if (left <= 0)
			break;
		int r = poll(p, np, (int)left);
		if (r < 0 && errno != EINTR)
			break;
		for (size_t k = 0; r > 0 && k < np; k++)
			if (p[k].revents)
				take(&qs[idx[k]]);
	}
	for (size_t i = 0; i < n; i++)
		if (qs[i].fd >= 0)
			finish(&qs[i], CONNS_TIMEOUT);
}

void conns_ask_all(const pid_t *pids, size_t n,
		   void (*fn)(const struct conns_answer *a, void *arg), void *arg)
{
	for (size_t base = 0; base < n; base += CONNS_BATCH) {
		size_t m = n - base < CONNS_BATCH ? n - base : CONNS_BATCH;
		struct query qs[CONNS_BATCH];
		memset(qs, 0, sizeof qs);
		for (size_t i = 0; i < m; i++) {
			qs[i].a.pid = pids[base + i];
			start(&qs[i]);
		}
		read_batch(qs, m);
		for (size_t i = 0; i < m; i++) {
			if (qs[i].a.status != CONNS_OK) {
				free(qs[i].a.text);
				qs[i].a.text = NULL;
				qs[i].a.len = 0;
			}
			fn(&qs[i].a, arg);
			free(qs[i].a.text);
		}
	}
}
