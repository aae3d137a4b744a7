#include "common/arena.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct arena_chunk {
	struct arena_chunk *next;
	size_t size, used;
	max_align_t data[];
};

#define CHUNK_MIN 16384

void arena_init(struct arena *a) { a->head = NULL; a->total = 0; }

void arena_free(struct arena *a)
{
	struct arena_chunk *c = a->head;
	while (c) {
		struct arena_chunk *n = c->next;
		free(c);
		c = n;
	}
	a->head = NULL;
	a->total = 0;
}

/* size bytes, not cleared: for callers that write every byte. */
static void *alloc_raw(struct arena *a, size_t size)
{
	const size_t align = _Alignof(max_align_t);
	if (size > SIZE_MAX / 2)
		return NULL;
	size = (size + align - 1) & ~(align - 1);
	if (size == 0)
		size = align;
	struct arena_chunk *c = a->head;
	if (!c || c->size - c->used < size) {
		size_t csize = size > CHUNK_MIN ? size : CHUNK_MIN;
		c = malloc(sizeof *c + csize);
		if (!c)
			return NULL;
		c->size = csize;
		c->used = 0;
		c->next = a->head;
		a->head = c;
		a->total += csize;
	}
	void *p = (char *)c->data + c->used;
	c->used += size;
	return p;
}

void *arena_alloc(struct arena *a, size_t size)
{
	void *p = alloc_raw(a, size);
	if (p)
		memset(p, 0, size);
	return p;
}

void *arena_array(struct arena *a, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / 2 / size)
		return NULL;
	return arena_alloc(a, n * size);
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	if (n == SIZE_MAX)
		return NULL;
	char *p = alloc_raw(a, n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
	/* Most results are short: format once into a buffer, copy. */
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	if ((size_t)n < sizeof buf)
		return arena_strndup(a, buf, (size_t)n);
	char *p = alloc_raw(a, (size_t)n + 1);
	if (!p)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

char *arena_concat(struct arena *a, ...)
{
	/* lengths measured once; more than 8 parts take a second pass */
	const char *part[8];
	size_t plen[8], n = 0, len = 0;
	bool more = false;
	va_list ap;
	va_start(ap, a);
	for (const char *s = va_arg(ap, const char *); s; s = va_arg(ap, const char *)) {
		size_t l = strlen(s);
		if (l > SIZE_MAX / 4 - len) {
			va_end(ap);
			return NULL;
		}
		len += l;
		if (n < 8) {
			part[n] = s;
			plen[n++] = l;
		} else {
			more = true;
		}
	}
	va_end(ap);
	char *p = alloc_raw(a, len + 1), *o = p;
	if (!p)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		memcpy(o, part[i], plen[i]);
		o += plen[i];
	}
	if (more) {
		va_start(ap, a);
		size_t i = 0;
		for (const char *s = va_arg(ap, const char *); s; s = va_arg(ap, const char *))
			if (i++ >= 8) {
				size_t l = strlen(s);
				memcpy(o, s, l);
				o += l;
			}
		va_end(ap);
	}
	*o = '\0';
	return p;
}

void *arena_grow(struct arena *a, void *old, size_t oldn, size_t newn, size_t size)
{
	if (size && newn > SIZE_MAX / 2 / size)
		return NULL;
	char *p = alloc_raw(a, newn * size);
	if (!p)
		return NULL;
	size_t keep = old ? (oldn < newn ? oldn : newn) : 0;
	if (keep)
		memcpy(p, old, keep * size);
	memset(p + keep * size, 0, (newn - keep) * size);
	return p;
}
