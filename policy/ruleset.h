/*
 * policy/ruleset — sets of AT-TLS rules, by rank, as two-level bitmaps kept
 * in one pool: a summary bit for each 64-rule word, then only the words that
 * are not zero. The lookup index (policy/match) keeps one set per port
 * interval, address interval and name prefix; equal sets are stored once
 * (interned), so a policy whose rules share conditions stays small.
 *
 * A set is an offset into the pool. Its words: a header of ranks (two
 * 32-bit counts a word: for t = 0..nsum, how many non-zero words come before
 * summary word t, so the last is the set's number of non-zero words), the
 * nsum summary words, then the non-zero words in ascending order. The
 * builder keeps one "current" set that rules are added to and removed from
 * (counted, so a rule added twice needs two removals) and interns it on
 * demand.
 */
#ifndef ATTLS_POLICY_RULESET_H
#define ATTLS_POLICY_RULESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;

struct rs_shape {
	size_t nrules;
	size_t nwords;        /* 64-rule words */
	size_t nsum;          /* summary words: one bit per word */
};

struct rs_builder {
	struct rs_shape sh;
	uint64_t *pool;       /* malloc'd while building */
	size_t npool, cappool;
	uint64_t *cur, *cursum;      /* the current set, dense */
	uint32_t *count;             /* per rule: how many times it was added */
	uint64_t hash;               /* of the current set: XOR of its rules' keys */
	uint32_t *slot;              /* intern table: offset + 1, 0 = free */
	uint64_t *slot_hash;
	size_t nslots, nsets;
};

/* nrules may be 0. Returns 0, or -1 on ENOMEM. The empty set is at offset 0. */
int  rs_builder_init(struct rs_builder *b, size_t nrules);
void rs_builder_free(struct rs_builder *b);
void rs_add(struct rs_builder *b, uint32_t rank);
void rs_del(struct rs_builder *b, uint32_t rank);
/* The pool offset of a set equal to the current one. Returns 0, or -1 on ENOMEM. */
int  rs_intern(struct rs_builder *b, uint32_t *set);
/* The pool offset of the set holding the members of set that are also in
 * mask (a dense bitmap of nwords words). The current set must be empty; it
 * is empty again after. Returns 0, or -1 on ENOMEM. */
int  rs_intern_masked(struct rs_builder *b, uint32_t set, const uint64_t *mask, uint32_t *out);
/* How many rules the set at offset set holds. */
size_t rs_count(const struct rs_builder *b, uint32_t set);
/* The pool, copied into a (the builder keeps its own). NULL on ENOMEM. */
uint64_t *rs_pool_copy(const struct rs_builder *b, struct arena *a);

/* popcount without a libgcc call where the target lacks the instruction:
 * the lookup counts bits in its inner loop. */
static inline unsigned rs_pop64(uint64_t x)
{
#ifdef __POPCNT__
	return (unsigned)__builtin_popcountll(x);
#else
	x -= (x >> 1) & 0x5555555555555555ull;
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (unsigned)((x * 0x0101010101010101ull) >> 56);
#endif
}

static inline size_t rs_nhead(size_t nsum) { return (nsum + 2) / 2; }

/* Non-zero words of the set before summary word t (t = nsum: all of them). */
static inline size_t rs_rank(const uint64_t *s, size_t t)
{
	return (uint32_t)(s[t / 2] >> (t % 2 * 32));
}

static inline const uint64_t *rs_summary(const uint64_t *s, size_t nsum)
{
	return s + rs_nhead(nsum);
}

/* Word w of the set at s (pool + offset). */
static inline uint64_t rs_word(const uint64_t *s, size_t nsum, size_t w)
{
	const uint64_t *sum = rs_summary(s, nsum);
	uint64_t bit = 1ull << (w % 64), below = sum[w / 64] & (bit - 1);
	if (!(sum[w / 64] & bit))
		return 0;
	return sum[nsum + rs_rank(s, w / 64) + (below ? rs_pop64(below) : 0)];
}

#endif
