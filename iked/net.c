/* iked/net — UDP sockets for IKE and NAT-T. */
#include "iked/net.h"

#include <errno.h>
#include <linux/udp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "iked/isakmp.h"

#ifndef UDP_ENCAP
#define UDP_ENCAP 100
#endif
#ifndef UDP_ENCAP_ESPINUDP
#define UDP_ENCAP_ESPINUDP 2
#endif

socklen_t net_sockaddr(const struct ip_addr *a, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, a->b, 16);
		s6->sin6_port = htons(port);
		return sizeof *s6;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	memcpy(&s4->sin_addr, a->b, 4);
	s4->sin_port = htons(port);
	return sizeof *s4;
}

static socklen_t to_sockaddr(const struct ikeaddr *a, struct sockaddr_storage *ss)
{
	return net_sockaddr(&a->ip, a->port, ss);
}

bool net_is_wildcard(const struct ip_addr *a)
{
	static const uint8_t zero[16];
	return memcmp(a->b, zero, a->family == AF_INET6 ? 16 : 4) == 0;
}

size_t net_put_source(struct cmsghdr *c, const struct ip_addr *src)
{
	if (src->family == AF_INET6) {
		struct in6_pktinfo pi = { 0 };
		memcpy(&pi.ipi6_addr, src->b, 16);
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof pi);
		memcpy(CMSG_DATA(c), &pi, sizeof pi);
		return CMSG_SPACE(sizeof pi);
	}
	struct in_pktinfo pi = { 0 };
	memcpy(&pi.ipi_spec_dst, src->b, 4);
	c->cmsg_level = IPPROTO_IP;
	c->cmsg_type = IP_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof pi);
	memcpy(CMSG_DATA(c), &pi, sizeof pi);
	return CMSG_SPACE(sizeof pi);
}

/* Above rmem_max / wmem_max needs CAP_NET_ADMIN, which iked has as root;
 * without it, the normal limit. */
void net_buffers(int fd, int rcv, int snd)
{
	if (rcv && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
	if (snd && setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof snd) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof snd);
}

static int open_one(struct net *n, const struct ip_addr *addr, uint16_t port, bool natt,
		    unsigned flags, char *err, size_t errlen)
{
	if (n->n == NET_MAX_SOCKETS) {
		snprintf(err, errlen, "too many listen addresses");
		return -1;
	}
	int af = addr->family == AF_INET6 ? AF_INET6 : AF_INET;
	int fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	int on = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
	if (natt && (flags & NET_REUSEPORT) &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) < 0) {
		snprintf(err, errlen, "SO_REUSEPORT: %s", strerror(errno));
		close(fd);
		return -1;
	}
	net_buffers(fd, 2 << 20, 0);             /* room for bursts: many peers, or a flood */
	if (af == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on);
	} else {
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on);
	}
	struct net_socket *s = &n->s[n->n];
	s->local.ip = *addr;
	s->local.port = port;
	s->natt = natt;
	struct sockaddr_storage ss;
	socklen_t sl = to_sockaddr(&s->local, &ss);
	char a[IP_STRLEN];
	ip_addr_format(addr, a, sizeof a);
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		snprintf(err, errlen, "bind %s port %u: %s", a, port, strerror(errno));
		close(fd);
		return -1;
	}
	if (natt && (flags & NET_UDP_ENCAP)) {
		int type = UDP_ENCAP_ESPINUDP;
		if (setsockopt(fd, IPPROTO_UDP, UDP_ENCAP, &type, sizeof type) < 0)
			log_warn("UDP_ENCAP on %s port %u: %s (ESP in UDP will not reach the kernel)", a,
				 port, strerror(errno));
	}
	s->fd = fd;
	n->n++;
	return 0;
}

int net_open(struct net *n, const struct ike_config *cfg, unsigned flags, char *err,
	     size_t errlen)
{
	memset(n, 0, sizeof *n);
	if (!(n->rx = malloc(NET_BATCH * sizeof *n->rx))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	struct ip_addr any = { .family = AF_INET };
	size_t nl = cfg->nlisten ? cfg->nlisten : 1;
	for (size_t i = 0; i < nl; i++) {
		const struct ip_addr *a = cfg->nlisten ? &cfg->listen[i] : &any;
		if (open_one(n, a, cfg->ike_port, false, 0, err, errlen) ||
		    open_one(n, a, cfg->nat_port, true, flags, err, errlen)) {
			net_close(n);
			return -1;
		}
	}
	return 0;
}

void net_close(struct net *n)
{
	for (size_t i = 0; i < n->n; i++)
		if (n->s[i].fd >= 0)
			close(n->s[i].fd);
	n->n = 0;
	free(n->rx);
	n->rx = NULL;
}

void net_describe(const struct net *n, char *buf, size_t len)
{
	size_t k = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n->n && k < len; i++) {
		const struct net_socket *s = &n->s[i];
		char a[IP_STRLEN];
		ip_addr_format(&s->local.ip, a, sizeof a);
		bool v6 = s->local.ip.family == AF_INET6;
		int w = snprintf(buf + k, len - k, "%s%s%s%s:%u%s", i ? ", " : "", v6 ? "[" : "", a,
				 v6 ? "]" : "", s->local.port, s->natt ? " (NAT traversal)" : "");
		if (w < 0)
			break;
		k += (size_t)w;
	}
}

