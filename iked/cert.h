/*
 * iked/cert — certificates and RSA signatures through GnuTLS: iked's keyring
 * (a PEM bundle: its private key, its certificate and chain, and trusted CA
 * certificates, in any order), signing and verifying IKEv1 RSA signatures
 * (PKCS#1 v1.5 over the raw HASH_I/HASH_R, no DigestInfo), verifying a
 * peer's certificate chain against the trusted CAs (optionally only the one
 * a CaLabel names), and checking that an identity belongs to a certificate.
 */
#ifndef ATTLS_IKED_CERT_H
#define ATTLS_IKED_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct keyring;
struct peer_cert;
struct peer_id;

struct keyring *keyring_load(const char *path, char *err, size_t errlen);
void keyring_free(struct keyring *k);
bool keyring_has_key(const struct keyring *k);
/* Our certificate, DER. */
int keyring_cert(const struct keyring *k, const uint8_t **der, size_t *len);
/* Our certificate's subject: DER and text. */
int keyring_subject(const struct keyring *k, const uint8_t **der, size_t *len);
const char *keyring_subject_text(const struct keyring *k);
/* Trusted CAs (for certificate request payloads): subject DER of the n-th. */
size_t keyring_ncas(const struct keyring *k);
int keyring_ca_subject(const struct keyring *k, size_t i, const uint8_t **der, size_t *len);
/* Whether the n-th trusted CA is one a CaLabel names (NULL: every CA is). */
bool keyring_ca_labelled(const struct keyring *k, size_t i, const char *label);
/* Sign hash (PKCS#1 v1.5, no DigestInfo). sig must hold 1024 bytes. */
int keyring_sign(const struct keyring *k, const uint8_t *hash, size_t hlen, uint8_t *sig,
		 size_t *siglen);

/* A peer certificate from a CERT payload (DER X.509). */
struct peer_cert *peer_cert_parse(const uint8_t *der, size_t len, char *err, size_t errlen);
void peer_cert_free(struct peer_cert *pc);
/* Chain to a trusted CA; ca_label (CN or subject of one CA) narrows the set. */
int peer_cert_verify(const struct keyring *k, const struct peer_cert *pc, const char *ca_label,
		     char *err, size_t errlen);
int peer_cert_verify_sig(const struct peer_cert *pc, const uint8_t *hash, size_t hlen,
			 const uint8_t *sig, size_t siglen);
/* Does the ID payload belong to this certificate (subject DN, or a
 * subjectAltName for FQDN, USER_FQDN and addresses, or the subject key
 * identifier for KEY_ID)? */
bool peer_cert_has_id(const struct peer_cert *pc, const struct peer_id *id);
const char *peer_cert_subject_text(const struct peer_cert *pc);

/* DER distinguished name to RFC 4514 text (CN first). */
int dn_to_text(const uint8_t *der, size_t len, char *buf, size_t blen);
/* Compare a policy DN (may hold '*' wildcards) with a DN in text form,
 * ignoring case and blanks around separators. */
bool dn_text_matches(const char *pattern, const char *dn);

#endif
