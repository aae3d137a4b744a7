/* iked/cert — keyring, RSA signatures and peer certificates (GnuTLS). */
#include "iked/cert.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "common/strutil.h"
#include "common/x509.h"
#include "iked/iked.h"
#include "iked/isakmp.h"

/* No count limit: a key ring may be a system trust store of a few hundred
 * CAs; common/x509's bound on the file's size bounds it. */
struct keyring {
	gnutls_x509_privkey_t xkey;
	gnutls_privkey_t key;
	gnutls_x509_crt_t *certs;          /* gnutls_x509_crt_list_import2's */
	unsigned ncerts;
	int mine;                          /* index of our certificate, -1 = none */
	gnutls_x509_crt_t *cas;            /* ncerts entries, ncas used */
	unsigned ncas;
	gnutls_datum_t cert_der, subject_der;
	gnutls_datum_t *ca_subject;        /* like cas */
	char subject[512];
};

struct peer_cert {
	gnutls_x509_crt_t crt;
	char subject[512];
};

void keyring_free(struct keyring *k)
{
	if (!k)
		return;
	for (unsigned i = 0; i < k->ncerts; i++)
		gnutls_x509_crt_deinit(k->certs[i]);
	gnutls_free(k->certs);
	for (unsigned i = 0; i < k->ncas; i++)
		gnutls_free(k->ca_subject[i].data);
	free(k->cas);
	free(k->ca_subject);
	gnutls_free(k->cert_der.data);
	gnutls_free(k->subject_der.data);
	if (k->key)
		gnutls_privkey_deinit(k->key);
	else if (k->xkey)
		gnutls_x509_privkey_deinit(k->xkey);
	free(k);
}

