/*
 * common/kvline — the line format of the state export between libattls.so and
 * `attls conns`: "KIND\tkey=value\tkey=value...\n", values escaped so that tab,
 * newline, '%' and '=' never appear raw (%XX). Small, strict, easy to read
 * with a shell.
 */
#ifndef ATTLS_COMMON_KVLINE_H
#define ATTLS_COMMON_KVLINE_H

#include <stddef.h>
#include <stdio.h>

#define KV_MAX_FIELDS 32

struct kvline {
	char kind[32];
	size_t n;
	char *key[KV_MAX_FIELDS];
	char *val[KV_MAX_FIELDS];
	char buf[4096];
};

/* Append "\tkey=escaped(value)" to out. */
void kv_put(FILE *out, const char *key, const char *value);
void kv_putu(FILE *out, const char *key, unsigned long long value);
/* Parse one line (without or with its newline) into kv. Returns 0 or -1. */
int kv_parse(const char *line, struct kvline *kv);
/* A field's value, or NULL. */
const char *kv_get(const struct kvline *kv, const char *key);

#endif
