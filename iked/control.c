/* iked/control — the control socket and the commands of ipsec. */
#include "iked/control.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/strutil.h"
#include "iked/exchange.h"

static void client_deadline(void *arg);

int ctl_parse(const char *line, struct ctl_req *r, char *err, size_t errlen)
{
	memset(r, 0, sizeof *r);
	r->format = FMT_DETAIL;
	char buf[CTL_MAX_REQUEST];
	str_copy(buf, line, sizeof buf);
	buf[strcspn(buf, "\r\n")] = '\0';
	char *save = NULL;
	char *w = strtok_r(buf, "\t", &save);
	if (!w || strlen(w) != 1 || !strchr("kyfc", w[0])) {
		snprintf(err, errlen, "unknown primary option");
		return -1;
	}
	r->primary = w[0];
	if (!(w = strtok_r(NULL, "\t", &save))) {
		snprintf(err, errlen, "missing function");
		return -1;
	}
	str_copy(r->verb, w, sizeof r->verb);
	while ((w = strtok_r(NULL, "\t", &save))) {
		char *eq = strchr(w, '=');
		if (!eq) {
			snprintf(err, errlen, "malformed request word");
			return -1;
		}
		*eq++ = '\0';
		if (!strcmp(w, "id"))
			str_copy(r->id, eq, sizeof r->id);
		else if (!strcmp(w, "name"))
			str_copy(r->name, eq, sizeof r->name);
		else if (!strcmp(w, "json"))
			r->json = !strcmp(eq, "1");
		else if (!strcmp(w, "format"))
			r->format = !strcmp(eq, "wide") ? FMT_WIDE : !strcmp(eq, "short") ? FMT_SHORT
											 : FMT_DETAIL;
		else {
			snprintf(err, errlen, "unknown request word %s", w);
			return -1;
		}
	}
	return 0;
}

static bool parse_tunnel_id(const char *id, char kind, unsigned *n)
{
	if ((id[0] != kind && id[0] != kind - 'A' + 'a') || !id[1])
		return false;
	char *end;
	unsigned long v = strtoul(id + 1, &end, 10);
	if (*end || v == 0 || v > 0xffffffffu)
		return false;
	*n = (unsigned)v;
	return true;
}

static int cmd_refresh_k(struct iked *ike, const struct ctl_req *r, FILE *out)
{
	unsigned id;
	struct ktunnel *kt;
	char err[256];
	if (!parse_tunnel_id(r->id, 'K', &id) || !(kt = ktunnel_by_id(ike, id))) {
		fprintf(out, "no IKE tunnel %s\n", *r->id ? r->id : "(give -a Kn)");
		return 1;
	}
	if (ktunnel_refresh(ike, kt, true, err, sizeof err)) {
		fprintf(out, "Tunnel ID  Status\nK%u  %s\n", id, err);
		return 1;
	}
	log_info("IKE tunnel K%u: refresh requested by command", id);
	fprintf(out, "Tunnel ID  Status\nK%u  Refreshing\n", id);
	return 0;
}

static int cmd_refresh_y(struct iked *ike, const struct ctl_req *r, FILE *out)
{
	unsigned id;
	struct ytunnel *yt;
	char err[256];
	if (!parse_tunnel_id(r->id, 'Y', &id) || !(yt = ytunnel_by_id(ike, id))) {
		fprintf(out, "no dynamic tunnel %s\n", *r->id ? r->id : "(give -a Yn)");
		return 1;
	}
	char rule[49];
	str_copy(rule, yt->rule, sizeof rule);
	if (ytunnel_refresh(ike, yt, true, err, sizeof err)) {
		fprintf(out, "Tunnel ID  IpFilterRuleName  Status\nY%u  %s  %s\n", id, rule, err);
		return 1;
	}
	log_info("Dynamic tunnel Y%u: refresh requested by command", id);
	fprintf(out, "Tunnel ID  IpFilterRuleName  Status\nY%u  %s  Refreshing\n", id, rule);
	return 0;
}

