#include "policy/ruleset.h"

#include <stdlib.h>
#include <string.h>

#include "common/arena.h"

/* A random-looking key per rule (splitmix64): a set's hash is the XOR of its
 * rules' keys, kept up to date as rules come and go. */
static uint64_t rule_key(uint32_t rank)
{
	uint64_t z = (uint64_t)rank * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int pool_reserve(struct rs_builder *b, size_t more)
{
	if (b->pool && b->npool + more <= b->cappool)
		return 0;
	size_t cap = b->cappool ? b->cappool : 1024;
	while (cap < b->npool + more) {
		if (cap > UINT32_MAX / 2)
			return -1;    /* offsets are 32-bit */
		cap *= 2;
	}
	uint64_t *v = realloc(b->pool, cap * sizeof *v);
	if (!v)
		return -1;
	b->pool = v;
	b->cappool = cap;
	return 0;
}

static bool equals_current(const struct rs_builder *b, const uint64_t *s)
{
	size_t nsum = b->sh.nsum;
	const uint64_t *sum = rs_summary(s, nsum);
	if (memcmp(sum, b->cursum, nsum * sizeof *s) != 0)
		return false;
	const uint64_t *packed = sum + nsum;
	for (size_t i = 0, k = 0; i < nsum; i++)
		for (uint64_t bits = b->cursum[i]; bits; bits &= bits - 1)
			if (packed[k++] != b->cur[i * 64 + (size_t)__builtin_ctzll(bits)])
				return false;
	return true;
}

static void slot_put(uint32_t *slot, uint64_t *slot_hash, size_t nslots, uint64_t hash,
		     uint32_t off)
{
	size_t h = (size_t)hash & (nslots - 1);
	while (slot[h])
		h = (h + 1) & (nslots - 1);
	slot[h] = off + 1;
	slot_hash[h] = hash;
}

static int table_grow(struct rs_builder *b)
{
	size_t n = b->nslots ? b->nslots * 2 : 1024;
	uint32_t *slot = calloc(n, sizeof *slot);
	uint64_t *slot_hash = calloc(n, sizeof *slot_hash);
	if (!slot || !slot_hash) {
		free(slot);
		free(slot_hash);
		return -1;
	}
	for (size_t i = 0; i < b->nslots; i++)
		if (b->slot[i])
			slot_put(slot, slot_hash, n, b->slot_hash[i], b->slot[i] - 1);
	free(b->slot);
	free(b->slot_hash);
	b->slot = slot;
	b->slot_hash = slot_hash;
	b->nslots = n;
	return 0;
}

int rs_intern(struct rs_builder *b, uint32_t *set)
{
	if (2 * (b->nsets + 1) > b->nslots && table_grow(b))
		return -1;
	size_t h = (size_t)b->hash & (b->nslots - 1);
	for (; b->slot[h]; h = (h + 1) & (b->nslots - 1))
		if (b->slot_hash[h] == b->hash && equals_current(b, b->pool + b->slot[h] - 1)) {
			*set = b->slot[h] - 1;
			return 0;
		}
	size_t nsum = b->sh.nsum, nhead = rs_nhead(nsum), k = 0;
	for (size_t i = 0; i < nsum; i++)
		k += rs_pop64(b->cursum[i]);
	if (pool_reserve(b, nhead + nsum + k))
		return -1;
	uint32_t off = (uint32_t)b->npool;
	uint64_t *s = b->pool + off;
	memset(s, 0, nhead * sizeof *s);
	for (size_t t = 0, rank = 0; t <= nsum; t++) {
		s[t / 2] |= (uint64_t)rank << (t % 2 * 32);
		rank += t < nsum ? rs_pop64(b->cursum[t]) : 0;
	}
	memcpy(s + nhead, b->cursum, nsum * sizeof *s);
	uint64_t *packed = s + nhead + nsum;
	for (size_t i = 0; i < nsum; i++)
		for (uint64_t bits = b->cursum[i]; bits; bits &= bits - 1)
			*packed++ = b->cur[i * 64 + (size_t)__builtin_ctzll(bits)];
	b->npool += nhead + nsum + k;
	b->slot[h] = off + 1;
	b->slot_hash[h] = b->hash;
	b->nsets++;
	*set = off;
	return 0;
}

void rs_add(struct rs_builder *b, uint32_t rank)
{
	if (b->count[rank]++)
		return;
	b->cur[rank / 64] |= 1ull << (rank % 64);
	b->cursum[rank / 4096] |= 1ull << (rank / 64 % 64);
	b->hash ^= rule_key(rank);
}

void rs_del(struct rs_builder *b, uint32_t rank)
{
	if (--b->count[rank])
		return;
	uint64_t *w = &b->cur[rank / 64];
	*w &= ~(1ull << (rank % 64));
	if (!*w)
		b->cursum[rank / 4096] &= ~(1ull << (rank / 64 % 64));
	b->hash ^= rule_key(rank);
}

/* Calls fn for each rule of the set at off that is also in mask (all when
 * mask is NULL). The pool may move under fn (it may intern), so words are
 * read by offset. */
static void each_member(struct rs_builder *b, uint32_t off, const uint64_t *mask,
			void (*fn)(struct rs_builder *, uint32_t))
{
	size_t nsum = b->sh.nsum, head = rs_nhead(nsum), k = 0;
	for (size_t i = 0; i < nsum; i++)
		for (uint64_t sum = b->pool[off + head + i]; sum; sum &= sum - 1) {
			size_t w = i * 64 + (size_t)__builtin_ctzll(sum);
			uint64_t bits = b->pool[off + head + nsum + k++] & (mask ? mask[w] : ~0ull);
			for (; bits; bits &= bits - 1)
				fn(b, (uint32_t)(w * 64 + (size_t)__builtin_ctzll(bits)));
		}
}

int rs_intern_masked(struct rs_builder *b, uint32_t set, const uint64_t *mask, uint32_t *out)
{
	each_member(b, set, mask, rs_add);
	int rc = rs_intern(b, out);
	each_member(b, set, mask, rs_del);
	return rc;
}

size_t rs_count(const struct rs_builder *b, uint32_t set)
{
	size_t nsum = b->sh.nsum, n = 0;
	const uint64_t *s = b->pool + set, *packed = rs_summary(s, nsum) + nsum;
	for (size_t i = 0; i < rs_rank(s, nsum); i++)
		n += rs_pop64(packed[i]);
	return n;
}

int rs_builder_init(struct rs_builder *b, size_t nrules)
{
	memset(b, 0, sizeof *b);
	if (nrules > UINT32_MAX / 2)
		return -1;
	b->sh.nrules = nrules;
	b->sh.nwords = (nrules + 63) / 64;
	b->sh.nsum = (b->sh.nwords + 63) / 64;
	b->cur = calloc(b->sh.nwords + 1, sizeof *b->cur);
	b->cursum = calloc(b->sh.nsum + 1, sizeof *b->cursum);
	b->count = calloc(nrules + 1, sizeof *b->count);
	uint32_t empty;
	if (!b->cur || !b->cursum || !b->count || rs_intern(b, &empty)) {
		rs_builder_free(b);
		return -1;
	}
	return 0;
}

void rs_builder_free(struct rs_builder *b)
{
	free(b->pool);
	free(b->cur);
	free(b->cursum);
	free(b->count);
	free(b->slot);
	free(b->slot_hash);
	memset(b, 0, sizeof *b);
}

uint64_t *rs_pool_copy(const struct rs_builder *b, struct arena *a)
{
	uint64_t *v = arena_array(a, b->npool ? b->npool : 1, sizeof *v);
	if (v)
		memcpy(v, b->pool, b->npool * sizeof *v);
	return v;
}
