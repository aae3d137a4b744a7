/* preload/keyring — a policy Keyring file into GnuTLS credentials.
 *
 * A PEM bundle holds private keys, their certificate chains and trusted CA
 * certificates in any order; every CA certificate is a trust anchor. A
 * PKCS#12 file holds the same, protected by KeyringPw or KeyringStashFile.
 * CertificateLabel picks the key whose certificate's subject CN (or PKCS#12
 * friendly name) equals it; without a label the first key with a certificate
 * is used. */
#include "preload/keyring.h"

#include "common/x509.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/pkcs12.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_CERTS 64
#define MAX_KEYS 8

struct bundle {
	gnutls_x509_crt_t certs[MAX_CERTS];
	size_t ncerts;
	gnutls_x509_privkey_t keys[MAX_KEYS];
	size_t nkeys;
	char p12_label[256];        /* friendly name of a PKCS#12 key, if any */
};

static void bundle_free(struct bundle *b)
{
	for (size_t i = 0; i < b->ncerts; i++)
		gnutls_x509_crt_deinit(b->certs[i]);
	for (size_t i = 0; i < b->nkeys; i++)
		gnutls_x509_privkey_deinit(b->keys[i]);
	memset(b, 0, sizeof *b);
}

/* First line of a stash file: the PKCS#12 password. */
static int read_stash(const char *path, char *pw, size_t len, char *err, size_t errlen)
{
	gnutls_datum_t d;
	if (x509_read_file(path, &d, err, errlen))
		return -1;
	size_t n = strcspn((char *)d.data, "\r\n");
	if (n >= len) {
		gnutls_free(d.data);
		snprintf(err, errlen, "stash file %s: password too long", path);
		return -1;
	}
	memcpy(pw, d.data, n);
	pw[n] = '\0';
	gnutls_memset(d.data, 0, d.size);
	gnutls_free(d.data);
	return 0;
}

static const char *find(const char *hay, const char *end, const char *needle)
{
	size_t n = strlen(needle);
	for (const char *p = hay; p + n <= end; p++)
		if (memcmp(p, needle, n) == 0)
			return p;
	return NULL;
}

static int load_pem(const gnutls_datum_t *file, const char *pw, struct bundle *b, char *err,
		    size_t errlen)
{
	const char *p = (const char *)file->data, *end = p + file->size;
	while ((p = find(p, end, "-----BEGIN "))) {
		const char *label = p + 11;
		const char *dash = find(label, end, "-----");
		if (!dash)
			break;
		char name[64];
		size_t nl = (size_t)(dash - label);
		if (nl >= sizeof name)
			nl = sizeof name - 1;
		memcpy(name, label, nl);
		name[nl] = '\0';
		char endmark[96];
		snprintf(endmark, sizeof endmark, "-----END %s-----", name);
		const char *stop = find(dash, end, endmark);
		if (!stop) {
			snprintf(err, errlen, "unterminated PEM block %s", name);
			return -1;
		}
		stop += strlen(endmark);
		gnutls_datum_t blk = { (unsigned char *)p, (unsigned)(stop - p) };
		int rc = 0;
		if (strcmp(name, "CERTIFICATE") == 0 || strcmp(name, "X509 CERTIFICATE") == 0) {
			if (b->ncerts == MAX_CERTS) {
				snprintf(err, errlen, "more than %d certificates", MAX_CERTS);
				return -1;
			}
			gnutls_x509_crt_t c;
			gnutls_x509_crt_init(&c);
			rc = gnutls_x509_crt_import(c, &blk, GNUTLS_X509_FMT_PEM);
			if (rc < 0)
				gnutls_x509_crt_deinit(c);
			else
				b->certs[b->ncerts++] = c;
		} else if (strstr(name, "PRIVATE KEY")) {
			if (b->nkeys == MAX_KEYS) {
				snprintf(err, errlen, "more than %d private keys", MAX_KEYS);
				return -1;
			}
			gnutls_x509_privkey_t k;
			gnutls_x509_privkey_init(&k);
			rc = gnutls_x509_privkey_import2(k, &blk, GNUTLS_X509_FMT_PEM, pw, 0);
			if (rc < 0)
				gnutls_x509_privkey_deinit(k);
			else
				b->keys[b->nkeys++] = k;
		}
		if (rc < 0) {
			snprintf(err, errlen, "bad %s block: %s", name, gnutls_strerror(rc));
			return -1;
		}
		p = stop;
	}
	return 0;
}

