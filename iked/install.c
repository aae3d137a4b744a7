/* iked/install — what an established phase 2 SA pair becomes for the
 * kernel backend: the two SA descriptions and the tunnel's policies, their
 * installation and removal, the SA pair a backend's event names, the byte
 * counts, and the byte limits of a lifesize. */
#include "iked/install.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "iked/exchange.h"
#include "iked/kernel.h"
#include "policy/schema.h"

uint64_t kernel_hard_bytes(uint64_t life_kb)
{
	/* the peer chooses life_kb (up to 64 bits) when we accept any size */
	return life_kb > UINT64_MAX / 1024 ? 0 : life_kb * 1024;
}

/* The soft limit sits where the time-based refresh does (refresh_percent:
 * 85% for the side that negotiated the SA, 92% for the other), because both
 * sides count the same bytes (one's outbound SA is the other's inbound) and
 * the same stagger keeps them from refreshing at once. Unlike the timer it
 * has no jitter: SAs set up together carry different traffic, so their
 * limits are reached at different times anyway, and a fixed value is one the
 * display can show and the operator can predict. */
uint64_t kernel_soft_bytes(uint64_t hard_bytes, int role)
{
	uint64_t pct = refresh_percent(role);
	return hard_bytes / 100 * pct + hard_bytes % 100 * pct / 100;   /* no overflow */
}

static void sel_to_kernel(const struct selector *src, const struct selector *dst,
			  struct kernel_sel *k)
{
	memset(k, 0, sizeof *k);
	k->src = src->r;
	k->dst = dst->r;
	k->proto = src->proto ? src->proto : dst->proto;
	k->sport = src->port;
	k->dport = dst->port;
}

/* Outer addresses and UDP ports of a phase 2 SA come from its phase 1 SA
 * (after any float to the NAT-T port). */
static void endpoints(const struct p2sa *p2, struct ikeaddr *local, struct ikeaddr *remote)
{
	if (p2->p1) {
		*local = p2->p1->local;
		*remote = p2->p1->remote;
	} else {
		memset(local, 0, sizeof *local);
		memset(remote, 0, sizeof *remote);
		local->ip = p2->yt->local_ep;
		remote->ip = p2->yt->peer;
	}
}

static void describe_sa(const struct p2sa *p2, bool inbound, struct kernel_sa *sa, char *label,
			size_t llen)
{
	struct ikeaddr local, remote;
	const struct p2_attrs *a = &p2->agreed;
	endpoints(p2, &local, &remote);
	memset(sa, 0, sizeof *sa);
	sa->inbound = inbound;
	sa->src = inbound ? remote.ip : local.ip;
	sa->dst = inbound ? local.ip : remote.ip;
	sa->spi = inbound ? p2->spi_in : p2->spi_out;
	sa->mode = a->encap;
	sa->udp_encap = a->udp;
	sa->encap_sport = inbound ? remote.port : local.port;
	sa->encap_dport = inbound ? local.port : remote.port;
	if (p2->have_natoa && a->encap == ENCAP_TRANSPORT) {
		sa->have_oa = true;
		sa->encap_oa = inbound ? p2->natoa_i : p2->natoa_r;
	}
	const uint8_t *key = inbound ? p2->key_in : p2->key_out;
	sa->enc_alg = a->enc_alg;
	sa->enc_key = key;
	sa->enc_key_len = p2_enc_key_len(a);
	sa->auth_alg = a->auth_alg;
	sa->auth_key = key + sa->enc_key_len;
	sa->auth_key_len = p2_auth_key_len(a);
	sa->icv_bits = (unsigned)p2_icv_bits(a);
	if (inbound)
		sel_to_kernel(&p2->rsel, &p2->lsel, &sa->sel);
	else
		sel_to_kernel(&p2->lsel, &p2->rsel, &sa->sel);
	sa->reqid = p2->yt->id;
	sa->hard_secs = a->life_secs;
	sa->hard_bytes = kernel_hard_bytes(a->life_kb);
	sa->soft_bytes = kernel_soft_bytes(sa->hard_bytes, p2->role);
	snprintf(label, llen, "Y%u.%u %s", p2->yt->id, p2->generation, inbound ? "in" : "out");
	sa->label = label;
}

static void describe_policy(const struct p2sa *p2, int dir, struct kernel_policy *p, char *label,
			    size_t llen)
{
	struct ikeaddr local, remote;
	endpoints(p2, &local, &remote);
	memset(p, 0, sizeof *p);
	p->dir = dir;
	if (dir == KDIR_OUT)
		sel_to_kernel(&p2->lsel, &p2->rsel, &p->sel);
	else
		sel_to_kernel(&p2->rsel, &p2->lsel, &p->sel);
	p->mode = p2->agreed.encap;
	p->tsrc = dir == KDIR_OUT ? local.ip : remote.ip;
	p->tdst = dir == KDIR_OUT ? remote.ip : local.ip;
	p->reqid = p2->yt->id;
	p->priority = 2000;
	snprintf(label, llen, "Y%u", p2->yt->id);
	p->label = label;
}

