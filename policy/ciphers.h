/*
 * policy/ciphers — the TLS cipher suites a policy may name: IANA code, name,
 * and the GnuTLS algorithm names that make them up. Used to check
 * V3CipherSuites / V3CipherSuites4Char and to build GnuTLS priority strings.
 */
#ifndef ATTLS_POLICY_CIPHERS_H
#define ATTLS_POLICY_CIPHERS_H

#include <stdbool.h>
#include <stdint.h>

struct cipher_suite {
	uint16_t code;            /* IANA value */
	const char *name;         /* IANA name */
	const char *kx;           /* GnuTLS key exchange ("RSA", "ECDHE-RSA", ...); NULL for TLS 1.3 */
	const char *cipher;       /* GnuTLS cipher ("AES-128-GCM", ...) */
	const char *mac;          /* GnuTLS MAC ("SHA1", "AEAD", ...) */
	bool tls13;
	bool supported;           /* false: known legacy suite attls never enables */
};

const struct cipher_suite *cipher_by_code(uint16_t code);
const struct cipher_suite *cipher_by_name(const char *name);   /* case-insensitive */
/* Closest known name, for hints; NULL when none is close. */
const char *cipher_closest(const char *name);
/* The 2-char z/OS code ("35") or "4X" when the suite needs 4 characters. */
void cipher_zos_code2(uint16_t code, char out[3]);

#endif
