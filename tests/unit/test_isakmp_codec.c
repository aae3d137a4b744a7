/* The ISAKMP codec: every length read from the wire is checked before use,
 * and what the builder writes reads back the same. */
#include "tests/unit/support.h"
#include "tests/unit/ike_testutil.h"

#include <string.h>

#include "iked/codec.h"
#include "iked/isakmp.h"
#include "iked/proposal.h"
#include "policy/schema.h"

static size_t header(uint8_t *b, uint8_t np, uint8_t exch, uint8_t flags, uint32_t len)
{
	memset(b, 0, ISAKMP_HDR_LEN);
	memset(b, 0x11, 8);                 /* initiator cookie */
	b[16] = np;
	b[17] = ISAKMP_VERSION;
	b[18] = exch;
	b[19] = flags;
	put32(b + 24, len);
	return ISAKMP_HDR_LEN;
}

START_TEST(header_accepts_a_good_one)
{
	uint8_t b[64];
	header(b, PL_SA, EXCH_MAIN, 0, 28);
	struct isakmp_hdr h;
	const char *why = "";
	ck_assert_int_eq(isakmp_hdr_decode(b, 28, &h, &why), 0);
	ck_assert_uint_eq(h.exch, EXCH_MAIN);
	ck_assert_uint_eq(h.np, PL_SA);
	ck_assert_uint_eq(h.len, 28);
}
END_TEST

START_TEST(header_refusals)
{
	uint8_t b[64];
	struct isakmp_hdr h;
	const char *why = "";
	header(b, PL_SA, EXCH_MAIN, 0, 28);
	ck_assert_int_eq(isakmp_hdr_decode(b, 27, &h, &why), N_PAYLOAD_MALFORMED);
	ck_assert_int_eq(isakmp_hdr_decode(b, 0, &h, &why), N_PAYLOAD_MALFORMED);
	b[17] = 0x20;
	ck_assert_int_eq(isakmp_hdr_decode(b, 28, &h, &why), N_INVALID_MAJOR_VERSION);
	b[17] = 0x11;
	ck_assert_int_eq(isakmp_hdr_decode(b, 28, &h, &why), N_INVALID_MINOR_VERSION);
	header(b, PL_SA, EXCH_MAIN, 0, 29);
	ck_assert_int_eq(isakmp_hdr_decode(b, 28, &h, &why), N_UNEQUAL_PAYLOAD_LENGTHS);
	header(b, PL_SA, 34 /* IKEv2 IKE_SA_INIT */, 0, 28);
	ck_assert_int_eq(isakmp_hdr_decode(b, 28, &h, &why), N_INVALID_EXCHANGE_TYPE);
	header(b, PL_SA, EXCH_MAIN, 0x08, 28);
	ck_assert_int_eq(isakmp_hdr_decode(b, 28, &h, &why), N_INVALID_FLAGS);
	header(b, PL_SA, EXCH_MAIN, 0, 28);
	memset(b, 0, 8);
	ck_assert_int_eq(isakmp_hdr_decode(b, 28, &h, &why), N_INVALID_COOKIE);
	ck_assert_ptr_nonnull(why);
}
END_TEST

/* generic payload: next, reserved, length, body */
static size_t payload(uint8_t *b, uint8_t next, const char *bodyhex)
{
	size_t n = hx_into(bodyhex, b + 4, 512);
	b[0] = next;
	b[1] = 0;
	put16(b + 2, (uint16_t)(n + 4));
	return n + 4;
}

