#include "preload/export.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
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

int export_open(void)
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

static void answer(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof cred;
	if (sys_getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
	    (cred.uid != 0 && cred.uid != geteuid()))
		return;
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	if (!out)
		return;
	char comm[17] = "";
	prctl(PR_GET_NAME, comm);
	fputs("process", out);
	kv_putu(out, "pid", (unsigned long long)getpid());
	kv_put(out, "program", comm);
	kv_putu(out, "uid", (unsigned long long)geteuid());
	fputc('\n', out);
	engine_each(describe, out);
	fclose(out);
	/* A client that does not read cannot hold the engine for long. */
	int flags = sys_fcntl(fd, F_GETFL, 0);
	sys_fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	struct timeval tv = { 1, 0 };
	sys_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	for (size_t off = 0; off < size;) {
		ssize_t n = send(fd, text + off, size - off, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	free(text);
}

void export_serve(int lfd)
{
	for (;;) {
		int fd = real.accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		answer(fd);
		sys_close(fd);
	}
}
