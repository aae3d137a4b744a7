#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static struct {
	char ident[32];
	unsigned dests;
	int maxprio;
	int file_fd;
	int syslog_fd;
	atomic_bool syslog_connected;
	int64_t syslog_retry_ms;   /* no connect attempt before this (monotonic) */
	int (*fd_hook)(int);
	pthread_mutex_t lock;   /* guards opening and connecting descriptors only */
} L = {
	.ident = "attls", .dests = LOG_TO_STDERR, .maxprio = LOG_INFO,
	.file_fd = -1, .syslog_fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER,
};

static long raw_write(int fd, const void *buf, size_t len)
{
	return syscall(SYS_write, fd, buf, len);
}

static int adopt_fd(int fd)
{
	if (fd >= 0 && L.fd_hook)
		return L.fd_hook(fd);
	return fd;
}

void log_init(const char *ident, unsigned dests)
{
	snprintf(L.ident, sizeof L.ident, "%s", ident ? ident : "attls");
	L.dests = dests;
}

void log_set_level(int maxprio) { L.maxprio = maxprio; }
int log_get_level(void) { return L.maxprio; }
void log_set_fd_hook(int (*hook)(int)) { L.fd_hook = hook; }

int log_owns_fd(int fd)
{
	return fd >= 0 && (fd == L.file_fd || fd == L.syslog_fd);
}

void log_renumber(int oldfd, int newfd)
{
	pthread_mutex_lock(&L.lock);
	if (L.file_fd == oldfd)
		L.file_fd = newfd;
	if (L.syslog_fd == oldfd)
		L.syslog_fd = newfd;
	pthread_mutex_unlock(&L.lock);
}

int log_set_file(const char *path)
{
	int fd = -1;
	if (path && *path) {
		fd = (int)syscall(SYS_openat, AT_FDCWD, path,
				  O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (fd < 0)
			return -errno;
		fd = adopt_fd(fd);
	}
	pthread_mutex_lock(&L.lock);
	int old = L.file_fd;
	L.file_fd = fd;
	pthread_mutex_unlock(&L.lock);
	if (old >= 0)
		syscall(SYS_close, old);
	return 0;
}

/* Where syslog listens: the classic socket, then journald's own (which
 * /dev/log points to on systemd hosts, and which a private /dev may lack). */
static const char *const syslog_paths[] = { "/dev/log", "/run/systemd/journal/dev-log" };

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Connect the module's datagram socket (made on first use and kept: closing
 * it while another thread sends could hand its number to someone else) to
 * syslog. A datagram socket can be connected again, which also follows a
 * syslog daemon that restarted. Tried at most once a second. Returns the
 * descriptor when connected, else -1. */
static int syslog_connect(void)
{
	pthread_mutex_lock(&L.lock);
	int64_t now = mono_ms();
	if (now < L.syslog_retry_ms) {
		pthread_mutex_unlock(&L.lock);
		return -1;
	}
	L.syslog_retry_ms = now + 1000;
	if (L.syslog_fd < 0) {
		int fd = (int)syscall(SYS_socket, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd >= 0)
			L.syslog_fd = adopt_fd(fd);
	}
	int fd = -1;
	for (size_t i = 0; L.syslog_fd >= 0 && i < sizeof syslog_paths / sizeof *syslog_paths; i++) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		snprintf(sun.sun_path, sizeof sun.sun_path, "%s", syslog_paths[i]);
		if (syscall(SYS_connect, L.syslog_fd, &sun, sizeof sun) == 0) {
			fd = L.syslog_fd;
			break;
		}
	}
	L.syslog_connected = fd >= 0;
	pthread_mutex_unlock(&L.lock);
	return fd;
}

static bool syslog_send(const char *line, size_t len)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		int fd = L.syslog_connected ? L.syslog_fd : syslog_connect();
		if (fd < 0)
			return false;
		if (syscall(SYS_sendto, fd, line, len, MSG_DONTWAIT | MSG_NOSIGNAL, NULL, 0) >= 0)
			return true;
		if (errno != ECONNREFUSED && errno != ENOTCONN && errno != EDESTADDRREQ &&
		    errno != ENOENT)
			return false;   /* full (EAGAIN) or worse: this line is lost to syslog */
		L.syslog_connected = false;
	}
	return false;
}

/* Whether fd 2 may take log lines: a terminal, a pipe, a file, or a stream
 * to journald (a unix socket connected to a path), but never a network
 * connection or an unnamed socket pair, where the line would become part of
 * someone's data (inetd-style programs, or a connection the shim took over). */