START_TEST(payload_chain)
{
	uint8_t b[512];
	size_t n = 0;
	n += payload(b + n, PL_VID, "0102030405060708090a0b0c0d0e0f10112233");   /* nonce */
	n += payload(b + n, PL_NONE, "4a131c81070358455c5728f20e95452f");       /* VID */
	struct msg m;
	const char *why = "";
	ck_assert_int_eq(payloads_decode(PL_NONCE, b, n, false, &m, &why), 0);
	ck_assert_uint_eq(m.npl, 2);
	ck_assert_uint_eq(m.pl[0].type, PL_NONCE);
	ck_assert_uint_eq(m.pl[0].body_len, 19);
	ck_assert_uint_eq(m.pl[1].type, PL_VID);
	ck_assert_ptr_eq(msg_find(&m, PL_VID), &m.pl[1]);
	ck_assert_ptr_null(msg_find(&m, PL_SA));
	ck_assert_uint_eq(msg_count(&m, PL_NONCE), 1);
	/* trailing bytes: refused in clear text, allowed as padding of an encrypted body */
	b[n] = 0;
	ck_assert_int_eq(payloads_decode(PL_NONCE, b, n + 1, false, &m, &why), N_PAYLOAD_MALFORMED);
	ck_assert_int_eq(payloads_decode(PL_NONCE, b, n + 1, true, &m, &why), 0);
}
END_TEST

START_TEST(payload_lengths_are_checked)
{
	uint8_t b[512];
	struct msg m;
	const char *why = "";
	size_t n = payload(b, PL_NONE, "0102030405060708");
	/* a length past the end */
	put16(b + 2, (uint16_t)(n + 1));
	ck_assert_int_eq(payloads_decode(PL_NONCE, b, n, false, &m, &why), N_PAYLOAD_MALFORMED);
	/* a length under the generic header */
	put16(b + 2, 3);
	ck_assert_int_eq(payloads_decode(PL_NONCE, b, n, false, &m, &why), N_PAYLOAD_MALFORMED);
	/* a header cut short */
	ck_assert_int_eq(payloads_decode(PL_NONCE, b, 3, false, &m, &why), N_PAYLOAD_MALFORMED);
	/* reserved byte set */
	put16(b + 2, (uint16_t)n);
	b[1] = 1;
	ck_assert_int_eq(payloads_decode(PL_NONCE, b, n, false, &m, &why), N_PAYLOAD_MALFORMED);
	b[1] = 0;
	/* a nonce shorter than 8 bytes */
	n = payload(b, PL_NONE, "01020304");
	ck_assert_int_eq(payloads_decode(PL_NONCE, b, n, false, &m, &why), N_PAYLOAD_MALFORMED);
	/* a type that may not stand at the top level, and an unknown one */
	n = payload(b, PL_NONE, "0102030405060708");
	ck_assert_int_eq(payloads_decode(PL_T, b, n, false, &m, &why), N_INVALID_PAYLOAD_TYPE);
	ck_assert_int_eq(payloads_decode(99, b, n, false, &m, &why), N_INVALID_PAYLOAD_TYPE);
}
END_TEST

START_TEST(too_many_payloads)
{
	uint8_t b[4096];
	size_t n = 0;
	for (int i = 0; i < MSG_MAX_PAYLOADS + 1; i++)
		n += payload(b + n, i == MSG_MAX_PAYLOADS ? PL_NONE : PL_VID, "aa");
	struct msg m;
	const char *why = "";
	ck_assert_int_eq(payloads_decode(PL_VID, b, n, false, &m, &why), N_PAYLOAD_MALFORMED);
	ck_assert_str_eq(why, "too many payloads");
}
END_TEST

START_TEST(notify_and_delete)
{
	uint8_t b[128];
	struct notify_payload n;
	struct delete_payload d;
	const char *why = "";
	/* DOI 1, proto ESP, SPI size 4, NO-PROPOSAL-CHOSEN, SPI, no data */
	size_t len = hx_into("00000001 03 04 000e 11223344", b, sizeof b);
	ck_assert_int_eq(notify_decode(b, len, &n, &why), 0);
	ck_assert_uint_eq(n.type, N_NO_PROPOSAL_CHOSEN);
	ck_assert_uint_eq(get32(n.spi), 0x11223344);
	ck_assert_uint_eq(n.data_len, 0);
	len = hx_into("00000001 03 10 000e 11223344", b, sizeof b);  /* SPI size 16, 4 present */
	ck_assert_int_eq(notify_decode(b, len, &n, &why), N_PAYLOAD_MALFORMED);
	/* delete: two 4-byte SPIs */
	len = hx_into("00000001 03 04 0002 11223344 55667788", b, sizeof b);
	ck_assert_int_eq(delete_decode(b, len, &d, &why), 0);
	ck_assert_uint_eq(d.nspi, 2);
	len = hx_into("00000001 03 04 0003 11223344 55667788", b, sizeof b);  /* says 3 */
	ck_assert_int_eq(delete_decode(b, len, &d, &why), N_PAYLOAD_MALFORMED);
	len = hx_into("00000001 03 04 0000", b, sizeof b);                  /* none */
	ck_assert_int_eq(delete_decode(b, len, &d, &why), N_PAYLOAD_MALFORMED);
	len = hx_into("00000001 03 05 0001 1122334455", b, sizeof b);       /* odd size */
	ck_assert_int_eq(delete_decode(b, len, &d, &why), N_PAYLOAD_MALFORMED);
}
END_TEST

