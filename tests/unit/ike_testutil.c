#include "tests/unit/ike_testutil.h"

#include <check.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "iked/isakmp.h"
#include "iked/swsa_record.h"
#include "policy/schema.h"

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t hx_into(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;
	for (const char *p = hex; *p; p++) {
		int v = nibble(*p);
		if (v < 0)
			continue;
		if (hi < 0) {
			hi = v;
			continue;
		}
		ck_assert_msg(n < cap, "hex string longer than its buffer");
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	ck_assert_msg(hi < 0, "odd number of hex digits");
	return n;
}

const uint8_t *hx(const char *hex, size_t *len)
{
	static uint8_t ring[8][2048];
	static unsigned next;
	uint8_t *b = ring[next++ % 8];
	size_t n = hx_into(hex, b, sizeof ring[0]);
	if (len)
		*len = n;
	return b;
}

void ck_bytes_eq(const uint8_t *got, size_t n, const char *hex, const char *what)
{
	size_t wn;
	const uint8_t *want = hx(hex, &wn);
	if (wn == n && memcmp(got, want, n) == 0)
		return;
	char g[4100];
	size_t k = 0;
	for (size_t i = 0; i < n && k + 3 < sizeof g; i++)
		k += (size_t)snprintf(g + k, sizeof g - k, "%02x", got[i]);
	g[k] = '\0';
	ck_abort_msg("%s differs:\n  got  %s (%zu bytes)\n  want %s (%zu bytes)", what, g, n, hex, wn);
}

void swsa_test_record(struct swsa_record *out, const char *dvipa, const char *rule, unsigned gen)
{
	struct swsa_record r;
	memset(&r, 0, sizeof r);
	ck_assert_int_eq(ip_addr_parse(dvipa, &r.dvipa), 0);
	ip_addr_parse("198.18.0.2", &r.peer);
	snprintf(r.filter_rule, sizeof r.filter_rule, "%s", rule);
	strcpy(r.vpn_action, "vpn");
	strcpy(r.ke_rule, "kr");
	strcpy(r.ke_action, "ka");
	ip_range_parse("198.19.1.0/24", &r.lsel.r);
	ip_range_parse("198.19.2.0/24", &r.rsel.r);
	swsa_identity_set(&r.local_id, IPSEC_ID_IPV4_ADDR, dvipa);
	swsa_identity_set(&r.remote_id, IPSEC_ID_IPV4_ADDR, "198.18.0.2");
	r.exch = EXCH_MAIN;
	r.p1 = (struct p1_attrs){ .enc_alg = ENC_AES_CBC, .keylen = 128, .hash = HASH_SHA1,
				  .auth = AUTHMETH_PRESHARED_KEY, .group = 14, .life_secs = 3600 };
	r.p2 = (struct p2_attrs){ .enc_alg = ENC_AES_CBC, .keylen = 128,
				  .auth_alg = AUTHALG_HMAC_SHA1, .pfs_group = 14, .life_secs = 1800 };
	r.generation = gen;
	strcpy(r.owner, "somebody-else");
	r.established = r.refreshed = time(NULL);
	swsa_record_set_tunnel(&r);
	*out = r;
}
