/* iked/control — the control socket and the commands of ipsec. */
#include "iked/control.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/strutil.h"
#include "iked/exchange.h"

#define CTL_MAX_REQUEST 1024

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

int control_open(const char *path, char *err, size_t errlen)
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
	if (rc < 0 || chmod(path, 0600) < 0 || listen(fd, 16) < 0) {
		snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static bool client_allowed(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof cr;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return false;
	return cr.uid == 0 || cr.uid == geteuid();
}

/* Read one request line: the client writes it at once, so a short timeout
 * keeps a silent client from holding up the event loop. */
static ssize_t read_request(int fd, char *buf, size_t cap)
{
	struct timeval tv = { .tv_sec = 1 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	size_t n = 0;
	while (n + 1 < cap) {
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		if (memchr(buf, '\n', n))
			break;
	}
	buf[n] = '\0';
	return (ssize_t)n;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

void control_serve(struct iked *ike, int lfd)
{
	for (int k = 0; k < 16; k++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct timeval tv = { .tv_sec = 2 };
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		char line[CTL_MAX_REQUEST], err[128];
		char *body = NULL;
		size_t blen = 0;
		FILE *out = open_memstream(&body, &blen);
		int rc = 2;
		struct ctl_req r;
		if (!out) {
			close(fd);
			continue;
		}
		if (!client_allowed(fd))
			fprintf(out, "permission denied\n");
		else if (read_request(fd, line, sizeof line) <= 0)
			fprintf(out, "empty request\n");
		else if (ctl_parse(line, &r, err, sizeof err))
			fprintf(out, "%s\n", err);
		else
			rc = ctl_execute(ike, &r, out);
		fclose(out);
		char head[32];
		int hl = snprintf(head, sizeof head, "rc=%d\n", rc);
		write_all(fd, head, (size_t)hl);
		write_all(fd, body, blen);
		free(body);
		close(fd);
	}
}
