#include "common/strutil.h"

#include <ctype.h>
#include <stdio.h>
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

size_t str_utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
	if (c < 0xc2 || c > 0xf4 || n < len)
		return 0;
	unsigned char lo = 0x80, hi = 0xbf;   /* allowed range of the second byte */
	if (c == 0xe0) lo = 0xa0;
	if (c == 0xed) hi = 0x9f;
	if (c == 0xf0) lo = 0x90;
	if (c == 0xf4) hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

bool str_utf8_is_c1(const unsigned char *s, size_t len)
{
	return len == 2 && s[0] == 0xc2 && s[1] < 0xa0;
}

char *str_term_safe(char *dst, size_t size, const char *src)
{
	if (!size)
		return dst;
	const unsigned char *s = (const unsigned char *)src;
	size_t n = strlen(src), o = 0;
	for (size_t i = 0; i < n;) {
		size_t len = s[i] >= 0x80 ? str_utf8_len(s + i, n - i) : 1;
		char esc[8];
		const char *piece = (const char *)s + i;
		size_t plen = len;
		if (len == 0 || str_utf8_is_c1(s + i, len) || s[i] < 0x20 || s[i] == 0x7f) {
			/* one escaped byte at a time: \xHH per byte of the sequence */
			snprintf(esc, sizeof esc, "\\x%02X", s[i]);
			piece = esc;
			plen = 4;
			len = 1;
		} else if (s[i] == '\\') {
			piece = "\\\\";
			plen = 2;
		}
		if (o + plen >= size)
			break;
		memcpy(dst + o, piece, plen);
		o += plen;
		i += len;
	}
	dst[o] = '\0';
	return dst;
}
