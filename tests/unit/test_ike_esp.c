/* iked/esp: known answers from OpenSSL (tests/unit/esp_vectors.h, made by
 * gen_esp_vectors.py), round trips for every transform and both modes, and
 * every way a packet is refused: tampered, replayed, truncated, another
 * SPI, bad padding, impossible next header, a sender out of sequence
 * numbers, and the edges of the replay window. */
#include "tests/unit/support.h"

#include <netinet/in.h>
#include <string.h>

#include <nettle/aes.h>
#include <nettle/cbc.h>
#include <nettle/gcm.h>
#include <nettle/hmac.h>

#include "iked/esp.h"
#include "iked/kernel.h"
#include "policy/schema.h"
#include "tests/unit/esp_vectors.h"

struct xform {
	const char *name;
	int enc;
	size_t key_len;                  /* AES key (GCM: without the salt) */
	int auth;
	size_t auth_len;
	unsigned icv_bits;
};

static const struct xform xforms[] = {
	{ "aes128-sha1", ENC_AES_CBC, 16, AUTHALG_HMAC_SHA1, 20, 96 },
	{ "aes128-sha256", ENC_AES_CBC, 16, AUTHALG_HMAC_SHA2_256_128, 32, 128 },
	{ "aes256-sha256", ENC_AES_CBC, 32, AUTHALG_HMAC_SHA2_256_128, 32, 128 },
	{ "aes128-sha384", ENC_AES_CBC, 16, AUTHALG_HMAC_SHA2_384_192, 48, 192 },
	{ "aes256-sha384", ENC_AES_CBC, 32, AUTHALG_HMAC_SHA2_384_192, 48, 192 },
	{ "aes256-sha512", ENC_AES_CBC, 32, AUTHALG_HMAC_SHA2_512_256, 64, 256 },
	{ "aes128-gcm16", ENC_AES_GCM_16, 16, AUTHALG_NULL, 0, 128 },
	{ "aes256-gcm16", ENC_AES_GCM_16, 32, AUTHALG_NULL, 0, 128 },
};
#define NXFORMS (sizeof xforms / sizeof xforms[0])

static uint8_t enc_key[36], auth_key[64];

static struct kernel_sa make_ks(const struct xform *x, bool inbound, int mode, uint32_t spi)
{
	for (size_t i = 0; i < sizeof enc_key; i++)
		enc_key[i] = (uint8_t)(0x40 + i * 3);
	for (size_t i = 0; i < sizeof auth_key; i++)
		auth_key[i] = (uint8_t)(0x90 + i * 5);
	struct kernel_sa ks;
	memset(&ks, 0, sizeof ks);
	ks.inbound = inbound;
	ks.spi = spi;
	ks.mode = mode;
	ks.enc_alg = x->enc;
	ks.enc_key = enc_key;
	ks.enc_key_len = x->key_len + (x->enc == ENC_AES_GCM_16 ? 4 : 0);
	ks.auth_alg = x->auth;
	ks.auth_key = auth_key;
	ks.auth_key_len = x->auth_len;
	ks.icv_bits = x->icv_bits;
	return ks;
}

static void pair(const struct xform *x, int mode, struct esp_sa *out, struct esp_sa *in)
{
	char err[128];
	struct kernel_sa ko = make_ks(x, false, mode, 0x1000), ki = make_ks(x, true, mode, 0x1000);
	ck_assert_msg(esp_sa_init(out, &ko, err, sizeof err) == 0, "%s: %s", x->name, err);
	ck_assert_msg(esp_sa_init(in, &ki, err, sizeof err) == 0, "%s: %s", x->name, err);
}

