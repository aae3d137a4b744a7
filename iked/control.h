/*
 * iked/control — the control socket the ipsec command talks to (a unix
 * stream socket, mode 0600, root or iked's own user only), one request per
 * connection: a line of tab-separated words, answered by "rc=N" and the
 * report text. display.c renders the reports (text as z/OS prints them, or
 * JSON).
 *
 * Clients never make the event loop wait: each is non-blocking with its own
 * buffers and CTL_DEADLINE_MS to send its whole request line and again to
 * take its answer. A request is carried out only once its line is complete;
 * one cut short by the end of the stream or by the deadline is refused.
 * CTL_MAX_CLIENTS are served at once; more wait in the listen queue.
 */
#ifndef ATTLS_IKED_CONTROL_H
#define ATTLS_IKED_CONTROL_H

#include <stdbool.h>
#include <stdint.h>
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

#define CTL_MAX_REQUEST 1024
#define CTL_MAX_CLIENTS 32
#define CTL_DEADLINE_MS 10000

struct control;

struct ctl_client {
	struct control *ctl;
	int fd;                           /* -1: a free slot */
	char in[CTL_MAX_REQUEST];         /* the request as it arrives */
	size_t in_len;
	char *out;                        /* the answer, once the request ran */
	size_t out_len, out_off;
	struct timer deadline;
};

struct control {
	struct iked *ike;
	int lfd, ep;
	uint64_t tag;                     /* epoll tag of lfd; client i has tag + 1 + i */
	bool accepting;                   /* lfd is watched (a slot is free) */
	struct ctl_client clients[CTL_MAX_CLIENTS];
};

/* Create the listening socket (before the daemon exists, to fail early). */
int control_open(struct control *c, const char *path, char *err, size_t errlen);
/* Serve it for ike from the event loop ep: lfd gets tag, clients the CTL_MAX_CLIENTS
 * tags after it. Returns 0 or -1 (errno). */
int control_start(struct control *c, struct iked *ike, int ep, uint64_t tag);
/* Whether an epoll tag is the control socket's, and what to do with it. */
bool control_owns(const struct control *c, uint64_t tag);
void control_event(struct control *c, uint64_t tag, uint32_t events);
void control_close(struct control *c);

/* Reports (display.c) */
int display_ike_tunnels(struct iked *ike, const struct ctl_req *r, FILE *out);
int display_dyn_tunnels(struct iked *ike, const struct ctl_req *r, FILE *out);
int display_filters(struct iked *ike, const struct ctl_req *r, FILE *out);
int display_cache(struct iked *ike, const struct ctl_req *r, FILE *out);

#endif
