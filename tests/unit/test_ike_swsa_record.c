/* iked/swsa_record: the record's text (policy names, a format version, no
 * key), its strict decoding, the tunnel id and the keys. */
#include "tests/unit/support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iked/isakmp.h"
#include "iked/swsa_record.h"
#include "policy/schema.h"

static void sel(struct selector *s, const char *range, uint8_t proto, uint16_t port)
{
	ck_assert_ptr_null(ip_range_parse(range, &s->r));
	s->proto = proto;
	s->port = port;
}

/* The record of the docs' example: Aggressive Mode, the second offers. */
static struct swsa_record sample(void)
{
	struct swsa_record r;
	memset(&r, 0, sizeof r);
	ck_assert_int_eq(ip_addr_parse("198.18.5.10", &r.dvipa), 0);
	ck_assert_int_eq(ip_addr_parse("198.18.0.2", &r.peer), 0);
	strcpy(r.filter_rule, "toB");
	strcpy(r.vpn_action, "vpn");
	strcpy(r.ke_rule, "kr");
	strcpy(r.ke_action, "ka");
	sel(&r.lsel, "198.19.1.0/24", 0, 0);
	sel(&r.rsel, "198.19.2.0/24", 6, 443);
	ck_assert_int_eq(swsa_identity_set(&r.local_id, IPSEC_ID_IPV4_ADDR, "198.18.5.10"), 0);
	ck_assert_int_eq(swsa_identity_set(&r.remote_id, IPSEC_ID_FQDN, "peer.example"), 0);
	r.exch = EXCH_AGGRESSIVE;
	r.p1 = (struct p1_attrs){ .enc_alg = ENC_AES_CBC, .keylen = 256, .hash = HASH_SHA2_256,
				  .auth = AUTHMETH_PRESHARED_KEY, .group = 19, .life_secs = 28800,
				  .life_kb = 0, .offer = 1, .offer_name = "o2" };
	r.p2 = (struct p2_attrs){ .enc_alg = ENC_AES_GCM_16, .keylen = 256, .auth_alg = AUTHALG_NULL,
				  .encap = ENCAP_TUNNEL, .udp = true, .pfs_group = 14,
				  .life_secs = 14400, .life_kb = 1024000, .offer = 1,
				  .offer_name = "d2" };
	r.generation = 3;
	strcpy(r.owner, "nodeA");
	r.established = 1796378400;           /* 2026-12-04T10:00:00Z */
	r.refreshed = 1796385600;             /* 2026-12-04T12:00:00Z */
	swsa_record_set_tunnel(&r);
	return r;
}

static const char sample_text[] =
	"{\"Format\":1,\"Tunnel\":\"%s\",\"LocalSecurityEndpoint\":\"198.18.5.10\","
	"\"RemoteSecurityEndpoint\":\"198.18.0.2\",\"IpFilterRule\":\"toB\","
	"\"IpDynVpnAction\":\"vpn\",\"KeyExchangeRule\":\"kr\",\"KeyExchangeAction\":\"ka\","
	"\"LocalDataEndpoint\":{\"Addr\":\"198.19.1.0/24\",\"Protocol\":0,\"Port\":0},"
	"\"RemoteDataEndpoint\":{\"Addr\":\"198.19.2.0/24\",\"Protocol\":6,\"Port\":443},"
	"\"LocalIdentity\":{\"Type\":\"IpAddr\",\"Value\":\"198.18.5.10\"},"
	"\"RemoteIdentity\":{\"Type\":\"Fqdn\",\"Value\":\"peer.example\"},"
	"\"Phase1\":{\"Mode\":\"Aggressive\",\"KeyExchangeOffer\":\"o2\",\"HowToEncrypt\":\"AES_CBC\","
	"\"KeyLength\":256,\"HowToAuthMsgs\":\"SHA2_256\",\"DHGroup\":\"Group19\","
	"\"HowToAuthPeers\":\"PresharedKey\",\"LifetimeSeconds\":28800,\"LifesizeKB\":0},"
	"\"Phase2\":{\"IpDataOffer\":\"d2\",\"HowToEncap\":\"Tunnel\",\"UdpEncapsulation\":true,"
	"\"HowToEncrypt\":\"AES_GCM_16\",\"KeyLength\":256,\"HowToAuth\":\"Null\",\"Pfs\":\"Group14\","
	"\"LifetimeSeconds\":14400,\"LifesizeKB\":1024000},"
	"\"Generation\":3,\"Owner\":\"nodeA\",\"Established\":\"2026-12-04T10:00:00Z\","
	"\"Refreshed\":\"2026-12-04T12:00:00Z\"}\n";

