/*
 * ctl/ctl — the subcommands of the attls command, one file each.
 * Each takes argv from its own name on and returns the exit status.
 */
#ifndef ATTLS_CTL_CTL_H
#define ATTLS_CTL_CTL_H

#include <stdbool.h>

int cmd_policy(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_conns(int argc, char **argv);
/* -h or --help */
bool ctl_is_help(const char *arg);

struct diags;
struct policy;
/* A policy file checked as `attls policy check` checks it (the policy, then
 * the key ring of every TLS rule, as the shim will load it): the policy, or
 * NULL; it is usable when d then holds no error. */
struct policy *ctl_check_policy(const char *path, struct diags *d);

#endif