/* An IPv4 (or IPv6) UDP packet of len bytes at p. */
static size_t inner_packet(uint8_t *p, size_t len, bool v6, uint8_t fill)
{
	memset(p, 0, len);
	size_t hl = v6 ? 40 : 20;
	if (v6) {
		p[0] = 0x60;
		p[4] = (uint8_t)((len - 40) >> 8);
		p[5] = (uint8_t)(len - 40);
		p[6] = IPPROTO_UDP;
		p[7] = 64;
		p[8] = 0x20;
		p[24] = 0x20;
		p[39] = 2;
	} else {
		p[0] = 0x45;
		p[2] = (uint8_t)(len >> 8);
		p[3] = (uint8_t)len;
		p[8] = 64;
		p[9] = IPPROTO_UDP;
		p[12] = 198, p[13] = 19, p[14] = 1, p[15] = 1;
		p[16] = 198, p[17] = 19, p[18] = 2, p[19] = 1;
	}
	for (size_t i = hl; i < len; i++)
		p[i] = (uint8_t)(fill + i);
	return len;
}

struct pkt {
	uint8_t buf[ESP_HEADROOM + 2048 + ESP_TAILROOM];
	uint8_t *esp;
	size_t len;
};

static void seal(struct esp_sa *sa, struct pkt *k, const uint8_t *payload, size_t len,
		 uint8_t nh)
{
	uint8_t *p = k->buf + ESP_HEADROOM;
	memcpy(p, payload, len);
	ck_assert_int_eq(esp_seal(sa, p, len, nh, &k->esp, &k->len), ESP_OK);
	ck_assert(k->esp >= k->buf);
	ck_assert_uint_le((size_t)(k->esp - k->buf) + k->len, sizeof k->buf);
	ck_assert_uint_eq(k->len, len + esp_overhead(sa, len));
}

/* Open a copy (the original stays for replays). */
static int open_copy(struct esp_sa *sa, const struct pkt *k, uint8_t *out, size_t *outlen,
		     uint8_t *nh)
{
	uint8_t tmp[sizeof k->buf], *payload;
	memcpy(tmp, k->esp, k->len);
	int rc = esp_open(sa, tmp, k->len, &payload, outlen, nh);
	if (rc == ESP_OK)
		memcpy(out, payload, *outlen);
	return rc;
}

/* ---- known answers ---------------------------------------------------------- */

static struct kernel_sa vector_ks(const struct esp_vector *v, bool inbound)
{
	struct kernel_sa ks;
	memset(&ks, 0, sizeof ks);
	ks.inbound = inbound;
	ks.spi = ESPV_SPI;
	ks.mode = v->transport ? ENCAP_TRANSPORT : ENCAP_TUNNEL;
	ks.enc_alg = v->enc_alg;
	ks.enc_key = v->key;
	ks.enc_key_len = v->key_len;
	ks.auth_alg = v->auth_alg;
	ks.auth_key = v->auth;
	ks.auth_key_len = v->auth_len;
	ks.icv_bits = v->icv_bits;
	return ks;
}

START_TEST(openssl_packets_open)
{
	const struct esp_vector *v = &esp_vectors[_i];
	struct kernel_sa ks = vector_ks(v, true);
	struct esp_sa sa;
	char err[128];
	ck_assert_msg(esp_sa_init(&sa, &ks, err, sizeof err) == 0, "%s: %s", v->name, err);
	uint8_t buf[256], *payload, nh;
	size_t plen;
	memcpy(buf, v->packet, v->packet_len);
	ck_assert_int_eq(esp_open(&sa, buf, v->packet_len, &payload, &plen, &nh), ESP_OK);
	ck_assert_uint_eq(plen, v->payload_len);
	ck_assert_mem_eq(payload, v->payload, plen);
	ck_assert_uint_eq(nh, v->next_header);
	ck_assert_uint_eq(sa.st.packets, 1);
	ck_assert_uint_eq(sa.st.bytes, v->payload_len);
	esp_sa_wipe(&sa);
}
END_TEST

