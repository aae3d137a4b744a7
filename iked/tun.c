/* iked/tun — the TUN device, its routes and its rules (see tun.h). */
#include "iked/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/fib_rules.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "iked/netlink.h"

/* ---- prefixes of a range ---------------------------------------------------- */

static bool bit_of(const uint8_t *a, unsigned i)
{
	return (a[i / 8] >> (7 - i % 8)) & 1;
}

static void set_low_bits(uint8_t *a, unsigned nbits, unsigned k)
{
	for (unsigned i = nbits - k; i < nbits; i++)
		a[i / 8] |= (uint8_t)(1u << (7 - i % 8));
}

/* a += 1 over nbits; false when it wrapped. */
static bool increment(uint8_t *a, unsigned nbits)
{
	for (int i = (int)nbits / 8 - 1; i >= 0; i--)
		if (++a[i] != 0)
			return true;
	return false;
}

size_t tun_range_prefixes(const struct ip_range *r, int family, struct tun_prefix *out,
			  size_t max)
{
	uint8_t lo[16] = { 0 }, hi[16];
	int fam = r->kind == IPR_ALL || r->family == AF_UNSPEC ? family : r->family;
	unsigned nbits = fam == AF_INET6 ? 128 : 32, nbytes = nbits / 8;
	if (r->kind == IPR_ALL || r->family == AF_UNSPEC) {
		memset(hi, 0xff, sizeof hi);
	} else {
		memcpy(lo, r->lo, nbytes);
		memcpy(hi, r->hi, nbytes);
	}
	size_t n = 0;
	while (memcmp(lo, hi, nbytes) <= 0) {
		/* the largest aligned block at lo that stays within hi */
		unsigned k = 0;
		while (k < nbits && !bit_of(lo, nbits - 1 - k))
			k++;
		uint8_t end[16];
		for (;; k--) {
			memcpy(end, lo, nbytes);
			set_low_bits(end, nbits, k);
			if (memcmp(end, hi, nbytes) <= 0)
				break;
		}
		if (n == max)
			return 0;
		memset(&out[n].base, 0, sizeof out[n].base);
		out[n].base.family = (uint8_t)fam;
		memcpy(out[n].base.b, lo, nbytes);
		out[n].len = (uint8_t)(nbits - k);
		n++;
		memcpy(lo, end, nbytes);
		if (!increment(lo, nbits))
			break;
	}
	return n;
}

/* ---- rtnetlink ---------------------------------------------------------------- */

static size_t addr_len(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

int tun_route(struct tun *t, bool add, const struct tun_prefix *dst, const struct ip_addr *src,
	      char *err, size_t errlen)
{
	uint8_t msg[256];
	struct nlbuf b = { msg, 0, sizeof msg, false };
	uint16_t flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_REPLACE : 0);
	nl_begin(&b, add ? RTM_NEWROUTE : RTM_DELROUTE, flags, ++t->seq);
	struct rtmsg *rt = nl_put(&b, sizeof *rt);
	if (!rt)
		return -1;
	rt->rtm_family = dst->base.family;
	rt->rtm_dst_len = dst->len;
	rt->rtm_table = RT_TABLE_UNSPEC;         /* RTA_TABLE: above 255 */
	rt->rtm_protocol = RTPROT_STATIC;
	rt->rtm_scope = RT_SCOPE_LINK;
	rt->rtm_type = RTN_UNICAST;
	nl_attr(&b, RTA_DST, dst->base.b, addr_len(dst->base.family));
	nl_attr_u32(&b, RTA_OIF, (uint32_t)t->ifindex);
	nl_attr_u32(&b, RTA_TABLE, TUN_ROUTE_TABLE);
	if (src && src->family == dst->base.family)
		nl_attr(&b, RTA_PREFSRC, src->b, addr_len(src->family));
	size_t n = nl_end(&b);
	return n ? nl_request(t->nl, msg, n, err, errlen) : -1;
}

/* "not fwmark TUN_FWMARK lookup TUN_ROUTE_TABLE" for one family. */
static int rule(struct tun *t, bool add, int family, char *err, size_t errlen)
{
	uint8_t msg[128];
	struct nlbuf b = { msg, 0, sizeof msg, false };
	uint16_t flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	nl_begin(&b, add ? RTM_NEWRULE : RTM_DELRULE, flags, ++t->seq);
	struct fib_rule_hdr *r = nl_put(&b, sizeof *r);
	if (!r)
		return -1;
	r->family = (uint8_t)family;
	r->table = RT_TABLE_UNSPEC;
	r->action = FR_ACT_TO_TBL;
	r->flags = FIB_RULE_INVERT;
	nl_attr_u32(&b, FRA_PRIORITY, TUN_RULE_PRIORITY);
	nl_attr_u32(&b, FRA_TABLE, TUN_ROUTE_TABLE);
	nl_attr_u32(&b, FRA_FWMARK, TUN_FWMARK);
	nl_attr_u32(&b, FRA_FWMASK, 0xffffffffu);
	size_t n = nl_end(&b);
	return n ? nl_request(t->nl, msg, n, err, errlen) : -1;
}

/* A rule left by an iked that did not stop cleanly goes first. IPv6 may be
 * off in this namespace: then only IPv4 is routed into the device. */
