#include "tests/unit/ike_harness.h"

#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "iked/exchange.h"
#include "iked/isakmp.h"
#include "iked/kernel.h"
#include "policy/policy.h"

static char log_path[64];

static uint64_t h_clock(void *ctx)
{
	return ((struct harness *)ctx)->now;
}

static int h_send(void *ctx, const struct ikeaddr *from, const struct ikeaddr *to,
		  const uint8_t *pkt, size_t len)
{
	struct harness *h = ctx;
	if (h->nq == H_MAX_QUEUE || len > sizeof h->queue[0].data)
		return -1;
	struct h_packet *p = &h->queue[h->nq++];
	p->from = *from;
	p->to = *to;
	if (h->nat_node >= 0 &&
	    memcmp(&from->ip, &h->nodes[h->nat_node].addr, sizeof from->ip) == 0) {
		p->from.ip = h->nat_public;
		p->from.port = (uint16_t)(from->port + h->nat_port_base);
	}
	memcpy(p->data, pkt, len);
	p->len = len;
	return 0;
}

void h_init(struct harness *h)
{
	memset(h, 0, sizeof *h);
	h->now = 1000000;
	h->nat_node = -1;
	snprintf(log_path, sizeof log_path, "/tmp/ike-harness-%d.log", (int)getpid());
	unlink(log_path);
	log_init("iked", 0);
	log_set_level(LOG_DEBUG);
	log_set_file(log_path);
}

/* ---- the simulated data path ------------------------------------------------ */

struct h_kernel {
	struct h_sa sas[H_MAX_SAS];
	size_t n;
};

static struct h_sa *sim_find(struct kernel *k, uint32_t spi)
{
	struct h_kernel *hk = k->priv;
	for (size_t i = 0; i < hk->n; i++)
		if (hk->sas[i].sa.spi == spi)
			return &hk->sas[i];
	return NULL;
}

static void sim_forget(struct kernel *k, struct h_sa *s)
{
	struct h_kernel *hk = k->priv;
	*s = hk->sas[--hk->n];
}

static int sim_add_sa(struct kernel *k, const struct kernel_sa *sa)
{
	struct h_kernel *hk = k->priv;
	if (hk->n == H_MAX_SAS) {
		snprintf(k->err, sizeof k->err, "simulated data path full");
		return -1;
	}
	kernel_log_ops.add_sa(k, sa);
	struct h_sa *s = &hk->sas[hk->n++];
	memset(s, 0, sizeof *s);
	s->sa = *sa;
	s->sa.enc_key = s->sa.auth_key = NULL;
	s->sa.label = NULL;
	return 0;
}

static int sim_del_sa(struct kernel *k, const struct ip_addr *src, const struct ip_addr *dst,
		      uint32_t spi, const char *label)
{
	struct h_sa *s = sim_find(k, spi);
	if (!s || memcmp(&s->sa.dst, dst, sizeof *dst) != 0) {
		snprintf(k->err, sizeof k->err, "No such process");   /* the kernel's ESRCH */
		return -1;
	}
	sim_forget(k, s);
	return kernel_log_ops.del_sa(k, src, dst, spi, label);
}

static int sim_add_policy(struct kernel *k, const struct kernel_policy *p)
{
	return kernel_log_ops.add_policy(k, p);
}

static int sim_del_policy(struct kernel *k, const struct kernel_policy *p)
{
	return kernel_log_ops.del_policy(k, p);
}

static int sim_sa_bytes(struct kernel *k, const struct ip_addr *src, const struct ip_addr *dst,
			uint32_t spi, uint64_t *bytes)
{
	(void)src;
	struct h_sa *s = sim_find(k, spi);
	if (!s || memcmp(&s->sa.dst, dst, sizeof *dst) != 0)
		return -1;
	*bytes = s->bytes;
	return 0;
}

static void sim_close(struct kernel *k)
{
	free(k->priv);
	k->priv = NULL;
}

static const struct kernel_ops sim_ops = {
	.name = "sim",
	.add_sa = sim_add_sa,
	.del_sa = sim_del_sa,
	.add_policy = sim_add_policy,
	.del_policy = sim_del_policy,
	.close = sim_close,
	.sa_bytes = sim_sa_bytes,
};

static struct kernel *node_kernel(struct harness *h, int i)
{
	return h->nodes[i].ike->kernel;
}

const struct h_sa *h_kernel_sa(struct harness *h, int i, uint32_t spi)
{
	return sim_find(node_kernel(h, i), spi);
}

size_t h_kernel_sa_count(struct harness *h, int i)
{
	return ((struct h_kernel *)node_kernel(h, i)->priv)->n;
}

