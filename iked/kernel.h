/*
 * iked/kernel — where negotiated IPsec SAs go. One interface (struct
 * kernel_ops) with its backends, registered in kernel.c: xfrm (Linux
 * netlink: SAs and policies, kernel_xfrm.c) and log (records each SA and
 * policy it would install, kernel_log.c). install.c turns a negotiated SA
 * pair into the descriptions below, which carry everything a data path needs
 * (addresses, SPI, mode, UDP encapsulation, algorithms, keys, selectors,
 * lifetimes), so a userspace data path can be a third backend.
 *
 * The other direction: a backend that counts bytes tells the daemon when an
 * SA reached its soft limit (refresh now) or its hard one (the SA is gone)
 * through kernel_report(). The xfrm backend reads the kernel's expire
 * messages from an fd the event loop polls (event_fd, receive); a userspace
 * data path would call kernel_report() from its own packet path.
 */
#ifndef ATTLS_IKED_KERNEL_H
#define ATTLS_IKED_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/addr.h"

struct kernel;
struct kernel_args;

struct kernel_sel {
	struct ip_range src, dst;         /* single, prefix or range (ranges: the covering prefix) */
	uint8_t proto;                    /* 0 = any */
	uint16_t sport, dport;            /* 0 = any */
};

struct kernel_sa {
	bool inbound;
	struct ip_addr src, dst;          /* outer addresses (security endpoints) */
	uint32_t spi;
	int mode;                         /* ENCAP_TUNNEL or ENCAP_TRANSPORT */
	bool udp_encap;                   /* ESP in UDP (RFC 3948) */
	uint16_t encap_sport, encap_dport;
	struct ip_addr encap_oa;          /* NAT-OA original address, transport mode */
	bool have_oa;
	int enc_alg;                      /* ENC_AES_CBC or ENC_AES_GCM_16 */
	const uint8_t *enc_key;           /* GCM: key then 4-byte salt */
	size_t enc_key_len;
	int auth_alg;                     /* AUTHALG_*, AUTHALG_NULL with GCM */
	const uint8_t *auth_key;
	size_t auth_key_len;
	unsigned icv_bits;
	struct kernel_sel sel;
	uint32_t reqid;
	uint64_t soft_secs, hard_secs;    /* 0 = none */
	uint64_t soft_bytes, hard_bytes;  /* 0 = none; soft: refresh (see kernel_report) */
	const char *label;                /* "Y1.2 in" for the log */
};

enum { KDIR_IN, KDIR_OUT, KDIR_FWD };

struct kernel_policy {
	int dir;                          /* KDIR_* */
	struct kernel_sel sel;
	int mode;
	struct ip_addr tsrc, tdst;        /* tunnel endpoints of the template */
	uint32_t reqid;
	uint32_t priority;
	const char *label;
};

/* An SA reached a limit: the ESP SA (dst, spi) of the kernel_sa that was
 * installed, as every data path names it. */
struct kernel_event {
	struct ip_addr src, dst;
	uint32_t spi;
	uint8_t proto;                    /* IPPROTO_ESP; others are not iked's */
	bool hard;                        /* hard limit: the data path removed the SA */
	bool lifesize;                    /* the byte limit was the one reached (else time) */
	uint64_t bytes;                   /* bytes through the SA, 0 = not known */
};

/* What a data path counts per SA (its direction's traffic). */
struct kernel_sa_stats {
	uint64_t bytes, packets;          /* the clear packets carried */
	uint64_t replay, integrity;       /* inbound packets dropped for these reasons */
	uint64_t malformed;               /* bad lengths, padding or next header */
};

struct kernel_ops {
	const char *name;
	/* Optional (NULL: nothing to open). Set up k (fds, priv); 0, or -1 with
	 * err filled. */
	int (*open)(struct kernel *k, const struct kernel_args *a, char *err, size_t errlen);
	int (*add_sa)(struct kernel *k, const struct kernel_sa *sa);
	int (*del_sa)(struct kernel *k, const struct ip_addr *src, const struct ip_addr *dst,
		      uint32_t spi, const char *label);
	int (*add_policy)(struct kernel *k, const struct kernel_policy *p);
	int (*del_policy)(struct kernel *k, const struct kernel_policy *p);
	void (*close)(struct kernel *k);
	/* Optional (NULL: the backend has none). Read what event_fd has and
	 * kernel_report() each event. */
	void (*receive)(struct kernel *k);
	/* Optional (NULL: no byte counters). Bytes through an installed SA. */
	int (*sa_bytes)(struct kernel *k, const struct ip_addr *src, const struct ip_addr *dst,
			uint32_t spi, uint64_t *bytes);
	/* Optional (NULL: the backend does not count them). Everything a data
	 * path counts for an installed SA. */
	int (*sa_stats)(struct kernel *k, const struct ip_addr *src, const struct ip_addr *dst,
			uint32_t spi, struct kernel_sa_stats *st);
};

