/*
 * ctl/run_cmd — "attls run": start a program with libattls.so preloaded.
 * Checks the policy first and refuses to start the program when it cannot be
 * used (the library would fail every connection closed). Sets LD_PRELOAD (ours
 * first, entries already there kept), ATTLS_POLICY (an absolute path, since the
 * program may change directory), ATTLS_TRACE and ATTLS_LOG_FILE, then execs
 * the program.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "policy/diag.h"
#include "policy/policy.h"

static void usage(FILE *out)
{
	fputs("usage: attls run [-p POLICY] [--trace LEVEL] [--log FILE] -- PROGRAM [ARGS...]\n"
	      "  Run PROGRAM with libattls.so preloaded: connections a TTLSRule of the\n"
	      "  policy covers get TLS, the program reads and writes plain bytes.\n"
	      "  -p POLICY      the policy file (else $ATTLS_POLICY, else\n"
	      "                 /etc/attls/attls.conf)\n"
	      "  --trace LEVEL  what to log, overriding the rules' Trace (0-255: 2 errors,\n"
	      "                 4 info, 8 events, 16 flow)\n"
	      "  --log FILE     log to FILE as well as syslog\n", out);
}

/* libattls.so next to this attls: <bindir>/../lib/libattls.so (build tree) or
 * <bindir>/../lib/attls/libattls.so (installed). ATTLS_LIBRARY overrides. */
static int find_library(char *out, size_t len)
{
	const char *env = getenv("ATTLS_LIBRARY");
	if (env && *env) {
		snprintf(out, len, "%s", env);
		return access(out, R_OK);
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	static const char *const rel[] = { "../lib/libattls.so", "../lib/attls/libattls.so" };
	for (size_t i = 0; i < 2; i++) {
		char cand[PATH_MAX + 32];
		snprintf(cand, sizeof cand, "%s/%s", exe, rel[i]);
		if (realpath(cand, out) && access(out, R_OK) == 0)
			return 0;
	}
	return -1;
}

/* The policy the library will read, checked as `attls policy check` does.
 * Its errors go to stderr with file, line and column. */
static bool policy_usable(const char *path, const char *program)
{
	struct diags d;
	diags_init(&d);
	struct policy *p = ctl_check_policy(path, &d);
	bool usable = p && !d.nerrors;
	if (!usable) {
		diags_print(&d, stderr, 0);
		fprintf(stderr, "attls run: not starting %s: the policy %s cannot be used\n",
			program, path);
	}
	policy_unref(p);
	diags_free(&d);
	return usable;
}

int cmd_run(int argc, char **argv)
{
	const char *policy = NULL, *trace = NULL, *logfile = NULL;
	int i = 1;
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if ((!strcmp(argv[i], "-p") || !strcmp(argv[i], "--policy")) && i + 1 < argc)
			policy = argv[++i];
		else if (!strcmp(argv[i], "--trace") && i + 1 < argc)
			trace = argv[++i];
		else if (!strcmp(argv[i], "--log") && i + 1 < argc)
			logfile = argv[++i];
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "attls run: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		} else {
			break;   /* the program, without "--" */
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	char lib[PATH_MAX];
	if (find_library(lib, sizeof lib) != 0) {
		fprintf(stderr, "attls run: cannot find libattls.so next to this program "
			"(set ATTLS_LIBRARY)\n");
		return 1;
	}
	if (policy) {
		char abs[PATH_MAX];
		if (!realpath(policy, abs))
			snprintf(abs, sizeof abs, "%s", policy);   /* reported as given */
		setenv("ATTLS_POLICY", abs, 1);
	}
	if (trace) {
		char *end;
		long v = strtol(trace, &end, 0);
		if (*end || v < 0 || v > 255) {
			fprintf(stderr, "attls run: --trace takes a number from 0 to 255\n");
			return 2;
		}
		setenv("ATTLS_TRACE", trace, 1);
	}
	if (logfile) {
		char abs[PATH_MAX];
		const char *l = logfile;
		if (logfile[0] != '/' && getcwd(abs, sizeof abs - strlen(logfile) - 2)) {
			strcat(abs, "/");
			strcat(abs, logfile);
			l = abs;
		}
		setenv("ATTLS_LOG_FILE", l, 1);
	}
	const char *env_policy = getenv("ATTLS_POLICY");
	if (!policy_usable(env_policy && *env_policy ? env_policy : POLICY_DEFAULT_PATH, argv[i]))
		return 1;
	const char *old = getenv("LD_PRELOAD");
	if (old && *old) {
		size_t len = strlen(lib) + strlen(old) + 2;
		char *both = malloc(len);
		if (!both)
			return 1;
		snprintf(both, len, "%s %s", lib, old);
		setenv("LD_PRELOAD", both, 1);
		free(both);
	} else {
		setenv("LD_PRELOAD", lib, 1);
	}
	execvp(argv[i], argv + i);
	fprintf(stderr, "attls run: cannot run %s: %s\n", argv[i], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
