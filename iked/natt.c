/* iked/natt — NAT-T and DPD vendor IDs, NAT-D hashes. */
#include "iked/natt.h"

#include <string.h>
#include <sys/socket.h>

#include "iked/crypto.h"
#include "iked/isakmp.h"

/* MD5("RFC 3947") */
const uint8_t vid_rfc3947[16] = { 0x4a, 0x13, 0x1c, 0x81, 0x07, 0x03, 0x58, 0x45,
				  0x5c, 0x57, 0x28, 0xf2, 0x0e, 0x95, 0x45, 0x2f };
/* RFC 3706: 14 bytes, then major 1, minor 0 */
const uint8_t vid_dpd[16] = { 0xaf, 0xca, 0xd7, 0x13, 0x68, 0xa1, 0xf1, 0xc9,
			      0x6b, 0x86, 0x96, 0xfc, 0x77, 0x57, 0x01, 0x00 };

bool vid_equals(const struct payload *p, const uint8_t vid[16])
{
	return p->type == PL_VID && p->body_len == 16 && memcmp(p->body, vid, 16) == 0;
}

size_t natd_hash(int hash, const uint8_t *icky, const uint8_t *rcky, const struct ikeaddr *a,
		 uint8_t *out)
{
	uint8_t port[2] = { (uint8_t)(a->port >> 8), (uint8_t)a->port };
	struct iov v[] = { { icky, 8 }, { rcky, 8 },
			   { a->ip.b, a->ip.family == AF_INET6 ? 16 : 4 }, { port, 2 } };
	if (hash_iov(hash, v, 4, out))
		return 0;
	return hash_size(hash);
}

void natd_write(struct msgb *m, const struct p1sa *p1)
{
	uint8_t h[HASH_MAX_LEN];
	size_t n = natd_hash(p1->agreed.hash, p1->icky, p1->rcky, &p1->remote, h);
	msgb_pl(m, PL_NAT_D, h, n);
	n = natd_hash(p1->agreed.hash, p1->icky, p1->rcky, &p1->local, h);
	msgb_pl(m, PL_NAT_D, h, n);
}

bool natd_check(struct p1sa *p1, const struct msg *msg)
{
	uint8_t mine[HASH_MAX_LEN], theirs[HASH_MAX_LEN];
	size_t n = natd_hash(p1->agreed.hash, p1->icky, p1->rcky, &p1->local, mine);
	natd_hash(p1->agreed.hash, p1->icky, p1->rcky, &p1->remote, theirs);
	const struct payload *first = msg_find(msg, PL_NAT_D);
	if (!first)
		return false;
	/* The first NAT-D is what the peer sent to: our address as it saw it. */
	p1->nat_local = !(first->body_len == n && memcmp(first->body, mine, n) == 0);
	/* The others are the peer's own addresses: one must be where it came from. */
	bool seen = false;
	for (size_t i = 1; i < msg_count(msg, PL_NAT_D); i++) {
		const struct payload *p = msg_find_nth(msg, PL_NAT_D, i);
		if (p->body_len == n && memcmp(p->body, theirs, n) == 0)
			seen = true;
	}
	p1->nat_remote = !seen;
	return true;
}
