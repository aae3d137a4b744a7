/*
 * ctl/ipsec — the ipsec command: talks to iked over its control socket.
 *
 *   ipsec [-S PATH] [--json] -k display|refresh|deactivate [-a Kn] [-r detail|wide|short]
 *   ipsec [-S PATH] [--json] -y display|refresh|activate|deactivate [-a Yn] [-r ...] [NAME]
 *   ipsec [-S PATH] [--json] -f display [-a NAME] [-r ...]
 *   ipsec [-S PATH] [--json] --cache display|clear [-a Kn|Yn]
 *   ipsec --help | --version
 *
 * The reports are rendered by iked; this program sends one request line and
 * prints the answer, exiting with iked's status (0 ok, 1 failed, 2 usage).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/version.h"

#define DEFAULT_SOCKET "/run/attls/iked.sock"

static void usage(FILE *f)
{
	fputs("usage: ipsec [-S PATH] [--json] -k display|refresh|deactivate [-a Kn] [-r FORMAT]\n"
	      "       ipsec [-S PATH] [--json] -y display|refresh|deactivate [-a Yn] [-r FORMAT]\n"
	      "       ipsec [-S PATH] -y activate NAME\n"
	      "       ipsec [-S PATH] [--json] -f display [-a FILTERNAME] [-r FORMAT]\n"
	      "       ipsec [-S PATH] [--json] --cache display|clear [-a Kn|Yn]\n"
	      "  -k   IKE (phase 1) tunnels        -y   dynamic (phase 2) tunnels\n"
	      "  -f   filter rules                 --cache  the SA cache of agreed attributes\n"
	      "  -a   one tunnel or rule           -r   detail (default), wide or short\n"
	      "  -S   iked's control socket (default " DEFAULT_SOCKET ")\n"
	      "  --json  the report as JSON      --version  this program's version\n", f);
}

struct args {
	const char *sock;
	char primary;
	const char *verb, *id, *format, *name;
	bool json;
};

static bool valid_word(const char *s)
{
	return s && *s && strlen(s) < 64 && !strpbrk(s, "\t\n\r=");
}

/* -h/--help or --version anywhere answers at once, before a function word
 * ("ipsec -k --help") could take it for its argument. */
static bool help_or_version(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return true;
		}
		if (!strcmp(argv[i], "--version")) {
			printf("ipsec (attls) %s\n", attls_version());
			return true;
		}
	}
	return false;
}

static int parse(int argc, char **argv, struct args *a)
{
	memset(a, 0, sizeof *a);
	a->sock = DEFAULT_SOCKET;
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		if (!strcmp(s, "-S") && i + 1 < argc)
			a->sock = argv[++i];
		else if (!strcmp(s, "--json"))
			a->json = true;
		else if ((!strcmp(s, "-k") || !strcmp(s, "-y") || !strcmp(s, "-f") ||
			  !strcmp(s, "--cache")) && i + 1 < argc && !a->primary) {
			a->primary = s[1] == '-' ? 'c' : s[1];
			a->verb = argv[++i];
		} else if (!strcmp(s, "-a") && i + 1 < argc)
			a->id = argv[++i];
		else if (!strcmp(s, "-r") && i + 1 < argc)
			a->format = argv[++i];
		else if (s[0] != '-' && !a->name)
			a->name = s;
		else {
			fprintf(stderr, "ipsec: unexpected argument '%s'\n", s);
			return -1;
		}
	}
	if (!a->primary || !valid_word(a->verb)) {
		fprintf(stderr, "ipsec: give one of -k, -y, -f or --cache with a function\n");
		return -1;
	}
	if (a->format && strcmp(a->format, "detail") && strcmp(a->format, "wide") &&
	    strcmp(a->format, "short")) {
		fprintf(stderr, "ipsec: -r takes detail, wide or short\n");
		return -1;
	}
	if ((a->id && !valid_word(a->id)) || (a->name && !valid_word(a->name))) {
		fprintf(stderr, "ipsec: tunnel IDs and names are one word under 64 characters\n");
		return -1;
	}
	if (a->primary == 'y' && !strcmp(a->verb, "activate") && !a->name) {
		fprintf(stderr, "ipsec: -y activate needs the name of an IpFilterRule\n");
		return -1;
	}
	return 0;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sun.sun_path) {
		fprintf(stderr, "ipsec: socket path too long\n");
		return -1;
	}
	strcpy(sun.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		fprintf(stderr, "ipsec: cannot reach iked at %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct timeval tv = { .tv_sec = 30 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	return fd;
}

int main(int argc, char **argv)
{
	struct args a;
	if (help_or_version(argc, argv))
		return 0;
	if (parse(argc, argv, &a)) {
		usage(stderr);
		return 2;
	}
	char req[512];
	int n = snprintf(req, sizeof req, "%c\t%s\tjson=%d\tformat=%s%s%s%s%s\n", a.primary, a.verb,
			 a.json ? 1 : 0, a.format ? a.format : "detail", a.id ? "\tid=" : "",
			 a.id ? a.id : "", a.name ? "\tname=" : "", a.name ? a.name : "");
	int fd = connect_to(a.sock);
	if (fd < 0)
		return 1;
	if (write(fd, req, (size_t)n) != n) {
		fprintf(stderr, "ipsec: cannot send the request: %s\n", strerror(errno));
		close(fd);
		return 1;
	}
	shutdown(fd, SHUT_WR);
	char *resp = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len + 4096 > cap) {
			cap = cap ? cap * 2 : 8192;
			char *p = realloc(resp, cap);
			if (!p) {
				free(resp);
				close(fd);
				return 1;
			}
			resp = p;
		}
		ssize_t r = read(fd, resp + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (!resp || len < 5 || strncmp(resp, "rc=", 3) != 0) {
		fprintf(stderr, "ipsec: no answer from iked\n");
		free(resp);
		return 1;
	}
	resp[len] = '\0';
	int rc = atoi(resp + 3);
	char *body = strchr(resp, '\n');
	body = body ? body + 1 : resp + len;
	fputs(body, rc ? stderr : stdout);
	free(resp);
	return rc;
}
