/*
 * iked/control — the control socket the ipsec command talks to (a unix
 * stream socket, mode 0600, root or iked's own user only), one request per
 * connection: a line of tab-separated words, answered by "rc=N" and the
 * report text. display.c renders the reports (text as z/OS prints them, or
 * JSON).
 */
#ifndef ATTLS_IKED_CONTROL_H
#define ATTLS_IKED_CONTROL_H

#include <stdbool.h>
#include <stdio.h>

#include "iked/iked.h"

enum { FMT_DETAIL, FMT_WIDE, FMT_SHORT };

struct ctl_req {
	char primary;                     /* 'k', 'y', 'f', 'c' (SA cache) */
	char verb[16];                    /* display, refresh, activate, deactivate, clear */
	char id[64];                      /* -a: K3, Y7, or a filter rule name */
	char name[64];                    /* activate NAME */
	int format;
	bool json;
};

/* Parse one request line; returns 0 or -1 with err filled. */
int ctl_parse(const char *line, struct ctl_req *r, char *err, size_t errlen);
/* Serve a request; the report goes to out; returns the exit status. */
int ctl_execute(struct iked *ike, const struct ctl_req *r, FILE *out);

int control_open(const char *path, char *err, size_t errlen);
/* Accept and serve one client on the listening socket. */
void control_serve(struct iked *ike, int lfd);

/* Reports (display.c) */
int display_ike_tunnels(struct iked *ike, const struct ctl_req *r, FILE *out);
int display_dyn_tunnels(struct iked *ike, const struct ctl_req *r, FILE *out);
int display_filters(struct iked *ike, const struct ctl_req *r, FILE *out);
int display_cache(struct iked *ike, const struct ctl_req *r, FILE *out);

#endif
