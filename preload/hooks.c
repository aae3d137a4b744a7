/*
 * preload/hooks — the functions libattls.so exports in place of libc's. Each is
 * the same three steps: bind the real symbol (real_init), decide whether the
 * descriptor is one the shim cares about (a lock-free table check for the
 * common case), and either pass the call through or apply the logic.
 *
 * Not hooked on purpose: read/write/send/recv and their __*_chk variants,
 * select/poll/epoll, sendfile, splice, shutdown, fcntl(F_SETFL). A covered
 * descriptor is a real AF_UNIX stream socket, so the kernel gives all of
 * them their own semantics at no cost per byte.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "policy/policy.h"
#include "preload/conn.h"
#include "preload/convert.h"
#include "preload/engine.h"
#include "preload/fdtab.h"
#include "preload/names.h"
#include "preload/real.h"
#include "preload/rt.h"
#include "preload/ttlsctl.h"

#include <ezbztlsc.h>

#define EXPORT __attribute__((visibility("default")))

/* The table entry for fd, if it still names the program end it was made for
 * (a descriptor closed behind the shim's back, e.g. by fclose(), leaves a stale
 * entry that a later socket-level call must not trust). */
static struct conn *conn_of(int fd)
{
	struct conn *c = fdtab_conn(fd);
	if (!c)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) != 0 || st.st_ino != c->app_ino) {
		conn_unref(c);
		struct conn *stale = fdtab_take(fd);
		if (stale)
			conn_unref(stale);
		return NULL;
	}
	return c;
}

/* ---- connect / accept ---------------------------------------------------------- */

/* connect() again on a covered descriptor answers what Linux answers on a
 * non-blocking TCP socket (__inet_stream_connect): EALREADY until the outcome
 * is known; then, for a connection that was made, 0 once and EISCONN after;
 * for one that failed, the error once (ECONNABORTED when SO_ERROR already
 * took it). Returns 1 when this call must start over instead: Linux connects
 * again after a failure it has reported through connect(). */
static int connect_again(struct conn *c)
{
	int e = 0;
	pthread_mutex_lock(&c->mu);
	if (!c->ready) {
		e = EALREADY;
	} else if (!c->failed) {
		if (c->connect_told)
			e = EISCONN;
		c->connect_told = true;
	} else if (!c->connect_told) {
		e = c->err ? c->err : ECONNABORTED;
		c->err = 0;
		c->connect_told = true;
	} else {
		e = -1;
	}
	pthread_mutex_unlock(&c->mu);
	if (e < 0)
		return 1;
	errno = e;
	return e ? -1 : 0;
}

/* Starting over after a failed connection: the program's end of the dead pair
 * cannot connect, so a new TCP socket of the same family, with the program's
 * flags, takes its number. Options set and addresses bound before the first
 * connect() are not carried over. */
static int fresh_socket(int fd, struct conn *c)
{
	int fl = sys_fcntl(fd, F_GETFL, 0), fdfl = sys_fcntl(fd, F_GETFD, 0);
	if (fl < 0 || fdfl < 0)
		return -1;
	int s = socket(c->local.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
		       ((fl & O_NONBLOCK) ? SOCK_NONBLOCK : 0), IPPROTO_TCP);
	if (s < 0)
		return -1;
	fdtab_lock();
	int rc = sys_dup3(s, fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0);
	int e = errno;
	struct conn *old = rc >= 0 ? fdtab_take(fd) : NULL;
	fdtab_unlock();
	sys_close(s);
	conn_unref(old);
	errno = e;
	return rc < 0 ? -1 : 0;
}

EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	real_init();
	if (!addr || len < sizeof(sa_family_t) ||
	    (addr->sa_family != AF_INET && addr->sa_family != AF_INET6) || engine_is_self())
		return real.connect(fd, addr, len);
	if (fdtab_known(fd)) {
		if (fdtab_is_shim(fd)) {
			errno = EBADF;
			return -1;
		}
		struct conn *c = conn_of(fd);
		if (c) {
			int rc = connect_again(c);
			bool restart = rc == 1;
			if (restart)
				rc = fresh_socket(fd, c);
			int e = errno;
			conn_unref(c);
			errno = e;
			if (!restart || rc != 0)
				return rc;
		}
	}
	if (!convert_is_inet_tcp(fd))
		return real.connect(fd, addr, len);
	rt_init();
	/* Fail closed before anything reaches the network: without a valid
	 * policy the connection is never made. (Checking after the real connect
	 * left a connected socket behind EACCES; a program that ignored the
	 * error and wrote anyway sent its data in clear text.) */
	struct policy *p = rt_policy();
	if (!p) {
		errno = EACCES;
		return -1;
	}
	if (convert_before_connect(p, fd, addr, len) != 0) {
		policy_unref(p);
		errno = EACCES;
		return -1;
	}
	int rc = real.connect(fd, addr, len);
	int err = errno;
	if (rc != 0 && err != EINPROGRESS) {
		policy_unref(p);
		errno = err;
		return rc;
	}
	return convert_after_connect(p, fd, addr, len, rc, err);
}

