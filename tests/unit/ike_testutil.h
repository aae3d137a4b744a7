/*
 * tests/unit/ike_testutil — helpers for iked's unit tests: hex strings to
 * bytes, byte comparisons that print both sides when they differ, and a
 * complete SWSA record to vary.
 */
#ifndef ATTLS_TESTS_UNIT_IKE_TESTUTIL_H
#define ATTLS_TESTS_UNIT_IKE_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

struct swsa_record;

/* Decode hex (spaces ignored) into a static ring of buffers; *len gets the
 * size. Good for a handful of live values per test. */
const uint8_t *hx(const char *hex, size_t *len);
/* Convenience: decode into out (must be big enough); returns the length. */
size_t hx_into(const char *hex, uint8_t *out, size_t cap);
/* ck_assert that got[0..n) equals the hex string. */
void ck_bytes_eq(const uint8_t *got, size_t n, const char *hex, const char *what);

/* *r: a record of a Main Mode tunnel of rule `rule` from dvipa to
 * 198.18.0.2, generation gen, owner "somebody-else", refreshed now; every
 * field valid. */
void swsa_test_record(struct swsa_record *r, const char *dvipa, const char *rule, unsigned gen);

#endif