/* GCM's IV is the sequence number: iked's first packet is OpenSSL's. */
START_TEST(gcm_sealing_equals_openssl)
{
	size_t n = 0;
	for (size_t i = 0; i < sizeof esp_vectors / sizeof esp_vectors[0]; i++) {
		const struct esp_vector *v = &esp_vectors[i];
		if (v->enc_alg != ENC_AES_GCM_16)
			continue;
		struct kernel_sa ks = vector_ks(v, false);
		struct esp_sa sa;
		char err[128];
		ck_assert_msg(esp_sa_init(&sa, &ks, err, sizeof err) == 0, "%s", err);
		struct pkt k;
		seal(&sa, &k, v->payload, v->payload_len, v->next_header);
		ck_assert_uint_eq(k.len, v->packet_len);
		ck_assert_msg(memcmp(k.esp, v->packet, k.len) == 0, "%s differs", v->name);
		n++;
	}
	ck_assert_uint_eq(n, 3);
}
END_TEST

/* ---- round trips --------------------------------------------------------------- */

START_TEST(round_trip_every_transform_and_mode)
{
	const struct xform *x = &xforms[_i];
	static const size_t lens[] = { 40, 41, 45, 46, 47, 48, 60, 100, 576, 1399, 1400, 1500 };
	for (int mode = ENCAP_TUNNEL; mode <= ENCAP_TRANSPORT; mode++) {
		for (int v6 = 0; v6 < 2; v6++) {
			struct esp_sa out, in;
			pair(x, mode, &out, &in);
			uint64_t bytes = 0;
			for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
				uint8_t clear[1600], back[1600], nh;
				size_t n = inner_packet(clear, lens[i], v6, (uint8_t)i), got;
				/* transport: the payload after the IP header, protocol UDP */
				size_t off = mode == ENCAP_TRANSPORT ? (v6 ? 40 : 20) : 0;
				uint8_t want_nh = mode == ENCAP_TRANSPORT ? IPPROTO_UDP : v6 ? 41 : 4;
				struct pkt k;
				seal(&out, &k, clear + off, n - off, want_nh);
				ck_assert_int_eq(open_copy(&in, &k, back, &got, &nh), ESP_OK);
				ck_assert_uint_eq(got, n - off);
				ck_assert_mem_eq(back, clear + off, got);
				ck_assert_uint_eq(nh, want_nh);
				bytes += n - off;
			}
			ck_assert_uint_eq(out.st.packets, sizeof lens / sizeof lens[0]);
			ck_assert_uint_eq(in.st.packets, out.st.packets);
			ck_assert_uint_eq(out.st.bytes, bytes);
			ck_assert_uint_eq(in.st.bytes, bytes);
			ck_assert_uint_eq(in.st.replay + in.st.integrity + in.st.malformed, 0);
		}
	}
}
END_TEST

/* Two equal payloads never make equal packets: fresh IVs (CBC), fresh
 * sequence numbers (both). */
START_TEST(equal_payloads_differ_on_the_wire)
{
	const struct xform *x = &xforms[_i];
	struct esp_sa out, in;
	pair(x, ENCAP_TUNNEL, &out, &in);
	uint8_t clear[100];
	inner_packet(clear, sizeof clear, false, 1);
	struct pkt a, b;
	seal(&out, &a, clear, sizeof clear, 4);
	seal(&out, &b, clear, sizeof clear, 4);
	ck_assert_uint_eq(a.len, b.len);
	size_t iv = x->enc == ENC_AES_GCM_16 ? 8 : 16;
	ck_assert_int_ne(memcmp(a.esp + 8, b.esp + 8, iv), 0);
	ck_assert_int_ne(memcmp(a.esp + 8 + iv, b.esp + 8 + iv, a.len - 8 - iv), 0);
	ck_assert_uint_eq(esp_spi(a.esp), 0x1000);
	ck_assert_uint_eq(a.esp[7], 1);
	ck_assert_uint_eq(b.esp[7], 2);
}
END_TEST

/* ---- refusals ---------------------------------------------------------------- */

