/*
 * iked/offload — the TUN device's offloads (IFF_VNET_HDR): TCP packets of
 * up to 64 KB that the kernel hands over, and takes, in one read or write
 * with a virtio_net_hdr in front, so that neither the kernel's TCP nor the
 * data path pays per MTU-sized packet on the way through the device.
 *
 * Outbound (what the kernel's GSO would do): a TSO packet becomes segments
 * of gso_size bytes of payload, each with its own IP header (length, ID,
 * checksum) and TCP header (sequence number, flags, checksum); a packet
 * whose checksum the kernel left partial has it finished.
 *
 * Inbound (what GRO would do): consecutive segments of one TCP flow, as
 * ESP delivers them, are coalesced into one packet that is written with
 * GSO information and a partial checksum; anything else goes alone,
 * marked as already checked. Both are safe to skip verifying: the ESP ICV
 * has vouched for every byte.
 *
 * Pure functions over caller buffers; every offset the kernel gives is
 * checked against the packet.
 */
#ifndef ATTLS_IKED_OFFLOAD_H
#define ATTLS_IKED_OFFLOAD_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VNET_HDR_LEN  ((size_t)sizeof(struct virtio_net_hdr))
#define GSO_MAX_LEN   65535               /* an IPv4 total length */

/* The header in front of what the device hands over (little-endian). */
void vnet_hdr_read(const uint8_t *p, struct virtio_net_hdr *h);

/* A packet with VIRTIO_NET_HDR_F_NEEDS_CSUM: the one's complement sum from
 * csum_start to the end goes to csum_start + csum_offset (the field holds
 * the pseudo-header's sum already). 0, or -1 when the offsets do not fit. */
int offload_finish_csum(uint8_t *pkt, size_t len, const struct virtio_net_hdr *h);

/* Splitting a TSO packet. */
struct tso {
	const uint8_t *pkt;
	size_t len;
	size_t l4, hlen;                  /* TCP header offset; all headers */
	size_t mss, off;                  /* payload per segment; next payload offset */
	bool v6;
	uint32_t seq;
	uint16_t id;
	unsigned n;                       /* segments made */
};

/* Start splitting pkt (len bytes after the virtio_net_hdr h, a TCPV4 or
 * TCPV6 GSO packet). 0, or -1 when it cannot be one. */
int tso_init(struct tso *s, const uint8_t *pkt, size_t len, const struct virtio_net_hdr *h);
/* The next segment, complete with headers and checksums, into out (cap
 * bytes); its length, or 0 when none is left (or it does not fit). */
size_t tso_next(struct tso *s, uint8_t *out, size_t cap);

/* Coalescing received segments. The caller gives buf (VNET_HDR_LEN +
 * GSO_MAX_LEN bytes). */
struct gro {
	uint8_t *buf;
	size_t len;                       /* the packet at buf + VNET_HDR_LEN; 0 = empty */
	size_t l4, hlen, mss;
	unsigned nseg;
	uint32_t next_seq;
	bool v6, tcp, closed;             /* closed: a short or PSH segment ended it */
};

/* Add a packet: true when it was appended to the packet being built (or
 * started it); false when the caller must take that one (gro_take) and
 * add this one again. */
bool gro_add(struct gro *g, const uint8_t *pkt, size_t len);
/* What to write to the device: the virtio_net_hdr and the packet, *out
 * pointing into buf; its length (0 when empty). The gro is empty after. */
size_t gro_take(struct gro *g, uint8_t **out);

#endif
