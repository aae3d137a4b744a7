#include "preload/convert.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "policy/attls.h"
#include "policy/policy.h"
#include "policy/schema.h"
#include "preload/conn.h"
#include "preload/engine.h"
#include "preload/fdtab.h"
#include "preload/names.h"
#include "preload/real.h"
#include "preload/rt.h"
#include "preload/secmap.h"
#include "preload/tls.h"

#define PAIR_BUF (1 << 20)

bool convert_is_inet_tcp(int fd)
{
	int v = 0;
	socklen_t l = sizeof v;
	if (sys_getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &l) != 0 || (v != AF_INET && v != AF_INET6))
		return false;
	l = sizeof v;
	if (sys_getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l) != 0 || v != SOCK_STREAM)
		return false;
	l = sizeof v;
	return sys_getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &l) == 0 && v == IPPROTO_TCP;
}

static int set_buf(int fd, int opt, int size)
{
	return sys_setsockopt(fd, SOL_SOCKET, opt, &size, sizeof size);
}

/* Bytes the program's end must hold back so that it is not writable: a stream
 * unix socket polls writable while its queued bytes stay under a quarter of
 * its send buffer. */
static size_t unwritable_filler(int p)
{
	set_buf(p, SO_SNDBUF, 4096);
	int actual = 0;
	socklen_t l = sizeof actual;
	sys_getsockopt(p, SOL_SOCKET, SO_SNDBUF, &actual, &l);
	return (size_t)(actual > 0 ? actual : 8192) / 2;
}

static int write_all(int fd, size_t n)
{
	static const char zeros[4096];
	while (n) {
		ssize_t w = write(fd, zeros, n < sizeof zeros ? n : sizeof zeros);
		if (w <= 0)
			return -1;
		n -= (size_t)w;
	}
	return 0;
}

enum hold { HOLD_NONE, HOLD_SENTINEL, HOLD_UNWRITABLE };

/* Put a socketpair in place of the TCP socket at fd. hold: what to leave in
 * the engine end's queue until the handshake is over (see engine.c: an
 * unread byte makes the kernel report ECONNRESET to the program if the engine
 * closes; a larger filler also keeps the program's end from polling writable
 * before the connection is secure). */
