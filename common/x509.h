/*
 * common/x509 — what iked's and the shim's key rings both need from a
 * certificate file: reading it with bounds, and two questions about X.509
 * certificates (is it a CA; does it belong to this private key).
 */
#ifndef ATTLS_COMMON_X509_H
#define ATTLS_COMMON_X509_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

/* Largest key ring file read: far above any real bundle, small enough that a
 * wrong path (a device, a huge file) fails at once. */
#define X509_FILE_MAX_BYTES (4 << 20)

/* A regular file of at most X509_FILE_MAX_BYTES into out (gnutls_malloc'ed,
 * NUL-terminated, the NUL not counted). 0, or -1 with err naming path and
 * errno: open()'s, or EINVAL for anything but such a file. */
int x509_read_file(const char *path, gnutls_datum_t *out, char *err, size_t errlen);
/* The same, with the status of the file read (fstat of the descriptor read,
 * so it describes exactly those bytes' file). */
int x509_read_file_st(const char *path, gnutls_datum_t *out, struct stat *st, char *err,
		      size_t errlen);
/* Basic constraints say CA. */
bool x509_is_ca(gnutls_x509_crt_t crt);
/* The certificate's public key is the private key's. */
bool x509_cert_matches_key(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key);

#endif
