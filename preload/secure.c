/* preload/secure — the TLS states of a connection: handshake, records <->
 * plain bytes, renegotiation and key updates, close_notify at the end, and
 * the close_notify exchange that takes an application-controlled connection
 * back to clear text (STOP). Engine thread only. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <ezbztlsc.h>
#include <gnutls/crypto.h>

#include "common/log.h"
#include "policy/attls.h"
#include "policy/schema.h"
#include "preload/engine_internal.h"
#include "preload/real.h"
#include "preload/tls.h"

/* Whether GnuTLS's AGAIN comes from the kernel (an edge will follow) rather
 * than from GnuTLS pausing on its own. */
static bool really_blocked(struct conn *c)
{
	return c->rd_eagain || c->wr_eagain;
}

/* Whether a transport error means the peer reset the TCP connection (our
 * socket is closed by it), rather than something going wrong here. */
static bool reset_by_peer(struct conn *c, long rc)
{
	if (rc != GNUTLS_E_PULL_ERROR && rc != GNUTLS_E_PUSH_ERROR &&
	    rc != GNUTLS_E_PREMATURE_TERMINATION)
		return false;
	struct tcp_info ti;
	socklen_t len = sizeof ti;
	return sys_getsockopt(c->tcp, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
	       ti.tcpi_state == TCP_CLOSE;
}

/* The peer reset the connection after the handshake: its way of closing, not
 * a fault. The common case has nothing to do with us: a TLS 1.3 client that
 * closes right after its handshake leaves the session tickets GnuTLS sends
 * with the server's Finished unread, and its kernel answers them with a
 * reset (health checks, load tools, Python's ssl after do_handshake()). */
static void peer_reset(struct conn *c)
{
	if (atomic_load_explicit(&c->bytes_in, memory_order_relaxed) == 0 &&
	    atomic_load_explicit(&c->bytes_out, memory_order_relaxed) == 0)
		eng_end(c, ECONNRESET, TRACE_FLOW, LOG_DEBUG,
			"peer closed with a reset right after the handshake");
	else
		eng_end(c, ECONNRESET, TRACE_INFO, LOG_INFO, "peer reset the connection");
}

/* A TLS 1.3 server's handshake that a reset ended while it sent its session
 * tickets (GnuTLS sends them with its Finished when the client is not asked
 * for a certificate): whether the client had finished first. A client that
 * closes at once with SO_LINGER 0 (openssl s_time) can reset before the
 * tickets are written. What it sent before is then waiting in the socket: its
 * Finished ([ChangeCipherSpec,] one record of hash length + 21 bytes), not
 * an alert (one record of 19). */
static bool client_finished_before_reset(struct conn *c)
{
	if (c->role == ROLE_CLIENT || gnutls_protocol_get_version(c->ses) != GNUTLS_TLS1_3 ||
	    gnutls_handshake_get_last_out(c->ses) != GNUTLS_HANDSHAKE_NEW_SESSION_TICKET)
		return false;
	uint8_t b[64];
	size_t n = 0;
	if (c->rbuf && c->rbuf_off < c->rbuf_len) {
		n = c->rbuf_len - c->rbuf_off < sizeof b ? c->rbuf_len - c->rbuf_off : sizeof b;
		memcpy(b, c->rbuf + c->rbuf_off, n);
	}
	ssize_t k = recv(c->tcp, b + n, sizeof b - n, MSG_PEEK | MSG_DONTWAIT);
	if (k > 0)
		n += (size_t)k;
	size_t off = 0;
	if (n >= 6 && b[0] == 20 && b[3] == 0 && b[4] == 1)
		off = 6;   /* middlebox compatibility ChangeCipherSpec */
	if (n < off + 5 || b[off] != 23)
		return false;
	unsigned len = (unsigned)b[off + 3] << 8 | b[off + 4];
	unsigned hash = gnutls_hash_get_len((gnutls_digest_algorithm_t)gnutls_prf_hash_get(c->ses));
	return hash && len == hash + 21;
}

/* ---- handshake ------------------------------------------------------------------ */

/* One turn of gnutls_handshake, retried past warning alerts, interrupted
 * calls, and AGAIN that did not come from the kernel. */
static int drive_handshake(struct conn *c)
{
	int rc;
	int tries = 0;
	do {
		c->rd_eagain = c->wr_eagain = false;
		rc = gnutls_handshake(c->ses);
	} while (rc < 0 && !gnutls_error_is_fatal(rc) && ++tries < 64 &&
		 rc != GNUTLS_E_GOT_APPLICATION_DATA &&
		 (rc != GNUTLS_E_AGAIN || !really_blocked(c)));
	return rc;
}

void secure_start(struct conn *c)
{
	char err[512];
	if (!c->ctx) {
		c->ctx = tls_ctx_get(c->pol, c->s, c->role, err, sizeof err);
		if (!c->ctx) {
			eng_fail(c, ECONNRESET, "TLS cannot be set up: %s", err);
			return;
		}
	}
	/* A connection that may go back to clear text must never read past a record. */
	c->exact_reads = c->app_controlled;
	c->rec_hdr_have = c->rec_body_left = 0;
	c->bye_sent = c->bye_pending = c->net_blocked = c->peer_stopped = false;
	if (tls_session_start(c, err, sizeof err)) {
		eng_fail(c, ECONNRESET, "TLS cannot be set up: %s", err);
		return;
	}
	c->st = CS_HANDSHAKE;
	/* z/OS: the connecting side waits five times as long for the peer. */
	unsigned t = c->s->hs_timeout;
	eng_set_deadline(c, c->dir == DIR_OUTBOUND ? t * 5 : t);
	conn_log(c, TRACE_FLOW, LOG_DEBUG, "TLS handshake started as %s", enum_role[c->role]);
	eng_step(c);
}

static void handshake_done(struct conn *c)
{
	char err[512];
	if (tls_session_established(c, err, sizeof err)) {
		eng_fail(c, ECONNRESET, "%s", err);
		return;
	}
	/* Ready before the program's end can poll writable (the filler going): a
	 * connect() it calls when it sees writable must find the outcome there. */
	eng_mark_ready(c, 0);
	if (eng_drain_filler(c)) {
		eng_fail(c, ECONNRESET, "the program's end of the connection went away");
		return;
	}
	c->deadline_ms = 0;
	c->st = CS_SECURE;
	conn_log(c, TRACE_INFO, LOG_INFO, "secure: %s %s%s%s%s", c->proto, c->cipher,
		 gnutls_session_is_resumed(c->ses) ? " (resumed)" : "",
		 c->peer_subject[0] ? ", peer " : "", c->peer_subject);
	eng_op_done(c, 0);
	eng_step(c);
}

void secure_step_handshake(struct conn *c)
{
	int rc = drive_handshake(c);
	if (rc == 0) {
		handshake_done(c);
		return;
	}
	if (!gnutls_error_is_fatal(rc)) {
		if (rc != GNUTLS_E_AGAIN || !really_blocked(c))
			eng_again(c);   /* more to do with no edge to wait for */
		return;
	}
	if (reset_by_peer(c, rc) && client_finished_before_reset(c)) {
		peer_reset(c);
		return;
	}
	char why[512];
	tls_failure_reason(c, rc, why, sizeof why);
	/* Tell the peer why before closing (RFC 8446 6.2: bad_certificate,
	 * certificate_required, handshake_failure...). Best effort: the socket is
	 * non-blocking and an alert fits in any send buffer. GnuTLS sends nothing
	 * for errors that call for no alert (a received alert, a closed socket). */
	gnutls_alert_send_appropriate(c->ses, rc);
	eng_fail(c, ECONNRESET, "TLS handshake failed: %s", why);
}

/* ---- records to the program ---------------------------------------------------- */

static void peer_finished(struct conn *c, const char *how)
{
	c->net_eof = true;
	sys_shutdown(c->eng, SHUT_WR);   /* the program reads end-of-file */
	conn_log(c, TRACE_FLOW, LOG_DEBUG, "peer finished sending (%s)", how);
}

/* The peer's close_notify. On an application-controlled connection it is the
 * peer's half of going back to clear text: the program has not said so yet,
 * so nothing changes for it until it asks (STOP) — the connection does not
 * fall back to clear on its own. Otherwise it is the end of the stream. */
static void close_notify_received(struct conn *c)
{
	if (c->app_controlled && !c->net_eof && !c->lingering) {
		c->peer_stopped = true;
		conn_log(c, TRACE_EVENT, LOG_DEBUG, "peer ended TLS (close_notify); waiting for the "
			 "program to stop TLS too");
		return;
	}
	peer_finished(c, "close_notify");
}

/* Records from the peer to the program. Returns true on progress. */
static bool net_to_app(struct conn *c)
{
	bool progress = false;
	if (!eng_flush_to_app(c, &progress) || c->net_eof ||
	    (c->st != CS_SECURE && c->st != CS_STOPPING))
		return progress;
	if (c->peer_stopped) {
		/* What follows the peer's close_notify is clear text for after the
		 * program's STOP, or the end of the connection: only the end is ours. */
		uint8_t b;
		if (recv(c->tcp, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0) {
			c->peer_stopped = false;
			peer_finished(c, "close_notify, then TCP FIN");
			return true;
		}
		return progress;
	}
	for (int i = 0; i < BATCH; i++) {
		c->rd_eagain = c->wr_eagain = false;
		ssize_t n = gnutls_record_recv(c->ses, eng_scratch, SCRATCH);
		if (n > 0) {
			atomic_fetch_add_explicit(&c->bytes_in, (uint64_t)n, memory_order_relaxed);
			progress = true;
			if (!eng_send_to_app(c, eng_scratch, (size_t)n))
				return true;
			continue;
		}
		if (n == 0) {
			close_notify_received(c);
			return true;
		}
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
			/* GnuTLS also says AGAIN after digesting a post-handshake message
			 * (a TLS 1.3 session ticket) without touching the socket again. With
			 * edge-triggered epoll only the kernel's EAGAIN means "wait". */
			if (really_blocked(c))
				return progress;
			progress = true;
			continue;
		}
		if (n == GNUTLS_E_PREMATURE_TERMINATION) {
			/* TCP closed without close_notify: many servers do it. The program
			 * sees end-of-file; the log says it was not a clean TLS close. */
			conn_log(c, TRACE_EVENT, LOG_DEBUG, "peer closed TCP without TLS close_notify");
			peer_finished(c, "TCP FIN");
			return true;
		}
		if (n == GNUTLS_E_REHANDSHAKE) {
			c->rehandshake = true;
			tls_prepare_renegotiation(c);
			conn_log(c, TRACE_EVENT, LOG_DEBUG, "peer asked for renegotiation");
			return true;
		}
		if (!gnutls_error_is_fatal((int)n))
			continue;
		if (reset_by_peer(c, n)) {
			peer_reset(c);
			return true;
		}
		char why[512];
		tls_failure_reason(c, (int)n, why, sizeof why);
		eng_fail(c, ECONNRESET, "TLS error from peer: %s", why);
		return true;
	}
	eng_again(c);   /* more may wait without a new edge */
	return progress;
}

/* ---- the program's bytes to the peer ----------------------------------------------- */

static void send_failed(struct conn *c, long rc)
{
	if (reset_by_peer(c, rc))
		peer_reset(c);
	else
		eng_fail(c, ECONNRESET, "sending to the peer failed: %s", gnutls_strerror((int)rc));
}

static void bye_done(struct conn *c)
{
	c->bye_pending = false;
	c->bye_sent = true;
	/* Going back to clear keeps the TCP connection whole. */
	if (c->st != CS_STOPPING)
		sys_shutdown(c->tcp, SHUT_WR);
	conn_log(c, TRACE_FLOW, LOG_DEBUG, "sent close_notify");
}

static void send_bye(struct conn *c)
{
	if (c->bye_sent || c->bye_pending)
		return;
	int rc = gnutls_bye(c->ses, GNUTLS_SHUT_WR);
	if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
		c->net_blocked = true;
		c->bye_pending = true;
		return;
	}
	bye_done(c);
}

