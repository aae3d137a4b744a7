/*
 * iked/dh — Diffie-Hellman for phase 1 and for PFS: the MODP groups 1, 2, 5,
 * 14, 15 and 16 (RFC 2409, RFC 3526) with GMP, and the ECP groups 19, 20 and
 * 21 (RFC 5903: secp256r1, secp384r1, secp521r1) with nettle. Public values
 * and shared secrets have the fixed wire sizes: MODP values are padded to the
 * prime's length; ECP public values are x|y, the shared secret is x alone.
 * Peer values are checked (1 < y < p-1; a point on the curve).
 */
#ifndef ATTLS_IKED_DH_H
#define ATTLS_IKED_DH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DH_MAX_PUBLIC  1024   /* 8192-bit MODP would fit; iked's largest is 512 */
#define DH_MAX_SECRET  512

struct dh;

bool dh_group_supported(int group);
/* Wire length of a public value (the KE payload body) and of the secret. */
size_t dh_public_len(int group);
size_t dh_secret_len(int group);
const char *dh_group_name(int group);     /* "MODP_2048", "ECP_256", ... */

/* A fresh key pair with a random private key; NULL if the group is unknown. */
struct dh *dh_new(int group);
/* Replace the private key (known-answer tests); the public value follows. */
int dh_set_private(struct dh *d, const uint8_t *priv, size_t len);
int dh_group(const struct dh *d);
/* Our public value, dh_public_len bytes. */
const uint8_t *dh_public(const struct dh *d);
/* The shared secret from the peer's public value: returns 0 and fills out
 * (dh_secret_len bytes), or -1 when the peer's value is invalid. */
int dh_shared(struct dh *d, const uint8_t *peer, size_t len, uint8_t *out);
void dh_free(struct dh *d);

#endif
