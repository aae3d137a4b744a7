/* common/ring — see ring.h.
 *
 * A PEM bundle holds private keys, their certificate chains and trusted CA
 * certificates in any order; every CA certificate is a trust anchor. A
 * PKCS#12 file holds the same, protected by KeyringPw or KeyringStashFile.
 * CertificateLabel picks the key whose certificate's subject CN (or PKCS#12
 * friendly name) equals it; without a label the first key with a certificate
 * is used. There is no count limit: the file's size (common/x509) bounds
 * what a ring can hold, and the system's trust store (some 140 CAs) is a
 * normal client key ring. */
#include "common/ring.h"

#include "common/x509.h"

#include <gnutls/pkcs12.h>
#include <gnutls/x509.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPECTED "expected a PEM bundle (certificates and private keys) or a PKCS#12 file"

struct bundle {
	gnutls_x509_crt_t *certs;
	size_t ncerts, capcerts;
	gnutls_x509_privkey_t *keys;
	size_t nkeys, capkeys;
	char p12_label[256];        /* friendly name of a PKCS#12 key, if any */
};

static void bundle_free(struct bundle *b)
{
	for (size_t i = 0; i < b->ncerts; i++)
		gnutls_x509_crt_deinit(b->certs[i]);
	for (size_t i = 0; i < b->nkeys; i++)
		gnutls_x509_privkey_deinit(b->keys[i]);
	free(b->certs);
	free(b->keys);
	memset(b, 0, sizeof *b);
}

/* Room for one more element in a growing array; false when out of memory. */
static bool grow(void **v, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return true;
	size_t ncap = *cap ? *cap * 2 : 16;
	void *nv = realloc(*v, ncap * size);
	if (!nv)
		return false;
	*v = nv;
	*cap = ncap;
	return true;
}

static bool add_cert(struct bundle *b, gnutls_x509_crt_t c)
{
	if (!grow((void **)&b->certs, b->ncerts, &b->capcerts, sizeof *b->certs))
		return false;
	b->certs[b->ncerts++] = c;
	return true;
}

static bool add_key(struct bundle *b, gnutls_x509_privkey_t k)
{
	if (!grow((void **)&b->keys, b->nkeys, &b->capkeys, sizeof *b->keys))
		return false;
	b->keys[b->nkeys++] = k;
	return true;
}

/* First line of a stash file: the PKCS#12 password. */
static int stash_password(const char *path, const gnutls_datum_t *d, char *pw, size_t len,
			  char *err, size_t errlen)
{
	size_t n = strcspn((const char *)d->data, "\r\n");
	if (n >= len) {
		snprintf(err, errlen, "stash file %s: password too long", path);
		return -1;
	}
	memcpy(pw, d->data, n);
	pw[n] = '\0';
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

static unsigned line_of(const char *start, const char *p)
{
	unsigned line = 1;
	for (; start < p; start++)
		line += *start == '\n';
	return line;
}

/* Why a PEM block failed, in the terms of the file rather than GnuTLS's. */
static const char *pem_failure(int rc)
{
	switch (rc) {
	case GNUTLS_E_BASE64_DECODING_ERROR:
	case GNUTLS_E_BASE64_UNEXPECTED_HEADER_ERROR:
		return "the text between its BEGIN and END lines is not valid base64";
	case GNUTLS_E_DECRYPTION_FAILED:
		return "the key is encrypted and KeyringPw (or KeyringStashFile) does not open it";
	default:
		return gnutls_strerror(rc);
	}
}

/* Every CERTIFICATE and PRIVATE KEY block; other blocks are skipped. */
static int load_pem(const gnutls_datum_t *file, const char *pw, struct bundle *b, char *err,
		    size_t errlen)
{
	const char *start = (const char *)file->data, *end = start + file->size;
	const char *p = start;
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
			snprintf(err, errlen, "line %u: PEM block %s has no END line", line_of(start, p),
				 name);
			return -1;
		}
		stop += strlen(endmark);
		gnutls_datum_t blk = { (unsigned char *)p, (unsigned)(stop - p) };
		int rc = 0;
		bool oom = false;
		if (strcmp(name, "CERTIFICATE") == 0 || strcmp(name, "X509 CERTIFICATE") == 0) {
			gnutls_x509_crt_t c;
			if ((rc = gnutls_x509_crt_init(&c)) >= 0 &&
			    (rc = gnutls_x509_crt_import(c, &blk, GNUTLS_X509_FMT_PEM)) >= 0)
				oom = !add_cert(b, c);
			if (rc < 0 || oom)
				gnutls_x509_crt_deinit(c);
		} else if (strstr(name, "PRIVATE KEY")) {
			gnutls_x509_privkey_t k;
			if ((rc = gnutls_x509_privkey_init(&k)) >= 0 &&
			    (rc = gnutls_x509_privkey_import2(k, &blk, GNUTLS_X509_FMT_PEM, pw, 0)) >= 0)
				oom = !add_key(b, k);
			if (rc < 0 || oom)
				gnutls_x509_privkey_deinit(k);
		}
		if (oom) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		if (rc < 0) {
			snprintf(err, errlen, "line %u: the %s block cannot be read: %s", line_of(start, p),
				 name, pem_failure(rc));
			return -1;
		}
		p = stop;
	}
	if (!b->ncerts && !b->nkeys) {
		snprintf(err, errlen, "its PEM blocks hold no certificate and no private key; "
			 EXPECTED);
		return -1;
	}
	return 0;
}