START_TEST(tampered_packets_fail_integrity)
{
	const struct xform *x = &xforms[_i];
	struct esp_sa out, in;
	pair(x, ENCAP_TUNNEL, &out, &in);
	uint8_t clear[200], back[300], nh;
	inner_packet(clear, sizeof clear, false, 9);
	size_t got;
	unsigned tampered = 0;
	struct pkt k;
	seal(&out, &k, clear, sizeof clear, 4);
	/* every byte after the SPI: sequence number, IV, ciphertext, ICV */
	for (size_t at = 4; at < k.len; at++) {
		struct pkt t = k;
		t.esp = t.buf + (k.esp - k.buf);
		t.esp[at] ^= 0x80;           /* never turns sequence number 1 into 0 */
		int rc = open_copy(&in, &t, back, &got, &nh);
		ck_assert_msg(rc == ESP_DROP_INTEGRITY, "%s: byte %zu changed, got %s", x->name, at,
			      esp_result_name(rc));
		tampered++;
	}
	ck_assert_uint_eq(in.st.integrity, tampered);
	ck_assert_uint_eq(in.st.packets, 0);
	/* the window did not move: the genuine packet still opens */
	ck_assert_int_eq(open_copy(&in, &k, back, &got, &nh), ESP_OK);
	ck_assert_mem_eq(back, clear, sizeof clear);
}
END_TEST

START_TEST(replays_are_dropped)
{
	const struct xform *x = &xforms[_i];
	struct esp_sa out, in;
	pair(x, ENCAP_TUNNEL, &out, &in);
	uint8_t clear[64], back[128], nh;
	inner_packet(clear, sizeof clear, false, 3);
	size_t got;
	struct pkt k1, k2;
	seal(&out, &k1, clear, sizeof clear, 4);
	seal(&out, &k2, clear, sizeof clear, 4);
	/* out of order is fine, twice is not */
	ck_assert_int_eq(open_copy(&in, &k2, back, &got, &nh), ESP_OK);
	ck_assert_int_eq(open_copy(&in, &k1, back, &got, &nh), ESP_OK);
	ck_assert_int_eq(open_copy(&in, &k1, back, &got, &nh), ESP_DROP_REPLAY);
	ck_assert_int_eq(open_copy(&in, &k2, back, &got, &nh), ESP_DROP_REPLAY);
	ck_assert_uint_eq(in.st.replay, 2);
	ck_assert_uint_eq(in.st.packets, 2);
}
END_TEST

/* Sequence number top - (WINDOW-1) is still in the window, top - WINDOW is
 * not; a jump of more than the window forgets everything older. */
START_TEST(replay_window_edges)
{
	struct esp_sa out, in;
	pair(&xforms[6], ENCAP_TUNNEL, &out, &in);
	enum { N = ESP_REPLAY_WINDOW + 200 };
	static struct pkt ks[N + 1];
	uint8_t clear[48], back[128], nh;
	inner_packet(clear, sizeof clear, false, 5);
	size_t got;
	for (size_t i = 1; i <= N; i++)
		seal(&out, &ks[i], clear, sizeof clear, 4);
	ck_assert_int_eq(open_copy(&in, &ks[N], back, &got, &nh), ESP_OK);
	ck_assert_int_eq(open_copy(&in, &ks[N - ESP_REPLAY_WINDOW], back, &got, &nh),
			 ESP_DROP_REPLAY);
	ck_assert_int_eq(open_copy(&in, &ks[N - ESP_REPLAY_WINDOW + 1], back, &got, &nh), ESP_OK);
	ck_assert_int_eq(open_copy(&in, &ks[N - ESP_REPLAY_WINDOW + 1], back, &got, &nh),
			 ESP_DROP_REPLAY);
	/* each one in the window once, in any order */
	for (size_t i = N - 1; i > N - ESP_REPLAY_WINDOW + 1; i -= 7)
		ck_assert_int_eq(open_copy(&in, &ks[i], back, &got, &nh), ESP_OK);
	for (size_t i = N - 1; i > N - ESP_REPLAY_WINDOW + 1; i -= 7)
		ck_assert_int_eq(open_copy(&in, &ks[i], back, &got, &nh), ESP_DROP_REPLAY);
	ck_assert_int_eq(open_copy(&in, &ks[1], back, &got, &nh), ESP_DROP_REPLAY);
}
END_TEST

/* Moving the top by less than a word, by words and by more than the
 * window clears exactly the numbers not yet seen. */