static struct net_socket *socket_for(struct net *n, const struct ikeaddr *from)
{
	struct net_socket *wild = NULL;
	for (size_t i = 0; i < n->n; i++) {
		struct net_socket *s = &n->s[i];
		if (s->local.port != from->port || s->local.ip.family != from->ip.family)
			continue;
		if (memcmp(s->local.ip.b, from->ip.b, 16) == 0)
			return s;
		if (net_is_wildcard(&s->local.ip))
			wild = s;
	}
	return wild;
}

int net_send(void *ctx, const struct ikeaddr *from, const struct ikeaddr *to,
	     const uint8_t *pkt, size_t len)
{
	struct net *n = ctx;
	struct net_socket *s = socket_for(n, from);
	if (!s) {
		log_debug("no socket for source port %u", from->port);
		return -1;
	}
	struct sockaddr_storage ss;
	socklen_t sl = to_sockaddr(to, &ss);
	struct iovec iov = { (void *)pkt, len };
	struct msghdr mh = { .msg_name = &ss, .msg_namelen = sl, .msg_iov = &iov, .msg_iovlen = 1 };
	/* a wildcard socket needs the source address set per packet */
	union {
		struct cmsghdr c;
		uint8_t b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} cbuf;
	memset(&cbuf, 0, sizeof cbuf);
	if (net_is_wildcard(&s->local.ip) && !net_is_wildcard(&from->ip)) {
		mh.msg_control = cbuf.b;
		mh.msg_controllen = net_put_source(&cbuf.c, &from->ip);
	}
	for (int tries = 0; tries < 3; tries++) {
		if (sendmsg(s->fd, &mh, 0) >= 0)
			return 0;
		if (errno != EINTR)
			break;
	}
	log_debug("sendmsg: %s", strerror(errno));
	return -1;
}

/* The destination address of a datagram (for wildcard sockets). */
static void packet_destination(struct msghdr *mh, struct net_socket *s, struct ikeaddr *to)
{
	to->ip = s->local.ip;
	to->port = s->local.port;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof pi);
			memset(&to->ip, 0, sizeof to->ip);
			to->ip.family = AF_INET;
			memcpy(to->ip.b, &pi.ipi_addr, 4);
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof pi);
			memset(&to->ip, 0, sizeof to->ip);
			to->ip.family = AF_INET6;
			memcpy(to->ip.b, &pi.ipi6_addr, 16);
		}
	}
}

/* One datagram from s: drop truncated ones, strip the non-ESP marker on the
 * NAT-T port, skip keepalives, hand IKE to iked. */
static void net_deliver(struct iked *ike, struct net_socket *s, struct msghdr *mh, uint8_t *buf,
			size_t len)
{
	if (mh->msg_flags & MSG_TRUNC) {
		ike->rx_dropped++;
		return;
	}
	struct ikeaddr from, to;
	if (ip_addr_from_sockaddr((struct sockaddr *)mh->msg_name, &from.ip, &from.port))
		return;
	packet_destination(mh, s, &to);
	if (!s->natt) {
		ike_input(ike, buf, len, &from, &to, false);
		return;
	}
	if (len == 1 && buf[0] == NATT_KEEPALIVE_BYTE)
		return;
	static const uint8_t marker[NON_ESP_MARKER_LEN];
	if (len < NON_ESP_MARKER_LEN || memcmp(buf, marker, NON_ESP_MARKER_LEN) != 0) {
		ike->rx_dropped++;            /* ESP in UDP: the data path's, not ours */
		return;
	}
	ike_input(ike, buf + NON_ESP_MARKER_LEN, len - NON_ESP_MARKER_LEN, &from, &to, true);
}

/* Datagrams are read NET_BATCH at a time (recvmmsg, into the buffers of struct net): under load one system
 * call brings what several peers sent. A short batch means the socket is
 * empty for now, so no call is spent to hear EAGAIN; epoll reports the
 * socket again if more came meanwhile. */
void net_receive(struct iked *ike, struct net *n, struct net_socket *s)
{
	uint8_t (*bufs)[ISAKMP_MAX_MSG + 64] = n->rx;
	struct sockaddr_storage names[NET_BATCH];
	uint8_t cbufs[NET_BATCH][256];
	struct iovec iov[NET_BATCH];
	struct mmsghdr mm[NET_BATCH];
	/* bounded per wakeup so a flood on one socket cannot starve the rest */
	for (int round = 0; round < 256 / NET_BATCH; round++) {
		for (int i = 0; i < NET_BATCH; i++) {
			iov[i] = (struct iovec){ bufs[i], sizeof bufs[i] };
			mm[i].msg_hdr = (struct msghdr){ .msg_name = &names[i],
							 .msg_namelen = sizeof names[i],
							 .msg_iov = &iov[i], .msg_iovlen = 1,
							 .msg_control = cbufs[i],
							 .msg_controllen = sizeof cbufs[i] };
		}
		int r = recvmmsg(s->fd, mm, NET_BATCH, MSG_DONTWAIT, NULL);
		if (r < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_debug("recvmmsg: %s", strerror(errno));
			return;
		}
		for (int i = 0; i < r; i++)
			net_deliver(ike, s, &mm[i].msg_hdr, bufs[i], mm[i].msg_len);
		if (r < NET_BATCH)
			return;
	}
}