static bool stderr_takes_lines(const struct stat *st)
{
	if (!S_ISSOCK(st->st_mode))
		return true;
	struct sockaddr_un peer;
	socklen_t len = sizeof peer;
	memset(&peer, 0, sizeof peer);
	if (syscall(SYS_getpeername, 2, &peer, &len) != 0)
		return false;
	return peer.sun_family == AF_UNIX && len > offsetof(struct sockaddr_un, sun_path) &&
	       peer.sun_path[0] != '\0';
}

/* A write to a pipe whose reader is gone raises SIGPIPE, which would end a
 * program that never writes to stderr itself: block it, and take back a
 * SIGPIPE this write caused. */
static void pipe_write_quietly(const char *line, size_t len)
{
	sigset_t pipe_only, old, pending;
	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
	bool was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
	if (raw_write(2, line, len) < 0 && errno == EPIPE && !was_pending) {
		struct timespec none = { 0, 0 };
		sigtimedwait(&pipe_only, NULL, &none);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* One line to fd 2, never blocking the calling thread (an engine thread
 * serving every connection may be the caller) nor raising SIGPIPE: a line a
 * full pipe or socket cannot take at once is dropped. */
static void stderr_write(const char *line, size_t len)
{
	struct stat st;
	if (syscall(SYS_fstat, 2, &st) != 0 || !stderr_takes_lines(&st))
		return;
	if (S_ISSOCK(st.st_mode)) {
		syscall(SYS_sendto, 2, line, len, MSG_DONTWAIT | MSG_NOSIGNAL, NULL, 0);
	} else if (S_ISFIFO(st.st_mode)) {
		int queued = 0;
		long size = syscall(SYS_fcntl, 2, F_GETPIPE_SZ);
		if (size > 0 && syscall(SYS_ioctl, 2, FIONREAD, &queued) == 0 &&
		    (size_t)(size - queued) >= len)
			pipe_write_quietly(line, len);
	} else {
		raw_write(2, line, len);
	}
}

static const char *prio_name(int prio)
{
	switch (prio) {
	case LOG_EMERG: case LOG_ALERT: case LOG_CRIT: case LOG_ERR: return "error";
	case LOG_WARNING: return "warning";
	case LOG_NOTICE: return "notice";
	case LOG_INFO: return "info";
	default: return "debug";
	}
}

void log_vmsg(int prio, const char *fmt, va_list ap)
{
	if (prio > L.maxprio)
		return;
	log_vemit(L.dests | LOG_TO_FILE, prio, fmt, ap);
}

void log_emit(unsigned dests, int prio, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vemit(dests, prio, fmt, ap);
	va_end(ap);
}

void log_vemit(unsigned dests, int prio, const char *fmt, va_list ap)
{
	log_vemit_as(dests, prio, NULL, fmt, ap);
}

void log_vemit_as(unsigned dests, int prio, const char *label, const char *fmt, va_list ap)
{
	int saved_errno = errno;
	char body[1536];
	vsnprintf(body, sizeof body, fmt, ap);
	body[strcspn(body, "\n")] = '\0';   /* one event, one line */

	char line[1800];
	/* getpid is a system call (glibc keeps no copy): asked only for the
	 * lines that carry the pid, the file's and syslog's */
	int pid = dests & (LOG_TO_FILE | LOG_TO_SYSLOG) ? (int)getpid() : 0;
	bool kept = false;   /* by a file or syslog */
	if ((dests & LOG_TO_FILE) && L.file_fd >= 0) {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		int n = snprintf(line, sizeof line,
				 "%04d-%02d-%02d %02d:%02d:%02d.%03ld %s[%d]: %s: %s\n",
				 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
				 tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, L.ident, pid,
				 label ? label : prio_name(prio), body);
		kept = raw_write(L.file_fd, line,
				 n < (int)sizeof line ? (size_t)n : sizeof line - 1) > 0;
	}
	if (dests & LOG_TO_SYSLOG) {
		int n = snprintf(line, sizeof line, "<%d>%s[%d]: %s", LOG_DAEMON | prio, L.ident,
				 pid, body);
		if (syslog_send(line, n < (int)sizeof line ? (size_t)n : sizeof line - 1))
			kept = true;
		else if (!kept)
			dests |= LOG_TO_STDERR;   /* no syslog here: the person running it sees it */
	}
	if (dests & LOG_TO_STDERR) {
		int n = snprintf(line, sizeof line, "%s: %s\n", L.ident, body);
		stderr_write(line, n < (int)sizeof line ? (size_t)n : sizeof line - 1);
	}
	errno = saved_errno;
}

void log_msg(int prio, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(prio, fmt, ap);
	va_end(ap);
}