static int cmd_deactivate_k(struct iked *ike, const struct ctl_req *r, FILE *out)
{
	unsigned id;
	fprintf(out, "Tunnel ID  Status\n");
	if (*r->id) {
		struct ktunnel *kt;
		if (!parse_tunnel_id(r->id, 'K', &id) || !(kt = ktunnel_by_id(ike, id))) {
			fprintf(out, "%s  Not found\n", r->id);
			return 1;
		}
		ktunnel_deactivate(ike, kt, "deactivated by command");
		fprintf(out, "K%u  Deactivated\n", id);
		return 0;
	}
	struct ktunnel *kt;
	while ((kt = TAILQ_FIRST(&ike->ktunnels))) {
		fprintf(out, "K%u  Deactivated\n", kt->id);
		ktunnel_deactivate(ike, kt, "deactivated by command");
	}
	return 0;
}

static int cmd_deactivate_y(struct iked *ike, const struct ctl_req *r, FILE *out)
{
	unsigned id;
	fprintf(out, "Tunnel ID  Status\n");
	if (*r->id) {
		struct ytunnel *yt;
		if (!parse_tunnel_id(r->id, 'Y', &id) || !(yt = ytunnel_by_id(ike, id))) {
			fprintf(out, "%s  Not found\n", r->id);
			return 1;
		}
		ytunnel_deactivate(ike, yt, "deactivated by command");
		fprintf(out, "Y%u  Deactivated\n", id);
		return 0;
	}
	struct ytunnel *yt;
	while ((yt = TAILQ_FIRST(&ike->ytunnels))) {
		fprintf(out, "Y%u  Deactivated\n", yt->id);
		ytunnel_deactivate(ike, yt, "deactivated by command");
	}
	return 0;
}

static int cmd_cache_clear(struct iked *ike, const struct ctl_req *r, FILE *out)
{
	size_t n = sacache_clear(&ike->cache, *r->id ? r->id : NULL);
	log_info("SA cache: %zu entr%s cleared by command%s%s", n, n == 1 ? "y" : "ies",
		 *r->id ? " for " : "", r->id);
	fprintf(out, "%zu SA cache entr%s cleared\n", n, n == 1 ? "y" : "ies");
	return 0;
}

static int execute(struct iked *ike, const struct ctl_req *r, FILE *out)
{
	bool display = !strcmp(r->verb, "display");
	switch (r->primary) {
	case 'k':
		if (display)
			return display_ike_tunnels(ike, r, out);
		if (!strcmp(r->verb, "refresh"))
			return cmd_refresh_k(ike, r, out);
		if (!strcmp(r->verb, "deactivate"))
			return cmd_deactivate_k(ike, r, out);
		break;
	case 'y':
		if (display)
			return display_dyn_tunnels(ike, r, out);
		if (!strcmp(r->verb, "refresh"))
			return cmd_refresh_y(ike, r, out);
		if (!strcmp(r->verb, "deactivate"))
			return cmd_deactivate_y(ike, r, out);
		if (!strcmp(r->verb, "activate")) {
			char msg[300];
			int rc = ytunnel_activate(ike, r->name, msg, sizeof msg);
			fprintf(out, "%s\n", msg);
			return rc ? 1 : 0;
		}
		break;
	case 'f':
		if (display)
			return display_filters(ike, r, out);
		break;
	case 'c':
		if (display)
			return display_cache(ike, r, out);
		if (!strcmp(r->verb, "clear"))
			return cmd_cache_clear(ike, r, out);
		break;
	}
	fprintf(out, "function %s is not supported for this primary option\n", r->verb);
	return 2;
}

int ctl_execute(struct iked *ike, const struct ctl_req *r, FILE *out)
{
	sa_turn_begin(ike);
	int rc = execute(ike, r, out);
	sa_turn_end(ike);
	return rc;
}

/* ---- the socket ------------------------------------------------------------------- */