/* Finish a write GnuTLS had to leave half done. Returns false while the socket
 * is still full. */
static bool flush_net(struct conn *c, bool *progress)
{
	if (!c->net_blocked)
		return true;
	ssize_t rc = c->bye_pending ? gnutls_bye(c->ses, GNUTLS_SHUT_WR)
		   : c->uncork_pending ? gnutls_record_uncork(c->ses, 0)
				       : gnutls_record_send(c->ses, NULL, 0);
	if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED)
		return false;
	c->net_blocked = false;
	*progress = true;
	if (rc < 0) {
		send_failed(c, rc);
		return false;
	}
	if (c->bye_pending)
		bye_done(c);
	else if (!c->uncork_pending)
		atomic_fetch_add_explicit(&c->bytes_out, (uint64_t)rc, memory_order_relaxed);
	c->uncork_pending = false;
	return true;
}

/* Encrypt what the program has written, until the pair is empty or the socket
 * full. One read takes up to SCRATCH bytes; they become several records,
 * corked so that one sendmsg carries them. Returns true on progress; *eof
 * when the program finished sending. */
static bool encrypt_from_app(struct conn *c, bool *eof)
{
	bool progress = false;
	size_t rec = gnutls_record_get_max_size(c->ses);
	for (int i = 0; i < BATCH; i++) {
		ssize_t n = read(c->eng, eng_scratch, SCRATCH);
		if (n < 0 && errno == EAGAIN) {
			if (!eng_exiting())
				return progress;
			n = 0;   /* the process is exiting: it will write nothing more */
		}
		if (n <= 0) {
			*eof = true;
			return true;
		}
		progress = true;
		gnutls_record_cork(c->ses);
		for (size_t off = 0; off < (size_t)n;) {
			size_t chunk = (size_t)n - off < rec ? (size_t)n - off : rec;
			ssize_t rc = gnutls_record_send(c->ses, eng_scratch + off, chunk);
			if (rc <= 0) {
				eng_fail(c, ECONNRESET, "encrypting for the peer failed: %s",
					 gnutls_strerror((int)rc));
				return true;
			}
			off += (size_t)rc;
		}
		atomic_fetch_add_explicit(&c->bytes_out, (uint64_t)n, memory_order_relaxed);
		c->wr_eagain = false;
		int rc = gnutls_record_uncork(c->ses, 0);
		if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
			/* The records wait in GnuTLS; flush them when writable. */
			c->net_blocked = true;
			c->uncork_pending = true;
			return true;
		}
		if (rc < 0) {
			send_failed(c, rc);
			return true;
		}
	}
	eng_again(c);
	return progress;
}

