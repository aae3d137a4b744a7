#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
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
	int (*fd_hook)(int);
	pthread_mutex_t lock;   /* guards opening and closing descriptors only */
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

/* The syslog socket is opened on first use; a missing /dev/log is not an error. */
static int syslog_socket(void)
{
	if (L.syslog_fd >= 0)
		return L.syslog_fd;
	pthread_mutex_lock(&L.lock);
	if (L.syslog_fd < 0) {
		int fd = (int)syscall(SYS_socket, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd >= 0) {
			struct sockaddr_un sun = { .sun_family = AF_UNIX };
			strcpy(sun.sun_path, "/dev/log");
			if (syscall(SYS_connect, fd, &sun, sizeof sun) == 0)
				L.syslog_fd = adopt_fd(fd);
			else
				syscall(SYS_close, fd);
		}
	}
	pthread_mutex_unlock(&L.lock);
	return L.syslog_fd;
}

static const char *prio_name(int prio)
{
	switch (prio) {
	case LOG_EMERG: case LOG_ALERT: case LOG_CRIT: case LOG_ERR: return "error";
	case LOG_WARNING: return "warning";
	case LOG_NOTICE: case LOG_INFO: return "info";
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
	int saved_errno = errno;
	char body[1536];
	vsnprintf(body, sizeof body, fmt, ap);
	body[strcspn(body, "\n")] = '\0';   /* one event, one line */

	char line[1800];
	int pid = (int)getpid();
	if (dests & LOG_TO_STDERR) {
		int n = snprintf(line, sizeof line, "%s: %s\n", L.ident, body);
		raw_write(2, line, n < (int)sizeof line ? (size_t)n : sizeof line - 1);
	}
	if ((dests & LOG_TO_FILE) && L.file_fd >= 0) {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		int n = snprintf(line, sizeof line,
				 "%04d-%02d-%02d %02d:%02d:%02d.%03ld %s[%d]: %s: %s\n",
				 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
				 tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, L.ident, pid,
				 prio_name(prio), body);
		raw_write(L.file_fd, line, n < (int)sizeof line ? (size_t)n : sizeof line - 1);
	}
	if (dests & LOG_TO_SYSLOG) {
		int fd = syslog_socket();
		if (fd >= 0) {
			int n = snprintf(line, sizeof line, "<%d>%s[%d]: %s",
					 LOG_DAEMON | prio, L.ident, pid, body);
			syscall(SYS_sendto, fd, line,
				n < (int)sizeof line ? (size_t)n : sizeof line - 1,
				MSG_DONTWAIT | MSG_NOSIGNAL, NULL, 0);
		}
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