static int install_policies(struct iked *ike, struct p2sa *p2)
{
	struct kernel *k = ike->kernel;
	int dirs[3] = { KDIR_OUT, KDIR_IN, KDIR_FWD };
	int n = p2->agreed.encap == ENCAP_TUNNEL ? 3 : 2;
	for (int i = 0; i < n; i++) {
		struct kernel_policy p;
		char label[32];
		describe_policy(p2, dirs[i], &p, label, sizeof label);
		if (k->ops->add_policy(k, &p)) {
			log_err("kernel %s: installing policy of Y%u failed: %s", k->ops->name,
				p2->yt->id, k->err);
			return -1;
		}
	}
	p2->yt->policies = true;
	return 0;
}

int kernel_install_p2(struct iked *ike, struct p2sa *p2)
{
	struct kernel *k = ike->kernel;
	struct kernel_sa in, out;
	char lin[32], lout[32];
	describe_sa(p2, true, &in, lin, sizeof lin);
	describe_sa(p2, false, &out, lout, sizeof lout);
	if (k->ops->add_sa(k, &in)) {
		log_err("kernel %s: installing SA %s spi 0x%08x failed: %s", k->ops->name, lin,
			in.spi, k->err);
		return -1;
	}
	if (k->ops->add_sa(k, &out)) {
		log_err("kernel %s: installing SA %s spi 0x%08x failed: %s", k->ops->name, lout,
			out.spi, k->err);
		k->ops->del_sa(k, &in.src, &in.dst, in.spi, lin);
		return -1;
	}
	p2->installed = true;
	if (!p2->yt->policies && install_policies(ike, p2))
		return -1;
	return 0;
}

void kernel_remove_p2(struct iked *ike, struct p2sa *p2)
{
	if (!p2->installed)
		return;
	struct kernel *k = ike->kernel;
	struct kernel_sa in, out;
	char lin[32], lout[32];
	describe_sa(p2, true, &in, lin, sizeof lin);
	describe_sa(p2, false, &out, lout, sizeof lout);
	/* a direction that reached its hard limit is already gone */
	if (!p2->gone_in && k->ops->del_sa(k, &in.src, &in.dst, in.spi, lin))
		log_warn("kernel %s: removing SA %s failed: %s", k->ops->name, lin, k->err);
	if (!p2->gone_out && k->ops->del_sa(k, &out.src, &out.dst, out.spi, lout))
		log_warn("kernel %s: removing SA %s failed: %s", k->ops->name, lout, k->err);
	p2->installed = false;
}

static bool same_addr(const struct ip_addr *a, const struct ip_addr *b)
{
	size_t n = a->family == AF_INET6 ? 16 : 4;
	return a->family == b->family && memcmp(a->b, b->b, n) == 0;
}

/* Events name an SA as the data path does (destination, SPI): our inbound
 * SPIs are unique here (spi_alloc), outbound ones only per peer, so the
 * destination decides too. The addresses are the ones describe_sa gave the
 * backend. */
struct p2sa *kernel_event_p2(struct iked *ike, const struct kernel_event *ev, bool *inbound)
{
	if (ev->proto != IPPROTO_ESP)
		return NULL;
	struct p2sa *p2;
	LIST_FOREACH(p2, &ike->p2_all, all) {
		if (!p2->installed || p2->state != P2_ESTABLISHED)
			continue;
		struct ikeaddr local, remote;
		endpoints(p2, &local, &remote);
		if (p2->spi_in == ev->spi && same_addr(&local.ip, &ev->dst)) {
			*inbound = true;
			return p2;
		}
		if (p2->spi_out == ev->spi && same_addr(&remote.ip, &ev->dst)) {
			*inbound = false;
			return p2;
		}
	}
	return NULL;
}

int kernel_p2_bytes(struct iked *ike, const struct p2sa *p2, uint64_t *in, uint64_t *out)
{
	struct kernel *k = ike->kernel;
	if (!k || !k->ops->sa_bytes || !p2->installed)
		return -1;
	struct kernel_sa si, so;
	char lin[32], lout[32];
	describe_sa(p2, true, &si, lin, sizeof lin);
	describe_sa(p2, false, &so, lout, sizeof lout);
	if (k->ops->sa_bytes(k, &si.src, &si.dst, si.spi, in) ||
	    k->ops->sa_bytes(k, &so.src, &so.dst, so.spi, out))
		return -1;
	return 0;
}

void kernel_remove_policies(struct iked *ike, struct ytunnel *yt)
{
	if (!yt->policies || !yt->cur)
		return;
	struct kernel *k = ike->kernel;
	int dirs[3] = { KDIR_OUT, KDIR_IN, KDIR_FWD };
	int n = yt->cur->agreed.encap == ENCAP_TUNNEL ? 3 : 2;
	for (int i = 0; i < n; i++) {
		struct kernel_policy p;
		char label[32];
		describe_policy(yt->cur, dirs[i], &p, label, sizeof label);
		if (k->ops->del_policy(k, &p))
			log_warn("kernel %s: removing policy of Y%u failed: %s", k->ops->name, yt->id,
				 k->err);
	}
	yt->policies = false;
}