static bool app_to_net(struct conn *c)
{
	bool progress = false;
	if (!flush_net(c, &progress) || c->st != CS_SECURE)
		return progress;
	if (c->app_eof) {
		send_bye(c);
		return progress;
	}
	bool eof = false;
	progress |= encrypt_from_app(c, &eof);
	if (eof && c->st == CS_SECURE) {
		c->app_eof = true;
		conn_log(c, TRACE_FLOW, LOG_DEBUG, "program finished sending");
		if (!c->net_blocked)
			send_bye(c);
	}
	return progress;
}

/* GnuTLS abandons a renegotiation that meets application data (it reads it
 * as the peer declining) and starts over from a new hello. A server that
 * gets data instead of a ClientHello may do that: the client declined, and
 * the record goes to the program once it has room. A client cannot: its
 * first ClientHello is still on the way, and a second one breaks the peer's
 * handshake. So the client's connection ends here, the record passed on,
 * rather than go on with a broken handshake. */
static void renegotiation_met_data(struct conn *c)
{
	bool progress = false;
	bool room = eng_flush_to_app(c, &progress);
	if (room || c->role == ROLE_CLIENT) {
		ssize_t n = gnutls_record_recv(c->ses, eng_scratch, SCRATCH);
		if (n > 0) {
			atomic_fetch_add_explicit(&c->bytes_in, (uint64_t)n, memory_order_relaxed);
			eng_send_to_app(c, eng_scratch, (size_t)n);
		}
	}
	if (c->role == ROLE_CLIENT) {
		eng_fail(c, ECONNRESET, "renegotiation failed: the peer sent application data "
			 "before it answered our ClientHello (the TLS library cannot go on)");
		return;
	}
	if (room)
		eng_again(c);
}

