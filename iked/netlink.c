/* iked/netlink — building netlink requests and reading the answers. */
#include "iked/netlink.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

void *nl_put(struct nlbuf *b, size_t n)
{
	size_t padded = NLMSG_ALIGN(n);
	if (b->err || padded > b->cap - b->len) {
		b->err = true;
		return NULL;
	}
	void *q = b->p + b->len;
	memset(q, 0, padded);
	b->len += padded;
	return q;
}

void nl_attr(struct nlbuf *b, uint16_t type, const void *data, size_t n)
{
	struct nlattr *a = nl_put(b, NLA_HDRLEN + n);
	if (!a)
		return;
	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + n);
	memcpy((uint8_t *)a + NLA_HDRLEN, data, n);
}

void nl_attr_u32(struct nlbuf *b, uint16_t type, uint32_t v)
{
	nl_attr(b, type, &v, sizeof v);
}

struct nlmsghdr *nl_begin(struct nlbuf *b, uint16_t type, uint16_t flags, uint32_t seq)
{
	struct nlmsghdr *h = nl_put(b, NLMSG_HDRLEN);
	if (h) {
		h->nlmsg_type = type;
		h->nlmsg_flags = flags;
		h->nlmsg_seq = seq;
		h->nlmsg_pid = 0;
	}
	return h;
}

size_t nl_end(struct nlbuf *b)
{
	if (b->err)
		return 0;
	((struct nlmsghdr *)b->p)->nlmsg_len = (uint32_t)b->len;
	return b->len;
}

bool nl_next(struct nlwalk *w, struct nlmsghdr *h, const uint8_t **payload, size_t *plen)
{
	if (w->bad || w->off >= w->len)
		return false;
	size_t left = w->len - w->off;
	if (left < sizeof *h) {
		w->bad = true;
		return false;
	}
	memcpy(h, w->buf + w->off, sizeof *h);
	if (h->nlmsg_len < NLMSG_HDRLEN || h->nlmsg_len > left) {
		w->bad = true;
		return false;
	}
	*payload = w->buf + w->off + NLMSG_HDRLEN;
	*plen = h->nlmsg_len - NLMSG_HDRLEN;
	/* the last message may come without its padding */
	size_t step = NLMSG_ALIGN(h->nlmsg_len);
	w->off = step < left ? w->off + step : w->len;
	return true;
}

int nl_parse_ack(const uint8_t *buf, size_t len, uint32_t seq, int *error)
{
	struct nlwalk w = { buf, len, 0, false };
	struct nlmsghdr h;
	const uint8_t *p;
	size_t plen;
	while (nl_next(&w, &h, &p, &plen)) {
		if (h.nlmsg_seq != seq || h.nlmsg_type != NLMSG_ERROR || plen < sizeof(struct nlmsgerr))
			continue;
		struct nlmsgerr e;
		memcpy(&e, p, sizeof e);
		*error = e.error < 0 ? -e.error : e.error;
		return 1;
	}
	return 0;
}

ssize_t nl_recv_kernel(int fd, uint8_t *buf, size_t cap, bool *foreign)
{
	struct sockaddr_nl from;
	socklen_t flen = sizeof from;
	ssize_t n = recvfrom(fd, buf, cap, MSG_TRUNC, (struct sockaddr *)&from, &flen);
	*foreign = n >= 0 && (flen < sizeof from || from.nl_family != AF_NETLINK ||
			      from.nl_pid != 0 || (size_t)n > cap);
	return n;
}

static int ack_answer(const uint8_t *buf, size_t len, uint32_t seq, void *ctx, int *error)
{
	(void)ctx;
	return nl_parse_ack(buf, len, seq, error);
}

int nl_transact(int fd, const uint8_t *msg, size_t len, nl_answer_fn answer, void *ctx,
		char *err, size_t errlen)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	if (sendto(fd, msg, len, 0, (struct sockaddr *)&sa, sizeof sa) < 0) {
		snprintf(err, errlen, "netlink send: %s", strerror(errno));
		return -1;
	}
	uint32_t seq = ((const struct nlmsghdr *)msg)->nlmsg_seq;
	uint8_t rx[4096];
	for (int tries = 0; tries < 16; tries++) {
		bool foreign;
		ssize_t n = nl_recv_kernel(fd, rx, sizeof rx, &foreign);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "netlink receive: %s", strerror(errno));
			return -1;
		}
		if (foreign)
			continue;
		int error = 0, rc = answer(rx, (size_t)n, seq, ctx, &error);
		if (rc == 0)
			continue;
		if (!error && rc > 0)
			return 0;
		snprintf(err, errlen, "%s", strerror(error));
		return -1;
	}
	snprintf(err, errlen, "no netlink answer");
	return -1;
}

int nl_request(int fd, const uint8_t *msg, size_t len, char *err, size_t errlen)
{
	return nl_transact(fd, msg, len, ack_answer, NULL, err, errlen);
}