START_TEST(identities)
{
	uint8_t b[64];
	struct id_payload id;
	const char *why = "";
	size_t n = hx_into("01 00 0000 c6120001", b, sizeof b);
	ck_assert_int_eq(id_decode(b, n, &id, &why), 0);
	ck_assert_uint_eq(id.type, IPSEC_ID_IPV4_ADDR);
	n = hx_into("01 00 0000 c61200", b, sizeof b);                /* 3-byte IPv4 */
	ck_assert_int_eq(id_decode(b, n, &id, &why), N_INVALID_ID_INFORMATION);
	n = hx_into("04 11 01f4 c6130100 ffffff00", b, sizeof b);    /* subnet, UDP/500 */
	ck_assert_int_eq(id_decode(b, n, &id, &why), 0);
	ck_assert_uint_eq(id.proto, 17);
	ck_assert_uint_eq(id.port, 500);
	n = hx_into("63 00 0000 00", b, sizeof b);                   /* unknown type */
	ck_assert_int_eq(id_decode(b, n, &id, &why), N_INVALID_ID_INFORMATION);
	n = hx_into("02 00 0000", b, sizeof b);                      /* no data */
	ck_assert_int_eq(id_decode(b, n, &id, &why), N_PAYLOAD_MALFORMED);
}
END_TEST

START_TEST(attributes)
{
	uint8_t b[64];
	const char *why = "";
	/* TV life type seconds, TLV duration of 4 bytes, TV key length */
	size_t n = hx_into("800b0001 000c0004 00015180 800e0080", b, sizeof b);
	ck_assert_int_eq(attrs_validate(b, n, &why), 0);
	const uint8_t *p = b;
	size_t left = n;
	struct attr a;
	ck_assert_int_eq(attr_next(&p, &left, &a, &why), 1);
	ck_assert(a.tv);
	ck_assert_uint_eq(a.type, 11);
	ck_assert_uint_eq(a.num, 1);
	ck_assert_int_eq(attr_next(&p, &left, &a, &why), 1);
	ck_assert(!a.tv);
	ck_assert_uint_eq(a.num, 86400);
	ck_assert_int_eq(attr_next(&p, &left, &a, &why), 1);
	ck_assert_uint_eq(a.num, 128);
	ck_assert_int_eq(attr_next(&p, &left, &a, &why), 0);
	/* a TLV whose value runs past the end */
	n = hx_into("000c0008 00015180", b, sizeof b);
	ck_assert_int_eq(attrs_validate(b, n, &why), N_BAD_PROPOSAL_SYNTAX);
	/* a cut attribute header */
	n = hx_into("800b00", b, sizeof b);
	ck_assert_int_eq(attrs_validate(b, n, &why), N_BAD_PROPOSAL_SYNTAX);
	/* numbers longer than 8 bytes are kept but not numeric */
	n = hx_into("000c0009 010203040506070809", b, sizeof b);
	p = b;
	left = n;
	ck_assert_int_eq(attr_next(&p, &left, &a, &why), 1);
	ck_assert(!a.num_ok);
}
END_TEST

