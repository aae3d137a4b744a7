#include "preload/engine.h"
#include "preload/engine_internal.h"

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
#include "preload/secmap.h"
#include "preload/tls.h"
#include "preload/turns.h"


enum { TAG_TCP = 0, TAG_ENG = 1, TAG_SPECIAL = 2 };
enum special { SP_EVENT, SP_TIMER, SP_EXPORT };

struct cmd {
	struct cmd *next;
	enum { CMD_ADD, CMD_CALL, CMD_CLOSED } type;
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
	struct turns turns;          /* another turn without an edge; torn down this round */
	int64_t armed_ms;
} E = {
	.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER,
	.epfd = -1, .evfd = -1, .tmfd = -1, .exfd = -1,
};

uint8_t eng_scratch[SCRATCH];

bool eng_exiting(void) { return E.exiting; }

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
	const char *rule = c->rule ? c->rule->name : "-";
	rt_rule_log(rule, body, trace_of(c), bit, prio, "conn %llu rule %s %s %s: %s",
		    (unsigned long long)c->id, rule, c->dir == DIR_INBOUND ? "from" : "to", peer,
		    body);
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

void eng_set_deadline(struct conn *c, unsigned seconds)
{
	if (!seconds) {
		c->deadline_ms = 0;
		return;
	}
	c->deadline_ms = mono_ms() + (int64_t)seconds * 1000;
	arm_timer(c->deadline_ms);
}


/* ---- finishing ------------------------------------------------------------------- */