static int load_p12(const gnutls_datum_t *file, const char *pw, struct bundle *b, char *err,
		    size_t errlen)
{
	gnutls_pkcs12_t p12;
	gnutls_pkcs12_init(&p12);
	int rc = gnutls_pkcs12_import(p12, file, GNUTLS_X509_FMT_DER, 0);
	if (rc < 0)
		rc = gnutls_pkcs12_import(p12, file, GNUTLS_X509_FMT_PEM, 0);
	if (rc >= 0 && (rc = gnutls_pkcs12_verify_mac(p12, pw)) < 0) {
		snprintf(err, errlen, "PKCS#12 password is wrong (%s)", gnutls_strerror(rc));
		gnutls_pkcs12_deinit(p12);
		return -1;
	}
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t *chain = NULL, *extra = NULL;
	unsigned nchain = 0, nextra = 0;
	if (rc >= 0)
		rc = gnutls_pkcs12_simple_parse(p12, pw, &key, &chain, &nchain, &extra, &nextra, NULL, 0);
	/* The friendly name of the key bag, for CertificateLabel. */
	for (int i = 0; rc >= 0; i++) {
		gnutls_pkcs12_bag_t bag;
		gnutls_pkcs12_bag_init(&bag);
		if (gnutls_pkcs12_get_bag(p12, i, bag) < 0) {
			gnutls_pkcs12_bag_deinit(bag);
			break;
		}
		if (gnutls_pkcs12_bag_get_type(bag, 0) == GNUTLS_BAG_ENCRYPTED)
			gnutls_pkcs12_bag_decrypt(bag, pw);
		int n = gnutls_pkcs12_bag_get_count(bag);
		for (int k = 0; k < n && !b->p12_label[0]; k++) {
			int t = gnutls_pkcs12_bag_get_type(bag, k);
			char *fn = NULL;
			if ((t == GNUTLS_BAG_PKCS8_KEY || t == GNUTLS_BAG_PKCS8_ENCRYPTED_KEY) &&
			    gnutls_pkcs12_bag_get_friendly_name(bag, k, &fn) >= 0 && fn)
				snprintf(b->p12_label, sizeof b->p12_label, "%s", fn);
		}
		gnutls_pkcs12_bag_deinit(bag);
	}
	gnutls_pkcs12_deinit(p12);
	if (rc < 0) {
		snprintf(err, errlen, "cannot read PKCS#12: %s", gnutls_strerror(rc));
		return -1;
	}
	if (key)
		b->keys[b->nkeys++] = key;
	for (unsigned i = 0; i < nchain; i++)
		if (b->ncerts < MAX_CERTS)
			b->certs[b->ncerts++] = chain[i];
		else
			gnutls_x509_crt_deinit(chain[i]);
	for (unsigned i = 0; i < nextra; i++)
		if (b->ncerts < MAX_CERTS)
			b->certs[b->ncerts++] = extra[i];
		else
			gnutls_x509_crt_deinit(extra[i]);
	gnutls_free(chain);
	gnutls_free(extra);
	return 0;
}

static bool cert_cn_is(gnutls_x509_crt_t c, const char *label)
{
	char cn[256];
	size_t n = sizeof cn;
	if (gnutls_x509_crt_get_dn_by_oid(c, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &n) < 0)
		return false;
	return strcmp(cn, label) == 0;
}

