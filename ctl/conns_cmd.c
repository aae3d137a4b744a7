/*
 * ctl/conns_cmd — "attls conns": the netstat -x of attls. Finds every process
 * that publishes @attls/<pid> (in /proc/net/unix), asks each for its covered
 * connections, and prints them. A process answers only its own user or root.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/json.h"
#include "common/kvline.h"
#include "ctl/ctl.h"

#define MAX_PIDS 4096

static size_t find_pids(int *pids, size_t max)
{
	FILE *f = fopen("/proc/net/unix", "r");
	if (!f)
		return 0;
	char line[512];
	size_t n = 0;
	while (fgets(line, sizeof line, f) && n < max) {
		char *at = strstr(line, " @attls/");
		if (!at)
			continue;
		int pid = atoi(at + 8);
		bool seen = false;
		for (size_t i = 0; i < n; i++)
			seen |= pids[i] == pid;
		if (pid > 0 && !seen)
			pids[n++] = pid;
	}
	fclose(f);
	return n;
}

/* Everything the process answers, or NULL. */
static char *ask(int pid, int *err)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int n = snprintf(sun.sun_path + 1, sizeof sun.sun_path - 1, "attls/%d", pid);
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	if (connect(fd, (struct sockaddr *)&sun, len) != 0) {
		*err = errno;
		close(fd);
		return NULL;
	}
	size_t cap = 65536, used = 0;
	char *buf = malloc(cap);
	while (buf) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 2000) <= 0)
			break;
		if (used + 4096 > cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + used, cap - used - 1);
		if (r <= 0)
			break;
		used += (size_t)r;
	}
	close(fd);
	if (buf)
		buf[used] = '\0';
	if (buf && used == 0) {
		/* connected but no answer: another user's process */
		*err = EACCES;
		free(buf);
		return NULL;
	}
	return buf;
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

int cmd_conns(int argc, char **argv)
{
	bool as_json = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			as_json = true;
		} else {
			fprintf(stderr, "usage: attls conns [--json]\n");
			return 2;
		}
	}
	int pids[MAX_PIDS];
	size_t np = find_pids(pids, MAX_PIDS);
	struct json j;
	if (as_json) {
		json_init(&j, stdout, 2);
		json_obj_begin(&j);
		json_key(&j, "connections");
		json_arr_begin(&j);
	} else {
		printf("%-7s %-12s %-4s %-9s %-3s %-22s %-22s %-16s %-8s %-30s %10s %10s  %s\n",
		       "PID", "PROGRAM", "ID", "STATE", "DIR", "LOCAL", "REMOTE", "RULE", "PROTOCOL",
		       "CIPHER", "BYTES_IN", "BYTES_OUT", "PEER");
	}
	size_t denied = 0;
	for (size_t i = 0; i < np; i++) {
		int err = 0;
		char *text = ask(pids[i], &err);
		if (!text) {
			if (err == EACCES || err == EPERM)
				denied++;
			continue;
		}
		char pidbuf[16] = "", prog[32] = "";
		for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
			struct kvline kv;
			if (kv_parse(line, &kv) != 0)
				continue;
			if (!strcmp(kv.kind, "process")) {
				snprintf(pidbuf, sizeof pidbuf, "%s", or_dash(kv_get(&kv, "pid")));
				snprintf(prog, sizeof prog, "%s", or_dash(kv_get(&kv, "program")));
				continue;
			}
			if (strcmp(kv.kind, "conn") != 0)
				continue;
			if (as_json) {
				json_obj_begin(&j);
				json_key(&j, "pid");
				json_int(&j, atoi(pidbuf));
				json_kstr(&j, "program", prog);
				for (size_t k = 0; k < kv.n; k++) {
					const char *key = kv.key[k];
					if (!strcmp(key, "id") || !strcmp(key, "bytes_in") || !strcmp(key, "bytes_out")) {
						json_key(&j, key);
						json_uint(&j, strtoull(kv.val[k], NULL, 10));
					} else {
						json_kstr(&j, key, *kv.val[k] ? kv.val[k] : NULL);
					}
				}
				json_obj_end(&j);
			} else {
				printf("%-7s %-12s %-4s %-9s %-3s %-22s %-22s %-16s %-8s %-30s %10s %10s  %s\n",
				       pidbuf, prog, or_dash(kv_get(&kv, "id")), or_dash(kv_get(&kv, "state")),
				       !strcmp(or_dash(kv_get(&kv, "direction")), "inbound") ? "in" : "out",
				       or_dash(kv_get(&kv, "local")), or_dash(kv_get(&kv, "remote")),
				       or_dash(kv_get(&kv, "rule")), or_dash(kv_get(&kv, "protocol")),
				       or_dash(kv_get(&kv, "cipher")), or_dash(kv_get(&kv, "bytes_in")),
				       or_dash(kv_get(&kv, "bytes_out")), or_dash(kv_get(&kv, "peer")));
			}
		}
		free(text);
	}
	if (as_json) {
		json_arr_end(&j);
		json_kuint(&j, "processes_not_visible", denied);
		json_obj_end(&j);
		json_end(&j);
	} else if (denied) {
		printf("(%zu process%s of other users not shown; run as root to see all)\n", denied,
		       denied == 1 ? "" : "es");
	}
	return 0;
}
