/*
 * common/strutil — small string helpers shared by every program: case-folded
 * comparison, edit distance for did-you-mean hints, z/OS-style wildcards.
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

#endif
