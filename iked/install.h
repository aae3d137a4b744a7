/*
 * iked/install — an established phase 2 SA pair in the kernel backend: its
 * two SAs and its tunnel's policies described for kernel_ops (the outer
 * addresses and ports from its phase 1 SA, after any float to the NAT-T
 * port), installed and removed; the pair an event of the backend names; the
 * byte counters; and the byte limits a lifesize becomes.
 */
#ifndef ATTLS_IKED_INSTALL_H
#define ATTLS_IKED_INSTALL_H

#include <stdbool.h>
#include <stdint.h>

struct iked;
struct p2sa;
struct ytunnel;
struct kernel_event;

/* Install / remove both SAs and the policies of an established phase 2. */
int kernel_install_p2(struct iked *ike, struct p2sa *p2);
void kernel_remove_p2(struct iked *ike, struct p2sa *p2);
/* Remove the policies of a dynamic tunnel whose last SA is gone. */
void kernel_remove_policies(struct iked *ike, struct ytunnel *yt);
/* The installed phase 2 SA pair an event names (*inbound: which of the two),
 * or NULL. */
struct p2sa *kernel_event_p2(struct iked *ike, const struct kernel_event *ev, bool *inbound);
/* Bytes through both SAs of an installed phase 2; -1 when the backend has no
 * counters or cannot tell. */
int kernel_p2_bytes(struct iked *ike, const struct p2sa *p2, uint64_t *in, uint64_t *out);
/* The soft byte limit put before a hard one of hard_bytes for an SA
 * negotiated in role (IKE_INITIATOR / IKE_RESPONDER); 0 when hard is 0. */
uint64_t kernel_soft_bytes(uint64_t hard_bytes, int role);
/* The hard byte limit of a lifesize in kilobytes (0 = none; a lifesize too
 * large to count in bytes is no limit). */
uint64_t kernel_hard_bytes(uint64_t life_kb);

#endif