static void step_rehandshake(struct conn *c)
{
	int rc = drive_handshake(c);
	if (rc == GNUTLS_E_GOT_APPLICATION_DATA) {
		renegotiation_met_data(c);
		return;
	}
	if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
		if (!really_blocked(c))
			eng_again(c);
		return;
	}
	if (rc < 0) {
		char why[512];
		tls_failure_reason(c, rc, why, sizeof why);
		eng_fail(c, ECONNRESET, "renegotiation failed: %s", why);
		return;
	}
	c->rehandshake = false;
	char err[256];
	tls_session_established(c, err, sizeof err);   /* the new cipher, for queries */
	conn_log(c, TRACE_EVENT, LOG_DEBUG, "renegotiated: %s %s", c->proto, c->cipher);
	eng_op_done(c, 0);
}

void secure_step(struct conn *c)
{
	for (int rounds = 0; rounds < 64 && c->st == CS_SECURE; rounds++) {
		if (c->rehandshake) {
			step_rehandshake(c);
			if (c->rehandshake || c->st != CS_SECURE)
				return;
		}
		bool progress = net_to_app(c);
		if (c->st != CS_SECURE)
			return;
		if (c->rehandshake)
			continue;   /* only the handshake may move until it is done */
		progress |= app_to_net(c);
		if (c->st != CS_SECURE)
			return;
		if ((c->app_gone || eng_exiting()) && c->app_eof && !c->net_blocked && !c->lingering) {
			/* Every copy of the program's end is closed and everything it wrote
			 * is sent: nobody will read what the peer still sends. Closing
			 * the socket now, with the peer's late bytes unread (TLS 1.3
			 * session tickets often come after our data), makes our kernel
			 * answer with a reset, and a reset can destroy data the peer has
			 * received but not yet read. So: close_notify, FIN, then read
			 * and drop until the peer closes too, for at most LINGER_S. */
			if (!c->bye_sent)
				send_bye(c);
			c->lingering = true;
			c->app_rd_closed = true;
			c->peer_stopped = false;
			eng_set_deadline(c, LINGER_S);
			conn_log(c, TRACE_FLOW, LOG_DEBUG, "program gone; waiting for the peer to close");
			continue;
		}
		if (c->app_eof && c->bye_sent && (c->net_eof || c->peer_stopped) && !c->to_app) {
			eng_teardown(c);
			return;
		}
		if (!progress)
			return;
	}
	eng_again(c);
}