START_TEST(replay_window_moves)
{
	struct esp_sa out, in;
	pair(&xforms[6], ENCAP_TUNNEL, &out, &in);
	enum { N = 3 * ESP_REPLAY_WINDOW + 10 };
	static struct pkt ks[N + 1];
	static bool opened[N + 1];
	uint8_t clear[48], back[128], nh;
	inner_packet(clear, sizeof clear, false, 6);
	size_t got;
	for (size_t i = 1; i <= N; i++)
		seal(&out, &ks[i], clear, sizeof clear, 4);
	memset(opened, 0, sizeof opened);
	static const size_t order[] = { 3, 70, 69, 200, 64 + 200, 1100, 1101, 1099, 1100 - 1023,
					2500, 2500 - 1023, 2500 - 1024, N, N - 1, 1101 };
	for (size_t j = 0; j < sizeof order / sizeof order[0]; j++) {
		size_t i = order[j];
		int rc = open_copy(&in, &ks[i], back, &got, &nh);
		size_t top = 0;
		for (size_t t = 0; t < j; t++)
			if (order[t] > top && opened[order[t]])
				top = order[t];
		bool want = !opened[i] && (i > top || top - i < ESP_REPLAY_WINDOW);
		ck_assert_msg((rc == ESP_OK) == want, "packet %zu (top %zu): %s", i, top,
			      esp_result_name(rc));
		if (rc == ESP_OK)
			opened[i] = true;
	}
}
END_TEST

/* The window is a ring of bits: when the top moves past numbers not yet
 * seen, their bits (last used by numbers a window older) must read as new,
 * for a step of a few numbers and for one of several words. */
START_TEST(numbers_skipped_over_are_still_new)
{
	struct esp_sa out, in;
	pair(&xforms[6], ENCAP_TUNNEL, &out, &in);
	enum { N = 2 * ESP_REPLAY_WINDOW + 400 };
	static struct pkt ks[N + 1];
	uint8_t clear[48], back[128], nh;
	inner_packet(clear, sizeof clear, false, 7);
	size_t got;
	for (size_t i = 1; i <= N; i++)
		seal(&out, &ks[i], clear, sizeof clear, 4);
	for (size_t i = 1; i <= ESP_REPLAY_WINDOW + 10; i++)
		ck_assert_int_eq(open_copy(&in, &ks[i], back, &got, &nh), ESP_OK);
	size_t top = ESP_REPLAY_WINDOW + 10;
	static const size_t steps[] = { 3, 1, 64, 65, 200, 7, ESP_REPLAY_WINDOW + 30 };
	for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
		size_t next = top + steps[s];
		ck_assert_int_eq(open_copy(&in, &ks[next], back, &got, &nh), ESP_OK);
		for (size_t i = top + 1; i < next; i++) {
			int want = next - i < ESP_REPLAY_WINDOW ? ESP_OK : ESP_DROP_REPLAY;
			ck_assert_msg(open_copy(&in, &ks[i], back, &got, &nh) == want,
				      "%zu skipped on the way to %zu: not %s", i, next,
				      esp_result_name(want));
		}
		top = next;
	}
	ck_assert_uint_eq(in.st.replay, 30);    /* the last step left 30 behind the window */
}
END_TEST

START_TEST(truncated_packets_are_malformed)
{
	const struct xform *x = &xforms[_i];
	struct esp_sa out, in;
	pair(x, ENCAP_TUNNEL, &out, &in);
	uint8_t clear[120], back[256], nh;
	inner_packet(clear, sizeof clear, false, 2);
	size_t got;
	struct pkt k;
	seal(&out, &k, clear, sizeof clear, 4);
	size_t full = k.len;
	unsigned refused = 0;
	for (size_t len = 0; len < full; len++) {
		k.len = len;
		int rc = open_copy(&in, &k, back, &got, &nh);
		ck_assert_msg(rc == ESP_DROP_MALFORMED || rc == ESP_DROP_INTEGRITY,
			      "%s: %zu of %zu bytes gave %s", x->name, len, full, esp_result_name(rc));
		refused++;
	}
	ck_assert_uint_eq(in.st.malformed + in.st.integrity, refused);
	k.len = full;
	ck_assert_int_eq(open_copy(&in, &k, back, &got, &nh), ESP_OK);
}
END_TEST

