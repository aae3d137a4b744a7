#include "preload/engine.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "policy/attls.h"
#include "policy/policy.h"
#include "policy/schema.h"
#include "preload/export.h"
#include "preload/fdtab.h"
#include "preload/real.h"
#include "preload/rt.h"
#include "preload/tls.h"

#define SCRATCH 65536
#define BATCH 16              /* records per direction before letting others run */
#define PAIR_BUF (1 << 20)    /* send buffer of each socketpair end */
#define LINGER_S 2            /* how long a connection whose program is gone waits for
				 the peer to close */

enum { TAG_TCP = 0, TAG_ENG = 1, TAG_SPECIAL = 2 };
enum special { SP_EVENT, SP_TIMER, SP_EXPORT };

struct cmd {
	struct cmd *next;
	enum { CMD_ADD, CMD_CALL } type;
	struct conn *c;
	void (*fn)(void *);
	void *arg;
	bool done;
};

static struct {
	pthread_mutex_t mu;          /* queue, running, cmd completion */
	pthread_cond_t cv;
	bool running;
	pid_t pid;
	pthread_t thread;
	int epfd, evfd, tmfd, exfd;
	struct cmd *qhead, *qtail;
	/* engine thread only */
	bool exiting;                /* the process is exiting: flush and close everything */
	struct conn *conns;
	struct conn *again;
	struct conn *dead;           /* torn down during this round; released after it */
	int64_t armed_ms;
	uint8_t scratch[SCRATCH];
} E = {
	.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER,
	.epfd = -1, .evfd = -1, .tmfd = -1, .exfd = -1,
};

/* Their addresses stand for SP_*; 4-byte alignment leaves the tag bits free. */
static const uint32_t special_tags[3];

static __thread bool on_engine;

bool engine_is_self(void) { return on_engine; }

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static unsigned trace_of(const struct conn *c)
{
	return c->s ? c->s->trace : TRACE_ERR_SYSLOG;
}

void conn_log(const struct conn *c, unsigned bit, int prio, const char *fmt, ...)
{
	char body[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(body, sizeof body, fmt, ap);
	va_end(ap);
	char peer[INET6_ADDRSTRLEN + 8] = "?";
	char a[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (c->remote.ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)&c->remote;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof a);
		port = ntohs(s4->sin_port);
		snprintf(peer, sizeof peer, "%s:%u", a, port);
	} else if (c->remote.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)&c->remote;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof a);
		port = ntohs(s6->sin6_port);
		snprintf(peer, sizeof peer, "[%s]:%u", a, port);
	}
	rt_log(trace_of(c), bit, prio, "conn %llu rule %s %s %s: %s", (unsigned long long)c->id,
	       c->rule ? c->rule->name : "-", c->dir == DIR_INBOUND ? "from" : "to", peer, body);
}

/* ---- epoll registration ------------------------------------------------------ */

static uint64_t tag(const void *p, int t) { return (uint64_t)(uintptr_t)p | (uint64_t)t; }

