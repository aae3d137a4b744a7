/* iked/kernel_fmt — an SA as every backend logs it: label, SPI, addresses,
 * mode, algorithms, limits and selector; never keys. Apart from the
 * backends so that none of them calls another. */
#include "iked/kernel.h"

#include <inttypes.h>
#include <stdio.h>

#include "iked/proposal.h"
#include "policy/schema.h"

void kernel_sel_format(const struct kernel_sel *s, char *buf, size_t len)
{
	char a[IP_RANGE_STRLEN], b[IP_RANGE_STRLEN];
	ip_range_format(&s->src, a, sizeof a);
	ip_range_format(&s->dst, b, sizeof b);
	snprintf(buf, len, "%s -> %s proto %u ports %u -> %u", a, b, s->proto, s->sport, s->dport);
}

void kernel_sa_format(const struct kernel_sa *sa, char *buf, size_t len)
{
	char src[IP_STRLEN], dst[IP_STRLEN], sel[2 * IP_RANGE_STRLEN + 64], encap[64] = "";
	char size[64] = "";
	ip_addr_format(&sa->src, src, sizeof src);
	ip_addr_format(&sa->dst, dst, sizeof dst);
	kernel_sel_format(&sa->sel, sel, sizeof sel);
	if (sa->udp_encap)
		snprintf(encap, sizeof encap, " udp-encap %u->%u", sa->encap_sport, sa->encap_dport);
	if (sa->hard_bytes)
		snprintf(size, sizeof size, " lifesize %" PRIu64 "/%" PRIu64 " bytes",
			 sa->soft_bytes, sa->hard_bytes);
	snprintf(buf, len, "%s spi 0x%08x %s -> %s ESP %s%s %s-%zu %s reqid %u "
		 "lifetime %" PRIu64 "/%" PRIu64 "s%s selector %s",
		 sa->label ? sa->label : "", sa->spi, src, dst,
		 sa->mode == ENCAP_TRANSPORT ? "transport" : "tunnel", encap, enc_name(sa->enc_alg),
		 sa->enc_alg == ENC_AES_GCM_16 ? (sa->enc_key_len - 4) * 8 : sa->enc_key_len * 8,
		 authalg_name(sa->auth_alg), sa->reqid, sa->soft_secs, sa->hard_secs, size, sel);
}
