/*
 * iked/datapath — what the parts of the tun backend share: kernel_tun.c (the
 * backend: kernel_ops, routes, sockets, threads), dp_table.c (the SA table
 * the data threads read without locks, and when its old versions may be
 * freed), dp_out.c and dp_in.c (the outbound and inbound data threads).
 * Not for the rest of iked, which knows the backend through kernel_ops.
 */
#ifndef ATTLS_IKED_DATAPATH_H
#define ATTLS_IKED_DATAPATH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "iked/esp.h"
#include "iked/ippkt.h"
#include "iked/kernel.h"
#include "iked/net.h"
#include "iked/tun.h"

#define TUN_MTU        1400              /* fits ESP in UDP in a 1500-byte link */
#define SLOT_HEAD      64                /* before a packet: ESP header and IV, or an IP header */
#define SEQ_SOFT_LEFT  (1u << 28)        /* refresh with this many sequence numbers left */
#define MAX_DATA_SOCKS NET_MAX_SOCKETS

enum { TH_IN, TH_OUT };             /* the data threads */

/* One installed SA. */
struct tsa {
	struct esp_sa esp;                /* used by its direction's data thread only */
	struct kernel_sel sel;
	struct ip_addr src, dst;          /* outer addresses */
	bool inbound, udp_encap;
	uint64_t soft_bytes, hard_bytes;
	char label[32];
	/* outbound: where its packets go */
	int fd;
	struct sockaddr_storage to;
	socklen_t tolen;
	bool set_src;                     /* a wildcard socket: the source goes with each packet */
	/* marks from the data thread; what the IKE thread has reported */
	_Atomic bool soft_hit, hard_hit;
	bool soft_told, hard_told;
};

/* What the data threads see: immutable once published. Inbound SAs sorted
 * by SPI; outbound SAs in the order they were installed (newest last). */
struct table {
	size_t nin, nout;
	struct tsa **in, **out;
	struct tsa *v[];
};

struct retired {
	void *p;
	bool is_sa;
	uint64_t qs[2];                   /* the threads' passes when it was replaced */
};

struct route {
	struct tun_prefix p;
	struct ip_addr src;
	bool have_src;
	unsigned refs;
};

struct dsock {
	int fd;
	struct ip_addr local;
	uint16_t port;
	bool wildcard;
};

struct tunk {
	struct tun tun;
	struct dsock udp[MAX_DATA_SOCKS];
	size_t nudp;
	int raw4, raw6;
	int wake;                         /* eventfd: the data threads stop */
	int published;                    /* eventfd: the inbound thread, a new table */
	_Atomic bool stop;
	pthread_t th[2];
	bool started[2];
	_Atomic(struct table *) table;
	_Atomic uint64_t qs[2];
	struct retired *retired;
	size_t nretired, cap_retired;
	struct route *routes;
	size_t nroutes;
	_Atomic uint64_t drops[ESP_NRESULTS];
	_Atomic bool no_udp_gso;          /* UDP_SEGMENT failed once */
};

/* ---- dp_table.c: the table ------------------------------------------------------------- */

/* The table the data threads read now (the IKE thread's current one). */
struct table *dp_current(struct tunk *t);
/* An empty table. */
struct table *dp_table_new(size_t nin, size_t nout);
/* Data threads: the inbound SA of an SPI; the newest outbound SA whose
 * selectors cover a flow and that has not reached its hard limit. */
struct tsa *dp_find_in(const struct table *tb, uint32_t spi);
struct tsa *dp_find_out(const struct table *tb, const struct ip_flow *f);
/* IKE thread: an installed SA by destination and SPI. */
struct tsa *dp_lookup(struct tunk *t, const struct ip_addr *dst, uint32_t spi);
/* IKE thread: publish a table with sa added, or without it (then retired,
 * freed once no data thread can hold it). 0, or -1 when out of memory. */
int dp_add(struct tunk *t, struct tsa *sa);
int dp_remove(struct tunk *t, struct tsa *sa);
/* IKE thread: free what was retired and no data thread can still read. */
void dp_reclaim(struct tunk *t);
/* At the end, with the data threads stopped: free everything. */
void dp_free_all(struct tunk *t, void (*each)(const struct tsa *sa));
/* A data thread starts and ends a pass over one table. */
void dp_pass_begin(struct tunk *t, int th);
void dp_pass_end(struct tunk *t, int th);
void dp_free_sa(struct tsa *sa);
bool dp_same_addr(const struct ip_addr *a, const struct ip_addr *b);

/* ---- kernel_tun.c: what the data threads call -------------------------------------------- */

/* A packet dropped: counted, logged at debug now and then. */
void dp_drop(struct tunk *t, int why, uint32_t spi);
/* After a packet through sa: mark its soft or hard limit when reached and
 * wake the IKE thread to report it. */
void dp_check_limits(struct kernel *k, struct tsa *sa);
/* An epoll set of fds and the stop eventfd; -1 on failure. */
int dp_thread_epoll(struct tunk *t, const int *fds, size_t n);

/* The threads (dp_out.c, dp_in.c); arg is the struct kernel. */
void *dp_outbound_main(void *arg);
void *dp_inbound_main(void *arg);

#endif