void h_kernel_expire(struct harness *h, int i, uint32_t spi, bool hard)
{
	struct kernel *k = node_kernel(h, i);
	struct h_sa *s = sim_find(k, spi);
	ck_assert_msg(s != NULL, "node %d has no SA with spi %08x", i, spi);
	struct kernel_event ev = {
		.src = s->sa.src, .dst = s->sa.dst, .spi = spi, .proto = IPPROTO_ESP, .hard = hard,
		.bytes = s->bytes,
	};
	uint64_t limit = hard ? s->sa.hard_bytes : s->sa.soft_bytes;
	ev.lifesize = limit && s->bytes >= limit;
	if (hard)
		sim_forget(k, s);                /* the kernel deletes it, then tells */
	else
		s->soft_reported = true;
	kernel_report(k, &ev);
}

void h_traffic(struct harness *h, int i, uint32_t spi, uint64_t bytes)
{
	struct h_sa *s = sim_find(node_kernel(h, i), spi);
	ck_assert_msg(s != NULL, "node %d has no SA with spi %08x", i, spi);
	s->bytes += bytes;
	if (s->sa.soft_bytes && s->bytes >= s->sa.soft_bytes && !s->soft_reported)
		h_kernel_expire(h, i, spi, false);
	/* the daemon may have changed the SA table */
	s = sim_find(node_kernel(h, i), spi);
	if (s && s->sa.hard_bytes && s->bytes >= s->sa.hard_bytes)
		h_kernel_expire(h, i, spi, true);
}

/* ---- daemons ----------------------------------------------------------------- */

static struct iked *make_daemon(struct harness *h, const char *text)
{
	struct diags d;
	diags_init(&d);
	struct policy *pol = policy_load_buffer("test.conf", text, strlen(text), &d);
	if (!pol)
		diags_print(&d, stderr, 1);
	diags_free(&d);
	ck_assert_ptr_nonnull(pol);
	char err[128];
	struct kernel *k = kernel_open(1 /* BACKEND_LOG */, NULL, err, sizeof err);
	ck_assert_ptr_nonnull(k);
	k->ops = &sim_ops;
	k->priv = calloc(1, sizeof(struct h_kernel));
	ck_assert_ptr_nonnull(k->priv);
	struct net_ops net = { h_send, h };
	struct iked *ike = iked_new(pol, k, &net);
	ike->clock_ms = h_clock;
	ike->clock_ctx = h;
	ike->log_keys = true;
	return ike;
}

void h_restart(struct harness *h, int i, const char *text)
{
	struct kernel *k = h->nodes[i].ike->kernel;
	iked_free(h->nodes[i].ike);
	kernel_close(k);
	h->nodes[i].ike = make_daemon(h, text);
	h->nodes[i].down = false;
}

int h_add(struct harness *h, const char *addr, const char *text)
{
	int i = (int)h->nnodes++;
	struct h_node *n = &h->nodes[i];
	n->ike = make_daemon(h, text);
	ck_assert_int_eq(ip_addr_parse(addr, &n->addr), 0);
	return i;
}

void h_free(struct harness *h)
{
	for (size_t i = 0; i < h->nnodes; i++) {
		struct kernel *k = h->nodes[i].ike->kernel;
		iked_free(h->nodes[i].ike);
		kernel_close(k);
	}
	if (getenv("IKE_HARNESS_LOG"))
		h_log_dump();
	log_set_file(NULL);
	unlink(log_path);
}

static int node_of(struct harness *h, const struct ip_addr *a)
{
	for (size_t i = 0; i < h->nnodes; i++)
		if (memcmp(&h->nodes[i].addr, a, sizeof *a) == 0)
			return (int)i;
	return -1;
}

/* IKE_HARNESS_SEEDS=DIR keeps every delivered message (fuzzing seeds). */
static void keep_seed(const uint8_t *p, size_t len)
{
	const char *dir = getenv("IKE_HARNESS_SEEDS");
	static unsigned n;
	if (!dir)
		return;
	char path[512];
	snprintf(path, sizeof path, "%s/h-%d-%04u", dir, (int)getpid(), n++);
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(p, 1, len, f);
		fclose(f);
	}
}

static void deliver(struct harness *h, struct h_packet *p)
{
	if (h->nat_node >= 0 && memcmp(&p->to.ip, &h->nat_public, sizeof p->to.ip) == 0) {
		if (p->to.port < h->nat_port_base) {
			h->dropped++;                    /* no mapping: the NAT drops it */
			return;
		}
		p->to.ip = h->nodes[h->nat_node].addr;
		p->to.port = (uint16_t)(p->to.port - h->nat_port_base);
	}
	int i = node_of(h, &p->to.ip);
	if (i < 0 || h->nodes[i].down || (h->filter && !h->filter(h, p, h->filter_ctx))) {
		h->dropped++;
		return;
	}
	struct iked *ike = h->nodes[i].ike;
	h->delivered++;
	h->last = *p;
	if (p->to.port == ike->ip->ike.nat_port) {
		if (p->len == 1 && p->data[0] == NATT_KEEPALIVE_BYTE) {
			h->keepalives++;
			return;
		}
		static const uint8_t marker[4];
		if (p->len < 4 || memcmp(p->data, marker, 4) != 0)
			return;                          /* ESP: nothing for IKE */
		keep_seed(p->data + 4, p->len - 4);
		ike_input(ike, p->data + 4, p->len - 4, &p->from, &p->to, true);
		if (h->duplicate)
			ike_input(ike, p->data + 4, p->len - 4, &p->from, &p->to, true);
		return;
	}
	keep_seed(p->data, p->len);
	ike_input(ike, p->data, p->len, &p->from, &p->to, false);
	if (h->duplicate)
		ike_input(ike, p->data, p->len, &p->from, &p->to, false);
}