static int keyring_load_key(struct keyring *k, const gnutls_datum_t *d, char *err, size_t errlen)
{
	int rc = gnutls_x509_privkey_init(&k->xkey);
	if (rc >= 0)
		rc = gnutls_x509_privkey_import2(k->xkey, d, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (rc < 0) {
		snprintf(err, errlen, "private key: %s", gnutls_strerror(rc));
		return -1;
	}
	if (gnutls_x509_privkey_get_pk_algorithm(k->xkey) != GNUTLS_PK_RSA) {
		snprintf(err, errlen, "the private key is not an RSA key");
		return -1;
	}
	rc = gnutls_privkey_init(&k->key);
	if (rc >= 0)
		rc = gnutls_privkey_import_x509(k->key, k->xkey, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE);
	if (rc < 0) {
		snprintf(err, errlen, "private key: %s", gnutls_strerror(rc));
		return -1;
	}
	return 0;
}

static int keyring_classify(struct keyring *k, char *err, size_t errlen)
{
	k->mine = -1;
	k->cas = calloc(k->ncerts ? k->ncerts : 1, sizeof *k->cas);
	k->ca_subject = calloc(k->ncerts ? k->ncerts : 1, sizeof *k->ca_subject);
	if (!k->cas || !k->ca_subject) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (unsigned i = 0; i < k->ncerts; i++) {
		if (k->mine < 0 && x509_cert_matches_key(k->certs[i], k->xkey)) {
			k->mine = (int)i;
			continue;
		}
		if (x509_is_ca(k->certs[i])) {
			k->cas[k->ncas] = k->certs[i];
			if (gnutls_x509_crt_get_raw_dn(k->certs[i], &k->ca_subject[k->ncas]) < 0) {
				snprintf(err, errlen, "CA certificate without a subject");
				return -1;
			}
			k->ncas++;
		}
	}
	if (k->mine < 0) {
		snprintf(err, errlen, "no certificate for the private key");
		return -1;
	}
	gnutls_x509_crt_t me = k->certs[k->mine];
	int rc = gnutls_x509_crt_export2(me, GNUTLS_X509_FMT_DER, &k->cert_der);
	if (rc >= 0)
		rc = gnutls_x509_crt_get_raw_dn(me, &k->subject_der);
	if (rc < 0) {
		snprintf(err, errlen, "our certificate: %s", gnutls_strerror(rc));
		return -1;
	}
	if (dn_to_text(k->subject_der.data, k->subject_der.size, k->subject, sizeof k->subject))
		str_copy(k->subject, "?", sizeof k->subject);
	return 0;
}

struct keyring *keyring_load(const char *path, char *err, size_t errlen)
{
	struct keyring *k = calloc(1, sizeof *k);
	gnutls_datum_t d = { NULL, 0 };
	if (!k) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (x509_read_file(path, &d, err, errlen))
		goto fail;
	int rc = gnutls_x509_crt_list_import2(&k->certs, &k->ncerts, &d, GNUTLS_X509_FMT_PEM, 0);
	if (rc < 0) {
		k->certs = NULL;
		k->ncerts = 0;
		snprintf(err, errlen, "%s: certificates: %s", path, gnutls_strerror(rc));
		goto fail;
	}
	if (keyring_load_key(k, &d, err, errlen) || keyring_classify(k, err, errlen))
		goto fail;
	gnutls_free(d.data);
	return k;
fail:
	gnutls_free(d.data);
	keyring_free(k);
	return NULL;
}

bool keyring_has_key(const struct keyring *k)
{
	return k && k->key && k->mine >= 0;
}

int keyring_cert(const struct keyring *k, const uint8_t **der, size_t *len)
{
	if (!keyring_has_key(k))
		return -1;
	*der = k->cert_der.data;
	*len = k->cert_der.size;
	return 0;
}

int keyring_subject(const struct keyring *k, const uint8_t **der, size_t *len)
{
	if (!keyring_has_key(k))
		return -1;
	*der = k->subject_der.data;
	*len = k->subject_der.size;
	return 0;
}

const char *keyring_subject_text(const struct keyring *k)
{
	return k ? k->subject : "";
}

size_t keyring_ncas(const struct keyring *k)
{
	return k ? k->ncas : 0;
}

int keyring_ca_subject(const struct keyring *k, size_t i, const uint8_t **der, size_t *len)
{
	if (!k || i >= k->ncas)
		return -1;
	*der = k->ca_subject[i].data;
	*len = k->ca_subject[i].size;
	return 0;
}

int keyring_sign(const struct keyring *k, const uint8_t *hash, size_t hlen, uint8_t *sig,
		 size_t *siglen)
{
	if (!keyring_has_key(k))
		return -1;
	gnutls_datum_t h = { (unsigned char *)hash, (unsigned)hlen }, s = { NULL, 0 };
	/* TLS1_RSA: PKCS#1 v1.5 type 1 padding around the raw hash, which is
	 * what IKEv1 RSA signature authentication signs. */
	int rc = gnutls_privkey_sign_hash(k->key, GNUTLS_DIG_UNKNOWN,
					  GNUTLS_PRIVKEY_SIGN_FLAG_TLS1_RSA, &h, &s);
	if (rc < 0)
		return -1;
	if (s.size > 1024) {
		gnutls_free(s.data);
		return -1;
	}
	memcpy(sig, s.data, s.size);
	*siglen = s.size;
	gnutls_free(s.data);
	return 0;
}

/* ---- peer certificates ---------------------------------------------------- */

struct peer_cert *peer_cert_parse(const uint8_t *der, size_t len, char *err, size_t errlen)
{
	struct peer_cert *pc = calloc(1, sizeof *pc);
	gnutls_datum_t d = { (unsigned char *)der, (unsigned)len }, dn = { NULL, 0 };
	if (!pc) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	int rc = gnutls_x509_crt_init(&pc->crt);
	if (rc >= 0)
		rc = gnutls_x509_crt_import(pc->crt, &d, GNUTLS_X509_FMT_DER);
	if (rc >= 0)
		rc = gnutls_x509_crt_get_raw_dn(pc->crt, &dn);
	if (rc < 0) {
		snprintf(err, errlen, "certificate: %s", gnutls_strerror(rc));
		peer_cert_free(pc);
		return NULL;
	}
	if (dn_to_text(dn.data, dn.size, pc->subject, sizeof pc->subject))
		str_copy(pc->subject, "?", sizeof pc->subject);
	gnutls_free(dn.data);
	return pc;
}

void peer_cert_free(struct peer_cert *pc)
{
	if (!pc)
		return;
	if (pc->crt)
		gnutls_x509_crt_deinit(pc->crt);
	free(pc);
}

const char *peer_cert_subject_text(const struct peer_cert *pc)
{
	return pc->subject;
}

/* A CaLabel names a CA by its subject CN or its whole subject. */
static bool ca_has_label(gnutls_x509_crt_t ca, const char *label)
{
	char cn[256];
	size_t cl = sizeof cn;
	if (gnutls_x509_crt_get_dn_by_oid(ca, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &cl) >= 0 &&
	    strcasecmp(cn, label) == 0)
		return true;
	gnutls_datum_t dn = { NULL, 0 };
	char text[512];
	bool match = false;
	if (gnutls_x509_crt_get_raw_dn(ca, &dn) >= 0 &&
	    dn_to_text(dn.data, dn.size, text, sizeof text) == 0)
		match = dn_text_matches(label, text);
	gnutls_free(dn.data);
	return match;
}

bool keyring_ca_labelled(const struct keyring *k, size_t i, const char *label)
{
	return k && i < k->ncas && (!label || ca_has_label(k->cas[i], label));
}

int peer_cert_verify(const struct keyring *k, const struct peer_cert *pc, const char *ca_label,
		     char *err, size_t errlen)
{
	gnutls_x509_crt_t *cas = k && k->ncas ? calloc(k->ncas, sizeof *cas) : NULL;
	unsigned n = 0;
	for (unsigned i = 0; cas && i < k->ncas; i++)
		if (!ca_label || ca_has_label(k->cas[i], ca_label))
			cas[n++] = k->cas[i];
	if (n == 0) {
		free(cas);
		snprintf(err, errlen, "no trusted CA%s%s in the keyring", ca_label ? " labelled " : "",
			 ca_label ? ca_label : "");
		return -1;
	}
	unsigned int status = 0;
	gnutls_x509_crt_t chain[1] = { pc->crt };
	int rc = gnutls_x509_crt_list_verify(chain, 1, cas, n, NULL, 0, 0, &status);
	free(cas);
	if (rc < 0 || status) {
		gnutls_datum_t out = { NULL, 0 };
		if (rc >= 0 && gnutls_certificate_verification_status_print(
				       status, GNUTLS_CRT_X509, &out, 0) >= 0) {
			snprintf(err, errlen, "%s", out.data);
			gnutls_free(out.data);
		} else {
			snprintf(err, errlen, "%s", rc < 0 ? gnutls_strerror(rc) : "not trusted");
		}
		return -1;
	}
	return 0;
}

int peer_cert_verify_sig(const struct peer_cert *pc, const uint8_t *hash, size_t hlen,
			 const uint8_t *sig, size_t siglen)
{
	gnutls_pubkey_t pub;
	if (gnutls_pubkey_init(&pub) < 0)
		return -1;
	gnutls_datum_t h = { (unsigned char *)hash, (unsigned)hlen };
	gnutls_datum_t s = { (unsigned char *)sig, (unsigned)siglen };
	int rc = gnutls_pubkey_import_x509(pub, pc->crt, 0);
	if (rc >= 0)
		rc = gnutls_pubkey_verify_hash2(pub, GNUTLS_SIGN_UNKNOWN, GNUTLS_VERIFY_USE_TLS1_RSA,
						&h, &s);
	gnutls_pubkey_deinit(pub);
	return rc < 0 ? -1 : 0;
}

static bool san_has(gnutls_x509_crt_t crt, unsigned want, const uint8_t *v, size_t len,
		    bool nocase)
{
	for (unsigned i = 0; i < 64; i++) {
		char buf[512];
		size_t bl = sizeof buf;
		unsigned crit = 0;
		int type = gnutls_x509_crt_get_subject_alt_name(crt, i, buf, &bl, &crit);
		if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (type < 0 || (unsigned)type != want || bl != len)
			continue;
		if (nocase ? strncasecmp(buf, (const char *)v, len) == 0 : memcmp(buf, v, len) == 0)
			return true;
	}
	return false;
}

bool peer_cert_has_id(const struct peer_cert *pc, const struct peer_id *id)
{
	switch (id->type) {
	case IPSEC_ID_DER_ASN1_DN: {
		gnutls_datum_t dn = { NULL, 0 };
		bool same = false;
		if (gnutls_x509_crt_get_raw_dn(pc->crt, &dn) >= 0)
			same = dn.size == id->len && memcmp(dn.data, id->data, id->len) == 0;
		gnutls_free(dn.data);
		char text[512];
		if (!same && dn_to_text(id->data, id->len, text, sizeof text) == 0)
			same = dn_text_matches(pc->subject, text);
		return same;
	}
	case IPSEC_ID_FQDN:
		return san_has(pc->crt, GNUTLS_SAN_DNSNAME, id->data, id->len, true);
	case IPSEC_ID_USER_FQDN:
		return san_has(pc->crt, GNUTLS_SAN_RFC822NAME, id->data, id->len, true);
	case IPSEC_ID_IPV4_ADDR:
	case IPSEC_ID_IPV6_ADDR:
		return san_has(pc->crt, GNUTLS_SAN_IPADDRESS, id->data, id->len, false);
	case IPSEC_ID_KEY_ID: {
		unsigned char kid[64];
		size_t kl = sizeof kid;
		unsigned crit;
		return gnutls_x509_crt_get_subject_key_id(pc->crt, kid, &kl, &crit) >= 0 &&
		       kl == id->len && memcmp(kid, id->data, kl) == 0;
	}
	default:
		return false;
	}
}

/* ---- distinguished names --------------------------------------------------- */

int dn_to_text(const uint8_t *der, size_t len, char *buf, size_t blen)
{
	gnutls_datum_t d = { (unsigned char *)der, (unsigned)len }, out = { NULL, 0 };
	if (gnutls_x509_rdn_get2(&d, &out, 0) < 0)
		return -1;
	str_copy(buf, (const char *)out.data, blen);
	gnutls_free(out.data);
	return 0;
}

/* Lower-case, with blanks around ',', '=' and '+' removed. */
static void dn_normalize(const char *in, char *out, size_t len)
{
	size_t k = 0;
	for (const char *p = in; *p && k + 1 < len; p++) {
		if (*p == ' ') {
			const char *q = p;
			while (*q == ' ')
				q++;
			bool next_sep = *q == ',' || *q == '=' || *q == '+' || *q == '\0';
			bool prev_sep = k == 0 || out[k - 1] == ',' || out[k - 1] == '=' ||
					out[k - 1] == '+';
			if (next_sep || prev_sep) {
				p = q - 1;
				continue;
			}
		}
		out[k++] = (char)tolower((unsigned char)*p);
	}
	out[k] = '\0';
}

bool dn_text_matches(const char *pattern, const char *dn)
{
	char a[512], b[512];
	dn_normalize(pattern, a, sizeof a);
	dn_normalize(dn, b, sizeof b);
	return str_wildmatch(a, b);
}
