/* preload/clear — the clear-text states of an application-controlled
 * connection: bytes pass through unchanged until the program starts TLS with
 * SIOCTTLSCTL; with ALLOW_HSTIMEOUT the peer's first bytes decide between TLS
 * and clear text. Also the end of a non-blocking connect. Engine thread only. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "policy/attls.h"
#include "preload/engine_internal.h"
#include "preload/real.h"
#include "preload/sniff.h"

void clear_step_connecting(struct conn *c)
{
	if (c->app_gone) {
		/* The program gave up (its own timeout) and closed: as close() on a
		 * connecting TCP socket, the attempt ends now. */
		conn_log(c, TRACE_FLOW, LOG_DEBUG, "program closed before the connection was made");
		eng_teardown(c);
		return;
	}
	int err = 0;
	socklen_t len = sizeof err;
	if (sys_getsockopt(c->tcp, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err) {
		/* The program learns this from connect() or SO_ERROR, as without attls. */
		eng_end(c, err, TRACE_INFO, LOG_INFO, "connect failed: %s", strerror(err));
		return;
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	if (sys_getpeername(c->tcp, (struct sockaddr *)&ss, &sl) != 0)
		return;   /* not connected yet: the next edge will say */
	if (!c->app_controlled) {
		secure_start(c);
		return;
	}
	/* Ready before the program's end can poll writable: a connect() it calls
	 * when it sees writable must find the outcome there. */
	eng_mark_ready(c, 0);
	if (eng_drain_filler(c)) {
		eng_fail(c, ECONNRESET, "the program's end of the connection went away");
		return;
	}
	clear_enter(c, "connected; clear text until the program starts TLS");
}

void clear_enter(struct conn *c, const char *why)
{
	c->st = CS_CLEAR;
	conn_log(c, TRACE_FLOW, LOG_DEBUG, "%s", why);
	eng_step(c);
}

/* Append n bytes to a buffer that may already hold some. */
static int append(uint8_t **buf, size_t *len, size_t *off, const uint8_t *p, size_t n)
{
	size_t have = *buf ? *len - *off : 0;
	uint8_t *b = malloc(have + n);
	if (!b)
		return -1;
	if (have)
		memcpy(b, *buf + *off, have);
	memcpy(b + have, p, n);
	free(*buf);
	*buf = b;
	*len = have + n;
	*off = 0;
	return 0;
}

static bool flush_to_net(struct conn *c, bool *progress)
{
	while (c->to_net) {
		ssize_t n = send(c->tcp, c->to_net + c->to_net_off, c->to_net_len - c->to_net_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN)
			return false;
		if (n < 0) {
			eng_fail(c, errno, "sending to the peer failed: %s", strerror(errno));
			return false;
		}
		c->to_net_off += (size_t)n;
		atomic_fetch_add_explicit(&c->bytes_out, (uint64_t)n, memory_order_relaxed);
		*progress = true;
		if (c->to_net_off == c->to_net_len) {
			free(c->to_net);
			c->to_net = NULL;
		}
	}
	return true;
}

static bool clear_net_to_app(struct conn *c)
{
	bool progress = false;
	if (!eng_flush_to_app(c, &progress) || c->net_eof || c->frozen)
		return progress;
	for (int i = 0; i < BATCH; i++) {
		ssize_t n = recv(c->tcp, eng_scratch, SCRATCH, MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN)
			return progress;
		if (n <= 0) {
			c->net_eof = true;
			sys_shutdown(c->eng, SHUT_WR);
			conn_log(c, TRACE_FLOW, LOG_DEBUG, "peer finished sending (%s)",
				 n == 0 ? "FIN" : strerror(errno));
			return true;
		}
		progress = true;
		atomic_fetch_add_explicit(&c->bytes_in, (uint64_t)n, memory_order_relaxed);
		if (!eng_send_to_app(c, eng_scratch, (size_t)n))
			return true;
	}
	eng_again(c);
	return progress;
}

static bool clear_app_to_net(struct conn *c)
{
	bool progress = false;
	if (!flush_to_net(c, &progress) || c->st != CS_CLEAR || c->app_eof)
		return progress;
	for (int i = 0; i < BATCH; i++) {
		ssize_t n = read(c->eng, eng_scratch, SCRATCH);
		if (n < 0 && errno == EAGAIN && !eng_exiting())
			return progress;
		if (n <= 0) {
			c->app_eof = true;
			sys_shutdown(c->tcp, SHUT_WR);
			conn_log(c, TRACE_FLOW, LOG_DEBUG, "program finished sending");
			return true;
		}
		progress = true;
		if (append(&c->to_net, &c->to_net_len, &c->to_net_off, eng_scratch, (size_t)n)) {
			eng_fail(c, ENOMEM, "out of memory buffering the program's data");
			return true;
		}
		if (!flush_to_net(c, &progress))
			return true;
	}
	eng_again(c);
	return progress;
}

/* Start what INIT asked for, now that the clear text before it is out. */
static void begin_tls_now(struct conn *c)
{
	c->tls_pending = false;
	if (c->tls_pending_sniff) {
		c->st = CS_SNIFF;
		eng_set_deadline(c, c->s->hs_timeout);
		conn_log(c, TRACE_FLOW, LOG_DEBUG, "waiting up to %u s for a ClientHello or clear text",
			 c->s->hs_timeout);
		eng_step(c);
	} else {
		secure_start(c);
	}
}

void clear_step(struct conn *c)
{
	if (c->tls_pending) {
		bool progress = false;
		if (flush_to_net(c, &progress) && c->st == CS_CLEAR)
			begin_tls_now(c);
		return;
	}
	for (int rounds = 0; rounds < 64 && c->st == CS_CLEAR; rounds++) {
		bool progress = clear_net_to_app(c);
		if (c->st != CS_CLEAR)
			return;
		progress |= clear_app_to_net(c);
		if (c->st != CS_CLEAR)
			return;
		if ((c->app_gone || eng_exiting()) && c->app_eof && !c->to_net && !c->lingering) {
			/* As in secure.c: FIN sent, then wait for the peer's, briefly. */
			c->lingering = true;
			c->app_rd_closed = true;
			c->frozen = false;
			eng_set_deadline(c, LINGER_S);
			continue;
		}
		if (c->app_eof && c->net_eof && !c->to_app && !c->to_net) {
			eng_teardown(c);
			return;
		}
		if (!progress)
			return;
	}
	eng_again(c);
}

int clear_begin_tls(struct conn *c, const uint8_t *pushback, size_t n, bool allow_hstimeout)
{
	/* What the peer sent that the program has not read belongs to the TLS
	 * stream: the bytes taken back from the program's end first, then those
	 * still waiting here for it. */
	if ((n && append(&c->inject, &c->inject_len, &c->inject_off, pushback, n)) ||
	    (c->to_app && append(&c->inject, &c->inject_len, &c->inject_off,
				 c->to_app + c->to_app_off, c->to_app_len - c->to_app_off)))
		return ENOMEM;
	free(c->to_app);
	c->to_app = NULL;
	c->frozen = false;
	/* Everything the program wrote before asking goes out in clear first. */
	for (;;) {
		ssize_t r = read(c->eng, eng_scratch, SCRATCH);
		if (r <= 0)
			break;
		if (append(&c->to_net, &c->to_net_len, &c->to_net_off, eng_scratch, (size_t)r))
			return ENOMEM;
	}
	c->tls_ever = true;
	c->tls_pending = true;
	c->tls_pending_sniff = allow_hstimeout;
	eng_op_start(c);
	conn_log(c, TRACE_EVENT, LOG_DEBUG, "program starts TLS%s%s",
		 allow_hstimeout ? " (or clear text, whichever the peer speaks)" : "",
		 c->inject_len ? " with the peer's first bytes already here" : "");
	clear_step(c);
	return 0;
}

/* Back to clear text with the sniffed bytes given to the program intact. */
static void sniffed_clear(struct conn *c, const char *why)
{
	if (c->inject) {
		if (append(&c->to_app, &c->to_app_len, &c->to_app_off, c->inject + c->inject_off,
			   c->inject_len - c->inject_off)) {
			eng_fail(c, ENOMEM, "out of memory");
			return;
		}
		free(c->inject);
		c->inject = NULL;
	}
	c->deadline_ms = 0;
	if (eng_drain_filler(c)) {
		eng_fail(c, ECONNRESET, "the program's end of the connection went away");
		return;
	}
	clear_enter(c, why);
	eng_op_done(c, 0);
}

void clear_step_sniff(struct conn *c)
{
	uint8_t buf[16384];
	size_t have = c->inject ? c->inject_len - c->inject_off : 0;
	if (have > sizeof buf)
		have = sizeof buf;
	if (have)
		memcpy(buf, c->inject + c->inject_off, have);
	ssize_t n = recv(c->tcp, buf + have, sizeof buf - have, MSG_PEEK | MSG_DONTWAIT);
	bool eof = n == 0;
	if (n > 0)
		have += (size_t)n;
	char sni[256];
	switch (sniff_client_hello(buf, have, sni, sizeof sni)) {
	case SNIFF_TLS:
		conn_log(c, TRACE_EVENT, LOG_DEBUG, "the peer starts TLS%s%s", sni[0] ? " for " : "", sni);
		c->deadline_ms = 0;
		secure_start(c);
		return;
	case SNIFF_NOT_TLS:
		sniffed_clear(c, "the peer speaks clear text: the connection stays clear");
		return;
	case SNIFF_MORE:
		if (eof)
			sniffed_clear(c, "the peer closed before starting TLS: clear text");
		return;   /* wait for more, until HandshakeTimeout */
	}
}

void clear_sniff_timeout(struct conn *c)
{
	sniffed_clear(c, "no ClientHello within HandshakeTimeout: the connection stays clear");
}