static int after_accept(int fd)
{
	if (fd < 0 || engine_is_self())
		return fd;
	/* A stale entry for a number the kernel reused: forget it. */
	if (fdtab_known(fd) && !fdtab_is_shim(fd)) {
		struct conn *stale = fdtab_take(fd);
		if (stale)
			conn_unref(stale);
	}
	return convert_after_accept(fd);
}

EXPORT int accept(int lfd, struct sockaddr *addr, socklen_t *len)
{
	real_init();
	return after_accept(real.accept(lfd, addr, len));
}

EXPORT int accept4(int lfd, struct sockaddr *addr, socklen_t *len, int flags)
{
	real_init();
	return after_accept(real.accept4(lfd, addr, len, flags));
}

/* ---- descriptor lifetime ---------------------------------------------------------- */

EXPORT int close(int fd)
{
	real_init();
	if (!fdtab_known(fd))
		return real.close(fd);
	if (fdtab_is_shim(fd)) {
		/* Not the program's: as if the number were free. */
		errno = EBADF;
		return -1;
	}
	struct conn *c = fdtab_take(fd);
	int rc = real.close(fd);
	int e = errno;
	/* Two references left, this one and the engine's: that was the process's
	 * last descriptor of c, which the engine may need to hear about. */
	if (c && !c->foreign && atomic_load(&c->refs) == 2)
		engine_program_closed(c);
	conn_unref(c);
	errno = e;
	return rc;
}

/* A new number for the same open file: the table follows. */
static int track_dup(int oldfd, int newfd)
{
	if (newfd < 0)
		return newfd;
	struct conn *c = fdtab_conn(oldfd);
	if (c) {
		fdtab_set_conn(newfd, c);
		conn_unref(c);
	}
	return newfd;
}

EXPORT int dup(int fd)
{
	real_init();
	if (fdtab_is_shim(fd)) {
		errno = EBADF;
		return -1;
	}
	return track_dup(fd, real.dup(fd));
}

/* dup2/dup3 onto newfd: a shim descriptor there moves away first; whatever
 * connection newfd stood for loses that name. */
static int dup_onto(int oldfd, int newfd, int flags, bool three)
{
	if (fdtab_is_shim(oldfd)) {
		errno = EBADF;
		return -1;
	}
	if (oldfd == newfd)
		return three ? real.dup3(oldfd, newfd, flags) : real.dup2(oldfd, newfd);
	fdtab_lock();
	if (fdtab_is_shim(newfd) && fdtab_evict(newfd) != 0) {
		fdtab_unlock();
		errno = EBUSY;
		return -1;
	}
	int rc = three ? real.dup3(oldfd, newfd, flags) : real.dup2(oldfd, newfd);
	if (rc >= 0) {
		struct conn *old = fdtab_take(newfd);
		if (old)
			conn_unref(old);
		track_dup(oldfd, newfd);
	}
	fdtab_unlock();
	return rc;
}

EXPORT int dup2(int oldfd, int newfd)
{
	real_init();
	if (!fdtab_known(oldfd) && !fdtab_known(newfd))
		return real.dup2(oldfd, newfd);
	return dup_onto(oldfd, newfd, 0, false);
}

EXPORT int dup3(int oldfd, int newfd, int flags)
{
	real_init();
	if (!fdtab_known(oldfd) && !fdtab_known(newfd))
		return real.dup3(oldfd, newfd, flags);
	return dup_onto(oldfd, newfd, flags, true);
}

static int fcntl_common(int (*fn)(int, int, ...), int fd, int cmd, va_list ap)
{
	/* Every fcntl argument is an int, a long or a pointer: pass the bits on. */
	void *arg = va_arg(ap, void *);
	if (!fdtab_known(fd))
		return fn(fd, cmd, arg);
	if (fdtab_is_shim(fd)) {
		errno = EBADF;
		return -1;
	}
	int rc = fn(fd, cmd, arg);
	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
		track_dup(fd, rc);
	return rc;
}