static void deliver_all(struct harness *h)
{
	for (int rounds = 0; rounds < 1000 && h->nq; rounds++) {
		struct h_packet batch[H_MAX_QUEUE];
		size_t n = h->nq;
		memcpy(batch, h->queue, n * sizeof batch[0]);
		h->nq = 0;
		for (size_t k = 0; k < n; k++)
			deliver(h, &batch[k]);
	}
}

static uint64_t next_timer(struct harness *h)
{
	uint64_t t = UINT64_MAX;
	for (size_t i = 0; i < h->nnodes; i++) {
		uint64_t n = timers_next(&h->nodes[i].ike->timers);
		if (n < t)
			t = n;
	}
	return t;
}

static void run_timers(struct harness *h)
{
	for (size_t i = 0; i < h->nnodes; i++)
		iked_tick(h->nodes[i].ike);
}

void h_advance(struct harness *h, uint64_t ms)
{
	uint64_t end = h->now + ms;
	deliver_all(h);
	for (int steps = 0; steps < 100000; steps++) {
		uint64_t t = next_timer(h);
		if (t > end)
			break;
		if (t > h->now)
			h->now = t;
		run_timers(h);
		deliver_all(h);
	}
	h->now = end;
	run_timers(h);
	deliver_all(h);
}

void h_run(struct harness *h, uint64_t max_ms)
{
	deliver_all(h);
	uint64_t end = h->now + max_ms;
	for (int steps = 0; steps < 100000 && h->nq == 0; steps++) {
		uint64_t t = next_timer(h);
		if (t > end || t == UINT64_MAX)
			break;
		/* only exchanges in flight matter here: stop at the first timer
		 * beyond a second that would not be a retransmission */
		if (t > h->now)
			h->now = t;
		run_timers(h);
		deliver_all(h);
	}
	deliver_all(h);
}

void h_inject(struct harness *h, int i, const char *from, uint16_t port, const uint8_t *p,
	      size_t len)
{
	struct h_packet pk;
	memset(&pk, 0, sizeof pk);
	ip_addr_parse(from, &pk.from.ip);
	pk.from.port = port;
	pk.to.ip = h->nodes[i].addr;
	pk.to.port = port;
	if (len > sizeof pk.data)
		len = sizeof pk.data;
	memcpy(pk.data, p, len);
	pk.len = len;
	deliver(h, &pk);
}

struct ktunnel *h_ktunnel(struct harness *h, int i, unsigned id)
{
	return ktunnel_by_id(h->nodes[i].ike, id);
}

struct ytunnel *h_ytunnel(struct harness *h, int i, unsigned id)
{
	return ytunnel_by_id(h->nodes[i].ike, id);
}

size_t h_count_p1(struct harness *h, int i, bool established_only)
{
	size_t n = 0;
	struct p1sa *p1;
	LIST_FOREACH(p1, &h->nodes[i].ike->p1_all, all)
		n += !established_only || p1->state == P1_ESTABLISHED;
	return n;
}

size_t h_count_p2(struct harness *h, int i, bool established_only)
{
	size_t n = 0;
	struct p2sa *p2;
	LIST_FOREACH(p2, &h->nodes[i].ike->p2_all, all)
		n += !established_only || p2->state == P2_ESTABLISHED;
	return n;
}

static char *read_log(void)
{
	FILE *f = fopen(log_path, "r");
	if (!f)
		return calloc(1, 1);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = calloc(1, (size_t)n + 1);
	if (b && n > 0 && fread(b, 1, (size_t)n, f) != (size_t)n)
		b[0] = '\0';
	fclose(f);
	return b;
}

bool h_log_has(const char *needle)
{
	return h_log_count(needle) > 0;
}

size_t h_log_count(const char *needle)
{
	char *b = read_log();
	size_t n = 0;
	for (const char *p = b; p && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	free(b);
	return n;
}

void h_log_clear(void)
{
	log_set_file(NULL);
	unlink(log_path);
	log_set_file(log_path);
}

void h_log_dump(void)
{
	char *b = read_log();
	fprintf(stderr, "---- iked log ----\n%s---- end ----\n", b);
	free(b);
}