static int install_rules(struct tun *t, char *err, size_t errlen)
{
	static const int fams[2] = { AF_INET, AF_INET6 };
	for (int i = 0; i < 2; i++) {
		char why[160];
		while (rule(t, false, fams[i], why, sizeof why) == 0)
			;
		if (rule(t, true, fams[i], why, sizeof why) == 0) {
			t->rule[i] = true;
			continue;
		}
		if (fams[i] == AF_INET6) {
			log_warn("tun %s: no IPv6 routing rule (%s): IPv6 tunnels will not be routed",
				 t->name, why);
			continue;
		}
		snprintf(err, errlen, "routing rule (table %d): %s", TUN_ROUTE_TABLE, why);
		return -1;
	}
	return 0;
}

/* ---- the device ------------------------------------------------------------------ */

/* No IPv6 link-local address: the device would send router and neighbour
 * solicitations into the tunnel that no SA covers. IPv6 tunnels still
 * work (routes need no address on the device). Not there without IPv6. */
static void no_link_local(const char *name)
{
	char path[128];
	snprintf(path, sizeof path, "/proc/sys/net/ipv6/conf/%s/addr_gen_mode", name);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, "1", 1) != 1)
		log_debug("tun %s: addr_gen_mode: %s", name, strerror(errno));
	close(fd);
}

static int set_link(struct tun *t, unsigned mtu, char *err, size_t errlen)
{
	no_link_local(t->name);
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", t->name);
	ifr.ifr_mtu = (int)mtu;
	int rc = -1;
	if (ioctl(s, SIOCSIFMTU, &ifr) < 0)
		snprintf(err, errlen, "MTU %u: %s", mtu, strerror(errno));
	else if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		snprintf(err, errlen, "flags: %s", strerror(errno));
	else {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
			snprintf(err, errlen, "up: %s", strerror(errno));
		else if (ioctl(s, SIOCGIFINDEX, &ifr) < 0)
			snprintf(err, errlen, "index: %s", strerror(errno));
		else {
			t->ifindex = ifr.ifr_ifindex;
			rc = 0;
		}
	}
	close(s);
	return rc;
}

/* The kernel then hands over TCP packets of up to 64 KB and ones with a
 * partial checksum, and takes the same (offload.c does the rest). */
static bool set_offloads(struct tun *t)
{
	int hdr = (int)sizeof(struct virtio_net_hdr);
	unsigned off = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
	if (ioctl(t->fd, TUNSETVNETHDRSZ, &hdr) < 0 || ioctl(t->fd, TUNSETOFFLOAD, off) < 0) {
		log_warn("tun %s: no offloads (%s): every packet crosses the device alone", t->name,
			 strerror(errno));
		return false;
	}
	return true;
}

static int open_device(struct tun *t, const char *name, bool offload, char *err, size_t errlen)
{
	t->fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (t->fd < 0) {
		snprintf(err, errlen, "/dev/net/tun: %s", strerror(errno));
		return -1;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0);
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		snprintf(err, errlen, "TunDevice %s: %s%s", name, strerror(errno),
			 errno == EBUSY ? " (another program has it)" : "");
		return -1;
	}
	snprintf(t->name, sizeof t->name, "%s", ifr.ifr_name);
	if (offload && !set_offloads(t)) {
		/* the header stays on every packet; a device without it is simpler */
		close(t->fd);
		return open_device(t, name, false, err, errlen);
	}
	t->vnet = offload;
	return 0;
}

int tun_open(struct tun *t, const char *name, unsigned mtu, bool offload, char *err,
	     size_t errlen)
{
	memset(t, 0, sizeof *t);
	t->fd = t->nl = -1;
	t->mtu = mtu;
	if (open_device(t, name, offload, err, errlen) || set_link(t, mtu, err, errlen))
		goto fail;
	t->nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	if (t->nl < 0 || bind(t->nl, (struct sockaddr *)&sa, sizeof sa) < 0) {
		snprintf(err, errlen, "rtnetlink: %s", strerror(errno));
		goto fail;
	}
	struct timeval tv = { .tv_sec = 2 };
	setsockopt(t->nl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (install_rules(t, err, errlen))
		goto fail;
	return 0;
fail:
	tun_close(t);
	return -1;
}

void tun_close(struct tun *t)
{
	static const int fams[2] = { AF_INET, AF_INET6 };
	for (int i = 0; i < 2; i++) {
		char why[160];
		if (t->rule[i] && rule(t, false, fams[i], why, sizeof why))
			log_warn("tun %s: removing the routing rule: %s", t->name, why);
		t->rule[i] = false;
	}
	if (t->nl >= 0)
		close(t->nl);
	if (t->fd >= 0)
		close(t->fd);
	t->nl = t->fd = -1;
}

/* ---- local addresses ---------------------------------------------------------------- */

bool tun_local_addr(const struct ip_range *r, struct ip_addr *out)
{
	struct ifaddrs *all;
	if (getifaddrs(&all) < 0)
		return false;
	bool found = false;
	for (struct ifaddrs *i = all; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		struct ip_addr a;
		uint16_t port;
		if (ip_addr_from_sockaddr(i->ifa_addr, &a, &port) || r->kind == IPR_ALL ||
		    !ip_range_contains(r, &a))
			continue;
		*out = a;
		found = true;
	}
	freeifaddrs(all);
	return found;
}
