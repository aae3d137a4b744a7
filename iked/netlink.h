/*
 * iked/netlink — the netlink plumbing iked's kernel interfaces share (XFRM
 * for the xfrm backend; rtnetlink for the tun backend's routes and rules):
 * a request built into the caller's buffer, the kernel's answer walked with
 * every length checked against what was read, and one request waited for
 * until the kernel acknowledges it.
 */
#ifndef ATTLS_IKED_NETLINK_H
#define ATTLS_IKED_NETLINK_H

#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A message being built; an overflow sets err and later puts do nothing. */
struct nlbuf {
	uint8_t *p;
	size_t len, cap;
	bool err;
};

/* n zeroed bytes (aligned) at the end, or NULL. */
void *nl_put(struct nlbuf *b, size_t n);
void nl_attr(struct nlbuf *b, uint16_t type, const void *data, size_t n);
void nl_attr_u32(struct nlbuf *b, uint16_t type, uint32_t v);
struct nlmsghdr *nl_begin(struct nlbuf *b, uint16_t type, uint16_t flags, uint32_t seq);
/* The finished message's length, or 0 when it did not fit. */
size_t nl_end(struct nlbuf *b);

/* The messages of a buffer read from netlink, each with its payload. The
 * buffer need not be aligned (the header is copied out). A header whose
 * length does not fit what was read ends the walk: nothing after it can be
 * trusted. */
struct nlwalk {
	const uint8_t *buf;
	size_t len, off;
	bool bad;                         /* a length did not fit */
};

bool nl_next(struct nlwalk *w, struct nlmsghdr *h, const uint8_t **payload, size_t *plen);
/* The acknowledgement of request seq in buf: 1 with *error (0: done, else a
 * positive errno), or 0 when buf does not hold it. */
int nl_parse_ack(const uint8_t *buf, size_t len, uint32_t seq, int *error);
/* One datagram from the kernel (port id 0); *foreign says it was from
 * someone else, or cut. */
ssize_t nl_recv_kernel(int fd, uint8_t *buf, size_t cap, bool *foreign);
/* What answers request seq in a datagram: 1 with *error (0: done, else a
 * positive errno), -1 likewise for a refusal, 0 when buf does not hold it. */
typedef int (*nl_answer_fn)(const uint8_t *buf, size_t len, uint32_t seq, void *ctx, int *error);
/* Send the request in msg and read (a bounded number of datagrams) until
 * answer() finds its answer. 0, or -1 with err filled (the kernel's
 * refusal, or why no answer came). */
int nl_transact(int fd, const uint8_t *msg, size_t len, nl_answer_fn answer, void *ctx,
		char *err, size_t errlen);
/* nl_transact for a request the kernel only acknowledges. */
int nl_request(int fd, const uint8_t *msg, size_t len, char *err, size_t errlen);

#endif
