#include "preload/export.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/kvline.h"
#include "policy/attls.h"
#include "policy/schema.h"
#include "preload/conn.h"
#include "preload/engine.h"
#include "preload/fdtab.h"
#include "preload/real.h"

static socklen_t export_addr(struct sockaddr_un *sun, pid_t pid)
{
	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	int n = snprintf(sun->sun_path + 1, sizeof sun->sun_path - 1, "attls/%d", (int)pid);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

/* One client: the answer snapshot taken when it connected, and how much of
 * it the socket has taken. */
struct client {
	struct client *next;
	int fd;
	char *text;
	size_t len, off;
	int64_t deadline_ms;
};

/* Engine thread only. */
static struct {
	int epfd, lfd, tmfd;
	bool accepting;           /* lfd is watched (fewer than EXPORT_MAX_CLIENTS) */
	struct client *clients;
	size_t nclients;
} X = { .epfd = -1, .lfd = -1, .tmfd = -1 };

/* epoll data for the two descriptors that are not clients */
static const char listen_tag, timer_tag;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int watch(int op, int fd, uint32_t events, const void *ptr)
{
	struct epoll_event ev = { .events = events, .data.ptr = (void *)ptr };
	return epoll_ctl(X.epfd, op, fd, &ev);
}

static void close_all(void)
{
	int *fds[] = { &X.lfd, &X.tmfd, &X.epfd };
	for (size_t i = 0; i < 3; i++)
		if (*fds[i] >= 0) {
			fdtab_release(*fds[i]);
			*fds[i] = -1;
		}
}

static int listen_socket(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_un sun;
	socklen_t len = export_addr(&sun, getpid());
	if (bind(fd, (struct sockaddr *)&sun, len) != 0 || listen(fd, 16) != 0) {
		sys_close(fd);
		return -1;
	}
	return fdtab_adopt(fd);
}

int export_open(void)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	X.epfd = ep < 0 ? -1 : fdtab_adopt(ep);
	X.lfd = listen_socket();
	int tm = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	X.tmfd = tm < 0 ? -1 : fdtab_adopt(tm);
	if (X.epfd < 0 || X.lfd < 0 || X.tmfd < 0 ||
	    watch(EPOLL_CTL_ADD, X.lfd, EPOLLIN, &listen_tag) != 0 ||
	    watch(EPOLL_CTL_ADD, X.tmfd, EPOLLIN, &timer_tag) != 0) {
		close_all();
		return -1;
	}
	X.accepting = true;
	return X.epfd;
}