START_TEST(another_spi_is_not_this_sa)
{
	struct esp_sa out, in;
	pair(&xforms[1], ENCAP_TUNNEL, &out, &in);
	uint8_t clear[60], back[128], nh;
	inner_packet(clear, sizeof clear, false, 2);
	size_t got;
	struct pkt k;
	seal(&out, &k, clear, sizeof clear, 4);
	k.esp[3] ^= 0x80;
	ck_assert_int_eq(open_copy(&in, &k, back, &got, &nh), ESP_DROP_UNKNOWN_SPI);
	ck_assert_uint_eq(in.st.malformed + in.st.integrity + in.st.replay + in.st.packets, 0);
}
END_TEST

START_TEST(sequence_numbers_never_wrap)
{
	const struct xform *x = &xforms[_i];
	struct esp_sa out, in;
	pair(x, ENCAP_TUNNEL, &out, &in);
	uint8_t clear[60], back[128], nh;
	inner_packet(clear, sizeof clear, false, 2);
	size_t got;
	out.seq = UINT32_MAX - 2;
	in.top = UINT32_MAX - 3;
	ck_assert_uint_eq(esp_seq_left(&out), 2);
	struct pkt k;
	seal(&out, &k, clear, sizeof clear, 4);
	ck_assert_int_eq(open_copy(&in, &k, back, &got, &nh), ESP_OK);
	seal(&out, &k, clear, sizeof clear, 4);
	ck_assert_int_eq(open_copy(&in, &k, back, &got, &nh), ESP_OK);
	ck_assert_uint_eq(k.esp[4] & k.esp[5] & k.esp[6] & k.esp[7], 0xff);
	ck_assert_uint_eq(esp_seq_left(&out), 0);
	uint8_t *p = k.buf + ESP_HEADROOM, *o;
	size_t olen;
	memcpy(p, clear, sizeof clear);
	ck_assert_int_eq(esp_seal(&out, p, sizeof clear, 4, &o, &olen), ESP_DROP_SEQ_EXHAUSTED);
	ck_assert_int_eq(esp_seal(&out, p, sizeof clear, 4, &o, &olen), ESP_DROP_SEQ_EXHAUSTED);
	ck_assert_uint_eq(out.st.packets, 2);
}
END_TEST

/* ---- packets the test seals itself: authentic, but wrong inside ------------- */

/* An authentic packet around clear (payload and trailer as given). */
static size_t forge(const struct xform *x, uint32_t seq, const uint8_t *clear, size_t clen,
		    uint8_t *out)
{
	struct kernel_sa ks = make_ks(x, false, ENCAP_TUNNEL, 0x1000);
	out[0] = 0, out[1] = 0, out[2] = 0x10, out[3] = 0;
	out[4] = (uint8_t)(seq >> 24), out[5] = (uint8_t)(seq >> 16);
	out[6] = (uint8_t)(seq >> 8), out[7] = (uint8_t)seq;
	if (x->enc == ENC_AES_GCM_16) {
		ck_assert_uint_eq(clen % 4, 0);
		uint8_t nonce[12];
		memcpy(nonce, ks.enc_key + x->key_len, 4);
		memset(out + 8, 0x77, 8);
		memcpy(nonce + 4, out + 8, 8);
		struct gcm_aes128_ctx g;
		ck_assert_uint_eq(x->key_len, 16);
		gcm_aes128_set_key(&g, ks.enc_key);
		gcm_aes128_set_iv(&g, 12, nonce);
		gcm_aes128_update(&g, 8, out);
		gcm_aes128_encrypt(&g, clen, out + 16, clear);
		gcm_aes128_digest(&g, 16, out + 16 + clen);
		return 16 + clen + 16;
	}
	ck_assert_uint_eq(clen % 16, 0);
	ck_assert_int_eq(x->auth, AUTHALG_HMAC_SHA2_256_128);
	struct aes128_ctx a;
	uint8_t iv[16];
	memset(out + 8, 0x33, 16);
	memcpy(iv, out + 8, 16);
	aes128_set_encrypt_key(&a, ks.enc_key);
	cbc_encrypt(&a, (nettle_cipher_func *)aes128_encrypt, 16, iv, clen, out + 24, clear);
	struct hmac_sha256_ctx h;
	hmac_sha256_set_key(&h, ks.auth_key_len, ks.auth_key);
	hmac_sha256_update(&h, 24 + clen, out);
	hmac_sha256_digest(&h, 16, out + 24 + clen);
	return 24 + clen + 16;
}

