#include "common/strutil.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

bool str_ieq(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

size_t str_edit_distance(const char *a, const char *b, size_t limit)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return limit + 1;
	size_t diff = la > lb ? la - lb : lb - la;
	if (diff > limit)
		return limit + 1;
	size_t prev[65], cur[65];
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		size_t rowmin = cur[0];
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = tolower((unsigned char)a[i - 1]) ==
				      tolower((unsigned char)b[j - 1]) ? 0 : 1;
			size_t v = prev[j - 1] + cost;
			if (prev[j] + 1 < v) v = prev[j] + 1;
			if (cur[j - 1] + 1 < v) v = cur[j - 1] + 1;
			cur[j] = v;
			if (v < rowmin) rowmin = v;
		}
		if (rowmin > limit)
			return limit + 1;
		memcpy(prev, cur, (lb + 1) * sizeof cur[0]);
	}
	return prev[lb];
}

static const char *cand_at(const void *base, size_t i, size_t stride)
{
	return *(const char *const *)((const char *)base + i * stride);
}

const char *str_closest_in(const char *word, const void *base, size_t n, size_t stride)
{
	size_t len = strlen(word);
	/* Allow about one edit per three characters, at least two. */
	size_t limit = len / 3 > 2 ? len / 3 : 2;
	const char *best = NULL;
	size_t best_d = limit + 1;
	for (size_t i = 0; i < n; i++) {
		const char *c = cand_at(base, i, stride);
		if (!c)
			continue;
		size_t d = str_edit_distance(word, c, limit);
		if (d < best_d) {
			best_d = d;
			best = c;
		}
	}
	/* A short word that shares a long prefix with a candidate: "TLSv1" vs "TLSv1.3". */
	if (!best && len >= 4) {
		for (size_t i = 0; i < n; i++) {
			const char *c = cand_at(base, i, stride);
			if (c && strncasecmp(word, c, len) == 0)
				return c;
		}
	}
	return best;
}

const char *str_closest(const char *word, const char *const *cands, size_t n)
{
	return str_closest_in(word, cands, n, sizeof cands[0]);
}

bool str_wildmatch(const char *p, const char *s)
{
	const char *star = NULL, *mark = NULL;
	while (*s) {
		if (*p == '?' || (*p && *p != '*' && *p == *s)) {
			p++;
			s++;
		} else if (*p == '*') {
			star = p++;
			mark = s;
		} else if (star) {
			p = star + 1;
			s = ++mark;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

size_t str_copy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);
	if (size) {
		size_t c = n < size - 1 ? n : size - 1;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}