START_TEST(text_names_what_a_policy_names)
{
	struct swsa_record r = sample();
	char *text;
	size_t len;
	ck_assert_int_eq(swsa_record_encode(&r, &text, &len), 0);
	char want[sizeof sample_text + 64];
	snprintf(want, sizeof want, sample_text, r.tunnel);
	ck_assert_str_eq(text, want);
	ck_assert_uint_eq(len, strlen(want));
	free(text);
}
END_TEST

START_TEST(round_trip)
{
	struct swsa_record r = sample(), back;
	char *text, err[200];
	size_t len;
	ck_assert_int_eq(swsa_record_encode(&r, &text, &len), 0);
	int rc = swsa_record_decode(text, len, &back, err, sizeof err);
	ck_assert_msg(rc == 0, "%s", err);
	free(text);
	ck_assert_str_eq(back.tunnel, r.tunnel);
	ck_assert_mem_eq(&back.dvipa, &r.dvipa, sizeof r.dvipa);
	ck_assert_mem_eq(&back.peer, &r.peer, sizeof r.peer);
	ck_assert_str_eq(back.filter_rule, "toB");
	ck_assert_str_eq(back.vpn_action, "vpn");
	ck_assert_str_eq(back.ke_rule, "kr");
	ck_assert_str_eq(back.ke_action, "ka");
	ck_assert_mem_eq(&back.lsel, &r.lsel, sizeof r.lsel);
	ck_assert_mem_eq(&back.rsel, &r.rsel, sizeof r.rsel);
	ck_assert_int_eq(back.local_id.type, IDNAME_IPADDR);
	ck_assert_int_eq(back.remote_id.type, IDNAME_FQDN);
	ck_assert_str_eq(back.remote_id.value, "peer.example");
	ck_assert_int_eq(back.exch, EXCH_AGGRESSIVE);
	/* the offer's index is this node's policy's business: names travel */
	r.p1.offer = r.p2.offer = -1;
	ck_assert_mem_eq(&back.p1, &r.p1, sizeof r.p1);
	ck_assert_mem_eq(&back.p2, &r.p2, sizeof r.p2);
	ck_assert_uint_eq(back.generation, 3);
	ck_assert_str_eq(back.owner, "nodeA");
	ck_assert_int_eq(back.established, r.established);
	ck_assert_int_eq(back.refreshed, r.refreshed);
}
END_TEST

/* Another node, another Y number, a later generation: the same tunnel. A
 * different rule, selector or peer: another tunnel. */
START_TEST(tunnel_id)
{
	struct swsa_record a = sample(), b = sample();
	/* SHA-256 of "toB|198.19.1.0/24/0/0|198.19.2.0/24/6/443|198.18.0.2": nodes of
	 * different versions must name a tunnel alike (docs/iked.md shows it) */
	ck_assert_str_eq(a.tunnel, "4c40f30983dde150ed0d7d238b3e72e5");
	b.generation = 9;
	strcpy(b.owner, "nodeB");
	b.p2.pfs_group = 19;
	swsa_record_set_tunnel(&b);
	ck_assert_str_eq(a.tunnel, b.tunnel);
	ck_assert_uint_eq(strlen(a.tunnel), SWSA_TUNNEL_HEX);
	strcpy(b.filter_rule, "toC");
	swsa_record_set_tunnel(&b);
	ck_assert_str_ne(a.tunnel, b.tunnel);
	b = sample();
	b.rsel.port = 80;
	swsa_record_set_tunnel(&b);
	ck_assert_str_ne(a.tunnel, b.tunnel);
	b = sample();
	ip_addr_parse("198.18.0.3", &b.peer);
	swsa_record_set_tunnel(&b);
	ck_assert_str_ne(a.tunnel, b.tunnel);
}
END_TEST

