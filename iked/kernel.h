/*
 * iked/kernel — where negotiated IPsec SAs go. One interface (struct
 * kernel_ops) with two backends: xfrm (Linux netlink: SAs and policies,
 * kernel_xfrm.c) and log (records each SA and policy it would install,
 * kernel_log.c). The descriptions below carry everything a data path needs
 * (addresses, SPI, mode, UDP encapsulation, algorithms, keys, selectors,
 * lifetimes), so a userspace data path can be a third backend.
 */
#ifndef ATTLS_IKED_KERNEL_H
#define ATTLS_IKED_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/addr.h"

struct kernel;
struct iked;
struct p2sa;

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
	uint64_t soft_bytes, hard_bytes;  /* 0 = none */
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

struct kernel_ops {
	const char *name;
	int (*add_sa)(struct kernel *k, const struct kernel_sa *sa);
	int (*del_sa)(struct kernel *k, const struct ip_addr *src, const struct ip_addr *dst,
		      uint32_t spi, const char *label);
	int (*add_policy)(struct kernel *k, const struct kernel_policy *p);
	int (*del_policy)(struct kernel *k, const struct kernel_policy *p);
	void (*close)(struct kernel *k);
};

struct kernel {
	const struct kernel_ops *ops;
	int fd;                           /* netlink socket (xfrm) */
	uint32_t seq;
	unsigned installed_sas, installed_policies;
	char err[160];                    /* last error, for the log */
};

/* Open a backend (BACKEND_XFRM or BACKEND_LOG). NULL with err filled. */
struct kernel *kernel_open(int backend, char *err, size_t errlen);
void kernel_close(struct kernel *k);

/* Install / remove both SAs and the policies of an established phase 2. */
int kernel_install_p2(struct iked *ike, struct p2sa *p2);
void kernel_remove_p2(struct iked *ike, struct p2sa *p2);
/* Remove the policies of a dynamic tunnel whose last SA is gone. */
struct ytunnel;
void kernel_remove_policies(struct iked *ike, struct ytunnel *yt);

/* The xfrm netlink encoding, exposed for the unit tests: each returns the
 * message length written into buf, or 0 when cap is too small. */
size_t xfrm_encode_newsa(const struct kernel_sa *sa, uint32_t seq, uint8_t *buf, size_t cap);
size_t xfrm_encode_delsa(const struct ip_addr *src, const struct ip_addr *dst, uint32_t spi,
			 uint32_t seq, uint8_t *buf, size_t cap);
size_t xfrm_encode_policy(const struct kernel_policy *p, bool add, uint32_t seq, uint8_t *buf,
			  size_t cap);

extern const struct kernel_ops kernel_log_ops;
extern const struct kernel_ops kernel_xfrm_ops;
int kernel_xfrm_open(struct kernel *k, char *err, size_t errlen);

#endif
