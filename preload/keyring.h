/*
 * preload/keyring — loads a policy Keyring (PEM bundle or PKCS#12) into GnuTLS
 * certificate credentials: trust anchors, and the key chosen by
 * CertificateLabel with its chain.
 */
#ifndef ATTLS_PRELOAD_KEYRING_H
#define ATTLS_PRELOAD_KEYRING_H

#include <gnutls/gnutls.h>
#include <stdbool.h>

struct keyring_info {
	bool has_key;
	unsigned ncas;
	char subject_cn[256];        /* of the chosen certificate */
};

/* Loads path into cred. pw/stash: PKCS#12 password or the file holding it.
 * label: CertificateLabel or NULL. need_key: fail when no key is found.
 * Returns 0, or -1 with err set. */
int keyring_load(gnutls_certificate_credentials_t cred, const char *path, const char *pw,
		 const char *stash, const char *label, bool need_key, struct keyring_info *info,
		 char *err, size_t errlen);

#endif