START_TEST(keys_and_files)
{
	struct swsa_record r = sample();
	char key[SWSA_KEY_MAX], file[SWSA_KEY_MAX], back[SWSA_KEY_MAX];
	ck_assert_int_eq(swsa_key(&r.dvipa, r.tunnel, key, sizeof key), 0);
	char want[SWSA_KEY_MAX];
	snprintf(want, sizeof want, "attls:swsa:198.18.5.10:%s", r.tunnel);
	ck_assert_str_eq(key, want);
	struct ip_addr ip;
	char t[SWSA_TUNNEL_HEX + 1];
	ck_assert_int_eq(swsa_key_parse(key, &ip, t), 0);
	ck_assert_mem_eq(&ip, &r.dvipa, sizeof ip);
	ck_assert_str_eq(t, r.tunnel);
	ck_assert_int_eq(swsa_key_to_file(key, file, sizeof file), 0);
	snprintf(want, sizeof want, "198.18.5.10_%s.json", r.tunnel);
	ck_assert_str_eq(file, want);
	ck_assert_int_eq(swsa_file_to_key(file, back, sizeof back), 0);
	ck_assert_str_eq(back, key);

	ck_assert_int_eq(ip_addr_parse("2001:db8::10", &ip), 0);
	ck_assert_int_eq(swsa_key(&ip, r.tunnel, key, sizeof key), 0);
	ck_assert_int_eq(swsa_key_parse(key, &ip, t), 0);
	ck_assert_int_eq(ip.family, AF_INET6);
	ck_assert_int_eq(swsa_key_to_file(key, file, sizeof file), 0);
	ck_assert_int_eq(swsa_file_to_key(file, back, sizeof back), 0);
	ck_assert_str_eq(back, key);

	/* one spelling per address, tunnels of 32 lower-case hex digits */
	static const char *const bad_keys[] = {
		"attls:swsa:198.18.5.010:0123456789abcdef0123456789abcdef",
		"attls:swsa:2001:DB8::10:0123456789abcdef0123456789abcdef",
		"attls:swsa:198.18.5.10:0123456789ABCDEF0123456789abcdef",
		"attls:swsa:198.18.5.10:0123456789abcdef0123456789abcde",
		"attls:swsa:198.18.5.10-0123456789abcdef0123456789abcdef",
		"attls:swsa::0123456789abcdef0123456789abcdef",
		"other:198.18.5.10:0123456789abcdef0123456789abcdef",
	};
	for (size_t i = 0; i < sizeof bad_keys / sizeof bad_keys[0]; i++)
		ck_assert_msg(swsa_key_parse(bad_keys[i], NULL, NULL) == -1, "%s", bad_keys[i]);
	ck_assert_int_eq(swsa_file_to_key(".tmp.198.18.5.10_x.json", back, sizeof back), -1);
	ck_assert_int_eq(swsa_file_to_key("198.18.5.10_0123456789abcdef0123456789abcdef.json.tmp",
					  back, sizeof back), -1);
	ck_assert_int_eq(swsa_key(&r.dvipa, "nothex", key, sizeof key), -1);
	ck_assert_int_eq(swsa_key(&r.dvipa, r.tunnel, key, 20), -1);
}
END_TEST

START_TEST(identity_types)
{
	struct swsa_identity id;
	ck_assert_int_eq(swsa_identity_set(&id, IPSEC_ID_IPV6_ADDR_SUBNET, "2001:db8::/64"), 0);
	ck_assert_int_eq(id.type, IDNAME_IPADDR);
	ck_assert_int_eq(swsa_identity_set(&id, IPSEC_ID_USER_FQDN, "u@example"), 0);
	ck_assert_int_eq(id.type, IDNAME_USER_FQDN);
	ck_assert_int_eq(swsa_identity_set(&id, IPSEC_ID_DER_ASN1_DN, "CN=a"), 0);
	ck_assert_int_eq(id.type, IDNAME_X500DN);
	ck_assert_int_eq(swsa_identity_set(&id, IPSEC_ID_KEY_ID, "0a0b"), 0);
	ck_assert_int_eq(id.type, IDNAME_KEY_ID);
	ck_assert_int_eq(swsa_identity_set(&id, IPSEC_ID_DER_ASN1_GN, "x"), -1);
}
END_TEST

/* Times the text cannot carry become the nearest it can: the record stays
 * readable. */
