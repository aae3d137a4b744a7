/*
 * iked/tun — the TUN device of iked's userspace data path, and the routes
 * and rules that send traffic into it, through the kernel's own interfaces
 * (the tun ioctls, rtnetlink): no external program is run.
 *
 * Routing: the routes iked adds (one per prefix of each tunnel's remote
 * selector, through the device, with a local address inside the local
 * selector as source) live in a table of their own, TUN_ROUTE_TABLE. One
 * rule per address family (priority TUN_RULE_PRIORITY, before the main
 * table) sends every packet that does NOT carry TUN_FWMARK to that table;
 * iked marks its own sockets (IKE, NAT-T, ESP) with it. So iked's IKE and
 * ESP packets to a peer whose address a tunnel covers (host-to-host
 * tunnels, a gateway inside the remote subnet) never enter the tunnel,
 * whatever their ports, while everything else to the remote selectors
 * does. The device is not persistent: when iked's descriptor closes (a
 * stop, or a crash) the kernel removes it with every route through it;
 * the rules are removed at a stop, and replaced at the next start.
 */
#ifndef ATTLS_IKED_TUN_H
#define ATTLS_IKED_TUN_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/addr.h"

#define TUN_ROUTE_TABLE    4303
#define TUN_RULE_PRIORITY  4303
#define TUN_FWMARK         0x4303u

struct tun {
	int fd;                           /* the device */
	char name[IFNAMSIZ];
	int ifindex;
	unsigned mtu;
	bool vnet;                        /* reads and writes carry a virtio_net_hdr
					   * and TCP packets up to 64 KB (offload.h) */
	int nl;                           /* rtnetlink requests */
	uint32_t seq;
	bool rule[2];                     /* IPv4, IPv6 rule installed */
};

/* Create the device (IFF_TUN, no packet information; with offload, TCP
 * segmentation and checksum offloads through a virtio_net_hdr when the
 * kernel has them: t->vnet), set its MTU, bring it up, and install the
 * rules. 0, or -1 with err filled (nothing left behind). */
int tun_open(struct tun *t, const char *name, unsigned mtu, bool offload, char *err,
	     size_t errlen);
/* Remove the rules and the device (and with it every route through it). */
void tun_close(struct tun *t);

/* A prefix of a route. */
struct tun_prefix {
	struct ip_addr base;
	uint8_t len;
};

/* The fewest prefixes that together are exactly range r (a single address,
 * a prefix, a range, or All of one family); at most max of them. Returns
 * how many, or 0 when r does not fit in max. */
size_t tun_range_prefixes(const struct ip_range *r, int family, struct tun_prefix *out,
			  size_t max);

/* Add or remove the route of one prefix through the device in
 * TUN_ROUTE_TABLE, with src as preferred source (NULL: none). 0, or -1
 * with err filled. Adding a route that is there replaces it. */
int tun_route(struct tun *t, bool add, const struct tun_prefix *dst, const struct ip_addr *src,
	      char *err, size_t errlen);

/* A local address (configured on some interface) inside r; false when this
 * host has none there. */
bool tun_local_addr(const struct ip_range *r, struct ip_addr *out);

#endif
