/* iked/filter_log — z/OS lines for logged filter drops (see filter_log.h).
 *
 * The line keeps the fields of z/OS's EZD0815I/EZD0822I in their order:
 *   EZD0815I Packet denied by policy: 06/05/2012 14:07:14.21 filter rule= R
 *   ext= 1 sipaddr= A dipaddr= B proto= TCP(6) sport= 1 dport= 2
 *   Interface= A (I) secclass= 0 dest= local len= 60 vpnaction= N/A
 *   tunnelID= N/A ifcname= eth0 fragment= N
 * on one line. The timestamp is UTC, as z/OS's stack clock usually is. */
#include "iked/filter_log.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

struct pkt_info {
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	int proto;                        /* -1: not even the IP header was copied */
	bool l4;                          /* the transport header's first 4 bytes are here */
	uint8_t l4b[4];
	bool fragment;
	unsigned long total;              /* the packet's length by its IP header */
};

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void take_l4(struct pkt_info *pi, const uint8_t *pkt, size_t len, size_t off)
{
	if (off <= len && len - off >= 4) {
		memcpy(pi->l4b, pkt + off, 4);
		pi->l4 = true;
	}
}

static void decode_v4(const uint8_t *p, size_t len, struct pkt_info *pi)
{
	if (len < 20 || p[0] >> 4 != 4)
		return;
	size_t ihl = (size_t)(p[0] & 0x0f) * 4;
	if (ihl < 20)
		return;
	inet_ntop(AF_INET, p + 12, pi->src, sizeof pi->src);
	inet_ntop(AF_INET, p + 16, pi->dst, sizeof pi->dst);
	pi->proto = p[9];
	pi->total = be16(p + 2);
	uint16_t frag = be16(p + 6);
	pi->fragment = (frag & 0x3fff) != 0;          /* more fragments, or an offset */
	if ((frag & 0x1fff) == 0)
		take_l4(pi, p, len, ihl);
}

/* IPv6: skip the extension headers z/OS also looks through (hop-by-hop,
 * routing, fragment, destination options), a bounded number of them. */
static void decode_v6(const uint8_t *p, size_t len, struct pkt_info *pi)
{
	if (len < 40 || p[0] >> 4 != 6)
		return;
	inet_ntop(AF_INET6, p + 8, pi->src, sizeof pi->src);
	inet_ntop(AF_INET6, p + 24, pi->dst, sizeof pi->dst);
	pi->total = 40ul + be16(p + 4);
	int nh = p[6];
	size_t off = 40;
	bool first = true;
	for (int i = 0; i < 8; i++) {
		if (nh == 44) {                       /* fragment header: 8 bytes */
			if (len - off < 8) {
				pi->proto = nh;
				return;
			}
			pi->fragment = true;
			first = (be16(p + off + 2) & 0xfff8) == 0;
			nh = p[off];
			off += 8;
		} else if (nh == 0 || nh == 43 || nh == 60) {
			if (len - off < 2) {
				pi->proto = nh;
				return;
			}
			size_t hlen = ((size_t)p[off + 1] + 1) * 8;
			nh = p[off];
			if (hlen > len - off) {
				pi->proto = nh;
				return;
			}
			off += hlen;
		} else {
			break;
		}
	}
	pi->proto = nh;
	if (first)
		take_l4(pi, p, len, off);
}

static const char *proto_name(int proto)
{
	switch (proto) {
	case 1: return "ICMP";
	case 2: return "IGMP";
	case 4: return "IP";
	case 6: return "TCP";
	case 17: return "UDP";
	case 50: return "ESP";
	case 51: return "AH";
	case 58: return "ICMPv6";
	case 89: return "OSPF";
	case 94: return "IPIP";
	case 135: return "MIPv6";
	default: return NULL;
	}
}

static void put_proto(char *b, size_t n, const struct pkt_info *pi)
{
	const char *name = proto_name(pi->proto);
	if (pi->proto < 0)
		snprintf(b, n, "Unknown");
	else if (name)
		snprintf(b, n, "%s(%d)", name, pi->proto);
	else
		snprintf(b, n, "%d", pi->proto);
}

/* z/OS's tag1 and tag2: ports, or ICMP type and code; Unknown when the
 * transport header is not in this packet (a later fragment). */
static void put_tags(char *b, size_t n, const struct pkt_info *pi)
{
	bool ports = pi->proto == 6 || pi->proto == 17;
	bool icmp = pi->proto == 1 || pi->proto == 58;
	if (ports && pi->l4)
		snprintf(b, n, " sport= %u dport= %u", be16(pi->l4b), be16(pi->l4b + 2));
	else if (ports)
		snprintf(b, n, " sport= Unknown dport= Unknown");
	else if (icmp && pi->l4)
		snprintf(b, n, " type= %u code= %u", pi->l4b[0], pi->l4b[1]);
	else if (icmp)
		snprintf(b, n, " type= Unknown code= Unknown");
	else
		b[0] = '\0';
}

static void put_time(char *b, size_t n, const struct timespec *ts)
{
	struct tm tm;
	time_t t = ts->tv_sec;
	if (!gmtime_r(&t, &tm)) {
		snprintf(b, n, "Unknown");
		return;
	}
	snprintf(b, n, "%02d/%02d/%04d %02d:%02d:%02d.%02ld", tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, (ts->tv_nsec / 10000000) % 100);
}

void filter_log_line(const struct filter_prefix *p, const char *rule, const char *vpn,
		     const struct filter_log_rec *rec, char *out, size_t outlen)
{
	struct pkt_info pi = { .src = "Unknown", .dst = "Unknown", .proto = -1 };
	if (rec->family == AF_INET)
		decode_v4(rec->pkt, rec->len, &pi);
	else if (rec->family == AF_INET6)
		decode_v6(rec->pkt, rec->len, &pi);
	/* the hook: input has only an in-interface, output only an out-interface */
	bool routed = rec->indev && rec->outdev;
	bool inbound = rec->indev != NULL;
	const char *ifc = inbound ? rec->indev : rec->outdev;
	const char *ifcaddr = routed ? "N/A" : inbound ? pi.dst : pi.src;
	char when[96], proto[24], tags[48], len[24];
	put_time(when, sizeof when, &rec->when);
	put_proto(proto, sizeof proto, &pi);
	put_tags(tags, sizeof tags, &pi);
	if (pi.proto >= 0)
		snprintf(len, sizeof len, "%lu", pi.total);
	else
		snprintf(len, sizeof len, "Unknown");
	bool clear = p->kind == FLOG_CLEAR;
	if (p->kind == FLOG_IMPLICIT)
		rule = FILTER_IMPLICIT_RULE;
	snprintf(out, outlen,
		 "%s: %s filter rule= %s ext= %u sipaddr= %s dipaddr= %s proto= %s%s "
		 "Interface= %s (%c) secclass= 0 dest= %s len= %s vpnaction= %s tunnelID= N/A "
		 "ifcname= %s fragment= %c",
		 clear ? "EZD0822I Packet denied, tunnel inactive" : "EZD0815I Packet denied by policy",
		 when, rule ? rule : "N/A", p->ext, pi.src, pi.dst, proto, tags, ifcaddr,
		 inbound ? 'I' : 'O', routed ? "routed" : "local", len,
		 clear && vpn ? vpn : "N/A", ifc ? ifc : "N/A", pi.fragment ? 'Y' : 'N');
}