struct kernel {
	const struct kernel_ops *ops;
	int fd;                           /* netlink socket for requests (xfrm) */
	int event_fd;                     /* what the event loop polls for receive; -1 = none */
	uint32_t seq;
	unsigned installed_sas, installed_policies;
	char err[160];                    /* last error, for the log */
	/* where events go: set by the daemon (iked_new) */
	void (*report)(void *ctx, const struct kernel_event *ev);
	void *report_ctx;
	void *priv;                       /* backend state a backend may need */
};

/* Open a backend (BACKEND_*: the registry in kernel.c). NULL with err filled. */
/* What a backend may need from the daemon when it opens. The tun backend
 * (kernel_tun.c, iked's own ESP data path behind TUN device `tun_device`)
 * shares the NAT-T port of iked's sockets (net, opened with NET_REUSEPORT)
 * for ESP in UDP and marks them all so that IKE never enters the tunnel. */
struct net;
struct kernel_args {
	const char *tun_device;
	struct net *net;
};

/* KernelBackend auto: BACKEND_XFRM when this kernel takes an ESP SA, else
 * BACKEND_TUN; why says what the probe saw. */
int kernel_resolve_auto(char *why, size_t whylen);

/* a may be NULL for backends that need nothing (xfrm, log). */
struct kernel *kernel_open(int backend, const struct kernel_args *a, char *err, size_t errlen);
void kernel_close(struct kernel *k);
/* The backend's name ("xfrm", "log"), for the log. */
const char *kernel_backend_name(int backend);

/* A backend's event to the daemon (nothing when no daemon listens). */
static inline void kernel_report(struct kernel *k, const struct kernel_event *ev)
{
	if (k->report)
		k->report(k->report_ctx, ev);
}
/* The event loop: event_fd is readable. */
void kernel_receive(struct kernel *k);

/* The xfrm netlink encoding, exposed for the unit tests: each returns the
 * message length written into buf, or 0 when cap is too small. */
size_t xfrm_encode_newsa(const struct kernel_sa *sa, uint32_t seq, uint8_t *buf, size_t cap);
size_t xfrm_encode_delsa(const struct ip_addr *src, const struct ip_addr *dst, uint32_t spi,
			 uint32_t seq, uint8_t *buf, size_t cap);
size_t xfrm_encode_policy(const struct kernel_policy *p, bool add, uint32_t seq, uint8_t *buf,
			  size_t cap);
size_t xfrm_encode_getsa(const struct ip_addr *src, const struct ip_addr *dst, uint32_t spi,
			 uint32_t seq, uint8_t *buf, size_t cap);
/* The xfrm netlink decoding, exposed for the unit tests. A buffer read from
 * the expire group: each well-formed XFRM_MSG_EXPIRE becomes one event (at
 * most max); other types are skipped, a malformed message ends the walk
 * (its length cannot be trusted). Returns the number of events; *bad (may be
 * NULL) counts what was malformed. */
size_t xfrm_parse_expire(const uint8_t *buf, size_t len, struct kernel_event *ev, size_t max,
			 size_t *bad);
/* The answer to a GETSA of sequence seq: 1 with *bytes (curlft.bytes), 0 when
 * buf does not hold it, -1 with *error (a positive errno) for an error. */
int xfrm_parse_getsa_reply(const uint8_t *buf, size_t len, uint32_t seq, uint64_t *bytes,
			   int *error);

/* An SA as the backends log it (label, SPI, addresses, mode, algorithms,
 * limits, selector; never keys), and a selector (kernel_fmt.c). */
void kernel_sa_format(const struct kernel_sa *sa, char *buf, size_t len);
void kernel_sel_format(const struct kernel_sel *s, char *buf, size_t len);

extern const struct kernel_ops kernel_log_ops;
extern const struct kernel_ops kernel_xfrm_ops;
extern const struct kernel_ops kernel_tun_ops;
/* Whether this kernel takes an ESP SA: 1 yes, 0 no (why says what it
 * refused), tried in a network namespace of a child process so that
 * nothing is left behind. */
int kernel_xfrm_probe(char *why, size_t whylen);

#endif
