/*
 * common/ring — an AT-TLS key ring into GnuTLS certificate credentials, as
 * the shim uses it and as `attls policy check` tests it: a PEM bundle or a
 * PKCS#12 file (password from KeyringPw or a stash file), every CA
 * certificate a trust anchor, the key chosen by CertificateLabel with its
 * chain. How the files are read is the caller's: the shim reads through the
 * copies it keeps across privilege drops (preload/rings), the policy check
 * reads them directly (ring_read_file).
 */
#ifndef ATTLS_COMMON_RING_H
#define ATTLS_COMMON_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include <gnutls/gnutls.h>

/* Reads path whole into out (gnutls_malloc'ed, NUL-terminated, the NUL not
 * counted) and its status into st. 0, or -1 with err naming path. */
typedef int ring_reader(void *arg, const char *path, gnutls_datum_t *out, struct stat *st,
			char *err, size_t errlen);

/* What an endpoint asks of its key ring. */
struct ring_want {
	const char *path;             /* Keyring */
	const char *pw, *stash;       /* KeyringPw, KeyringStashFile (PKCS#12) */
	const char *label;            /* CertificateLabel, or NULL: the first key */
	bool need_key;                /* it must prove who it is (a server) */
	bool need_cas;                /* it verifies its peer */
};

struct ring_info {
	bool has_key;                 /* a key with its certificate is in cred */
	unsigned ncerts, ncas;
	char subject_cn[256];         /* of the chosen key's certificate */
	/* Any user on the host may read a private key (the ring holds one and is
	 * world-readable) or the password to one (the stash file). */
	bool key_exposed, stash_exposed;
};

/* Loads w->path into cred through rd. Returns 0, or -1 with err saying what
 * is wrong and naming the file. info is filled as far as the load got. */
int ring_load(gnutls_certificate_credentials_t cred, const struct ring_want *w,
	      ring_reader *rd, void *rd_arg, struct ring_info *info, char *err, size_t errlen);

/* A ring_reader that reads the file itself (common/x509's bounds). */
int ring_read_file(void *arg, const char *path, gnutls_datum_t *out, struct stat *st,
		   char *err, size_t errlen);

#endif
