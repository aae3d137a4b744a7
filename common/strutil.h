/*
 * common/strutil — small string helpers shared by every program: case-folded
 * comparison, edit distance for did-you-mean hints, z/OS-style wildcards,
 * UTF-8 well-formedness and text made safe for a terminal.
 */
#ifndef ATTLS_COMMON_STRUTIL_H
#define ATTLS_COMMON_STRUTIL_H

#include <stdbool.h>
#include <stddef.h>

bool str_ieq(const char *a, const char *b);
/* Levenshtein distance, case-insensitive; stops counting above limit. */
size_t str_edit_distance(const char *a, const char *b, size_t limit);
/* Closest candidate to word, or NULL when none is close enough to suggest. */
const char *str_closest(const char *word, const char *const *cands, size_t n);
/* The same over an array of n structs of size stride whose first member is a
 * const char * name. */
const char *str_closest_in(const char *word, const void *base, size_t n, size_t stride);
/* '*' matches any run (also empty), '?' one character; case-sensitive. */
bool str_wildmatch(const char *pattern, const char *s);
/* Copy with truncation; always NUL-terminates when size > 0. Returns strlen(src). */
size_t str_copy(char *dst, const char *src, size_t size);
/* Length of the well-formed UTF-8 sequence of two or more bytes at s (RFC
 * 3629: no overlong forms, no surrogates, at most U+10FFFF), or 0. */
size_t str_utf8_len(const unsigned char *s, size_t n);
/* Whether the well-formed sequence of len bytes at s is a C1 control
 * (U+0080-U+009F), which terminals act on as they do on ESC sequences. */
bool str_utf8_is_c1(const unsigned char *s, size_t len);
/* src as text a terminal shows and never acts on: control characters (C0,
 * DEL, C1), bytes of no well-formed UTF-8 sequence and '\\' become \xHH or
 * \\. Truncated to fit dst (never in the middle of an escape); returns dst. */
char *str_term_safe(char *dst, size_t size, const char *src);

#endif