START_TEST(times_are_clamped)
{
	struct swsa_record r = sample(), back;
	r.established = -5;
	r.refreshed = (time_t)1 << 40;
	char *text, err[200];
	size_t len;
	ck_assert_int_eq(swsa_record_encode(&r, &text, &len), 0);
	ck_assert_ptr_nonnull(strstr(text, "\"Established\":\"1970-01-01T00:00:00Z\""));
	ck_assert_ptr_nonnull(strstr(text, "\"Refreshed\":\"9999-12-31T23:59:59Z\""));
	int rc = swsa_record_decode(text, len, &back, err, sizeof err);
	ck_assert_msg(rc == 0, "%s", err);
	free(text);
}
END_TEST

/* The sample's text with one piece replaced. */
static char *mutate(const char *from, const char *to)
{
	struct swsa_record r = sample();
	char base[sizeof sample_text + 64];
	snprintf(base, sizeof base, sample_text, r.tunnel);
	const char *at = strstr(base, from);
	ck_assert_msg(at != NULL, "'%s' is not in the sample", from);
	size_t n = strlen(base) - strlen(from) + strlen(to) + 1;
	char *out = malloc(n);
	snprintf(out, n, "%.*s%s%s", (int)(at - base), base, to, at + strlen(from));
	return out;
}

struct dcase {
	const char *from, *to;
	const char *err;                  /* NULL: decodes */
};

static const struct dcase dcases[] = {
	{ "\"Format\":1", "\"Format\":2", "format 2 is not the one this iked reads (1)" },
	{ "\"Format\":1,", "", "Format is missing" },
	{ "\"Format\":1", "\"Format\":\"1\"", "Format is a string, not an integer" },
	{ "\"Format\":1,", "\"Format\":1,\"Comment\":[1,{\"x\":null}],", NULL },
	{ "\"Owner\":\"nodeA\"", "\"Owner\":\"\"", "Owner is empty" },
	{ "\"Owner\":\"nodeA\"", "\"Owner\":\"a\\u0007b\"", "Owner has a control character" },
	{ "\"Generation\":3", "\"Generation\":-1", "Generation -1 is not from 0 to 4294967295" },
	{ "\"Generation\":3", "\"Generation\":3.0", "Generation is a number, not an integer" },
	{ "\"IpFilterRule\":\"toB\"", "\"IpFilterRule\":\"t012345678901234567890123456789"
	  "0123456789012345678\"", "IpFilterRule is longer than 48 bytes" },
	{ "\"Mode\":\"Aggressive\"", "\"Mode\":\"aggressive\"", NULL },
	{ "\"Mode\":\"Aggressive\"", "\"Mode\":\"IKEv2\"", "Phase1.Mode IKEv2 is not Main or Aggressive" },
	{ "\"Mode\":\"Aggressive\"", "\"Mode\":\"Quick\"",
	  "Phase1.Mode \"Quick\" is not a name a policy uses" },
	{ "\"DHGroup\":\"Group19\"", "\"DHGroup\":\"Group3\"",
	  "Phase1.DHGroup \"Group3\" is not a group attls supports" },
	{ "\"DHGroup\":\"Group19\"", "\"DHGroup\":\"None\"",
	  "Phase1.DHGroup \"None\" is not a group attls supports" },
	{ "\"HowToAuthMsgs\":\"SHA2_256\"", "\"HowToAuthMsgs\":\"MD5\"",
	  "Phase1.HowToAuthMsgs MD5 is not supported" },
	{ "\"HowToEncrypt\":\"AES_CBC\"", "\"HowToEncrypt\":\"AES_GCM_16\"",
	  "Phase1.HowToEncrypt AES_GCM_16: phase 1 uses AES_CBC" },
	{ "\"HowToAuthPeers\":\"PresharedKey\"", "\"HowToAuthPeers\":\"ECDSA-256\"",
	  "Phase1.HowToAuthPeers ECDSA-256 is not PresharedKey or RsaSignature" },
	{ "\"Pfs\":\"Group14\"", "\"Pfs\":\"None\"", NULL },
	{ "\"HowToAuth\":\"Null\"", "\"HowToAuth\":\"HMAC_SHA1\"",
	  "Phase2.HowToAuth HMAC_SHA1 does not go with AES_GCM_16" },
	{ "\"HowToEncrypt\":\"AES_GCM_16\",\"KeyLength\":256", "\"HowToEncrypt\":\"AES_GCM_16\","
	  "\"KeyLength\":192", "Phase2.KeyLength 192 does not go with AES_GCM_16" },
	{ "\"UdpEncapsulation\":true", "\"UdpEncapsulation\":1",
	  "Phase2.UdpEncapsulation is an integer, not a boolean" },
	{ "\"Phase2\":{", "\"Phase2\":{\"Extra\":1,", NULL },
	{ "\"Port\":443", "\"Port\":65536", "Port 65536 is not from 0 to 65535" },
	{ "\"Addr\":\"198.19.2.0/24\"", "\"Addr\":\"198.19.2.0/33\"", "RemoteDataEndpoint.Addr:" },
	{ "\"Type\":\"Fqdn\"", "\"Type\":\"Email\"", "Type \"Email\" is not a name a policy uses" },
	{ "\"LocalSecurityEndpoint\":\"198.18.5.10\"", "\"LocalSecurityEndpoint\":\"dvipa\"",
	  "LocalSecurityEndpoint \"dvipa\" is not an IP address" },
	{ "\"Established\":\"2026-12-04T10:00:00Z\"", "\"Established\":\"2026-02-30T10:00:00Z\"",
	  "Established \"2026-02-30T10:00:00Z\" is not a time like 2026-12-04T10:00:00Z" },
	{ "\"Established\":\"2026-12-04T10:00:00Z\"", "\"Established\":\"2026-12-04 10:00:00\"",
	  "is not a time like" },
	{ "\"Established\":\"2026-12-04T10:00:00Z\"", "\"Established\":\"0226-12-04T10:00:00Z\"",
	  "is not a time like" },
	{ "\"Established\":\"2026-12-04T10:00:00Z\"", "\"Established\":\"1970-01-01T00:00:00Z\"",
	  NULL },
	{ "\"Established\":\"2026-12-04T10:00:00Z\"", "\"Established\":1796378400",
	  "Established is an integer, not a string" },
	{ "\"Format\":1,", "\"Format\":1,\"Format\":1,", "not JSON: member \"Format\" given twice" },
	{ "\"Refreshed\":\"2026-12-04T12:00:00Z\"}", "\"Refreshed\":\"2026-12-04T12:00:00Z\"}}",
	  "not JSON: text after the value" },
	{ "\"Phase1\":{", "\"Phase1\":[{", "not JSON" },
	{ "\"Phase1\":{", "\"Phase1\":{\"x\":{\"y\":{\"z\":1}}},\"P\":{",
	  "not JSON: nested deeper than 4" },
};