EXPORT int fcntl(int fd, int cmd, ...)
{
	real_init();
	va_list ap;
	va_start(ap, cmd);
	int rc = fcntl_common(real.fcntl, fd, cmd, ap);
	va_end(ap);
	return rc;
}

EXPORT int fcntl64(int fd, int cmd, ...)
{
	real_init();
	va_list ap;
	va_start(ap, cmd);
	int rc = fcntl_common(real.fcntl64, fd, cmd, ap);
	va_end(ap);
	return rc;
}

struct range_close { unsigned lo, hi; };

static void forget_fd(int fd, void *arg)
{
	(void)arg;
	struct conn *c = fdtab_take(fd);
	if (c)
		conn_unref(c);
}

/* close_range() without closing the shim's descriptors: close the stretches
 * between them. */
static int close_range_sparing(unsigned lo, unsigned hi, int flags)
{
	if (flags & CLOSE_RANGE_CLOEXEC)
		return (int)syscall(SYS_close_range, lo, hi, flags);
	fdtab_each_conn(lo, hi, forget_fd, NULL);
	unsigned top = fdtab_top(), start = lo;
	for (unsigned fd = lo; fd <= hi && fd < top; fd++) {
		if (!fdtab_is_shim((int)fd))
			continue;
		if (fd > start && syscall(SYS_close_range, start, fd - 1, flags) != 0)
			return -1;
		start = fd + 1;
	}
	if (start <= hi && start >= lo)
		return (int)syscall(SYS_close_range, start, hi, flags);
	return 0;
}

EXPORT int close_range(unsigned lo, unsigned hi, int flags)
{
	real_init();
	if (lo > hi) {
		errno = EINVAL;
		return -1;
	}
	return close_range_sparing(lo, hi, flags);
}

EXPORT void closefrom(int lowfd)
{
	real_init();
	if (lowfd < 0)
		lowfd = 0;
	close_range_sparing((unsigned)lowfd, ~0u, 0);
}

/* ---- socket-level calls on covered descriptors ------------------------------- */

/* Options that belong to the program's end of the pair: they shape how the
 * program's own reads and writes behave. */
static bool pair_option(int level, int opt)
{
	return level == SOL_SOCKET &&
	       (opt == SO_RCVTIMEO || opt == SO_SNDTIMEO || opt == SO_RCVLOWAT || opt == SO_SNDLOWAT ||
		opt == SO_PASSCRED || opt == SO_PEEK_OFF || opt == SO_TIMESTAMP || opt == SO_TIMESTAMPNS);
}

/* Run op on the real socket while the engine cannot close it under us. */
static int with_tcp(struct conn *c, int (*op)(int tcp, void *arg), void *arg)
{
	pthread_mutex_lock(&c->mu);
	int rc;
	if (c->foreign || c->tcp < 0) {
		errno = ENOTCONN;
		rc = -2;
	} else {
		rc = op(c->tcp, arg);
	}
	pthread_mutex_unlock(&c->mu);
	return rc;
}

struct sockopt_args { int level, opt; void *val; socklen_t *len; const void *cval; socklen_t clen; };

static int get_on_tcp(int tcp, void *a)
{
	struct sockopt_args *s = a;
	return sys_getsockopt(tcp, s->level, s->opt, s->val, s->len);
}

static int set_on_tcp(int tcp, void *a)
{
	struct sockopt_args *s = a;
	return sys_setsockopt(tcp, s->level, s->opt, s->cval, s->clen);
}

