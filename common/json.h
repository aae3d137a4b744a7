/*
 * common/json — a streaming JSON writer for the --json outputs of attls and ipsec.
 *
 * Tracks nesting so callers never place commas by hand; strings are escaped
 * per RFC 8259 (control characters, C1 included, as \u00XX; a byte that
 * starts no valid UTF-8 sequence becomes \ufffd, so the output is always
 * UTF-8 and never drives a terminal).
 */
#ifndef ATTLS_COMMON_JSON_H
#define ATTLS_COMMON_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

struct json {
	FILE *out;
	int depth;
	bool need_comma[JSON_MAX_DEPTH];
	bool after_key;
	int indent;          /* spaces per level; 0 = compact */
};

void json_init(struct json *j, FILE *out, int indent);
void json_obj_begin(struct json *j);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j);
void json_arr_end(struct json *j);
void json_key(struct json *j, const char *key);
void json_str(struct json *j, const char *s);      /* NULL writes null */
void json_strn(struct json *j, const char *s, size_t n);
void json_int(struct json *j, int64_t v);
void json_uint(struct json *j, uint64_t v);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);
/* key + value shorthands */
void json_kstr(struct json *j, const char *k, const char *v);
void json_kint(struct json *j, const char *k, int64_t v);
void json_kuint(struct json *j, const char *k, uint64_t v);
void json_kbool(struct json *j, const char *k, bool v);
void json_end(struct json *j);                     /* final newline */

#endif
