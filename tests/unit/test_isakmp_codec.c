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

/* Put one body into a message as payload type, decode the message and
 * return the payload as the decoders see it. */
static const struct payload *through_a_message(struct msgb *m, struct msg *msg, uint8_t type,
					       const struct buf *body)
{
	static const uint8_t ic[8] = { 9, 9, 9, 9, 9, 9, 9, 9 };
	const char *why = "";
	ck_assert(!body->err);
	msgb_begin(m, ic, NULL, EXCH_INFO, 0, 0);
	msgb_pl(m, type, body->d, body->len);
	ck_assert_int_eq(msgb_finish(m), 0);
	ck_assert_int_eq(payloads_decode(type, m->b.d + ISAKMP_HDR_LEN, m->b.len - ISAKMP_HDR_LEN,
					 false, msg, &why), 0);
	ck_assert_uint_eq(msg->npl, 1);
	return &msg->pl[0];
}

START_TEST(payload_builders_round_trip)
{
	struct buf b;
	struct msgb m;
	struct msg msg;
	const char *why = "";
	const struct payload *p;
	uint8_t ic[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, rc[8] = { 8, 7, 6, 5, 4, 3, 2, 1 };
	uint8_t spi[ISAKMP_SPI_LEN], seq[4] = { 0, 0, 0, 7 };
	isakmp_spi(spi, ic, rc);

	/* notify about an ISAKMP SA with data (DPD), byte for byte as the wire form */
	buf_init(&b);
	struct notify_payload n = { .doi = DOI_IPSEC, .proto = PROTO_ISAKMP, .spi_size = 16,
				    .type = N_DPD_R_U_THERE, .spi = spi, .data = seq, .data_len = 4 };
	notify_encode(&b, &n);
	uint8_t want[64];
	size_t wl = hx_into("00000001 01 10 8d28 0102030405060708 0807060504030201 00000007", want,
			    sizeof want);
	ck_assert_uint_eq(b.len, wl);
	ck_assert_mem_eq(b.d, want, wl);
	p = through_a_message(&m, &msg, PL_N, &b);
	struct notify_payload n2;
	ck_assert_int_eq(notify_decode(p->body, p->body_len, &n2, &why), 0);
	ck_assert_uint_eq(n2.doi, DOI_IPSEC);
	ck_assert_uint_eq(n2.proto, PROTO_ISAKMP);
	ck_assert_uint_eq(n2.type, N_DPD_R_U_THERE);
	ck_assert_uint_eq(n2.spi_size, 16);
	ck_assert_mem_eq(n2.spi, spi, 16);
	ck_assert_uint_eq(n2.data_len, 4);
	ck_assert_mem_eq(n2.data, seq, 4);
	msgb_free(&m);
	buf_free(&b);

	/* delete of two ESP SAs */
	uint8_t spis[8] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88 };
	struct delete_payload d = { .doi = DOI_IPSEC, .proto = PROTO_IPSEC_ESP, .spi_size = 4,
				    .nspi = 2, .spis = spis }, d2;
	buf_init(&b);
	delete_encode(&b, &d);
	wl = hx_into("00000001 03 04 0002 11223344 55667788", want, sizeof want);
	ck_assert_mem_eq(b.d, want, wl);
	p = through_a_message(&m, &msg, PL_D, &b);
	ck_assert_int_eq(delete_decode(p->body, p->body_len, &d2, &why), 0);
	ck_assert_uint_eq(d2.proto, PROTO_IPSEC_ESP);
	ck_assert_uint_eq(d2.nspi, 2);
	ck_assert_mem_eq(d2.spis, spis, 8);
	msgb_free(&m);
	buf_free(&b);

	/* an identity: a subnet with protocol and port */
	uint8_t net[8] = { 198, 19, 1, 0, 255, 255, 255, 0 };
	struct id_payload id = { .type = IPSEC_ID_IPV4_ADDR_SUBNET, .proto = 17, .port = 500,
				 .data = net, .len = 8 }, id2;
	buf_init(&b);
	id_encode(&b, &id);
	p = through_a_message(&m, &msg, PL_ID, &b);
	ck_assert_int_eq(id_decode(p->body, p->body_len, &id2, &why), 0);
	ck_assert_uint_eq(id2.type, IPSEC_ID_IPV4_ADDR_SUBNET);
	ck_assert_uint_eq(id2.proto, 17);
	ck_assert_uint_eq(id2.port, 500);
	ck_assert_uint_eq(id2.len, 8);
	ck_assert_mem_eq(id2.data, net, 8);
	msgb_free(&m);
	buf_free(&b);

	/* a certificate request without a CA, and one with */
	uint8_t dn[5] = { 0x30, 0x03, 0x31, 0x01, 0x00 };
	for (size_t len = 0; len <= sizeof dn; len += sizeof dn) {
		struct cert_payload c = { .encoding = CERT_X509_SIG, .data = dn, .len = len }, c2;
		buf_init(&b);
		cert_encode(&b, &c);
		p = through_a_message(&m, &msg, PL_CR, &b);
		ck_assert_int_eq(cert_decode(p->body, p->body_len, &c2, &why), 0);
		ck_assert_uint_eq(c2.encoding, CERT_X509_SIG);
		ck_assert_uint_eq(c2.len, len);
		if (len)
			ck_assert_mem_eq(c2.data, dn, len);
		msgb_free(&m);
		buf_free(&b);
	}

	/* NAT-OA of an IPv6 address */
	uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	struct natoa_payload oa = { .idtype = IPSEC_ID_IPV6_ADDR, .addr = a6, .alen = 16 }, oa2;
	buf_init(&b);
	natoa_encode(&b, &oa);
	p = through_a_message(&m, &msg, PL_NAT_OA, &b);
	ck_assert_int_eq(natoa_decode(p->body, p->body_len, &oa2, &why), 0);
	ck_assert_uint_eq(oa2.idtype, IPSEC_ID_IPV6_ADDR);
	ck_assert_uint_eq(oa2.alen, 16);
	ck_assert_mem_eq(oa2.addr, a6, 16);
	msgb_free(&m);
	buf_free(&b);
}
END_TEST

