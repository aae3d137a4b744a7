/*
 * iked/natt — NAT traversal (RFC 3947) and dead peer detection (RFC 3706)
 * vendor IDs, and the NAT-D hashes that tell each side whether a NAT sits in
 * front of it or of its peer.
 */
#ifndef ATTLS_IKED_NATT_H
#define ATTLS_IKED_NATT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iked/iked.h"

extern const uint8_t vid_rfc3947[16];
extern const uint8_t vid_dpd[16];

bool vid_equals(const struct payload *p, const uint8_t vid[16]);
/* HASH(CKY-I | CKY-R | IP | Port) with the negotiated hash; returns its size. */
size_t natd_hash(int hash, const uint8_t *icky, const uint8_t *rcky, const struct ikeaddr *a,
		 uint8_t *out);
/* Add the NAT-D payloads: the peer's address first, then ours. */
void natd_write(struct msgb *m, const struct p1sa *p1);
/* Check received NAT-D payloads; sets p1->nat_local / p1->nat_remote.
 * Returns false when the message had none. */
bool natd_check(struct p1sa *p1, const struct msg *msg);

#endif