/* ---- back to clear text (STOP) --------------------------------------------------- */

static void stopped(struct conn *c)
{
	tls_session_end(c);
	c->exact_reads = false;
	c->deadline_ms = 0;
	if (eng_drain_filler(c)) {
		eng_fail(c, ECONNRESET, "the program's end of the connection went away");
		return;
	}
	clear_enter(c, "TLS stopped (close_notify both ways); clear text again");
	eng_op_done(c, 0);
}

int secure_begin_stop(struct conn *c, unsigned *jr)
{
	/* Everything the program wrote before asking goes out under TLS first. */
	bool progress = false, eof = false;
	if (flush_net(c, &progress) && c->st == CS_SECURE)
		encrypt_from_app(c, &eof);
	if (c->st != CS_SECURE)
		return c->op_err ? c->op_err : EPIPE;
	int unsent = 0;
	if (c->net_blocked || eof || (ioctl(c->eng, FIONREAD, &unsent) == 0 && unsent > 0)) {
		*jr = JrTTLSStopWriteDataPending;
		return EPROTO;
	}
	if (c->to_app || gnutls_record_check_pending(c->ses) > 0) {
		*jr = JrTTLSStopReadDataPending;
		return EPROTO;
	}
	c->st = CS_STOPPING;
	eng_op_start(c);
	eng_set_deadline(c, c->s->hs_timeout);
	conn_log(c, TRACE_EVENT, LOG_DEBUG, "program stops TLS: close_notify sent%s",
		 c->peer_stopped ? " (the peer's came first)" : "");
	send_bye(c);
	eng_step(c);
	return 0;
}

/* At a record boundary, whether the peer's next bytes are not a TLS record
 * (content types 20-24, version 3.x): a peer that went back to clear text
 * without answering our close_notify (curl's passive CCC does). */
static bool peer_went_clear(struct conn *c)
{
	if (c->rec_hdr_have || c->rec_body_left || c->inject ||
	    gnutls_record_check_pending(c->ses) > 0)
		return false;
	uint8_t b[2];
	ssize_t n = recv(c->tcp, b, sizeof b, MSG_PEEK | MSG_DONTWAIT);
	if (n <= 0)
		return false;
	return b[0] < 20 || b[0] > 24 || (n == 2 && b[1] != 3);
}