static int put_int(void *val, socklen_t *len, int v)
{
	if (!val || !len || *len < sizeof(int)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(val, &v, sizeof v);
	*len = sizeof v;
	return 0;
}

EXPORT int getsockopt(int fd, int level, int opt, void *val, socklen_t *len)
{
	real_init();
	if (!fdtab_known(fd))
		return real.getsockopt(fd, level, opt, val, len);
	struct conn *c = conn_of(fd);
	if (!c)
		return real.getsockopt(fd, level, opt, val, len);
	int rc;
	if (level == SOL_SOCKET && opt == SO_ERROR) {
		/* A failed connection reports its error once, like a TCP socket. */
		pthread_mutex_lock(&c->mu);
		int err = c->ready ? c->err : 0;
		if (c->ready)
			c->err = 0;
		pthread_mutex_unlock(&c->mu);
		rc = put_int(val, len, err);
	} else if (level == SOL_SOCKET && opt == SO_DOMAIN) {
		rc = put_int(val, len, c->remote.ss_family);
	} else if (level == SOL_SOCKET && opt == SO_PROTOCOL) {
		rc = put_int(val, len, IPPROTO_TCP);
	} else if (pair_option(level, opt)) {
		rc = real.getsockopt(fd, level, opt, val, len);
	} else {
		struct sockopt_args a = { level, opt, val, len, NULL, 0 };
		rc = with_tcp(c, get_on_tcp, &a);
		if (rc == -2) {
			/* The real socket is gone (closed, or the parent's after fork): a
			 * TCP socket in that state still answers its options. */
			rc = real.getsockopt(fd, level, opt, val, len);
			if (rc != 0 && level == IPPROTO_TCP)
				rc = put_int(val, len, 0);
		}
	}
	conn_unref(c);
	return rc;
}

EXPORT int setsockopt(int fd, int level, int opt, const void *val, socklen_t len)
{
	real_init();
	if (!fdtab_known(fd))
		return real.setsockopt(fd, level, opt, val, len);
	struct conn *c = conn_of(fd);
	if (!c)
		return real.setsockopt(fd, level, opt, val, len);
	int rc;
	if (pair_option(level, opt)) {
		rc = real.setsockopt(fd, level, opt, val, len);
	} else {
		struct sockopt_args a = { level, opt, NULL, NULL, val, len };
		/* A send buffer limit shapes how far the program can write ahead:
		 * apply it to its end too. */
		if (level == SOL_SOCKET && opt == SO_SNDBUF)
			real.setsockopt(fd, level, opt, val, len);
		rc = with_tcp(c, set_on_tcp, &a);
		if (rc == -2)
			rc = 0;   /* nothing left to apply it to */
	}
	conn_unref(c);
	return rc;
}

static int copy_addr(const struct sockaddr_storage *ss, socklen_t sl, struct sockaddr *addr,
		     socklen_t *len)
{
	if (!addr || !len) {
		errno = EFAULT;
		return -1;
	}
	memcpy(addr, ss, *len < sl ? *len : sl);
	*len = sl;
	return 0;
}

EXPORT int getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
	real_init();
	if (!fdtab_known(fd))
		return real.getpeername(fd, addr, len);
	struct conn *c = conn_of(fd);
	if (!c)
		return real.getpeername(fd, addr, len);
	int rc = copy_addr(&c->remote, c->rlen, addr, len);
	conn_unref(c);
	return rc;
}

EXPORT int getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
	real_init();
	if (!fdtab_known(fd))
		return real.getsockname(fd, addr, len);
	struct conn *c = conn_of(fd);
	if (!c)
		return real.getsockname(fd, addr, len);
	int rc = copy_addr(&c->local, c->llen, addr, len);
	conn_unref(c);
	return rc;
}

EXPORT int ioctl(int fd, unsigned long req, ...)
{
	real_init();
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	/* The same command with another argument size is still SIOCTTLSCTL, with
	 * the wrong length: EINVAL/JrSocketCallParmError, as on z/OS. */
	unsigned long sizeless = ~((unsigned long)_IOC_SIZEMASK << _IOC_SIZESHIFT);
	if ((req & sizeless) == (SIOCTTLSCTL & sizeless))
		return ttlsctl_ioctl(fd, arg, req == SIOCTTLSCTL);
	return real.ioctl(fd, req, arg);
}

/* ---- name resolution ------------------------------------------------------------ */

EXPORT int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		       struct addrinfo **res)
{
	real_init();
	int rc = real.getaddrinfo(node, service, hints, res);
	if (rc == 0 && res)
		names_remember_ai(node, *res);
	return rc;
}

EXPORT struct hostent *gethostbyname(const char *name)
{
	real_init();
	struct hostent *he = real.gethostbyname(name);
	names_remember_hostent(name, he);
	return he;
}

EXPORT struct hostent *gethostbyname2(const char *name, int af)
{
	real_init();
	struct hostent *he = real.gethostbyname2(name, af);
	names_remember_hostent(name, he);
	return he;
}

EXPORT int gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen,
			   struct hostent **result, int *h_errnop)
{
	real_init();
	int rc = real.gethostbyname_r(name, ret, buf, buflen, result, h_errnop);
	if (rc == 0 && result)
		names_remember_hostent(name, *result);
	return rc;
}

EXPORT int gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf,
			    size_t buflen, struct hostent **result, int *h_errnop)
{
	real_init();
	int rc = real.gethostbyname2_r(name, af, ret, buf, buflen, result, h_errnop);
	if (rc == 0 && result)
		names_remember_hostent(name, *result);
	return rc;
}
