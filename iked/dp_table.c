/* iked/dp_table — the SA table of the tun backend's data threads.
 *
 * The data threads see the SAs through an immutable table that the IKE
 * thread replaces for every change (one atomic pointer swap): readers never
 * wait and never lock. Each data thread counts its passes (odd while it
 * works on a batch with the table it loaded, even while it waits for
 * packets); a replaced table, and a removed SA, are kept until each thread
 * was idle when they were replaced or has finished the pass it was in
 * (quiescent-state reclamation), and freed by the IKE thread the next time
 * it touches the table. Inbound SAs are sorted by SPI (binary search);
 * outbound ones kept in the order they came, the newest searched first, so
 * that a refreshed tunnel's traffic moves to its new SA at once. */
#include "iked/datapath.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

struct table *dp_table_new(size_t nin, size_t nout)
{
	struct table *tb = calloc(1, sizeof *tb + (nin + nout + 1) * sizeof(struct tsa *));
	if (!tb)
		return NULL;
	tb->nin = nin;
	tb->nout = nout;
	tb->in = tb->v;
	tb->out = tb->v + nin;
	return tb;
}

struct table *dp_current(struct tunk *t)
{
	return atomic_load(&t->table);
}

struct tsa *dp_find_in(const struct table *tb, uint32_t spi)
{
	size_t lo = 0, hi = tb->nin;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint32_t s = tb->in[mid]->esp.spi;
		if (s == spi)
			return tb->in[mid];
		if (s < spi)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

struct tsa *dp_find_out(const struct table *tb, const struct ip_flow *f)
{
	for (size_t i = tb->nout; i-- > 0;) {
		struct tsa *sa = tb->out[i];
		if (!atomic_load_explicit(&sa->hard_hit, memory_order_relaxed) &&
		    ip_flow_matches(&sa->sel, f))
			return sa;
	}
	return NULL;
}

static void retire(struct tunk *t, void *p, bool is_sa)
{
	if (t->nretired == t->cap_retired) {
		size_t cap = t->cap_retired ? 2 * t->cap_retired : 16;
		struct retired *r = realloc(t->retired, cap * sizeof *r);
		if (!r) {
			/* cannot wait for the readers: leak rather than free under them */
			log_warn("kernel(tun): out of memory; %s not freed", is_sa ? "an SA" : "a table");
			return;
		}
		t->retired = r;
		t->cap_retired = cap;
	}
	struct retired *r = &t->retired[t->nretired++];
	r->p = p;
	r->is_sa = is_sa;
	for (int i = 0; i < 2; i++)
		r->qs[i] = atomic_load(&t->qs[i]);
}

void dp_free_sa(struct tsa *sa)
{
	esp_sa_wipe(&sa->esp);
	free(sa);
}

/* Free what no data thread can still be reading: each thread was idle (an
 * even count) when it was retired, or has counted on since. */
void dp_reclaim(struct tunk *t)
{
	uint64_t now[2] = { atomic_load(&t->qs[0]), atomic_load(&t->qs[1]) };
	size_t keep = 0;
	for (size_t i = 0; i < t->nretired; i++) {
		struct retired *r = &t->retired[i];
		bool done = true;
		for (int th = 0; th < 2; th++)
			if (r->qs[th] % 2 == 1 && now[th] == r->qs[th])
				done = false;
		if (!done) {
			t->retired[keep++] = *r;
			continue;
		}
		if (r->is_sa)
			dp_free_sa(r->p);
		else
			free(r->p);
	}
	t->nretired = keep;
}

static void publish(struct tunk *t, struct table *tb)
{
	struct table *old = atomic_exchange(&t->table, tb);
	if (old)
		retire(t, old, false);
	uint64_t one = 1;
	if (t->published >= 0 && write(t->published, &one, sizeof one) < 0 && errno != EAGAIN)
		log_debug("kernel(tun): cannot tell the inbound thread: %s", strerror(errno));
}

/* A copy of the current table with sa added (NULL) or without it. */
static struct table *table_with(struct tunk *t, struct tsa *add, const struct tsa *without)
{
	struct table *cur = dp_current(t);
	size_t nin = cur->nin, nout = cur->nout;
	if (add)
		*(add->inbound ? &nin : &nout) += 1;
	if (without)
		*(without->inbound ? &nin : &nout) -= 1;
	struct table *tb = dp_table_new(nin, nout);
	if (!tb)
		return NULL;
	size_t j = 0;
	bool placed = !add || !add->inbound;
	for (size_t i = 0; i < cur->nin; i++) {
		if (cur->in[i] == without)
			continue;
		if (!placed && add->esp.spi < cur->in[i]->esp.spi) {
			tb->in[j++] = add;
			placed = true;
		}
		tb->in[j++] = cur->in[i];
	}
	if (!placed)
		tb->in[j++] = add;
	j = 0;
	for (size_t i = 0; i < cur->nout; i++)
		if (cur->out[i] != without)
			tb->out[j++] = cur->out[i];
	if (add && !add->inbound)
		tb->out[j++] = add;
	return tb;
}

bool dp_same_addr(const struct ip_addr *a, const struct ip_addr *b)
{
	return a->family == b->family && memcmp(a->b, b->b, a->family == AF_INET6 ? 16 : 4) == 0;
}

struct tsa *dp_lookup(struct tunk *t, const struct ip_addr *dst, uint32_t spi)
{
	struct table *tb = dp_current(t);
	for (size_t i = 0; i < tb->nin + tb->nout; i++) {
		struct tsa *sa = tb->v[i];
		if (sa->esp.spi == spi && dp_same_addr(&sa->dst, dst))
			return sa;
	}
	return NULL;
}

void dp_pass_begin(struct tunk *t, int th)
{
	atomic_fetch_add(&t->qs[th], 1);          /* odd: reading the table */
}

void dp_pass_end(struct tunk *t, int th)
{
	atomic_fetch_add(&t->qs[th], 1);          /* even: holding nothing */
}


int dp_add(struct tunk *t, struct tsa *sa)
{
	struct table *tb = table_with(t, sa, NULL);
	if (!tb)
		return -1;
	publish(t, tb);
	return 0;
}

int dp_remove(struct tunk *t, struct tsa *sa)
{
	struct table *tb = table_with(t, NULL, sa);
	if (!tb)
		return -1;
	publish(t, tb);
	retire(t, sa, true);
	return 0;
}

void dp_free_all(struct tunk *t, void (*each)(const struct tsa *sa))
{
	struct table *tb = atomic_exchange(&t->table, NULL);
	if (tb) {
		for (size_t i = 0; i < tb->nin + tb->nout; i++) {
			each(tb->v[i]);
			dp_free_sa(tb->v[i]);
		}
		free(tb);
	}
	for (size_t i = 0; i < t->nretired; i++) {
		if (t->retired[i].is_sa)
			dp_free_sa(t->retired[i].p);
		else
			free(t->retired[i].p);
	}
	free(t->retired);
	t->retired = NULL;
	t->nretired = t->cap_retired = 0;
}