/* Proposals written by the builder decode to the same values. */
START_TEST(sa_round_trip_phase1)
{
	struct p1_attrs offers[2] = {
		{ .enc_alg = ENC_AES_CBC, .keylen = 256, .hash = HASH_SHA2_512,
		  .auth = AUTHMETH_PRESHARED_KEY, .group = 19, .life_secs = 28800, .life_kb = 100000 },
		{ .enc_alg = ENC_AES_CBC, .keylen = 128, .hash = HASH_SHA1,
		  .auth = AUTHMETH_RSA_SIGNATURE, .group = 14, .life_secs = 3600 },
	};
	struct buf b;
	buf_init(&b);
	p1_sa_write(&b, offers, 2);
	ck_assert(!b.err);
	struct sa_payload sa;
	const char *why = "";
	ck_assert_int_eq(sa_decode(b.d, b.len, &sa, &why), 0);
	ck_assert_uint_eq(sa.np, 1);
	ck_assert_uint_eq(sa.p[0].proto, PROTO_ISAKMP);
	ck_assert_uint_eq(sa.p[0].ntr, 2);
	for (int i = 0; i < 2; i++) {
		struct p1_attrs a;
		ck_assert_int_eq(p1_xform_read(&sa.p[0].tr[i], &a, &why), 0);
		ck_assert(p1_attrs_same(&a, &offers[i]));
		ck_assert_uint_eq(a.life_secs, offers[i].life_secs);
		ck_assert_uint_eq(a.life_kb, offers[i].life_kb);
	}
	buf_free(&b);
}
END_TEST

START_TEST(sa_round_trip_phase2)
{
	struct p2_attrs offers[3] = {
		{ .enc_alg = ENC_AES_GCM_16, .keylen = 256, .auth_alg = AUTHALG_NULL,
		  .encap = ENCAP_TUNNEL, .udp = true, .pfs_group = 19, .life_secs = 3600 },
		{ .enc_alg = ENC_AES_CBC, .keylen = 128, .auth_alg = AUTHALG_HMAC_SHA2_256_128,
		  .encap = ENCAP_TRANSPORT, .pfs_group = 19, .life_secs = 100000 },
		{ .enc_alg = ENC_AES_CBC, .keylen = 192, .auth_alg = AUTHALG_HMAC_SHA2_512_256,
		  .encap = ENCAP_TUNNEL, .pfs_group = 19, .life_secs = 60, .life_kb = 5000 },
	};
	struct buf b;
	buf_init(&b);
	p2_sa_write(&b, offers, 3, 0xdeadbeef);
	struct sa_payload sa;
	const char *why = "";
	ck_assert_int_eq(sa_decode(b.d, b.len, &sa, &why), 0);
	ck_assert_uint_eq(sa.np, 3);
	for (int i = 0; i < 3; i++) {
		struct p2_attrs a;
		ck_assert_uint_eq(sa.p[i].num, i + 1);
		ck_assert_uint_eq(get32(sa.p[i].spi), 0xdeadbeef);
		ck_assert_int_eq(p2_xform_read(&sa.p[i], &sa.p[i].tr[0], &a, &why), 0);
		ck_assert(p2_attrs_same(&a, &offers[i]));
		ck_assert_uint_eq(a.life_secs, offers[i].life_secs);
		ck_assert_uint_eq(a.life_kb, offers[i].life_kb);
	}
	buf_free(&b);
}
END_TEST

START_TEST(sa_structure_errors)
{
	struct p1_attrs o = { .enc_alg = ENC_AES_CBC, .keylen = 128, .hash = HASH_SHA1,
			      .auth = AUTHMETH_PRESHARED_KEY, .group = 14, .life_secs = 3600 };
	struct buf b;
	buf_init(&b);
	p1_sa_write(&b, &o, 1);
	struct sa_payload sa;
	const char *why = "";
	uint8_t c[512];
	/* wrong DOI, wrong situation */
	memcpy(c, b.d, b.len);
	c[3] = 2;
	ck_assert_int_eq(sa_decode(c, b.len, &sa, &why), N_DOI_NOT_SUPPORTED);
	memcpy(c, b.d, b.len);
	c[7] = 2;
	ck_assert_int_eq(sa_decode(c, b.len, &sa, &why), N_SITUATION_NOT_SUPPORTED);
	/* transform count says 2, one present */
	memcpy(c, b.d, b.len);
	c[8 + 7] = 2;
	ck_assert_int_eq(sa_decode(c, b.len, &sa, &why), N_BAD_PROPOSAL_SYNTAX);
	/* proposal length beyond the payload */
	memcpy(c, b.d, b.len);
	put16(c + 8 + 2, (uint16_t)(b.len));
	ck_assert_int_eq(sa_decode(c, b.len, &sa, &why), N_BAD_PROPOSAL_SYNTAX);
	/* transform says more follow but none does */
	memcpy(c, b.d, b.len);
	c[8 + 8] = PL_T;
	ck_assert_int_eq(sa_decode(c, b.len, &sa, &why), N_BAD_PROPOSAL_SYNTAX);
	/* SPI size larger than the proposal */
	memcpy(c, b.d, b.len);
	c[8 + 6] = 200;
	ck_assert_int_eq(sa_decode(c, b.len, &sa, &why), N_BAD_PROPOSAL_SYNTAX);
	/* cut anywhere: never read beyond, always refused */
	for (size_t cut = 0; cut < b.len; cut++)
		ck_assert_int_ne(sa_decode(b.d, cut, &sa, &why), 0);
	buf_free(&b);
}
END_TEST

