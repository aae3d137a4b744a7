/*
 * iked/net — iked's UDP sockets: the IKE port and the NAT-T port on every
 * ListenAddr. Receiving strips the non-ESP marker on the NAT-T port and
 * ignores keepalives; sending picks the socket of the source address and
 * port an SA uses. With the xfrm backend the NAT-T sockets carry the
 * UDP_ENCAP option so the kernel takes ESP-in-UDP for itself; with the tun
 * backend they are open to SO_REUSEPORT so that the backend's own socket
 * joins them and the kernel steers ESP there (kernel_tun.c).
 */
#ifndef ATTLS_IKED_NET_H
#define ATTLS_IKED_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "iked/iked.h"
#include "iked/isakmp.h"

#define NET_MAX_SOCKETS 32
/* Datagrams read with one system call (recvmmsg). */
#define NET_BATCH 16

struct net_socket {
	int fd;
	struct ikeaddr local;             /* bound address (may be the wildcard) */
	bool natt;                        /* the NAT-T port */
};

struct net {
	struct net_socket s[NET_MAX_SOCKETS];
	size_t n;
	uint8_t (*rx)[ISAKMP_MAX_MSG + 64]; /* NET_BATCH datagrams as received */
};

/* What the kernel backend needs of the NAT-T sockets. */
#define NET_UDP_ENCAP  0x1                /* xfrm: the kernel takes ESP in UDP */
#define NET_REUSEPORT  0x2                /* tun: a data path shares the port */
int net_open(struct net *n, const struct ike_config *cfg, unsigned flags, char *err,
	     size_t errlen);
void net_close(struct net *n);
/* The net_ops send function (ctx is the struct net). */
int net_send(void *ctx, const struct ikeaddr *from, const struct ikeaddr *to,
	     const uint8_t *pkt, size_t len);
/* Where iked listens, for the log: "198.18.0.1:500, 198.18.0.1:4500 (NAT traversal)". */
void net_describe(const struct net *n, char *buf, size_t len);
/* Read what is waiting on one socket (bounded) and hand it to iked. */
void net_receive(struct iked *ike, struct net *n, struct net_socket *s);

/* Socket helpers iked's data path shares. */
socklen_t net_sockaddr(const struct ip_addr *a, uint16_t port, struct sockaddr_storage *ss);
bool net_is_wildcard(const struct ip_addr *a);
/* The source address of a datagram from a wildcard socket, as a control
 * message (IP_PKTINFO, IPV6_PKTINFO) at c; the room it takes. */
size_t net_put_source(struct cmsghdr *c, const struct ip_addr *src);
/* Receive and send buffers of these sizes (0: leave), beyond the system's
 * maximum when iked may. */
void net_buffers(int fd, int rcv, int snd);

#endif