static int watch(int fd, uint64_t data)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.u64 = data };
	return epoll_ctl(E.epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void unwatch(int fd)
{
	if (fd >= 0)
		epoll_ctl(E.epfd, EPOLL_CTL_DEL, fd, NULL);
}

/* ---- timers ------------------------------------------------------------------------ */

static void arm_timer(int64_t when_ms)
{
	if (E.armed_ms && E.armed_ms <= when_ms)
		return;
	struct itimerspec its = { .it_value = { when_ms / 1000, (when_ms % 1000) * 1000000 } };
	timerfd_settime(E.tmfd, TFD_TIMER_ABSTIME, &its, NULL);
	E.armed_ms = when_ms;
}

static void set_deadline(struct conn *c, unsigned seconds)
{
	if (!seconds) {
		c->deadline_ms = 0;
		return;
	}
	c->deadline_ms = mono_ms() + (int64_t)seconds * 1000;
	arm_timer(c->deadline_ms);
}

/* ---- finishing ------------------------------------------------------------------- */

static void mark_ready(struct conn *c, int err)
{
	pthread_mutex_lock(&c->mu);
	if (!c->ready) {
		c->ready = true;
		c->err = err;
		pthread_cond_broadcast(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
}

static void teardown(struct conn *c)
{
	if (c->st == CS_DEAD)
		return;
	unwatch(c->tcp);
	unwatch(c->eng);
	tls_session_end(c);
	pthread_mutex_lock(&c->mu);
	/* Program threads read c->tcp under mu for socket options. */
	int tcp = c->tcp;
	c->tcp = -1;
	c->st = CS_DEAD;
	pthread_mutex_unlock(&c->mu);
	fdtab_release(tcp);
	fdtab_release(c->eng);
	c->eng = -1;
	if (c->app_dup >= 0) {
		fdtab_release(c->app_dup);
		c->app_dup = -1;
	}
	mark_ready(c, c->err ? c->err : ECONNRESET);
	if (c->prev)
		c->prev->next = c->next;
	else
		E.conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next = c->prev = NULL;
	/* Events for c may still sit in this round's epoll batch or on the again
	 * list: the engine's reference goes only when the round is over. */
	c->next = E.dead;
	E.dead = c;
}

static void release_dead(void)
{
	while (E.dead) {
		struct conn *c = E.dead;
		E.dead = c->next;
		c->next = NULL;
		conn_unref(c);   /* the engine's reference */
	}
}

/* A connection that cannot go on. The program's end is closed with whatever
 * it wrote still unread (the filler or sentinel before a handshake), which the
 * kernel reports to the program as ECONNRESET. */
static void fail(struct conn *c, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(struct conn *c, int err, const char *fmt, ...)
{
	char why[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	conn_log(c, TRACE_ERR_SYSLOG, LOG_ERR, "%s; connection closed", why);
	mark_ready(c, err);
	teardown(c);
}

static void again(struct conn *c)
{
	if (c->queued_again)
		return;
	c->queued_again = true;
	c->again_next = E.again;
	E.again = c;
}

/* Whether GnuTLS's AGAIN comes from the kernel (an edge will follow) rather
 * than from GnuTLS pausing on its own. */
static bool really_blocked(struct conn *c)
{
	return c->rd_eagain || c->wr_eagain;
}

/* ---- handshake ------------------------------------------------------------------- */

static void step(struct conn *c);

/* Discard the bytes written into the pair before the handshake; the program's
 * own writes follow them. */
static int drain_filler(struct conn *c)
{
	while (c->filler) {
		size_t want = c->filler < SCRATCH ? c->filler : SCRATCH;
		ssize_t n = read(c->eng, E.scratch, want);
		if (n <= 0)
			return -1;
		c->filler -= (size_t)n;
	}
	if (c->app_dup >= 0) {
		int sz = (int)c->app_sndbuf;
		sys_setsockopt(c->app_dup, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
		fdtab_release(c->app_dup);
		c->app_dup = -1;
	}
	return 0;
}

static void start_tls(struct conn *c)
{
	char err[512];
	if (!c->ctx) {
		c->ctx = tls_ctx_get(c->pol, c->s, c->role, err, sizeof err);
		if (!c->ctx) {
			fail(c, ECONNRESET, "TLS cannot be set up: %s", err);
			return;
		}
	}
	if (tls_session_start(c, err, sizeof err)) {
		fail(c, ECONNRESET, "TLS cannot be set up: %s", err);
		return;
	}
	c->st = CS_HANDSHAKE;
	/* z/OS: the connecting side waits five times as long for the peer. */
	unsigned t = c->s->hs_timeout;
	set_deadline(c, c->dir == DIR_OUTBOUND ? t * 5 : t);
	conn_log(c, TRACE_FLOW, LOG_DEBUG, "TLS handshake started as %s", enum_role[c->role]);
	step(c);
}

static void handshake_done(struct conn *c)
{
	char err[512];
	if (tls_session_established(c, err, sizeof err)) {
		fail(c, ECONNRESET, "%s", err);
		return;
	}
	if (drain_filler(c)) {
		fail(c, ECONNRESET, "the program's end of the connection went away");
		return;
	}
	c->deadline_ms = 0;
	c->st = CS_SECURE;
	conn_log(c, TRACE_EVENT, LOG_INFO, "secure: %s %s%s%s%s", c->proto, c->cipher,
		 gnutls_session_is_resumed(c->ses) ? " (resumed)" : "",
		 c->peer_subject[0] ? ", peer " : "", c->peer_subject);
	mark_ready(c, 0);
	step(c);
}

static void step_handshake(struct conn *c)
{
	int rc;
	int tries = 0;
	do {
		c->rd_eagain = c->wr_eagain = false;
		rc = gnutls_handshake(c->ses);
		/* warning alerts, interrupted calls, and AGAIN without EAGAIN */
	} while (rc < 0 && !gnutls_error_is_fatal(rc) && ++tries < 64 &&
		 (rc != GNUTLS_E_AGAIN || !really_blocked(c)));
	if (rc == 0) {
		handshake_done(c);
		return;
	}
	if (!gnutls_error_is_fatal(rc)) {
		if (rc != GNUTLS_E_AGAIN || !really_blocked(c))
			again(c);   /* more to do with no edge to wait for */
		return;
	}
	char why[512];
	tls_failure_reason(c, rc, why, sizeof why);
	/* Tell the peer why before closing (RFC 8446 6.2: bad_certificate,
	 * certificate_required, handshake_failure...). Best effort: the socket is
	 * non-blocking and an alert fits in any send buffer. GnuTLS sends nothing
	 * for errors that call for no alert (a received alert, a closed socket). */
	gnutls_alert_send_appropriate(c->ses, rc);
	fail(c, ECONNRESET, "TLS handshake failed: %s", why);
}

static void step_connecting(struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof err;
	if (sys_getsockopt(c->tcp, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err) {
		c->err = err;
		fail(c, err, "connect failed: %s", strerror(err));
		return;
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	if (sys_getpeername(c->tcp, (struct sockaddr *)&ss, &sl) != 0)
		return;   /* not connected yet: the next edge will say */
	start_tls(c);
}

/* ---- secure data path ----------------------------------------------------------- */

static void keep_for_app(struct conn *c, const uint8_t *p, size_t n)
{
	uint8_t *b = malloc(n);
	if (!b) {
		fail(c, ENOMEM, "out of memory buffering data for the program");
		return;
	}
	memcpy(b, p, n);
	c->to_app = b;
	c->to_app_len = n;
	c->to_app_off = 0;
}

/* Write what the program has not taken yet. Returns true when all is written. */
static bool flush_to_app(struct conn *c, bool *progress)
{
	while (c->to_app) {
		if (c->app_rd_closed || c->app_gone) {
			c->to_app_off = c->to_app_len;   /* nobody will read it */
		} else {
			ssize_t n = send(c->eng, c->to_app + c->to_app_off, c->to_app_len - c->to_app_off,
					 MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n < 0 && errno == EAGAIN)
				return false;
			if (n < 0) {
				c->app_rd_closed = true;
				continue;
			}
			c->to_app_off += (size_t)n;
			*progress = true;
		}
		if (c->to_app_off == c->to_app_len) {
			free(c->to_app);
			c->to_app = NULL;
		}
	}
	return true;
}

static void peer_finished(struct conn *c, const char *how)
{
	c->net_eof = true;
	sys_shutdown(c->eng, SHUT_WR);   /* the program reads end-of-file */
	conn_log(c, TRACE_FLOW, LOG_DEBUG, "peer finished sending (%s)", how);
}

/* Records from the peer to the program. Returns true on progress. */
static bool net_to_app(struct conn *c)
{
	bool progress = false;
	if (!flush_to_app(c, &progress) || c->net_eof || c->st != CS_SECURE)
		return progress;
	for (int i = 0; i < BATCH; i++) {
		c->rd_eagain = c->wr_eagain = false;
		ssize_t n = gnutls_record_recv(c->ses, E.scratch, SCRATCH);
		if (n > 0) {
			atomic_fetch_add_explicit(&c->bytes_in, (uint64_t)n, memory_order_relaxed);
			progress = true;
			if (c->app_rd_closed || c->app_gone)
				continue;
			ssize_t w = send(c->eng, E.scratch, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w < 0 && errno != EAGAIN) {
				c->app_rd_closed = true;
				continue;
			}
			if (w < n) {
				keep_for_app(c, E.scratch + (w > 0 ? w : 0), (size_t)(n - (w > 0 ? w : 0)));
				return true;
			}
			continue;
		}
		if (n == 0) {
			peer_finished(c, "close_notify");
			return true;
		}
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
			/* GnuTLS also says AGAIN after digesting a post-handshake message
			 * (a TLS 1.3 session ticket) without touching the socket again. With
			 * edge-triggered epoll only the kernel's EAGAIN means "wait". */
			if (really_blocked(c))
				return progress;
			progress = true;
			continue;
		}
		if (n == GNUTLS_E_PREMATURE_TERMINATION) {
			/* TCP closed without close_notify: many servers do it. The program
			 * sees end-of-file; the log says it was not a clean TLS close. */
			conn_log(c, TRACE_INFO, LOG_INFO, "peer closed TCP without TLS close_notify");
			peer_finished(c, "TCP FIN");
			return true;
		}
		if (n == GNUTLS_E_REHANDSHAKE) {
			c->rehandshake = true;
			conn_log(c, TRACE_EVENT, LOG_INFO, "peer asked for renegotiation");
			return true;
		}
		if (!gnutls_error_is_fatal((int)n))
			continue;
		char why[512];
		tls_failure_reason(c, (int)n, why, sizeof why);
		fail(c, ECONNRESET, "TLS error from peer: %s", why);
		return true;
	}
	again(c);   /* more may wait without a new edge */
	return progress;
}

static void bye_done(struct conn *c)
{
	c->bye_pending = false;
	c->bye_sent = true;
	sys_shutdown(c->tcp, SHUT_WR);
	conn_log(c, TRACE_FLOW, LOG_DEBUG, "sent close_notify");
}

static void send_bye(struct conn *c)
{
	if (c->bye_sent || c->bye_pending)
		return;
	int rc = gnutls_bye(c->ses, GNUTLS_SHUT_WR);
	if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
		c->net_blocked = true;
		c->bye_pending = true;
		return;
	}
	bye_done(c);
}

/* Finish a write GnuTLS had to leave half done. Returns false while the socket
 * is still full. */
static bool flush_net(struct conn *c, bool *progress)
{
	if (!c->net_blocked)
		return true;
	ssize_t rc = c->bye_pending ? gnutls_bye(c->ses, GNUTLS_SHUT_WR)
				    : gnutls_record_send(c->ses, NULL, 0);
	if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED)
		return false;
	c->net_blocked = false;
	*progress = true;
	if (rc < 0) {
		fail(c, ECONNRESET, "sending to the peer failed: %s", gnutls_strerror((int)rc));
		return false;
	}
	if (c->bye_pending)
		bye_done(c);
	else
		atomic_fetch_add_explicit(&c->bytes_out, (uint64_t)rc, memory_order_relaxed);
	return true;
}

/* Plain bytes from the program to the peer. Returns true on progress. */
static bool app_to_net(struct conn *c)
{
	bool progress = false;
	if (!flush_net(c, &progress) || c->st != CS_SECURE)
		return progress;
	if (c->app_eof) {
		send_bye(c);
		return progress;
	}
	size_t max = gnutls_record_get_max_size(c->ses);
	if (max > SCRATCH)
		max = SCRATCH;
	for (int i = 0; i < BATCH; i++) {
		ssize_t n = read(c->eng, E.scratch, max);
		if (n < 0 && errno == EAGAIN) {
			if (!E.exiting)
				return progress;
			n = 0;   /* the process is exiting: it will write nothing more */
		}
		if (n <= 0) {
			c->app_eof = true;
			conn_log(c, TRACE_FLOW, LOG_DEBUG, "program finished sending");
			send_bye(c);
			return true;
		}
		progress = true;
		ssize_t rc = gnutls_record_send(c->ses, E.scratch, (size_t)n);
		if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
			/* GnuTLS holds the encrypted record; flush it when writable. */
			c->net_blocked = true;
			return true;
		}
		if (rc < 0) {
			fail(c, ECONNRESET, "sending to the peer failed: %s", gnutls_strerror((int)rc));
			return true;
		}
		atomic_fetch_add_explicit(&c->bytes_out, (uint64_t)rc, memory_order_relaxed);
	}
	again(c);
	return progress;
}

static void step_rehandshake(struct conn *c)
{
	int rc;
	int tries = 0;
	do {
		c->rd_eagain = c->wr_eagain = false;
		rc = gnutls_handshake(c->ses);
	} while (rc < 0 && !gnutls_error_is_fatal(rc) && ++tries < 64 &&
		 (rc != GNUTLS_E_AGAIN || !really_blocked(c)));
	if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
		if (!really_blocked(c))
			again(c);
		return;
	}
	if (rc < 0) {
		char why[512];
		tls_failure_reason(c, rc, why, sizeof why);
		fail(c, ECONNRESET, "renegotiation failed: %s", why);
		return;
	}
	c->rehandshake = false;
	conn_log(c, TRACE_EVENT, LOG_INFO, "renegotiated");
}

static void step_secure(struct conn *c)
{
	for (int rounds = 0; rounds < 64 && c->st == CS_SECURE; rounds++) {
		if (c->rehandshake) {
			step_rehandshake(c);
			if (c->rehandshake || c->st != CS_SECURE)
				return;
		}
		bool progress = net_to_app(c);
		if (c->st != CS_SECURE)
			return;
		progress |= app_to_net(c);
		if (c->st != CS_SECURE)
			return;
		if ((c->app_gone || E.exiting) && c->app_eof && !c->net_blocked && !c->lingering) {
			/* Every copy of the program's end is closed and everything it wrote
			 * is sent: nobody will read what the peer still sends. Closing
			 * the socket now, with the peer's late bytes unread (TLS 1.3
			 * session tickets often come after our data), makes our kernel
			 * answer with a reset, and a reset can destroy data the peer has
			 * received but not yet read. So: close_notify, FIN, then read
			 * and drop until the peer closes too, for at most LINGER_S. */
			if (!c->bye_sent)
				send_bye(c);
			c->lingering = true;
			c->app_rd_closed = true;
			set_deadline(c, LINGER_S);
			conn_log(c, TRACE_FLOW, LOG_DEBUG, "program gone; waiting for the peer to close");
			continue;
		}
		if (c->app_eof && c->bye_sent && c->net_eof && !c->to_app) {
			teardown(c);
			return;
		}
		if (!progress)
			return;
	}
	again(c);
}

static void step(struct conn *c)
{
	switch (c->st) {
	case CS_CONNECTING: step_connecting(c); break;
	case CS_HANDSHAKE: step_handshake(c); break;
	case CS_SECURE: step_secure(c); break;
	default: break;
	}
	/* A program that wrote and closed before the handshake finished still gets
	 * its bytes delivered once TLS is up; the handshake clock bounds the wait. */
}

/* ---- registration ----------------------------------------------------------------- */

static void add_conn(struct conn *c)
{
	c->next = E.conns;
	if (E.conns)
		E.conns->prev = c;
	E.conns = c;
	int sz = PAIR_BUF;
	sys_setsockopt(c->eng, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	if (watch(c->tcp, tag(c, TAG_TCP)) || watch(c->eng, tag(c, TAG_ENG))) {
		fail(c, errno, "cannot watch the connection: %s", strerror(errno));
		return;
	}
	if (c->st == CS_CONNECTING)
		step(c);
	else
		start_tls(c);
}

static void check_timers(void)
{
	int64_t now = mono_ms(), next = 0;
	E.armed_ms = 0;
	for (struct conn *c = E.conns, *n; c; c = n) {
		n = c->next;
		if (!c->deadline_ms)
			continue;
		if (c->deadline_ms <= now) {
			c->deadline_ms = 0;
			if (c->lingering) {
				conn_log(c, TRACE_FLOW, LOG_DEBUG,
					 "peer did not close within %d s; closing", LINGER_S);
				teardown(c);
				continue;
			}
			unsigned t = c->s->hs_timeout * (c->dir == DIR_OUTBOUND ? 5 : 1);
			fail(c, ETIMEDOUT, "TLS handshake did not finish within HandshakeTimeout (%u s)", t);
		} else if (!next || c->deadline_ms < next) {
			next = c->deadline_ms;
		}
	}
	if (next)
		arm_timer(next);
}

static void run_commands(void)
{
	uint64_t v;
	if (read(E.evfd, &v, sizeof v) < 0 && errno != EAGAIN)
		return;
	for (;;) {
		pthread_mutex_lock(&E.mu);
		struct cmd *q = E.qhead;
		if (q) {
			E.qhead = q->next;
			if (!E.qhead)
				E.qtail = NULL;
		}
		pthread_mutex_unlock(&E.mu);
		if (!q)
			return;
		if (q->type == CMD_ADD) {
			add_conn(q->c);
			free(q);
		} else {
			q->fn(q->arg);
			pthread_mutex_lock(&E.mu);
			q->done = true;
			pthread_cond_broadcast(&E.cv);
			pthread_mutex_unlock(&E.mu);
		}
	}
}

static void dispatch(struct epoll_event *ev)
{
	uint64_t d = ev->data.u64;
	int t = (int)(d & 3);
	void *p = (void *)(uintptr_t)(d & ~(uint64_t)3);
	if (t == TAG_SPECIAL) {
		enum special sp = (enum special)((const uint32_t *)p - special_tags);
		if (sp == SP_EVENT)
			run_commands();
		else if (sp == SP_TIMER) {
			uint64_t v;
			if (read(E.tmfd, &v, sizeof v) >= 0 || errno != EAGAIN)
				check_timers();
		} else if (sp == SP_EXPORT) {
			export_serve(E.exfd);
		}
		return;
	}
	struct conn *c = p;
	if (c->st == CS_DEAD)
		return;
	if (t == TAG_ENG && (ev->events & EPOLLHUP))
		c->app_gone = true;
	step(c);
}

static void *engine_main(void *arg)
{
	(void)arg;
	on_engine = true;
	struct epoll_event evs[64];
	for (;;) {
		int n = epoll_wait(E.epfd, evs, 64, E.again ? 0 : -1);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++)
			dispatch(&evs[i]);
		/* Work left over from batch limits, oldest first would need a queue;
		 * the order does not matter for correctness. */
		struct conn *list = E.again;
		E.again = NULL;
		while (list) {
			struct conn *c = list;
			list = c->again_next;
			c->queued_again = false;
			if (c->st != CS_DEAD)
				step(c);
		}
		release_dead();
	}
	return NULL;
}

/* Start the engine in this process if it is not running. Called with E.mu held. */
static int ensure_started(void)
{
	if (E.running && E.pid == getpid())
		return 0;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int ev = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int tm = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (ep < 0 || ev < 0 || tm < 0) {
		if (ep >= 0) sys_close(ep);
		if (ev >= 0) sys_close(ev);
		if (tm >= 0) sys_close(tm);
		return -1;
	}
	E.epfd = fdtab_adopt(ep);
	E.evfd = fdtab_adopt(ev);
	E.tmfd = fdtab_adopt(tm);
	if (E.epfd < 0 || E.evfd < 0 || E.tmfd < 0)
		return -1;
	struct epoll_event e1 = { .events = EPOLLIN, .data.u64 = tag(&special_tags[SP_EVENT], TAG_SPECIAL) };
	struct epoll_event e2 = { .events = EPOLLIN, .data.u64 = tag(&special_tags[SP_TIMER], TAG_SPECIAL) };
	epoll_ctl(E.epfd, EPOLL_CTL_ADD, E.evfd, &e1);
	epoll_ctl(E.epfd, EPOLL_CTL_ADD, E.tmfd, &e2);
	E.exfd = export_open();
	if (E.exfd >= 0) {
		struct epoll_event e3 = { .events = EPOLLIN, .data.u64 = tag(&special_tags[SP_EXPORT], TAG_SPECIAL) };
		epoll_ctl(E.epfd, EPOLL_CTL_ADD, E.exfd, &e3);
	}
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&E.thread, &at, engine_main, NULL);
	pthread_attr_destroy(&at);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		errno = rc;
		return -1;
	}
	E.running = true;
	E.pid = getpid();
	return 0;
}

static void enqueue(struct cmd *q)
{
	q->next = NULL;
	if (E.qtail)
		E.qtail->next = q;
	else
		E.qhead = q;
	E.qtail = q;
	uint64_t one = 1;
	if (write(E.evfd, &one, sizeof one) < 0) {
		/* the counter cannot overflow in practice; a failed write only delays */
	}
}

int engine_add(struct conn *c, int app_dup)
{
	struct cmd *q = calloc(1, sizeof *q);
	if (!q)
		return -1;
	q->type = CMD_ADD;
	q->c = c;
	c->app_dup = app_dup;
	pthread_mutex_lock(&E.mu);
	if (ensure_started()) {
		pthread_mutex_unlock(&E.mu);
		free(q);
		return -1;
	}
	c->owner = E.pid;
	enqueue(q);
	pthread_mutex_unlock(&E.mu);
	return 0;
}

int engine_wait_ready(struct conn *c)
{
	pthread_mutex_lock(&c->mu);
	while (!c->ready)
		pthread_cond_wait(&c->cv, &c->mu);
	int err = c->err;
	pthread_mutex_unlock(&c->mu);
	return err;
}

void engine_call(void (*fn)(void *), void *arg)
{
	pthread_mutex_lock(&E.mu);
	if (on_engine || !E.running || E.pid != getpid()) {
		pthread_mutex_unlock(&E.mu);
		fn(arg);
		return;
	}
	struct cmd q = { .type = CMD_CALL, .fn = fn, .arg = arg };
	enqueue(&q);
	while (!q.done)
		pthread_cond_wait(&E.cv, &E.mu);
	pthread_mutex_unlock(&E.mu);
}

void engine_each(void (*fn)(struct conn *c, void *arg), void *arg)
{
	for (struct conn *c = E.conns; c; c = c->next)
		fn(c, arg);
}

/* ---- process exit ----------------------------------------------------------------- */

/* How long exit() may wait for covered connections to send what the program
 * wrote (a peer that does not read holds it up to this long). */
#define EXIT_FLUSH_MS 5000

static void exit_begin(void *arg)
{
	(void)arg;
	E.exiting = true;
	for (struct conn *c = E.conns, *n; c; c = n) {
		n = c->next;
		conn_log(c, TRACE_FLOW, LOG_DEBUG, "process exiting: sending what the program wrote");
		step(c);
	}
}

static void count_live(void *arg)
{
	size_t n = 0;
	for (struct conn *c = E.conns; c; c = c->next)
		n++;
	*(size_t *)arg = n;
}

static void exit_give_up(void *arg)
{
	(void)arg;
	for (struct conn *c = E.conns; c; c = c->next)
		conn_log(c, TRACE_ERR_SYSLOG, LOG_ERR, "process exited before everything the program "
			 "wrote could be sent (%s after %d ms); connection closed",
			 conn_state_name(c->st), EXIT_FLUSH_MS);
}

void engine_flush_at_exit(void)
{
	pthread_mutex_lock(&E.mu);
	bool mine = E.running && E.pid == getpid() && !on_engine;
	pthread_mutex_unlock(&E.mu);
	if (!mine)
		return;
	engine_call(exit_begin, NULL);
	int64_t deadline = mono_ms() + EXIT_FLUSH_MS;
	for (;;) {
		size_t live = 0;
		engine_call(count_live, &live);
		if (!live)
			return;
		if (mono_ms() >= deadline) {
			engine_call(exit_give_up, NULL);
			return;
		}
		struct timespec ts = { 0, 2 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

/* ---- renumbering and fork ------------------------------------------------------ */

struct renumber { int oldfd, newfd; bool found; };

static void renumber_on_engine(void *arg)
{
	struct renumber *r = arg;
	int *slots[] = { &E.epfd, &E.evfd, &E.tmfd, &E.exfd };
	for (size_t i = 0; i < 4; i++)
		if (*slots[i] == r->oldfd) {
			if (slots[i] != &E.epfd) {
				struct epoll_event ev = { .events = EPOLLIN };
				epoll_ctl(E.epfd, EPOLL_CTL_DEL, r->oldfd, NULL);
				ev.data.u64 = tag(&special_tags[i == 1 ? SP_EVENT : i == 2 ? SP_TIMER : SP_EXPORT],
						  TAG_SPECIAL);
				epoll_ctl(E.epfd, EPOLL_CTL_ADD, r->newfd, &ev);
			}
			*slots[i] = r->newfd;
			r->found = true;
			return;
		}
	for (struct conn *c = E.conns; c; c = c->next) {
		int *fds[] = { &c->tcp, &c->eng, &c->app_dup };
		for (size_t i = 0; i < 3; i++) {
			if (*fds[i] != r->oldfd)
				continue;
			if (i < 2) {
				unwatch(r->oldfd);
				watch(r->newfd, tag(c, i == 0 ? TAG_TCP : TAG_ENG));
			}
			pthread_mutex_lock(&c->mu);
			*fds[i] = r->newfd;
			pthread_mutex_unlock(&c->mu);
			r->found = true;
			return;
		}
	}
}

bool conn_renumber(int oldfd, int newfd)
{
	if (log_owns_fd(oldfd)) {
		log_renumber(oldfd, newfd);
		return true;
	}
	struct renumber r = { oldfd, newfd, false };
	engine_call(renumber_on_engine, &r);
	return r.found;
}

void engine_atfork_prepare(void)
{
	pthread_mutex_lock(&E.mu);
}

void engine_atfork_parent(void)
{
	pthread_mutex_unlock(&E.mu);
}

void engine_atfork_child(void)
{
	/* The engine thread does not exist here. The parent's engine goes on
	 * serving the connections; this process starts its own when it needs one. */
	pthread_mutex_init(&E.mu, NULL);
	pthread_cond_init(&E.cv, NULL);
	E.running = false;
	E.qhead = E.qtail = NULL;
	E.conns = NULL;
	E.again = NULL;
	E.armed_ms = 0;
	E.epfd = E.evfd = E.tmfd = E.exfd = -1;
}
