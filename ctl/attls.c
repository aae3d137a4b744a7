/*
 * ctl/attls — the attls command: dispatches to its subcommands.
 *   attls run ...                           (ctl/run_cmd.c)
 *   attls conns ...                         (ctl/conns_cmd.c)
 *   attls policy check|show|reference ...   (ctl/policy_cmd.c)
 * Every command and subcommand takes -h/--help (usage on stdout, status 0).
 */
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/version.h"
#include "ctl/ctl.h"

static void usage(FILE *out)
{
	fputs("usage: attls run [-p POLICY] [--trace LEVEL] [--log FILE] -- PROGRAM [ARGS...]\n"
	      "       attls conns [--json] [--pid PID]...\n"
	      "       attls policy check [--json] FILE...\n"
	      "       attls policy show [--json] [--match SPEC] FILE\n"
	      "       attls policy reference\n"
	      "       attls --version\n"
	      "\n"
	      "SPEC describes a connection, e.g.\n"
	      "  'inbound 127.0.0.1:443 from 10.1.2.3:5555 job nginx user www'\n"
	      "  'outbound 10.0.0.5:40000 to [2001:db8::1]:443 job curl'\n"
	      "'attls COMMAND --help' says more about each.\n", out);
}

bool ctl_is_help(const char *arg)
{
	return !strcmp(arg, "-h") || !strcmp(arg, "--help");
}

int main(int argc, char **argv)
{
	log_init("attls", LOG_TO_STDERR);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (ctl_is_help(argv[1]) || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("attls %s\n", attls_version());
		return 0;
	}
	if (!strcmp(argv[1], "policy"))
		return cmd_policy(argc - 1, argv + 1);
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "conns"))
		return cmd_conns(argc - 1, argv + 1);
	fprintf(stderr, "attls: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
