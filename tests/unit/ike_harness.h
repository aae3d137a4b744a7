/*
 * tests/unit/ike_harness — two (or more) iked instances in one process,
 * joined by a simulated network and driven by a simulated clock, as
 * strongSwan tests its exchanges: no sockets, no kernel, no waiting. The
 * network can drop, duplicate or inspect packets. Each daemon's kernel
 * backend is a simulated data path: it logs as the log backend does, keeps
 * the SAs it was given with a byte counter, and reports their byte limits
 * the way the xfrm backend reports the kernel's expire messages.
 */
#ifndef ATTLS_TESTS_UNIT_IKE_HARNESS_H
#define ATTLS_TESTS_UNIT_IKE_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iked/iked.h"
#include "iked/kernel.h"

#define H_MAX_NODES 4
#define H_MAX_QUEUE 256

struct h_packet {
	struct ikeaddr from, to;
	uint8_t data[4096];
	size_t len;
};

struct h_node {
	struct iked *ike;
	struct ip_addr addr;
	bool down;                         /* drops everything it would receive */
};

struct harness {
	uint64_t now;                      /* ms */
	struct h_node nodes[H_MAX_NODES];
	size_t nnodes;
	struct h_packet queue[H_MAX_QUEUE];
	size_t nq;
	/* a filter may drop (return false) or look at packets in flight */
	bool (*filter)(struct harness *h, const struct h_packet *p, void *ctx);
	void *filter_ctx;
	bool duplicate;                    /* deliver every packet twice */
	/* a NAT in front of node nat_node: its packets leave from nat_public
	 * with port + nat_port_base; packets to nat_public go back */
	int nat_node;                      /* -1: no NAT */
	struct ip_addr nat_public;
	uint16_t nat_port_base;
	size_t keepalives;                 /* NAT-T keepalives delivered */
	size_t delivered, dropped;
	struct h_packet last;              /* the last packet delivered */
};

void h_init(struct harness *h);
/* Add a daemon at addr with a policy text; returns its index. */
int h_add(struct harness *h, const char *addr, const char *policy_text);
void h_free(struct harness *h);
/* Deliver packets and run timers until nothing is in flight and no timer is
 * due within max_ms of simulated time (bounded). */
void h_run(struct harness *h, uint64_t max_ms);
/* Advance the clock by ms, running timers and deliveries on the way. */
void h_advance(struct harness *h, uint64_t ms);
/* Replace node i by a fresh daemon with the same address (a reboot). */
void h_restart(struct harness *h, int i, const char *policy_text);
/* Inject raw bytes as if sent from 'from' to node i on port. */
void h_inject(struct harness *h, int i, const char *from, uint16_t port, const uint8_t *p,
	      size_t len);

/* The simulated data path of node i. */
#define H_MAX_SAS 32
struct h_sa {
	struct kernel_sa sa;               /* as handed over; no key pointers */
	uint64_t bytes;
	bool soft_reported;
};
/* An installed SA of node i by SPI (inbound or outbound), or NULL. */
const struct h_sa *h_kernel_sa(struct harness *h, int i, uint32_t spi);
size_t h_kernel_sa_count(struct harness *h, int i);
/* Traffic through node i's SA spi: the count grows, and crossing a limit is
 * reported as a kernel reports it (soft once; hard removes the SA). */
void h_traffic(struct harness *h, int i, uint32_t spi, uint64_t bytes);
/* Report a limit of node i's SA spi now, whatever its count (hard also
 * removes the SA, as the kernel does). */
void h_kernel_expire(struct harness *h, int i, uint32_t spi, bool hard);

/* Queries */
struct ktunnel *h_ktunnel(struct harness *h, int i, unsigned id);
struct ytunnel *h_ytunnel(struct harness *h, int i, unsigned id);
size_t h_count_p1(struct harness *h, int i, bool established_only);
size_t h_count_p2(struct harness *h, int i, bool established_only);

/* Captured log lines (the harness logs into a buffer). */
bool h_log_has(const char *needle);
size_t h_log_count(const char *needle);
void h_log_clear(void);
void h_log_dump(void);

#endif