/* A 32-byte IPv4 packet, then pad bytes, pad length and next header as
 * given; returns the clear length. */
static size_t clear_with(uint8_t *c, const uint8_t *pad, size_t npad, uint8_t padlen, uint8_t nh)
{
	inner_packet(c, 32, false, 4);
	memcpy(c + 32, pad, npad);
	c[32 + npad] = padlen;
	c[33 + npad] = nh;
	return 34 + npad;
}

static int open_forged(const struct xform *x, uint32_t seq, const uint8_t *clear, size_t clen,
		       struct esp_sa *in)
{
	struct pkt k;
	k.esp = k.buf;
	k.len = forge(x, seq, clear, clen, k.buf);
	uint8_t back[256], nh;
	size_t got;
	return open_copy(in, &k, back, &got, &nh);
}

START_TEST(padding_and_next_header_are_checked)
{
	for (size_t xi = 1; xi < NXFORMS; xi += 5) {         /* aes128-sha256, aes128-gcm16 */
		const struct xform *x = &xforms[xi];
		struct esp_sa out, in;
		pair(x, ENCAP_TUNNEL, &out, &in);
		bool gcm = x->enc == ENC_AES_GCM_16;
		uint8_t c[128];
		uint32_t seq = 1;
		/* well formed: accepted (the forger is right) */
		static const uint8_t good[14] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14 };
		size_t n = clear_with(c, good, gcm ? 2 : 14, gcm ? 2 : 14, 4);
		ck_assert_int_eq(open_forged(x, seq++, c, n, &in), ESP_OK);
		/* padding not 1, 2, 3, ... */
		static const uint8_t bad[14] = { 1, 2, 4, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14 };
		n = clear_with(c, bad, gcm ? 6 : 14, gcm ? 6 : 14, 4);
		ck_assert_int_eq(open_forged(x, seq++, c, n, &in), ESP_DROP_PADDING);
		/* a pad length longer than the packet */
		n = clear_with(c, good, gcm ? 2 : 14, 200, 4);
		ck_assert_int_eq(open_forged(x, seq++, c, n, &in), ESP_DROP_PADDING);
		/* a dummy packet (next header 59), and TCP in a tunnel-mode SA */
		n = clear_with(c, good, gcm ? 2 : 14, gcm ? 2 : 14, 59);
		ck_assert_int_eq(open_forged(x, seq++, c, n, &in), ESP_DROP_PADDING);
		n = clear_with(c, good, gcm ? 2 : 14, gcm ? 2 : 14, IPPROTO_TCP);
		ck_assert_int_eq(open_forged(x, seq++, c, n, &in), ESP_DROP_PADDING);
		/* an inner packet longer than what arrived; an IPv6 next header
		 * with an IPv4 packet */
		n = clear_with(c, good, gcm ? 2 : 14, gcm ? 2 : 14, 4);
		c[3] = 200;
		ck_assert_int_eq(open_forged(x, seq++, c, n, &in), ESP_DROP_MALFORMED);
		n = clear_with(c, good, gcm ? 2 : 14, gcm ? 2 : 14, 41);
		ck_assert_int_eq(open_forged(x, seq++, c, n, &in), ESP_DROP_MALFORMED);
		ck_assert_uint_eq(in.st.malformed, 6);
		ck_assert_uint_eq(in.st.packets, 1);
		/* authentic but refused packets still use up their numbers */
		n = clear_with(c, good, gcm ? 2 : 14, gcm ? 2 : 14, 4);
		ck_assert_int_eq(open_forged(x, 3, c, n, &in), ESP_DROP_REPLAY);
	}
}
END_TEST