START_TEST(decoding_is_strict)
{
	const struct dcase *c = &dcases[_i];
	char *text = mutate(c->from, c->to), err[200] = "";
	struct swsa_record r;
	int rc = swsa_record_decode(text, strlen(text), &r, err, sizeof err);
	if (!c->err)
		ck_assert_msg(rc == 0, "%s -> %s: %s", c->from, c->to, err);
	else
		ck_assert_msg(rc == -1 && strstr(err, c->err), "%s -> %s: got '%s', want '%s'",
			      c->from, c->to, rc ? err : "success", c->err);
	free(text);
}
END_TEST

START_TEST(garbage)
{
	static const char *const texts[] = { "", "null", "[]", "\"x\"", "{}", "{\"Format\":1}",
					     "\xff\xfe{", "1e999999" };
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		struct swsa_record r;
		char err[200];
		ck_assert_int_eq(swsa_record_decode(texts[i], strlen(texts[i]), &r, err, sizeof err), -1);
		ck_assert(*err);
	}
	/* longer than a record may be, however well-formed */
	size_t n = SWSA_RECORD_MAX + 1;
	char *big = malloc(n);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	struct swsa_record r;
	char err[200];
	ck_assert_int_eq(swsa_record_decode(big, n, &r, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "text longer than 8192 bytes"));
	free(big);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ike_swsa_record");
	TCase *tc = tcase_create("record");
	tcase_add_test(tc, text_names_what_a_policy_names);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, tunnel_id);
	tcase_add_test(tc, keys_and_files);
	tcase_add_test(tc, identity_types);
	tcase_add_loop_test(tc, decoding_is_strict, 0, (int)(sizeof dcases / sizeof dcases[0]));
	tcase_add_test(tc, garbage);
	tcase_add_test(tc, times_are_clamped);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