void eng_mark_ready(struct conn *c, int err)
{
	pthread_mutex_lock(&c->mu);
	if (!c->ready) {
		c->ready = true;
		c->failed = err != 0;
		c->err = err;
		pthread_cond_broadcast(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
}

void eng_teardown(struct conn *c)
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
	eng_mark_ready(c, c->err ? c->err : ECONNRESET);
	eng_op_done(c, c->err ? c->err : ECONNRESET);
	secmap_forget(c);
	if (c->prev)
		c->prev->next = c->next;
	else
		E.conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next = c->prev = NULL;
	/* Events for c may still sit in this round's epoll batch or on the again
	 * list: the engine's reference goes only when the round is over. */
	turns_bury(&E.turns, c);
}

void eng_op_start(struct conn *c)
{
	pthread_mutex_lock(&c->mu);
	c->op_seq++;
	pthread_mutex_unlock(&c->mu);
}

void eng_op_done(struct conn *c, int err)
{
	pthread_mutex_lock(&c->mu);
	if (c->op_done != c->op_seq) {
		c->op_done = c->op_seq;
		c->op_err = err;
		pthread_cond_broadcast(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
}

/* A connection that cannot go on. The program's end is closed with whatever
 * it wrote still unread (the filler or sentinel before a handshake), which the
 * kernel reports to the program as ECONNRESET. */
__attribute__((format(printf, 5, 0)))
static void end_failed(struct conn *c, int err, unsigned bit, int prio, const char *fmt,
		       va_list ap)
{
	char why[768];
	vsnprintf(why, sizeof why, fmt, ap);
	conn_log(c, bit, prio, "%s; connection closed", why);
	eng_mark_ready(c, err);
	eng_op_done(c, err);
	eng_teardown(c);
}

void eng_fail(struct conn *c, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	end_failed(c, err, TRACE_ERR_SYSLOG, LOG_ERR, fmt, ap);
	va_end(ap);
}

void eng_end(struct conn *c, int err, unsigned bit, int prio, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	end_failed(c, err, bit, prio, fmt, ap);
	va_end(ap);
}

void eng_again(struct conn *c)
{
	turns_again(&E.turns, c);
}

/* Plain bytes for the program: whatever does not fit waits in to_app. */
static void keep_for_app(struct conn *c, const uint8_t *p, size_t n)
{
	uint8_t *b = malloc(n);
	if (!b) {
		eng_fail(c, ENOMEM, "out of memory buffering data for the program");
		return;
	}
	memcpy(b, p, n);
	c->to_app = b;
	c->to_app_len = n;
	c->to_app_off = 0;
}

bool eng_flush_to_app(struct conn *c, bool *progress)
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

bool eng_send_to_app(struct conn *c, const uint8_t *p, size_t n)
{
	if (c->app_rd_closed || c->app_gone)
		return true;
	ssize_t w = send(c->eng, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (w < 0 && errno != EAGAIN) {
		c->app_rd_closed = true;
		return true;
	}
	if (w < (ssize_t)n) {
		keep_for_app(c, p + (w > 0 ? w : 0), n - (size_t)(w > 0 ? w : 0));
		return false;
	}
	return true;
}

int eng_drain_filler(struct conn *c)
{
	while (c->filler) {
		size_t want = c->filler < SCRATCH ? c->filler : SCRATCH;
		ssize_t n = read(c->eng, eng_scratch, want);
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

int eng_hold_unwritable(struct conn *c, int app_dup)
{
	int cur = 0, small = 4096;
	socklen_t l = sizeof cur;
	sys_getsockopt(app_dup, SOL_SOCKET, SO_SNDBUF, &cur, &l);
	sys_setsockopt(app_dup, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
	int actual = 0;
	l = sizeof actual;
	sys_getsockopt(app_dup, SOL_SOCKET, SO_SNDBUF, &actual, &l);
	/* A stream unix socket polls writable while its queue is under a quarter
	 * of its send buffer: half of it keeps it quiet. */
	size_t n = (size_t)(actual > 0 ? actual : 8192) / 2;
	static const uint8_t zeros[4096];
	size_t left = n;
	while (left) {
		ssize_t w = send(app_dup, zeros, left < sizeof zeros ? left : sizeof zeros,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w <= 0)
			break;
		left -= (size_t)w;
	}
	c->filler += n - left;
	c->app_sndbuf = (size_t)(cur > 0 ? cur / 2 : PAIR_BUF);   /* the kernel doubles what is set */
	if (c->app_dup >= 0)
		fdtab_release(c->app_dup);
	c->app_dup = app_dup;
	return left ? -1 : 0;
}

void eng_step(struct conn *c)
{
	switch (c->st) {
	case CS_CONNECTING: clear_step_connecting(c); break;
	case CS_CLEAR: clear_step(c); break;
	case CS_SNIFF: clear_step_sniff(c); break;
	case CS_HANDSHAKE: secure_step_handshake(c); break;
	case CS_SECURE: secure_step(c); break;
	case CS_STOPPING: secure_step_stopping(c); break;
	case CS_DEAD: break;
	}
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
		eng_fail(c, errno, "cannot watch the connection: %s", strerror(errno));
		return;
	}
	if (c->st == CS_CONNECTING)
		eng_step(c);
	else if (c->app_controlled) {
		eng_mark_ready(c, 0);
		clear_enter(c, "application-controlled: clear text until the program starts TLS");
	}
	else
		secure_start(c);
}

/* The program closed its last descriptor of c in this process while the
 * engine still holds a copy of its end (a connect or INIT not finished). That
 * copy alone would keep the end open, and the engine would never see the
 * program go: drop it, and if nobody else holds the end (another process it
 * was passed to), the engine end reports the hang-up. If someone does, the
 * only loss is the larger send buffer that end would have had afterwards. */
static void let_go_of_program_end(struct conn *c)
{
	if (c->st == CS_DEAD || c->app_dup < 0)
		return;
	fdtab_release(c->app_dup);
	c->app_dup = -1;
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
				eng_teardown(c);
				continue;
			}
			if (c->st == CS_SNIFF) {
				clear_sniff_timeout(c);
				continue;
			}
			if (c->st == CS_STOPPING) {
				eng_fail(c, ETIMEDOUT, "the peer did not answer close_notify within "
					 "HandshakeTimeout (%u s)", c->s->hs_timeout);
				continue;
			}
			unsigned t = c->s->hs_timeout * (c->dir == DIR_OUTBOUND ? 5 : 1);
			eng_fail(c, ETIMEDOUT, "TLS handshake did not finish within HandshakeTimeout (%u s)", t);
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
		} else if (q->type == CMD_CLOSED) {
			let_go_of_program_end(q->c);
			conn_unref(q->c);
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
			export_serve();
		}
		return;
	}
	struct conn *c = p;
	if (c->st == CS_DEAD)
		return;
	if (t == TAG_ENG && (ev->events & EPOLLHUP))
		c->app_gone = true;
	eng_step(c);
}

static void *engine_main(void *arg)
{
	(void)arg;
	on_engine = true;
	struct epoll_event evs[64];
	for (;;) {
		int n = epoll_wait(E.epfd, evs, 64, turns_pending(&E.turns) ? 0 : -1);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++)
			dispatch(&evs[i]);
		/* Work left over from batch limits, oldest first would need a queue;
		 * the order does not matter for correctness. */
		struct conn *list = turns_take(&E.turns);
		while (list) {
			struct conn *c = list;
			list = turns_next(c);
			if (c->st != CS_DEAD)
				eng_step(c);
		}
		turns_release(&E.turns);
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

void engine_program_closed(struct conn *c)
{
	struct cmd *q = calloc(1, sizeof *q);
	if (!q)
		return;   /* the engine notices when the handshake ends instead */
	q->type = CMD_CLOSED;
	q->c = c;
	pthread_mutex_lock(&E.mu);
	if (!E.running || E.pid != getpid() || on_engine) {
		pthread_mutex_unlock(&E.mu);
		free(q);
		return;
	}
	conn_ref(c);
	enqueue(q);
	pthread_mutex_unlock(&E.mu);
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
		eng_step(c);
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
	/* the export's own descriptors, its epoll (E.exfd, below) among them */
	r->found = export_renumber(r->oldfd, r->newfd);
	if (r->found && r->oldfd != E.exfd)
		return;
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
	E.turns = (struct turns){ NULL, NULL };
	E.armed_ms = 0;
	E.epfd = E.evfd = E.tmfd = E.exfd = -1;
	export_atfork_child();
}