int keyring_load(gnutls_certificate_credentials_t cred, const char *path, const char *pw,
		 const char *stash, const char *label, bool need_key, struct keyring_info *info,
		 char *err, size_t errlen)
{
	memset(info, 0, sizeof *info);
	if (!path) {
		snprintf(err, errlen, "the environment action has no Keyring");
		return -1;
	}
	char stashpw[256];
	if (!pw && stash) {
		if (read_stash(stash, stashpw, sizeof stashpw, err, errlen))
			return -1;
		pw = stashpw;
	}
	gnutls_datum_t file;
	if (x509_read_file(path, &file, err, errlen))
		return -1;
	struct bundle b = { .ncerts = 0 };
	bool pem = file.size && strstr((const char *)file.data, "-----BEGIN ") != NULL;
	int rc = pem ? load_pem(&file, pw, &b, err, errlen) : load_p12(&file, pw ? pw : "", &b, err, errlen);
	gnutls_memset(file.data, 0, file.size);
	gnutls_free(file.data);
	if (rc) {
		char tmp[256];
		snprintf(tmp, sizeof tmp, "%s", err);
		snprintf(err, errlen, "keyring %s: %s", path, tmp);
		bundle_free(&b);
		return -1;
	}

	/* Trust anchors: every CA certificate in the file. */
	gnutls_x509_crt_t cas[MAX_CERTS];
	size_t ncas = 0;
	for (size_t i = 0; i < b.ncerts; i++)
		if (x509_is_ca(b.certs[i]))
			cas[ncas++] = b.certs[i];
	if (ncas && (rc = gnutls_certificate_set_x509_trust(cred, cas, (int)ncas)) < 0) {
		snprintf(err, errlen, "keyring %s: cannot use its CA certificates: %s", path,
			 gnutls_strerror(rc));
		bundle_free(&b);
		return -1;
	}
	info->ncas = (unsigned)ncas;

	/* The key: by label, else the first that has its certificate. */
	int key = -1, leaf = -1;
	for (size_t k = 0; k < b.nkeys && key < 0; k++)
		for (size_t i = 0; i < b.ncerts; i++) {
			if (!x509_cert_matches_key(b.certs[i], b.keys[k]))
				continue;
			if (label && !cert_cn_is(b.certs[i], label) &&
			    !(b.p12_label[0] && strcmp(b.p12_label, label) == 0))
				continue;
			key = (int)k;
			leaf = (int)i;
			break;
		}
	if (key < 0) {
		if (label)
			snprintf(err, errlen, "keyring %s has no key whose certificate is labelled '%s'",
				 path, label);
		else if (need_key)
			snprintf(err, errlen, "keyring %s has no private key with its certificate", path);
		bundle_free(&b);
		return (label || need_key) ? -1 : 0;
	}

	/* The chain: the leaf, then issuers found among the other certificates. */
	gnutls_x509_crt_t chain[MAX_CERTS];
	size_t nchain = 0;
	chain[nchain++] = b.certs[leaf];
	for (gnutls_x509_crt_t cur = b.certs[leaf]; nchain < MAX_CERTS;) {
		if (gnutls_x509_crt_check_issuer(cur, cur))
			break;   /* self-signed: the end */
		gnutls_x509_crt_t issuer = NULL;
		for (size_t i = 0; i < b.ncerts && !issuer; i++)
			if (b.certs[i] != cur && gnutls_x509_crt_check_issuer(cur, b.certs[i]))
				issuer = b.certs[i];
		if (!issuer)
			break;
		chain[nchain++] = issuer;
		cur = issuer;
	}
	rc = gnutls_certificate_set_x509_key(cred, chain, (int)nchain, b.keys[key]);
	if (rc < 0) {
		snprintf(err, errlen, "keyring %s: cannot use its key: %s", path, gnutls_strerror(rc));
		bundle_free(&b);
		return -1;
	}
	info->has_key = true;
	char cn[256] = "";
	size_t n = sizeof cn;
	if (gnutls_x509_crt_get_dn_by_oid(b.certs[leaf], GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &n) >= 0)
		snprintf(info->subject_cn, sizeof info->subject_cn, "%s", cn);
	bundle_free(&b);
	return 0;
}
