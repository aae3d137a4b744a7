/* preload/tls exact reads: on a connection that may go back to clear text,
 * the transport never reads past the end of a TLS record, so the clear bytes
 * a peer sends right behind its close_notify stay in the socket. */
#include <gnutls/gnutls.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "preload/conn.h"
#include "preload/tls.h"
#include "tests/unit/support.h"

START_TEST(boundaries_of_records_split_anywhere)
{
	struct conn c = { .exact_reads = true };
	/* two records: 3-byte body, then 70000 is impossible; use 300 */
	uint8_t stream[5 + 3 + 5 + 300];
	memset(stream, 0xAA, sizeof stream);
	memcpy(stream, "\x17\x03\x03\x00\x03", 5);
	memcpy(stream + 8, "\x17\x03\x03\x01\x2c", 5);
	size_t off = 0;
	size_t total = sizeof stream;
	/* Read with every request size from 1 to 7, as GnuTLS might ask. */
	for (size_t ask = 1; off < total; ask = ask % 7 + 1) {
		size_t lim = tls_exact_limit(&c, ask);
		ck_assert_uint_ge(lim, 1);
		ck_assert_uint_le(lim, ask);
		/* never across a boundary: header 0-5, body 5-8, header 8-13, body 13-313 */
		size_t end = off + lim;
		ck_assert(!(off < 5 && end > 5) && !(off < 8 && end > 8) && !(off < 13 && end > 13));
		tls_exact_consumed(&c, stream + off, lim);
		off += lim;
	}
	ck_assert_uint_eq(off, total);
	ck_assert_uint_eq(c.rec_hdr_have, 0);
	ck_assert_uint_eq(c.rec_body_left, 0);
}
END_TEST

/* Drive one non-blocking handshake between two sessions in this thread. */
static void handshake_both(gnutls_session_t a, gnutls_session_t b)
{
	int ra = GNUTLS_E_AGAIN, rb = GNUTLS_E_AGAIN;
	for (int i = 0; i < 1000 && (ra || rb); i++) {
		if (ra)
			ra = gnutls_handshake(a);
		if (rb)
			rb = gnutls_handshake(b);
		ck_assert(ra == 0 || ra == GNUTLS_E_AGAIN);
		ck_assert(rb == 0 || rb == GNUTLS_E_AGAIN);
	}
	ck_assert_int_eq(ra, 0);
	ck_assert_int_eq(rb, 0);
}

START_TEST(clear_text_behind_close_notify_stays_in_the_socket)
{
	int sv[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	gnutls_anon_client_credentials_t ccred;
	gnutls_anon_server_credentials_t scred;
	gnutls_anon_allocate_client_credentials(&ccred);
	gnutls_anon_allocate_server_credentials(&scred);
	const char *prio = "NORMAL:-VERS-ALL:+VERS-TLS1.2:+ANON-ECDH:-KX-ALL:+ANON-ECDH";

	/* the shim's side: server, exact reads, the shim's transport */
	struct conn c = { .tcp = sv[0], .exact_reads = true };
	gnutls_init(&c.ses, GNUTLS_SERVER | GNUTLS_NONBLOCK);
	ck_assert_int_eq(gnutls_priority_set_direct(c.ses, prio, NULL), 0);
	gnutls_credentials_set(c.ses, GNUTLS_CRD_ANON, scred);
	tls_transport_attach(&c);

	/* the peer: a plain GnuTLS client on the other end */
	gnutls_session_t peer;
	gnutls_init(&peer, GNUTLS_CLIENT | GNUTLS_NONBLOCK);
	ck_assert_int_eq(gnutls_priority_set_direct(peer, prio, NULL), 0);
	gnutls_credentials_set(peer, GNUTLS_CRD_ANON, ccred);
	gnutls_transport_set_int(peer, sv[1]);

	handshake_both(c.ses, peer);
	ck_assert_int_eq(gnutls_record_send(peer, "secret", 6), 6);
	ck_assert_int_eq(gnutls_bye(peer, GNUTLS_SHUT_WR), 0);
	ck_assert_int_eq(write(sv[1], "CLEAR TEXT", 10), 10);

	char buf[64];
	ssize_t n;
	while ((n = gnutls_record_recv(c.ses, buf, sizeof buf)) == GNUTLS_E_AGAIN)
		;
	ck_assert_int_eq(n, 6);
	ck_assert(memcmp(buf, "secret", 6) == 0);
	while ((n = gnutls_record_recv(c.ses, buf, sizeof buf)) == GNUTLS_E_AGAIN)
		;
	ck_assert_int_eq(n, 0);               /* close_notify */
	/* Everything after it is still in the socket, byte for byte. */
	n = read(sv[0], buf, sizeof buf);
	ck_assert_int_eq(n, 10);
	ck_assert(memcmp(buf, "CLEAR TEXT", 10) == 0);

	gnutls_deinit(c.ses);
	gnutls_deinit(peer);
	gnutls_anon_free_client_credentials(ccred);
	gnutls_anon_free_server_credentials(scred);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(a_large_read_stops_at_the_record_end)
{
	int sv[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	/* an alert record (close_notify) followed by clear text */
	ck_assert_int_eq(write(sv[1], "\x15\x03\x03\x00\x02\x01\x00" "CLEAR", 12), 12);
	struct conn c = { .tcp = sv[0], .exact_reads = true };
	uint8_t buf[4096];
	ck_assert_int_eq(tls_transport_read(&c, buf, sizeof buf), 5);   /* the header */
	ck_assert_int_eq(tls_transport_read(&c, buf, sizeof buf), 2);   /* the body */
	ck_assert_int_eq(read(sv[0], buf, sizeof buf), 5);
	ck_assert(memcmp(buf, "CLEAR", 5) == 0);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("preload_records");
	TCase *tc = tcase_create("records");
	tcase_add_test(tc, boundaries_of_records_split_anywhere);
	tcase_add_test(tc, clear_text_behind_close_notify_stays_in_the_socket);
	tcase_add_test(tc, a_large_read_stops_at_the_record_end);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