/* The SA framing: proposals and transforms opened and closed by the codec
 * read back with their numbers, SPI and attributes. */
START_TEST(sa_framing_round_trip)
{
	struct buf b;
	buf_init(&b);
	uint8_t spi[4] = { 0xca, 0xfe, 0xba, 0xbe };
	sa_encode_header(&b, DOI_IPSEC, SIT_IDENTITY_ONLY);
	for (uint8_t i = 1; i <= 2; i++) {
		struct proposal pr = { .num = i, .proto = PROTO_IPSEC_ESP, .spi_size = 4, .spi = spi,
				       .ntr_declared = 2 };
		size_t ps = proposal_encode_begin(&b, &pr, i == 2);
		for (uint8_t t = 1; t <= 2; t++) {
			struct xform x = { .num = t, .id = ESP_AES_CBC };
			size_t ts = xform_encode_begin(&b, &x, t == 2);
			attr_tv(&b, P2A_KEY_LENGTH, (uint16_t)(128 * t));
			sa_part_end(&b, ts);
		}
		sa_part_end(&b, ps);
	}
	ck_assert(!b.err);
	struct sa_payload sa;
	const char *why = "";
	ck_assert_int_eq(sa_decode(b.d, b.len, &sa, &why), 0);
	ck_assert_uint_eq(sa.np, 2);
	for (size_t i = 0; i < 2; i++) {
		ck_assert_uint_eq(sa.p[i].num, i + 1);
		ck_assert_uint_eq(sa.p[i].proto, PROTO_IPSEC_ESP);
		ck_assert_mem_eq(sa.p[i].spi, spi, 4);
		ck_assert_uint_eq(sa.p[i].ntr, 2);
		for (size_t t = 0; t < 2; t++) {
			const uint8_t *q = sa.p[i].tr[t].attrs;
			size_t left = sa.p[i].tr[t].attrs_len;
			struct attr a;
			ck_assert_uint_eq(sa.p[i].tr[t].num, t + 1);
			ck_assert_int_eq(attr_next(&q, &left, &a, &why), 1);
			ck_assert_uint_eq(a.type, P2A_KEY_LENGTH);
			ck_assert_uint_eq(a.num, 128 * (t + 1));
		}
	}
	buf_free(&b);
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
	tcase_add_test(tc, payload_builders_round_trip);
	tcase_add_test(tc, sa_framing_round_trip);
	tcase_add_test(tc, names);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