static int listen_at(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sun.sun_path) {
		snprintf(err, errlen, "control socket path too long: %s", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	unlink(path);
	/* created 0600 from the start: no window where others could connect */
	mode_t old = umask(0177);
	int rc = bind(fd, (struct sockaddr *)&sun, sizeof sun);
	umask(old);
	if (rc < 0 || chmod(path, 0600) < 0 || listen(fd, 64) < 0) {
		snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int control_open(struct control *c, const char *path, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	c->lfd = listen_at(path, err, errlen);
	c->ep = -1;
	for (size_t i = 0; i < CTL_MAX_CLIENTS; i++)
		c->clients[i].fd = -1;
	return c->lfd < 0 ? -1 : 0;
}

static void watch(struct control *c, int op, int fd, uint32_t events, uint64_t tag)
{
	struct epoll_event ev = { .events = events, .data.u64 = tag };
	if (epoll_ctl(c->ep, op, fd, &ev) < 0)
		log_warn("control socket: epoll_ctl: %s", strerror(errno));
}

int control_start(struct control *c, struct iked *ike, int ep, uint64_t tag)
{
	c->ike = ike;
	c->ep = ep;
	c->tag = tag;
	c->accepting = true;
	for (size_t i = 0; i < CTL_MAX_CLIENTS; i++) {
		struct ctl_client *cl = &c->clients[i];
		cl->ctl = c;
		timer_init(&cl->deadline, client_deadline, cl);
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };
	return epoll_ctl(ep, EPOLL_CTL_ADD, c->lfd, &ev);
}

static bool client_allowed(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof cr;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return false;
	return cr.uid == 0 || cr.uid == geteuid();
}

/* ---- clients ------------------------------------------------------------------------ */

static uint64_t client_tag(const struct ctl_client *cl)
{
	return cl->ctl->tag + 1 + (uint64_t)(cl - cl->ctl->clients);
}

static void client_close(struct ctl_client *cl)
{
	struct control *c = cl->ctl;
	timer_cancel(&c->ike->timers, &cl->deadline);
	if (c->ep >= 0)
		epoll_ctl(c->ep, EPOLL_CTL_DEL, cl->fd, NULL);
	close(cl->fd);
	cl->fd = -1;
	free(cl->out);
	cl->out = NULL;
	if (!c->accepting) {
		/* a slot is free: take the next client from the listen queue */
		c->accepting = true;
		watch(c, EPOLL_CTL_MOD, c->lfd, EPOLLIN, c->tag);
	}
}

/* Send what is left of the answer; the client is done when it has it all. */
static void client_write(struct ctl_client *cl)
{
	while (cl->out_off < cl->out_len) {
		ssize_t w = send(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;                  /* EPOLLOUT brings us back */
		if (w <= 0) {
			client_close(cl);
			return;
		}
		cl->out_off += (size_t)w;
	}
	client_close(cl);
}

/* The answer is "rc=N" and the report; from now on the client only reads,
 * and has CTL_DEADLINE_MS to take it all. */
static void client_answer(struct ctl_client *cl, int rc, const char *body, size_t blen)
{
	struct control *c = cl->ctl;
	char head[32];
	int hl = snprintf(head, sizeof head, "rc=%d\n", rc);
	cl->out = malloc((size_t)hl + blen);
	if (!cl->out) {
		client_close(cl);
		return;
	}
	memcpy(cl->out, head, (size_t)hl);
	memcpy(cl->out + hl, body, blen);
	cl->out_len = (size_t)hl + blen;
	cl->out_off = 0;
	timer_at(&c->ike->timers, &cl->deadline, iked_now(c->ike) + CTL_DEADLINE_MS);
	watch(c, EPOLL_CTL_MOD, cl->fd, EPOLLOUT, client_tag(cl));
	client_write(cl);
}

static void client_refuse(struct ctl_client *cl, const char *why)
{
	char line[160];
	int n = snprintf(line, sizeof line, "%s\n", why);
	client_answer(cl, 2, line, (size_t)n);
}

/* A whole request line has arrived: carry it out. */
static void client_execute(struct ctl_client *cl)
{
	struct iked *ike = cl->ctl->ike;
	char err[128];
	char *body = NULL;
	size_t blen = 0;
	struct ctl_req r;
	FILE *out = open_memstream(&body, &blen);
	if (!out) {
		client_close(cl);
		return;
	}
	int rc = 2;
	if (ctl_parse(cl->in, &r, err, sizeof err))
		fprintf(out, "%s\n", err);
	else
		rc = ctl_execute(ike, &r, out);
	fclose(out);
	client_answer(cl, rc, body, blen);
	free(body);
}

/* Take what the client has sent; act only on a complete line. */
static void client_read(struct ctl_client *cl)
{
	for (;;) {
		size_t room = sizeof cl->in - 1 - cl->in_len;
		if (room == 0) {
			client_refuse(cl, "request too long");
			return;
		}
		ssize_t r = recv(cl->fd, cl->in + cl->in_len, room, MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r < 0) {
			client_close(cl);
			return;
		}
		if (r == 0) {
			/* the stream ended before the line did: never act on a part */
			client_refuse(cl, cl->in_len ? "incomplete request (no end of line)"
						     : "empty request");
			return;
		}
		char *nl = memchr(cl->in + cl->in_len, '\n', (size_t)r);
		cl->in_len += (size_t)r;
		cl->in[cl->in_len] = '\0';
		if (nl) {
			*nl = '\0';
			timer_cancel(&cl->ctl->ike->timers, &cl->deadline);
			watch(cl->ctl, EPOLL_CTL_MOD, cl->fd, 0, client_tag(cl));
			client_execute(cl);
			return;
		}
	}
}

/* A client that did not send its request, or did not take its answer,
 * within its time: it is dropped, its request (if any) not carried out. */
static void client_deadline(void *arg)
{
	struct ctl_client *cl = arg;
	if (cl->out) {
		log_debug("control socket: a client did not read its answer in time");
		client_close(cl);
		return;
	}
	log_debug("control socket: a client did not send a whole request in time");
	client_refuse(cl, "incomplete request (timed out)");
}

static struct ctl_client *free_slot(struct control *c)
{
	for (size_t i = 0; i < CTL_MAX_CLIENTS; i++)
		if (c->clients[i].fd < 0)
			return &c->clients[i];
	return NULL;
}

static void accept_clients(struct control *c)
{
	for (;;) {
		struct ctl_client *cl = free_slot(c);
		if (!cl) {
			/* all busy: the rest wait in the listen queue until a slot frees */
			c->accepting = false;
			watch(c, EPOLL_CTL_MOD, c->lfd, 0, c->tag);
			return;
		}
		int fd = accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		cl->fd = fd;
		cl->in_len = 0;
		cl->out = NULL;
		cl->out_len = cl->out_off = 0;
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = client_tag(cl) };
		if (epoll_ctl(c->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			log_warn("control socket: epoll_ctl: %s", strerror(errno));
			close(fd);
			cl->fd = -1;
			continue;
		}
		if (!client_allowed(fd)) {
			client_refuse(cl, "permission denied");
			continue;
		}
		timer_at(&c->ike->timers, &cl->deadline, iked_now(c->ike) + CTL_DEADLINE_MS);
	}
}

bool control_owns(const struct control *c, uint64_t tag)
{
	return tag >= c->tag && tag <= c->tag + CTL_MAX_CLIENTS;
}

void control_event(struct control *c, uint64_t tag, uint32_t events)
{
	if (tag == c->tag) {
		accept_clients(c);
		return;
	}
	struct ctl_client *cl = &c->clients[tag - c->tag - 1];
	if (cl->fd < 0)
		return;
	if (cl->out)
		client_write(cl);
	else if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		client_read(cl);
}

void control_close(struct control *c)
{
	for (size_t i = 0; i < CTL_MAX_CLIENTS; i++)
		if (c->clients[i].fd >= 0)
			client_close(&c->clients[i]);
	if (c->lfd >= 0)
		close(c->lfd);
	c->lfd = -1;
}
