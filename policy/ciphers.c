#include "policy/ciphers.h"

#include <stddef.h>
#include <stdio.h>
#include <strings.h>

#include "common/strutil.h"

#define S13(c, n, ciph, mac) { c, n, NULL, ciph, mac, true, true }
#define S12(c, n, kx, ciph, mac) { c, n, kx, ciph, mac, false, true }
#define OLD(c, n) { c, n, NULL, NULL, NULL, false, false }

static const struct cipher_suite suites[] = {
	S13(0x1301, "TLS_AES_128_GCM_SHA256", "AES-128-GCM", "AEAD"),
	S13(0x1302, "TLS_AES_256_GCM_SHA384", "AES-256-GCM", "AEAD"),
	S13(0x1303, "TLS_CHACHA20_POLY1305_SHA256", "CHACHA20-POLY1305", "AEAD"),
	S13(0x1304, "TLS_AES_128_CCM_SHA256", "AES-128-CCM", "AEAD"),
	S13(0x1305, "TLS_AES_128_CCM_8_SHA256", "AES-128-CCM-8", "AEAD"),

	S12(0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA", "RSA", "AES-128-CBC", "SHA1"),
	S12(0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", "RSA", "AES-256-CBC", "SHA1"),
	S12(0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256", "RSA", "AES-128-CBC", "SHA256"),
	S12(0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256", "RSA", "AES-256-CBC", "SHA256"),
	S12(0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256", "RSA", "AES-128-GCM", "AEAD"),
	S12(0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384", "RSA", "AES-256-GCM", "AEAD"),
	S12(0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", "DHE-RSA", "AES-128-CBC", "SHA1"),
	S12(0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", "DHE-RSA", "AES-256-CBC", "SHA1"),
	S12(0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", "DHE-RSA", "AES-128-CBC", "SHA256"),
	S12(0x006B, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", "DHE-RSA", "AES-256-CBC", "SHA256"),
	S12(0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "DHE-RSA", "AES-128-GCM", "AEAD"),
	S12(0x009F, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", "DHE-RSA", "AES-256-GCM", "AEAD"),
	S12(0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA", "AES-128-CBC", "SHA1"),
	S12(0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA", "AES-256-CBC", "SHA1"),
	S12(0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA", "AES-128-CBC", "SHA1"),
	S12(0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA", "AES-256-CBC", "SHA1"),
	S12(0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "ECDHE-ECDSA", "AES-128-CBC", "SHA256"),
	S12(0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", "ECDHE-ECDSA", "AES-256-CBC", "SHA384"),
	S12(0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "ECDHE-RSA", "AES-128-CBC", "SHA256"),
	S12(0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "ECDHE-RSA", "AES-256-CBC", "SHA384"),
	S12(0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA", "AES-128-GCM", "AEAD"),
	S12(0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA", "AES-256-GCM", "AEAD"),
	S12(0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA", "AES-128-GCM", "AEAD"),
	S12(0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA", "AES-256-GCM", "AEAD"),
	S12(0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA", "CHACHA20-POLY1305", "AEAD"),
	S12(0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA", "CHACHA20-POLY1305", "AEAD"),
	S12(0xCCAA, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "DHE-RSA", "CHACHA20-POLY1305", "AEAD"),

	/* Legacy suites z/OS policies still list; attls never enables them. */
	OLD(0x0001, "TLS_RSA_WITH_NULL_MD5"),
	OLD(0x0002, "TLS_RSA_WITH_NULL_SHA"),
	OLD(0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5"),
	OLD(0x0004, "TLS_RSA_WITH_RC4_128_MD5"),
	OLD(0x0005, "TLS_RSA_WITH_RC4_128_SHA"),
	OLD(0x0006, "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5"),
	OLD(0x0009, "TLS_RSA_WITH_DES_CBC_SHA"),
	OLD(0x000A, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
	OLD(0x000D, "TLS_DH_DSS_WITH_3DES_EDE_CBC_SHA"),
	OLD(0x0010, "TLS_DH_RSA_WITH_3DES_EDE_CBC_SHA"),
	OLD(0x0013, "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA"),
	OLD(0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA"),
	OLD(0x0030, "TLS_DH_DSS_WITH_AES_128_CBC_SHA"),
	OLD(0x0031, "TLS_DH_RSA_WITH_AES_128_CBC_SHA"),
	OLD(0x0032, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA"),
	OLD(0x0036, "TLS_DH_DSS_WITH_AES_256_CBC_SHA"),
	OLD(0x0037, "TLS_DH_RSA_WITH_AES_256_CBC_SHA"),
	OLD(0x0038, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA"),
	OLD(0x003B, "TLS_RSA_WITH_NULL_SHA256"),
	OLD(0xC008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA"),
	OLD(0xC012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"),
};

#define NSUITES (sizeof suites / sizeof suites[0])

const struct cipher_suite *cipher_by_code(uint16_t code)
{
	for (size_t i = 0; i < NSUITES; i++)
		if (suites[i].code == code)
			return &suites[i];
	return NULL;
}

const struct cipher_suite *cipher_by_name(const char *name)
{
	for (size_t i = 0; i < NSUITES; i++)
		if (strcasecmp(suites[i].name, name) == 0)
			return &suites[i];
	return NULL;
}

const char *cipher_closest(const char *name)
{
	/* struct cipher_suite does not start with its name: compare by hand. */
	const char *best = NULL;
	size_t best_d = 4;
	for (size_t i = 0; i < NSUITES; i++) {
		size_t d = str_edit_distance(name, suites[i].name, 3);
		if (d < best_d) {
			best_d = d;
			best = suites[i].name;
		}
	}
	return best;
}

void cipher_zos_code2(uint16_t code, char out[3])
{
	if (code <= 0xff)
		snprintf(out, 3, "%02X", code);
	else
		snprintf(out, 3, "4X");
}
