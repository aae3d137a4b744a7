/* iked/service — what iked tells the service manager (see service.h). */
#include "iked/service.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* The address $NOTIFY_SOCKET names; 0, or -1 when it names none we can use. */
static int notify_address(const char *path, struct sockaddr_un *sun, socklen_t *len)
{
	size_t n = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || n < 2 || n >= sizeof sun->sun_path) {
		errno = EAFNOSUPPORT;      /* e.g. systemd's vsock: form, not for iked */
		return -1;
	}
	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, n);
	if (path[0] == '@')
		sun->sun_path[0] = '\0';   /* abstract: the name is exactly n bytes */
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/'));
	return 0;
}

int service_notify(const char *fmt, ...)
{
	const char *path = getenv("NOTIFY_SOCKET");
	if (!path || !*path)
		return 0;
	struct sockaddr_un sun;
	socklen_t alen;
	if (notify_address(path, &sun, &alen))
		return -1;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof msg) {
		errno = EMSGSIZE;
		return -1;
	}
	/* Non-blocking: a service manager that does not read must not stop the
	 * event loop; the datagram is then lost and the caller logs it. */
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	ssize_t sent = sendto(fd, msg, (size_t)n, MSG_NOSIGNAL, (struct sockaddr *)&sun, alen);
	int err = errno;
	close(fd);
	if (sent != n) {
		errno = sent < 0 ? err : EMSGSIZE;
		return -1;
	}
	return 0;
}

int service_notify_reloading(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	unsigned long long usec = (unsigned long long)ts.tv_sec * 1000000ULL +
				  (unsigned long long)ts.tv_nsec / 1000ULL;
	return service_notify("RELOADING=1\nMONOTONIC_USEC=%llu", usec);
}

bool service_stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	char end;
	if (!js || sscanf(js, "%llu:%llu%c", &dev, &ino, &end) != 2)
		return false;
	struct stat st;
	return fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}