void secure_step_stopping(struct conn *c)
{
	bool progress = false;
	if (!flush_net(c, &progress) || c->st != CS_STOPPING)
		return;
	if (c->peer_stopped) {
		stopped(c);
		return;
	}
	/* Records the peer sent before its close_notify still go to the program. */
	for (int i = 0; i < BATCH; i++) {
		if (!eng_flush_to_app(c, &progress))
			return;
		if (peer_went_clear(c)) {
			conn_log(c, TRACE_EVENT, LOG_DEBUG, "the peer answered close_notify with clear "
				 "text rather than its own close_notify");
			stopped(c);
			return;
		}
		c->rd_eagain = c->wr_eagain = false;
		ssize_t n = gnutls_record_recv(c->ses, eng_scratch, SCRATCH);
		if (n > 0) {
			atomic_fetch_add_explicit(&c->bytes_in, (uint64_t)n, memory_order_relaxed);
			eng_send_to_app(c, eng_scratch, (size_t)n);
			continue;
		}
		if (n == 0) {
			stopped(c);
			return;
		}
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
			if (really_blocked(c))
				return;
			continue;
		}
		if (!gnutls_error_is_fatal((int)n))
			continue;
		char why[512];
		tls_failure_reason(c, (int)n, why, sizeof why);
		eng_fail(c, ECONNRESET, "TLS error while stopping: %s", why);
		return;
	}
	eng_again(c);
}

/* ---- key refresh ------------------------------------------------------------------ */

void secure_reset_session(struct conn *c)
{
	/* The next handshake must be a full one: forget what could resume this. */
	if (c->ses)
		gnutls_db_remove_session(c->ses);
	tls_forget_resumption(c);
	/* A server's tickets are sealed with the context's key: a new key makes
	 * every ticket issued so far unusable. */
	if (c->role != ROLE_CLIENT)
		tls_ctx_new_ticket_key(c->ctx);
	conn_log(c, TRACE_EVENT, LOG_DEBUG, "session reset: the next handshake is a full one");
}

int secure_reset_cipher(struct conn *c, bool write_only, unsigned *jr)
{
	(void)jr;
	bool tls13 = gnutls_protocol_get_version(c->ses) == GNUTLS_TLS1_3;
	if (write_only && !tls13)
		return EPROTO;   /* RESET_WRITE_CIPHER is TLS 1.3's KeyUpdate */
	if (tls13) {
		/* KeyUpdate: ours, and (unless write_only) ask the peer to update too. */
		int rc = gnutls_session_key_update(c->ses, write_only ? 0 : GNUTLS_KU_PEER);
		if (rc < 0 && rc != GNUTLS_E_AGAIN) {
			eng_fail(c, ECONNRESET, "key update failed: %s", gnutls_strerror(rc));
			return ECONNRESET;
		}
		if (rc == GNUTLS_E_AGAIN)
			c->net_blocked = true;
		conn_log(c, TRACE_EVENT, LOG_DEBUG, "key update sent%s", write_only ? "" : ", peer asked too");
		return 0;
	}
	if (c->role == ROLE_CLIENT) {
		/* TLS 1.2: a new handshake on the connection (RFC 5746 secure renegotiation). */
		c->rehandshake = true;
		tls_prepare_renegotiation(c);
		eng_op_start(c);   /* the caller waits for the renegotiation */
		eng_step(c);
		return 0;
	}
	/* A server can only ask: HelloRequest, then the client renegotiates. */
	tls_prepare_renegotiation(c);
	int rc = gnutls_rehandshake(c->ses);
	if (rc < 0 && rc != GNUTLS_E_AGAIN) {
		eng_fail(c, ECONNRESET, "cannot request renegotiation: %s", gnutls_strerror(rc));
		return ECONNRESET;
	}
	conn_log(c, TRACE_EVENT, LOG_DEBUG, "renegotiation requested (HelloRequest)");
	return 0;
}

int secure_send_ticket(struct conn *c, unsigned *jr)
{
	(void)jr;
	if (c->role == ROLE_CLIENT || gnutls_protocol_get_version(c->ses) != GNUTLS_TLS1_3)
		return EPROTO;
	int rc = gnutls_session_ticket_send(c->ses, 1, 0);
	if (rc == GNUTLS_E_AGAIN)
		c->net_blocked = true;
	else if (rc < 0)
		return EPROTO;
	conn_log(c, TRACE_EVENT, LOG_DEBUG, "session ticket sent");
	return 0;
}