static void addr_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof a);
		snprintf(buf, len, "%s:%u", a, ntohs(s4->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof a);
		snprintf(buf, len, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else {
		snprintf(buf, len, "?");
	}
}

static void describe(struct conn *c, void *arg)
{
	FILE *out = arg;
	char l[80], r[80];
	addr_text(&c->local, l, sizeof l);
	addr_text(&c->remote, r, sizeof r);
	fputs("conn", out);
	kv_putu(out, "id", c->id);
	kv_put(out, "state", conn_state_name(c->st));
	kv_put(out, "direction", c->dir == DIR_INBOUND ? "inbound" : "outbound");
	kv_put(out, "local", l);
	kv_put(out, "remote", r);
	kv_put(out, "rule", c->rule ? c->rule->name : "");
	kv_put(out, "group", c->rule && c->rule->group ? c->rule->group : "");
	kv_put(out, "environment", c->rule && c->rule->env ? c->rule->env : "");
	kv_put(out, "connection", c->rule && c->rule->conn ? c->rule->conn : "");
	kv_put(out, "role", enum_role[c->role]);
	kv_put(out, "protocol", c->proto);
	kv_put(out, "cipher", c->cipher);
	kv_put(out, "peer", c->peer_subject);
	kv_put(out, "host", c->host);
	kv_putu(out, "bytes_in", atomic_load(&c->bytes_in));
	kv_putu(out, "bytes_out", atomic_load(&c->bytes_out));
	fputc('\n', out);
}

/* The whole answer, as it is now. */
static char *snapshot(size_t *size)
{
	char *text = NULL;
	FILE *out = open_memstream(&text, size);
	if (!out)
		return NULL;
	char comm[17] = "";
	prctl(PR_GET_NAME, comm);
	fputs("process", out);
	kv_putu(out, "pid", (unsigned long long)getpid());
	kv_put(out, "program", comm);
	kv_putu(out, "uid", (unsigned long long)geteuid());
	fputc('\n', out);
	engine_each(describe, out);
	if (fclose(out) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* Send what the socket takes now. True when the client is finished with
 * (all sent, or the client went away). */
static bool client_send(struct client *cl)
{
	while (cl->off < cl->len) {
		ssize_t n = send(cl->fd, cl->text + cl->off, cl->len - cl->off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return false;
		if (n <= 0)
			return true;
		cl->off += (size_t)n;
	}
	return true;
}

static void client_free(struct client *cl)
{
	fdtab_release(cl->fd);
	free(cl->text);
	free(cl);
}

static void drop(struct client *cl)
{
	for (struct client **pp = &X.clients; *pp; pp = &(*pp)->next)
		if (*pp == cl) {
			*pp = cl->next;
			break;
		}
	X.nclients--;
	client_free(cl);
}

static bool allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof cred;
	return sys_getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
	       (cred.uid == 0 || cred.uid == geteuid());
}

/* Take one client from the backlog: false when there is none. */
static bool accept_one(void)
{
	int fd = real.accept4(X.lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return errno == EINTR || errno == ECONNABORTED;
	fd = fdtab_adopt(fd);
	if (fd < 0)
		return true;
	struct client *cl = allowed(fd) ? calloc(1, sizeof *cl) : NULL;
	if (cl) {
		cl->fd = fd;
		cl->text = snapshot(&cl->len);
	}
	if (!cl || !cl->text || client_send(cl) ||
	    watch(EPOLL_CTL_ADD, fd, EPOLLOUT, cl) != 0) {
		/* refused, answered at once, or cannot be watched */
		if (cl)
			client_free(cl);
		else
			fdtab_release(fd);
		return true;
	}
	cl->deadline_ms = now_ms() + EXPORT_DEADLINE_MS;
	cl->next = X.clients;
	X.clients = cl;
	X.nclients++;
	return true;
}

static void expire(void)
{
	uint64_t v;
	if (read(X.tmfd, &v, sizeof v) < 0 && errno != EAGAIN)
		return;
	int64_t now = now_ms();
	for (struct client *cl = X.clients, *n; cl; cl = n) {
		n = cl->next;
		if (cl->deadline_ms <= now)
			drop(cl);
	}
}

/* The timer at the earliest deadline, the listening socket watched only
 * while there is room for another client. */
static void rearm(void)
{
	int64_t first = 0;
	for (struct client *cl = X.clients; cl; cl = cl->next)
		if (!first || cl->deadline_ms < first)
			first = cl->deadline_ms;
	struct itimerspec its = { .it_value = { first / 1000, (first % 1000) * 1000000 } };
	timerfd_settime(X.tmfd, TFD_TIMER_ABSTIME, &its, NULL);
	bool room = X.nclients < EXPORT_MAX_CLIENTS;
	if (room != X.accepting &&
	    watch(EPOLL_CTL_MOD, X.lfd, room ? EPOLLIN : 0, &listen_tag) == 0)
		X.accepting = room;
}

void export_serve(void)
{
	struct epoll_event evs[EXPORT_MAX_CLIENTS + 2];
	int n = epoll_wait(X.epfd, evs, EXPORT_MAX_CLIENTS + 2, 0);
	bool timer = false;
	for (int i = 0; i < n; i++) {
		const void *p = evs[i].data.ptr;
		if (p == &listen_tag) {
			while (X.nclients < EXPORT_MAX_CLIENTS && accept_one())
				;
		} else if (p == &timer_tag) {
			timer = true;   /* after the clients: expiry frees them */
		} else if (client_send((struct client *)evs[i].data.ptr)) {
			drop((struct client *)evs[i].data.ptr);
		}
	}
	if (timer)
		expire();
	rearm();
}

bool export_renumber(int oldfd, int newfd)
{
	if (oldfd == X.epfd) {
		X.epfd = newfd;
		return true;
	}
	struct client *cl = X.clients;
	while (cl && cl->fd != oldfd)
		cl = cl->next;
	int *slot = oldfd == X.lfd ? &X.lfd : oldfd == X.tmfd ? &X.tmfd : cl ? &cl->fd : NULL;
	if (!slot)
		return false;
	uint32_t events = cl ? EPOLLOUT : slot == &X.lfd && !X.accepting ? 0 : EPOLLIN;
	const void *ptr = cl ? (const void *)cl : slot == &X.lfd ? &listen_tag : &timer_tag;
	epoll_ctl(X.epfd, EPOLL_CTL_DEL, oldfd, NULL);
	watch(EPOLL_CTL_ADD, newfd, events, ptr);
	*slot = newfd;
	return true;
}

void export_atfork_child(void)
{
	for (struct client *cl = X.clients, *n; cl; cl = n) {
		n = cl->next;
		free(cl->text);
		free(cl);
	}
	X.clients = NULL;
	X.nclients = 0;
	X.epfd = X.lfd = X.tmfd = -1;
	X.accepting = false;
}