START_TEST(builder_chains_payloads)
{
	uint8_t ic[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct msgb m;
	msgb_begin(&m, ic, NULL, EXCH_MAIN, 0, 0);
	msgb_pl(&m, PL_SA, "\x00\x00\x00\x01\x00\x00\x00\x01", 8);
	msgb_pl(&m, PL_VID, "abcdefgh", 8);
	msgb_pl_begin(&m, PL_NONCE);
	buf_add(&m.b, "0123456789", 10);
	msgb_pl_end(&m);
	ck_assert_int_eq(msgb_finish(&m), 0);
	struct isakmp_hdr h;
	struct msg msg;
	const char *why = "";
	ck_assert_int_eq(isakmp_hdr_decode(m.b.d, m.b.len, &h, &why), 0);
	ck_assert_uint_eq(h.np, PL_SA);
	ck_assert_int_eq(payloads_decode(h.np, m.b.d + 28, m.b.len - 28, false, &msg, &why), 0);
	ck_assert_uint_eq(msg.npl, 3);
	ck_assert_uint_eq(msg.pl[1].type, PL_VID);
	ck_assert_uint_eq(msg.pl[2].type, PL_NONCE);
	ck_assert_uint_eq(msg.pl[2].body_len, 10);
	msgb_free(&m);
	/* a header-less body records its first type */
	struct msgb body;
	msgb_begin_body(&body);
	msgb_pl(&body, PL_HASH, "12345678", 8);
	msgb_pl(&body, PL_N, "\x00\x00\x00\x01\x01\x00\x00\x18", 8);
	ck_assert_uint_eq(body.first, PL_HASH);
	ck_assert_int_eq(payloads_decode(body.first, body.b.d, body.b.len, false, &msg, &why), 0);
	ck_assert_uint_eq(msg.npl, 2);
	msgb_free(&body);
}
END_TEST

START_TEST(names)
{
	ck_assert_str_eq(notify_name(N_NO_PROPOSAL_CHOSEN), "NO-PROPOSAL-CHOSEN");
	ck_assert_str_eq(notify_name(N_DPD_R_U_THERE_ACK), "R-U-THERE-ACK");
	ck_assert_str_eq(notify_name(9999), "unknown");
	ck_assert_str_eq(exch_name(EXCH_QUICK), "Quick");
	ck_assert_str_eq(payload_name(PL_NAT_D), "NAT-D");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("isakmp_codec");
	TCase *tc = tcase_create("codec");
	tcase_add_test(tc, header_accepts_a_good_one);
	tcase_add_test(tc, header_refusals);
	tcase_add_test(tc, payload_chain);
	tcase_add_test(tc, payload_lengths_are_checked);
	tcase_add_test(tc, too_many_payloads);
	tcase_add_test(tc, notify_and_delete);
	tcase_add_test(tc, identities);
	tcase_add_test(tc, attributes);
	tcase_add_test(tc, sa_round_trip_phase1);
	tcase_add_test(tc, sa_round_trip_phase2);
	tcase_add_test(tc, sa_structure_errors);
	tcase_add_test(tc, builder_chains_payloads);
	tcase_add_test(tc, names);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