static int swap_in_pair(int fd, struct conn *c, enum hold hold, int *app_dup)
{
	*app_dup = -1;
	int fl = sys_fcntl(fd, F_GETFL, 0), fdfl = sys_fcntl(fd, F_GETFD, 0);
	if (fl < 0 || fdfl < 0)
		return -1;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	int p = sv[0];
	c->eng = fdtab_adopt(sv[1]);
	if (c->eng < 0) {
		sys_close(p);
		return -1;
	}
	sys_fcntl(c->eng, F_SETFL, O_NONBLOCK);
	if (hold == HOLD_UNWRITABLE) {
		c->filler = unwritable_filler(p);
		c->app_sndbuf = PAIR_BUF;
		int d = sys_fcntl(p, F_DUPFD_CLOEXEC, 0);
		*app_dup = d >= 0 ? fdtab_adopt(d) : -1;
		if (*app_dup < 0 || write_all(p, c->filler))
			goto fail;
	} else {
		set_buf(p, SO_SNDBUF, PAIR_BUF);
		if (hold == HOLD_SENTINEL) {
			c->filler = 1;
			if (write_all(p, 1))
				goto fail;
		}
	}
	if (fl & O_NONBLOCK)
		sys_fcntl(p, F_SETFL, O_NONBLOCK);

	fdtab_lock();
	c->tcp = fdtab_dup_shim(fd);
	if (c->tcp < 0 || sys_dup3(p, fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
		int e = errno;
		fdtab_unlock();
		errno = e;
		goto fail;
	}
	fdtab_set_conn(fd, c);
	fdtab_unlock();
	sys_close(p);
	sys_fcntl(c->tcp, F_SETFL, fl | O_NONBLOCK);
	struct stat st;
	if (fstat(fd, &st) == 0)
		c->app_ino = st.st_ino;
	return 0;
fail:;
	int e = errno;
	sys_close(p);
	fdtab_release(c->eng);
	c->eng = -1;
	if (c->tcp >= 0) {
		fdtab_release(c->tcp);
		c->tcp = -1;
	}
	if (*app_dup >= 0)
		fdtab_release(*app_dup);
	*app_dup = -1;
	errno = e;
	return -1;
}

/* The rule for a new connection; *p may be swapped for the snapshot of a
 * SecondaryMap primary's rule (the reference moves with it). */
static const struct attls_rule *lookup(struct policy **p, int dir, const struct sockaddr *local,
				       const struct sockaddr *remote)
{
	struct attls_conn key = { .direction = dir };
	char job[32], user[64];
	if (ip_addr_from_sockaddr(local, &key.local, &key.lport) != 0 ||
	    ip_addr_from_sockaddr(remote, &key.remote, &key.rport) != 0)
		return NULL;
	rt_fill_identity(*p, &key, job, sizeof job, user, sizeof user);
	const struct attls_rule *r = attls_match(*p, &key);
	struct policy *primary_pol = NULL;
	const struct attls_rule *pr = secmap_find(&key.local, &key.remote, r, &primary_pol);
	if (pr) {
		policy_unref(*p);
		*p = primary_pol;
		return pr;
	}
	return r;
}

static struct conn *new_conn(struct policy *p, const struct attls_rule *r, int dir,
			     const struct sockaddr_storage *local, socklen_t llen,
			     const struct sockaddr_storage *remote, socklen_t rlen)
{
	struct conn *c = conn_new();
	if (!c)
		return NULL;
	c->dir = dir;
	c->local = *local;
	c->llen = llen;
	c->remote = *remote;
	c->rlen = rlen;
	c->pol = policy_ref(p);
	c->rule = r;
	c->s = r->s;
	c->role = r->s->role;
	c->app_controlled = r->s->app_controlled;
	if (c->role == ROLE_CLIENT) {
		if (r->s->host_ref_dns)
			snprintf(c->host, sizeof c->host, "%s", r->s->host_ref_dns);
		else
			names_lookup((const struct sockaddr *)remote, c->host, sizeof c->host);
	}
	/* The engine moves it on; the ioctl asks the engine, never reads this. */
	c->st = c->app_controlled ? CS_CLEAR : CS_HANDSHAKE;
	return c;
}

/* The TLS context of an outbound connection's rule (a reference), or NULL
 * after logging why its key ring or settings cannot be used and what became
 * of the connection. */
static struct tls_ctx *usable_ctx(struct policy *p, const struct attls_rule *r,
				  const struct sockaddr *remote, const char *outcome)
{
	char err[512];
	struct tls_ctx *ctx = tls_ctx_get(p, r->s, r->s->role, err, sizeof err);
	if (!ctx) {
		char a[IP_STRLEN] = "?";
		struct ip_addr ra;
		uint16_t port = 0;
		if (ip_addr_from_sockaddr(remote, &ra, &port) == 0)
			ip_addr_format(&ra, a, sizeof a);
		rt_log(r->s->trace, TRACE_ERR_SYSLOG, LOG_ERR, "rule %s: connection to %s port %u %s "
		       "(EACCES): TLS cannot be set up: %s", r->name, a, port, outcome, err);
	}
	return ctx;
}

int convert_after_connect(struct policy *p, int fd, const struct sockaddr *addr, socklen_t alen,
			  int rc, int err)
{
	struct sockaddr_storage local, remote;
	socklen_t llen = sizeof local;
	memset(&remote, 0, sizeof remote);
	memcpy(&remote, addr, alen < sizeof remote ? alen : sizeof remote);
	const struct attls_rule *r = NULL;
	if (sys_getsockname(fd, (struct sockaddr *)&local, &llen) == 0)
		r = lookup(&p, DIR_OUTBOUND, (struct sockaddr *)&local, (struct sockaddr *)&remote);
	if (!r || !r->s->enabled) {
		policy_unref(p);
		errno = err;
		return rc;
	}
	/* Only when the rule depends on what connect() picked (see
	 * convert_before_connect) can this find an unusable key ring. */
	struct tls_ctx *ctx = usable_ctx(p, r, (struct sockaddr *)&remote,
					 "closed before any byte was sent");
	if (!ctx) {
		policy_unref(p);
		sys_shutdown(fd, SHUT_RDWR);
		errno = EACCES;
		return -1;
	}
	struct conn *c = new_conn(p, r, DIR_OUTBOUND, &local, llen, &remote, alen);
	policy_unref(p);
	if (!c) {
		tls_ctx_put(ctx);
		errno = ENOMEM;
		return -1;
	}
	c->ctx = ctx;
	int fl = sys_fcntl(fd, F_GETFL, 0);
	bool nonblocking = fl >= 0 && (fl & O_NONBLOCK);
	if (rc != 0)
		c->st = CS_CONNECTING;
	int app_dup;
	if (swap_in_pair(fd, c, nonblocking ? HOLD_UNWRITABLE : HOLD_NONE, &app_dup) != 0) {
		int e = errno;
		conn_log(c, TRACE_ERR_SYSLOG, LOG_ERR, "cannot take over the connection: %s; refused",
			 strerror(e));
		conn_unref(c);
		sys_shutdown(fd, SHUT_RDWR);
		errno = ECONNREFUSED;
		return -1;
	}
	conn_log(c, TRACE_INFO, LOG_INFO, "covered (outbound, %s)%s", c->host[0] ? c->host : "no name",
		 c->app_controlled ? ", application-controlled" : "");
	secmap_add(c);
	conn_ref(c);   /* ours while we wait; the creator's reference goes to the engine */
	if (engine_add(c, app_dup) != 0) {
		conn_unref(c);
		/* No engine: the program's end has nobody behind it. Closing it from
		 * here is not possible, so say it plainly in the result. */
		conn_unref(c);
		errno = ECONNRESET;
		return -1;
	}
	if (nonblocking) {
		conn_unref(c);
		errno = EINPROGRESS;
		return -1;
	}
	/* A blocking connect returns once TLS is up, as on z/OS. */
	int e = engine_wait_ready(c);
	/* connect() has told the outcome: as on a TCP socket, SO_ERROR then says
	 * nothing more and a further connect() says EISCONN or starts over. */
	pthread_mutex_lock(&c->mu);
	c->connect_told = true;
	c->err = 0;
	pthread_mutex_unlock(&c->mu);
	conn_unref(c);
	if (e) {
		errno = e == ECONNREFUSED || e == ENETUNREACH || e == EHOSTUNREACH ? e : ECONNRESET;
		return -1;
	}
	return 0;
}

int convert_after_accept(int fd)
{
	if (!convert_is_inet_tcp(fd))
		return fd;
	struct policy *p = rt_policy();
	if (!p) {
		sys_close(fd);
		errno = EACCES;
		return -1;
	}
	struct sockaddr_storage local, remote;
	socklen_t llen = sizeof local, rlen = sizeof remote;
	const struct attls_rule *r = NULL;
	if (sys_getsockname(fd, (struct sockaddr *)&local, &llen) == 0 &&
	    sys_getpeername(fd, (struct sockaddr *)&remote, &rlen) == 0)
		r = lookup(&p, DIR_INBOUND, (struct sockaddr *)&local, (struct sockaddr *)&remote);
	if (!r || !r->s->enabled) {
		policy_unref(p);
		return fd;
	}
	struct conn *c = new_conn(p, r, DIR_INBOUND, &local, llen, &remote, rlen);
	policy_unref(p);
	if (!c) {
		sys_close(fd);
		errno = ENOMEM;
		return -1;
	}
	int app_dup;
	/* Clear text first on an application-controlled connection: nothing to hold. */
	if (swap_in_pair(fd, c, c->app_controlled ? HOLD_NONE : HOLD_SENTINEL, &app_dup) != 0) {
		int e = errno;
		conn_log(c, TRACE_ERR_SYSLOG, LOG_ERR, "cannot take over the connection: %s; closed",
			 strerror(e));
		conn_unref(c);
		sys_close(fd);
		errno = ECONNABORTED;
		return -1;
	}
	conn_log(c, TRACE_INFO, LOG_INFO, "covered (inbound)%s",
		 c->app_controlled ? ", application-controlled" : "");
	secmap_add(c);
	if (engine_add(c, app_dup) != 0) {
		conn_unref(fdtab_take(fd));
		conn_unref(c);
		sys_close(fd);
		errno = ECONNABORTED;
		return -1;
	}
	return fd;
}

/* Whether the address is the unspecified one (a socket not yet bound). */
static bool unspecified(const struct ip_addr *a)
{
	for (size_t i = 0; i < sizeof a->b; i++)
		if (a->b[i])
			return false;
	return true;
}

int convert_before_connect(struct policy *p, int fd, const struct sockaddr *addr, socklen_t alen)
{
	if (alen < (addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						 : sizeof(struct sockaddr_in)))
		return 0;   /* the kernel refuses it */
	struct sockaddr_storage local;
	socklen_t llen = sizeof local;
	struct attls_conn key = { .direction = DIR_OUTBOUND };
	if (sys_getsockname(fd, (struct sockaddr *)&local, &llen) != 0 ||
	    ip_addr_from_sockaddr((struct sockaddr *)&local, &key.local, &key.lport) != 0 ||
	    ip_addr_from_sockaddr(addr, &key.remote, &key.rport) != 0)
		return 0;
	/* What the kernel has not picked yet, a rule may still look at; and a
	 * SecondaryMap primary may claim the connection once its local address
	 * is known. Then the check after connect() decides. */
	if ((unspecified(&key.local) && attls_outbound_uses_local_addr(p)) ||
	    (key.lport == 0 && attls_outbound_uses_local_port(p)) || secmap_involves(&key.remote))
		return 0;
	char job[32], user[64];
	rt_fill_identity(p, &key, job, sizeof job, user, sizeof user);
	const struct attls_rule *r = attls_match(p, &key);
	if (!r || !r->s->enabled)
		return 0;
	struct tls_ctx *ctx = usable_ctx(p, r, addr, "refused before connecting");
	if (!ctx) {
		errno = EACCES;
		return -1;
	}
	tls_ctx_put(ctx);
	return 0;
}