/* TFC padding after the inner packet (RFC 4303 2.7) is cut off. */
START_TEST(tfc_padding_is_trimmed)
{
	const struct xform *x = &xforms[1];
	struct esp_sa out, in;
	pair(x, ENCAP_TUNNEL, &out, &in);
	uint8_t c[128];
	static const uint8_t pad[14] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14 };
	size_t n = clear_with(c, pad, 14, 14, 4);
	c[3] = 28;                                 /* the last 4 bytes are padding */
	struct pkt k;
	k.esp = k.buf;
	k.len = forge(x, 1, c, n, k.buf);
	uint8_t back[256], nh;
	size_t got;
	ck_assert_int_eq(open_copy(&in, &k, back, &got, &nh), ESP_OK);
	ck_assert_uint_eq(got, 28);
}
END_TEST

START_TEST(unsupported_setups_are_refused)
{
	char err[128];
	struct esp_sa sa;
	struct kernel_sa ks = make_ks(&xforms[1], true, ENCAP_TUNNEL, 1);
	ks.enc_key_len = 24;                       /* AES-192 is not negotiated */
	ck_assert_int_ne(esp_sa_init(&sa, &ks, err, sizeof err), 0);
	ks = make_ks(&xforms[1], true, ENCAP_TUNNEL, 1);
	ks.auth_key_len = 20;                      /* SHA-256 with a SHA-1 key */
	ck_assert_int_ne(esp_sa_init(&sa, &ks, err, sizeof err), 0);
	ks = make_ks(&xforms[1], true, ENCAP_TUNNEL, 1);
	ks.auth_alg = AUTHALG_HMAC_MD5;
	ck_assert_int_ne(esp_sa_init(&sa, &ks, err, sizeof err), 0);
	ks = make_ks(&xforms[6], true, ENCAP_TUNNEL, 1);
	ks.icv_bits = 64;                          /* GCM with an 8-byte ICV */
	ck_assert_int_ne(esp_sa_init(&sa, &ks, err, sizeof err), 0);
	ks = make_ks(&xforms[6], true, ENCAP_TUNNEL, 1);
	ks.enc_key_len = 16;                       /* GCM without its salt */
	ck_assert_int_ne(esp_sa_init(&sa, &ks, err, sizeof err), 0);
	ks = make_ks(&xforms[1], true, ENCAP_TUNNEL, 1);
	ks.enc_alg = ENC_3DES;
	ck_assert_int_ne(esp_sa_init(&sa, &ks, err, sizeof err), 0);
	ck_assert_ptr_nonnull(strstr(err, "3DES"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ike_esp");
	TCase *tc = tcase_create("esp");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, openssl_packets_open, 0, sizeof esp_vectors / sizeof esp_vectors[0]);
	tcase_add_test(tc, gcm_sealing_equals_openssl);
	tcase_add_loop_test(tc, round_trip_every_transform_and_mode, 0, NXFORMS);
	tcase_add_loop_test(tc, equal_payloads_differ_on_the_wire, 0, NXFORMS);
	tcase_add_loop_test(tc, tampered_packets_fail_integrity, 0, NXFORMS);
	tcase_add_loop_test(tc, replays_are_dropped, 0, NXFORMS);
	tcase_add_test(tc, replay_window_edges);
	tcase_add_test(tc, replay_window_moves);
	tcase_add_test(tc, numbers_skipped_over_are_still_new);
	tcase_add_loop_test(tc, truncated_packets_are_malformed, 0, NXFORMS);
	tcase_add_test(tc, another_spi_is_not_this_sa);
	tcase_add_loop_test(tc, sequence_numbers_never_wrap, 0, NXFORMS);
	tcase_add_test(tc, padding_and_next_header_are_checked);
	tcase_add_test(tc, tfc_padding_is_trimmed);
	tcase_add_test(tc, unsupported_setups_are_refused);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