/* The friendly name of the first key bag, for CertificateLabel. */
static void p12_key_label(gnutls_pkcs12_t p12, const char *pw, struct bundle *b)
{
	for (int i = 0; !b->p12_label[0]; i++) {
		gnutls_pkcs12_bag_t bag;
		if (gnutls_pkcs12_bag_init(&bag) < 0)
			return;
		if (gnutls_pkcs12_get_bag(p12, i, bag) < 0) {
			gnutls_pkcs12_bag_deinit(bag);
			return;
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
}

static int load_p12(const gnutls_datum_t *file, const char *pw, struct bundle *b, char *err,
		    size_t errlen)
{
	gnutls_pkcs12_t p12;
	int rc = gnutls_pkcs12_init(&p12);
	if (rc < 0) {
		snprintf(err, errlen, "%s", gnutls_strerror(rc));
		return -1;
	}
	if (gnutls_pkcs12_import(p12, file, GNUTLS_X509_FMT_DER, 0) < 0) {
		gnutls_pkcs12_deinit(p12);
		snprintf(err, errlen, "it holds neither PEM blocks (-----BEGIN lines) nor PKCS#12 "
			 "data; " EXPECTED);
		return -1;
	}
	if ((rc = gnutls_pkcs12_verify_mac(p12, pw)) < 0) {
		snprintf(err, errlen, "PKCS#12 password is wrong (%s)", gnutls_strerror(rc));
		gnutls_pkcs12_deinit(p12);
		return -1;
	}
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t *chain = NULL, *extra = NULL;
	unsigned nchain = 0, nextra = 0;
	rc = gnutls_pkcs12_simple_parse(p12, pw, &key, &chain, &nchain, &extra, &nextra, NULL, 0);
	if (rc >= 0)
		p12_key_label(p12, pw, b);
	gnutls_pkcs12_deinit(p12);
	if (rc < 0) {
		snprintf(err, errlen, "cannot read PKCS#12: %s", gnutls_strerror(rc));
		return -1;
	}
	/* Ownership moves into the bundle; what does not fit (out of memory) is freed. */
	bool oom = false;
	if (key && !(oom = !add_key(b, key)))
		key = NULL;
	for (unsigned i = 0; i < nchain; i++)
		if (oom || (oom = !add_cert(b, chain[i])))
			gnutls_x509_crt_deinit(chain[i]);
	for (unsigned i = 0; i < nextra; i++)
		if (oom || (oom = !add_cert(b, extra[i])))
			gnutls_x509_crt_deinit(extra[i]);
	if (key)
		gnutls_x509_privkey_deinit(key);
	gnutls_free(chain);
	gnutls_free(extra);
	if (oom) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int load_bundle(const gnutls_datum_t *file, const char *pw, struct bundle *b, char *err,
		       size_t errlen)
{
	if (file->size == 0) {
		snprintf(err, errlen, "it is empty; " EXPECTED);
		return -1;
	}
	if (memmem(file->data, file->size, "-----BEGIN ", 11))
		return load_pem(file, pw, b, err, errlen);
	return load_p12(file, pw ? pw : "", b, err, errlen);
}

static bool cert_cn_is(gnutls_x509_crt_t c, const char *label)
{
	char cn[256];
	size_t n = sizeof cn;
	if (gnutls_x509_crt_get_dn_by_oid(c, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &n) < 0)
		return false;
	return strcmp(cn, label) == 0;
}

/* Trust anchors: every CA certificate in the ring. */
static int set_anchors(gnutls_certificate_credentials_t cred, const struct bundle *b,
		       struct ring_info *info, char *err, size_t errlen)
{
	gnutls_x509_crt_t *cas = calloc(b->ncerts ? b->ncerts : 1, sizeof *cas);
	if (!cas) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	size_t ncas = 0;
	for (size_t i = 0; i < b->ncerts; i++)
		if (x509_is_ca(b->certs[i]))
			cas[ncas++] = b->certs[i];
	int rc = ncas ? gnutls_certificate_set_x509_trust(cred, cas, (int)ncas) : 0;
	free(cas);
	if (rc < 0) {
		snprintf(err, errlen, "its CA certificates cannot be used: %s", gnutls_strerror(rc));
		return -1;
	}
	info->ncas = (unsigned)ncas;
	return 0;
}

/* The key (by label, else the first that has its certificate) with its chain:
 * the leaf, then issuers found among the other certificates. 1 when there is
 * no such key, 0 when it is in cred, -1 on error. */
static int set_key(gnutls_certificate_credentials_t cred, const struct bundle *b,
		   const char *label, struct ring_info *info, char *err, size_t errlen)
{
	size_t key = SIZE_MAX, leaf = SIZE_MAX;
	for (size_t k = 0; k < b->nkeys && key == SIZE_MAX; k++)
		for (size_t i = 0; i < b->ncerts; i++) {
			if (!x509_cert_matches_key(b->certs[i], b->keys[k]))
				continue;
			if (label && !cert_cn_is(b->certs[i], label) &&
			    !(b->p12_label[0] && strcmp(b->p12_label, label) == 0))
				continue;
			key = k;
			leaf = i;
			break;
		}
	if (key == SIZE_MAX)
		return 1;
	gnutls_x509_crt_t *chain = calloc(b->ncerts, sizeof *chain);
	if (!chain) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	size_t nchain = 0;
	chain[nchain++] = b->certs[leaf];
	for (gnutls_x509_crt_t cur = b->certs[leaf]; nchain < b->ncerts;) {
		if (gnutls_x509_crt_check_issuer(cur, cur))
			break;   /* self-signed: the end */
		gnutls_x509_crt_t issuer = NULL;
		for (size_t i = 0; i < b->ncerts && !issuer; i++)
			if (b->certs[i] != cur && gnutls_x509_crt_check_issuer(cur, b->certs[i]))
				issuer = b->certs[i];
		if (!issuer)
			break;
		chain[nchain++] = issuer;
		cur = issuer;
	}
	int rc = gnutls_certificate_set_x509_key(cred, chain, (int)nchain, b->keys[key]);
	free(chain);
	if (rc < 0) {
		snprintf(err, errlen, "its key cannot be used: %s", gnutls_strerror(rc));
		return -1;
	}
	info->has_key = true;
	char cn[256] = "";
	size_t n = sizeof cn;
	if (gnutls_x509_crt_get_dn_by_oid(b->certs[leaf], GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn,
					  &n) >= 0)
		snprintf(info->subject_cn, sizeof info->subject_cn, "%s", cn);
	return 0;
}

/* The bundle into cred, as w asks; err without the file's name. */
static int use_bundle(gnutls_certificate_credentials_t cred, const struct ring_want *w,
		      const struct bundle *b, struct ring_info *info, char *err, size_t errlen)
{
	if (set_anchors(cred, b, info, err, errlen))
		return -1;
	int rc = set_key(cred, b, w->label, info, err, errlen);
	if (rc < 0)
		return -1;
	if (rc > 0 && w->label) {
		snprintf(err, errlen, "it has no key whose certificate is labelled '%s'", w->label);
		return -1;
	}
	if (rc > 0 && w->need_key) {
		snprintf(err, errlen, "it has no private key with its certificate, which a server "
			 "needs");
		return -1;
	}
	/* Verifying a peer needs anchors; a server that does not ask for client
	 * certificates needs none. */
	if (w->need_cas && !info->ncas) {
		snprintf(err, errlen, "it has no CA certificate to verify peers with");
		return -1;
	}
	return 0;
}

static bool world_readable(const struct stat *st)
{
	return (st->st_mode & S_IROTH) != 0;
}

static int stash_read(const struct ring_want *w, ring_reader *rd, void *rd_arg, char *pw,
		      size_t pwlen, struct ring_info *info, char *err, size_t errlen)
{
	gnutls_datum_t d = { NULL, 0 };
	struct stat st;
	if (rd(rd_arg, w->stash, &d, &st, err, errlen))
		return -1;
	int rc = stash_password(w->stash, &d, pw, pwlen, err, errlen);
	info->stash_exposed = world_readable(&st);
	gnutls_memset(d.data, 0, d.size);
	gnutls_free(d.data);
	return rc;
}

int ring_load(gnutls_certificate_credentials_t cred, const struct ring_want *w,
	      ring_reader *rd, void *rd_arg, struct ring_info *info, char *err, size_t errlen)
{
	memset(info, 0, sizeof *info);
	if (!w->path) {
		snprintf(err, errlen, "the environment action has no Keyring");
		return -1;
	}
	char stashpw[256];
	const char *pw = w->pw;
	if (!pw && w->stash) {
		if (stash_read(w, rd, rd_arg, stashpw, sizeof stashpw, info, err, errlen))
			return -1;
		pw = stashpw;
	}
	gnutls_datum_t file = { NULL, 0 };
	struct stat st;
	int rc = rd(rd_arg, w->path, &file, &st, err, errlen);
	struct bundle b = { .ncerts = 0 };
	char why[300];
	if (rc == 0) {
		rc = load_bundle(&file, pw, &b, why, sizeof why);
		gnutls_memset(file.data, 0, file.size);
		gnutls_free(file.data);
		info->ncerts = (unsigned)b.ncerts;
		info->key_exposed = b.nkeys && world_readable(&st);
		if (rc == 0)
			rc = use_bundle(cred, w, &b, info, why, sizeof why);
		if (rc)
			snprintf(err, errlen, "keyring %s: %s", w->path, why);
	}
	bundle_free(&b);
	gnutls_memset(stashpw, 0, sizeof stashpw);
	return rc;
}

int ring_read_file(void *arg, const char *path, gnutls_datum_t *out, struct stat *st,
		   char *err, size_t errlen)
{
	(void)arg;
	return x509_read_file_st(path, out, st, err, errlen);
}
