/*
 * ctl/conns_query — what `attls conns` asks, trusting no answer: finds every
 * process that publishes @attls/<pid>, checks that the socket was made by
 * that very process as one of its users (SO_PEERCRED against
 * /proc/PID/status), and reads each answer with a bound on its size and a
 * deadline, a batch of processes at a time so a hostile one cannot hold up
 * the others or the command.
 */
#ifndef ATTLS_CTL_CONNS_QUERY_H
#define ATTLS_CTL_CONNS_QUERY_H

#include <stddef.h>
#include <sys/types.h>

#define CONNS_MAX_ANSWER  (4u << 20)  /* bytes one process may answer (~10,000 connections) */
#define CONNS_DEADLINE_MS 2000        /* for the answers of one batch */
#define CONNS_BATCH       16          /* processes asked at once */

enum conns_status {
	CONNS_OK,          /* text holds the answer */
	CONNS_GONE,        /* the process or its socket went away */
	CONNS_DENIED,      /* another user's process: it answers only its user or root */
	CONNS_UNTRUSTED,   /* the socket is not the process's own (why says whose) */
	CONNS_TOO_BIG,     /* more than CONNS_MAX_ANSWER bytes */
	CONNS_TIMEOUT,     /* no complete answer within CONNS_DEADLINE_MS */
	CONNS_FAILED,      /* why says */
};

struct conns_answer {
	pid_t pid;
	enum conns_status status;
	char program[64];  /* /proc/PID/comm as the kernel has it (not terminal-safe) */
	char *text;        /* the answer, NUL-terminated (CONNS_OK) */
	size_t len;
	char why[192];     /* for a warning: digits and fixed words only */
};

/* The processes that publish @attls/<pid>, each once, at most max. */
size_t conns_find(pid_t *pids, size_t max);
/* Ask each of pids; fn sees every answer, in the order of pids. An answer's
 * text lives until fn returns. */
void conns_ask_all(const pid_t *pids, size_t n,
		   void (*fn)(const struct conns_answer *a, void *arg), void *arg);

#endif
