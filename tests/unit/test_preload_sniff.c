/* preload/sniff: recognising a ClientHello and reading its server name, with
 * every length checked against the buffer. */
#include <string.h>

#include "preload/sniff.h"
#include "tests/unit/support.h"

struct buf {
	uint8_t b[4096];
	size_t n;
};

static void put(struct buf *x, const void *p, size_t n) { memcpy(x->b + x->n, p, n); x->n += n; }
static void u8(struct buf *x, unsigned v) { x->b[x->n++] = (uint8_t)v; }
static void u16(struct buf *x, unsigned v) { u8(x, v >> 8); u8(x, v & 0xff); }
static void u24(struct buf *x, unsigned v) { u8(x, v >> 16); u16(x, v & 0xffff); }

/* A ClientHello record; sni NULL for none. */
static void hello(struct buf *out, const char *sni)
{
	struct buf body = { .n = 0 }, ext = { .n = 0 };
	u16(&body, 0x0303);
	uint8_t random[32] = { 1, 2, 3 };
	put(&body, random, 32);
	u8(&body, 32);
	uint8_t sid[32] = { 9 };
	put(&body, sid, 32);
	u16(&body, 4);
	u16(&body, 0x1301);
	u16(&body, 0xc02f);
	u8(&body, 1);
	u8(&body, 0);
	u16(&ext, 0x000a);                 /* supported_groups first, to be skipped */
	u16(&ext, 4);
	u16(&ext, 2);
	u16(&ext, 0x001d);
	if (sni) {
		size_t l = strlen(sni);
		u16(&ext, 0x0000);
		u16(&ext, (unsigned)(l + 5));
		u16(&ext, (unsigned)(l + 3));
		u8(&ext, 0);
		u16(&ext, (unsigned)l);
		put(&ext, sni, l);
	}
	u16(&body, (unsigned)ext.n);
	put(&body, ext.b, ext.n);
	out->n = 0;
	u8(out, 0x16);
	u16(out, 0x0301);
	u16(out, (unsigned)(body.n + 4));
	u8(out, 0x01);
	u24(out, (unsigned)body.n);
	put(out, body.b, body.n);
}

START_TEST(a_client_hello_is_tls_and_names_its_server)
{
	struct buf h;
	hello(&h, "db.example.com");
	char sni[256];
	ck_assert_int_eq(sniff_client_hello(h.b, h.n, sni, sizeof sni), SNIFF_TLS);
	ck_assert_str_eq(sni, "db.example.com");
	hello(&h, NULL);
	ck_assert_int_eq(sniff_client_hello(h.b, h.n, sni, sizeof sni), SNIFF_TLS);
	ck_assert_str_eq(sni, "");
}
END_TEST

START_TEST(every_prefix_is_more_or_tls)
{
	struct buf h;
	hello(&h, "a.example");
	char sni[256];
	for (size_t k = 0; k < h.n; k++) {
		int r = sniff_client_hello(h.b, k, sni, sizeof sni);
		ck_assert_msg(k < 6 ? r == SNIFF_MORE : r == SNIFF_TLS, "prefix %zu -> %d", k, r);
		ck_assert_str_eq(sni, "");    /* the name only once the hello is whole */
	}
}
END_TEST

START_TEST(clear_text_is_not_tls)
{
	static const char *const texts[] = { "GET / HTTP/1.1\r\n", "EHLO x\r\n", "USER a\r\n",
					     "\x16\x02", "\x16\x03\x05", "\x15\x03\x03\x00\x02\x02\x28" };
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
		ck_assert_int_eq(sniff_client_hello((const uint8_t *)texts[i], strlen(texts[i]), NULL, 0),
				 SNIFF_NOT_TLS);
	/* a handshake record that is not a ClientHello, or of absurd length */
	uint8_t sh[] = { 0x16, 0x03, 0x03, 0x00, 0x40, 0x02 };
	ck_assert_int_eq(sniff_client_hello(sh, sizeof sh, NULL, 0), SNIFF_NOT_TLS);
	uint8_t big[] = { 0x16, 0x03, 0x01, 0xff, 0xff, 0x01 };
	ck_assert_int_eq(sniff_client_hello(big, sizeof big, NULL, 0), SNIFF_NOT_TLS);
	uint8_t tiny[] = { 0x16, 0x03, 0x01, 0x00, 0x05, 0x01 };
	ck_assert_int_eq(sniff_client_hello(tiny, sizeof tiny, NULL, 0), SNIFF_NOT_TLS);
}
END_TEST

START_TEST(lying_lengths_never_read_outside_the_buffer)
{
	struct buf h;
	hello(&h, "x.example");
	char sni[256];
	/* Corrupt each length byte in turn to every value; ASan watches the reads. */
	for (size_t pos = 5; pos < h.n; pos++) {
		uint8_t saved = h.b[pos];
		for (unsigned v = 0; v < 256; v += 17) {
			h.b[pos] = (uint8_t)v;
			int r = sniff_client_hello(h.b, h.n, sni, sizeof sni);
			ck_assert(r == SNIFF_TLS || r == SNIFF_NOT_TLS);
			ck_assert_uint_lt(strlen(sni), sizeof sni);
		}
		h.b[pos] = saved;
	}
}
END_TEST

START_TEST(a_name_too_long_or_not_printable_is_left_out)
{
	struct buf h;
	char longname[300];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	hello(&h, longname);
	char sni[64];
	ck_assert_int_eq(sniff_client_hello(h.b, h.n, sni, sizeof sni), SNIFF_TLS);
	ck_assert_str_eq(sni, "");
	hello(&h, "bad\001name");
	ck_assert_int_eq(sniff_client_hello(h.b, h.n, sni, sizeof sni), SNIFF_TLS);
	ck_assert_str_eq(sni, "");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("preload_sniff");
	TCase *tc = tcase_create("sniff");
	tcase_add_test(tc, a_client_hello_is_tls_and_names_its_server);
	tcase_add_test(tc, every_prefix_is_more_or_tls);
	tcase_add_test(tc, clear_text_is_not_tls);
	tcase_add_test(tc, lying_lengths_never_read_outside_the_buffer);
	tcase_add_test(tc, a_name_too_long_or_not_printable_is_left_out);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
