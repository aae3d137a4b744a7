/*
 * common/arena — a bump allocator for data that lives and dies together.
 *
 * A policy snapshot allocates its parse tree, model and indexes from one arena
 * and frees them with one call, so error paths in the parser never leak.
 * Allocation failure returns NULL; callers report ENOMEM.
 */
#ifndef ATTLS_COMMON_ARENA_H
#define ATTLS_COMMON_ARENA_H

#include <stddef.h>

struct arena_chunk;
struct arena {
	struct arena_chunk *head;
	size_t total;
};

void  arena_init(struct arena *a);
void  arena_free(struct arena *a);
void *arena_alloc(struct arena *a, size_t size);            /* zeroed */
void *arena_array(struct arena *a, size_t n, size_t size);  /* zeroed, overflow-checked */
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The strings up to a NULL, joined: a cheap arena_printf("%s%s...") for hot paths. */
char *arena_concat(struct arena *a, ...) __attribute__((sentinel));
/* Grow an arena array: returns a copy with room for newcap elements. */
void *arena_grow(struct arena *a, void *old, size_t oldn, size_t newn, size_t size);

#endif
