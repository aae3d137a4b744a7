#include "preload/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "policy/attls.h"
#include "policy/ciphers.h"
#include "policy/policy.h"
#include "policy/schema.h"
#include "preload/conn.h"
#include "preload/rings.h"

#define CLIENT_CACHE 64
#define RETRY_BROKEN_S 5

struct cached_session {
	char key[320];               /* host|address|port */
	gnutls_datum_t data;
};

struct server_session {
	unsigned char id[32];
	size_t idlen;
	gnutls_datum_t data;
	time_t stored;
};

struct tls_ctx {
	atomic_uint refs;
	struct tls_ctx *next;
	const struct attls_settings *s;
	int role;
	struct policy *pol;
	gnutls_certificate_credentials_t cred;
	gnutls_priority_t prio;
	gnutls_priority_t prio_renegotiate;   /* prio without session tickets */
	gnutls_datum_t ticket_key;
	struct ring_info ki;
	bool broken;                 /* building failed: err says why */
	time_t broken_at;
	char err[300];
	pthread_mutex_t mu;          /* the two caches below */
	struct cached_session client[CLIENT_CACHE];
	size_t client_next;
	struct server_session *server;
	size_t nserver, server_next;
};

static pthread_mutex_t ctx_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tls_ctx *ctxs;

/* ---- priorities ------------------------------------------------------------- */

static void append(char *buf, size_t len, const char *piece)
{
	size_t used = strlen(buf);
	if (used + strlen(piece) + 1 < len)
		strcat(buf, piece);
}

/* A token once, in first-seen order. */
static void append_once(char *buf, size_t len, const char *prefix, const char *name)
{
	char tok[64];
	snprintf(tok, sizeof tok, ":%s%s", prefix, name);
	char with_colon[80];
	snprintf(with_colon, sizeof with_colon, "%s:", tok);
	size_t tl = strlen(tok);
	const char *p = buf;
	while ((p = strstr(p, tok))) {
		if (p[tl] == ':' || p[tl] == '\0')
			return;
		p += tl;
	}
	append(buf, len, tok);
}

static void build_priority(const struct attls_settings *s, char *buf, size_t len)
{
	snprintf(buf, len, "NORMAL:-VERS-ALL");
	if (s->tls13) append(buf, len, ":+VERS-TLS1.3");
	if (s->tls12) append(buf, len, ":+VERS-TLS1.2");
	if (s->tls11) append(buf, len, ":+VERS-TLS1.1");
	if (s->tls10) append(buf, len, ":+VERS-TLS1.0");
	if (s->nciphers) {
		/* GnuTLS selects suites as combinations of the algorithms named; the
		 * negotiated suite is checked against the list after the handshake. */
		append(buf, len, ":-CIPHER-ALL:-MAC-ALL:-KX-ALL:%SERVER_PRECEDENCE");
		for (size_t i = 0; i < s->nciphers; i++) {
			const struct cipher_suite *cs = cipher_by_code(s->ciphers[i]);
			append_once(buf, len, "+", cs->cipher);
			append_once(buf, len, "+", cs->mac);
			if (cs->kx)
				append_once(buf, len, "+", cs->kx);
		}
	}
	if (!s->middlebox_compat)
		append(buf, len, ":%DISABLE_TLS13_COMPAT_MODE");
}

/* ---- contexts ----------------------------------------------------------------- */

static void ctx_free(struct tls_ctx *x)
{
	if (x->cred)
		gnutls_certificate_free_credentials(x->cred);
	if (x->prio)
		gnutls_priority_deinit(x->prio);
	if (x->prio_renegotiate)
		gnutls_priority_deinit(x->prio_renegotiate);
	if (x->ticket_key.data)
		gnutls_free(x->ticket_key.data);
	for (size_t i = 0; i < CLIENT_CACHE; i++)
		gnutls_free(x->client[i].data.data);
	for (size_t i = 0; i < x->nserver; i++)
		gnutls_free(x->server[i].data.data);
	free(x->server);
	policy_unref(x->pol);
	pthread_mutex_destroy(&x->mu);
	free(x);
}

static int ctx_build(struct tls_ctx *x)
{
	const struct attls_settings *s = x->s;
	int rc = gnutls_certificate_allocate_credentials(&x->cred);
	if (rc < 0) {
		snprintf(x->err, sizeof x->err, "cannot allocate credentials: %s", gnutls_strerror(rc));
		return -1;
	}
	if (rings_load(x->cred, s, x->role, &x->ki, x->err, sizeof x->err))
		return -1;
	char prio[1024];
	build_priority(s, prio, sizeof prio);
	const char *errpos = NULL;
	rc = gnutls_priority_init2(&x->prio, prio, &errpos, 0);
	if (rc < 0) {
		snprintf(x->err, sizeof x->err, "cannot use TLS priority \"%.160s\" (at \"%.40s\"): %s", prio,
			 errpos ? errpos : "?", gnutls_strerror(rc));
		return -1;
	}
	append(prio, sizeof prio, ":%NO_TICKETS");
	rc = gnutls_priority_init2(&x->prio_renegotiate, prio, &errpos, 0);
	if (rc < 0) {
		snprintf(x->err, sizeof x->err, "cannot use TLS priority \"%.160s\": %s", prio,
			 gnutls_strerror(rc));
		return -1;
	}
	if (x->role != ROLE_CLIENT && s->tickets_server &&
	    (rc = gnutls_session_ticket_key_generate(&x->ticket_key)) < 0) {
		snprintf(x->err, sizeof x->err, "cannot make a session ticket key: %s",
			 gnutls_strerror(rc));
		return -1;
	}
	return 0;
}

struct tls_ctx *tls_ctx_get(struct policy *p, const struct attls_settings *s, int role,
			    char *err, size_t errlen)
{
	pthread_mutex_lock(&ctx_lock);
	struct tls_ctx *x;
	for (x = ctxs; x; x = x->next)
		if (x->s == s && x->role == role)
			break;
	if (x && x->broken && time(NULL) - x->broken_at >= RETRY_BROKEN_S) {
		/* The keyring may have been fixed: forget the failure and try again. */
		struct tls_ctx **pp = &ctxs;
		while (*pp != x)
			pp = &(*pp)->next;
		*pp = x->next;
		if (atomic_fetch_sub(&x->refs, 1) == 1)
			ctx_free(x);
		x = NULL;
	}
	if (!x) {
		x = calloc(1, sizeof *x);
		if (!x) {
			pthread_mutex_unlock(&ctx_lock);
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
		atomic_init(&x->refs, 1);   /* the cache's reference */
		x->s = s;
		x->role = role;
		x->pol = policy_ref(p);
		pthread_mutex_init(&x->mu, NULL);
		if (ctx_build(x)) {
			x->broken = true;
			x->broken_at = time(NULL);
		}
		x->next = ctxs;
		ctxs = x;
	}
	if (x->broken) {
		snprintf(err, errlen, "%s", x->err);
		pthread_mutex_unlock(&ctx_lock);
		return NULL;
	}
	atomic_fetch_add(&x->refs, 1);
	pthread_mutex_unlock(&ctx_lock);
	return x;
}

void tls_ctx_put(struct tls_ctx *x)
{
	if (x && atomic_fetch_sub(&x->refs, 1) == 1)
		ctx_free(x);
}

void tls_prepare_renegotiation(struct conn *c)
{
	if (!c->ses)
		return;
	if (c->role != ROLE_CLIENT)
		gnutls_db_set_store_function(c->ses, NULL);
	/* GnuTLS 3.7 keeps "send a new ticket" set from the first handshake; a
	 * renegotiation that then resumes from a ticket sends it after Finished,
	 * between the epochs, and fails the handshake. Without tickets the
	 * renegotiation is a full handshake, which is what RESET_CIPHER asks. */
	gnutls_priority_set(c->ses, c->ctx->prio_renegotiate);
}

void tls_ctx_new_ticket_key(struct tls_ctx *x)
{
	if (!x || !x->ticket_key.data)
		return;
	gnutls_datum_t k;
	if (gnutls_session_ticket_key_generate(&k) < 0)
		return;
	pthread_mutex_lock(&ctx_lock);
	gnutls_memset(x->ticket_key.data, 0, x->ticket_key.size);
	gnutls_free(x->ticket_key.data);
	x->ticket_key = k;
	pthread_mutex_unlock(&ctx_lock);
}

void tls_ctx_trim(const struct policy *current)
{
	pthread_mutex_lock(&ctx_lock);
	rings_keep_named(current);
	for (struct tls_ctx **pp = &ctxs; *pp;) {
		struct tls_ctx *x = *pp;
		if (x->pol != current) {
			*pp = x->next;
			tls_ctx_put(x);
		} else {
			pp = &x->next;
		}
	}
	pthread_mutex_unlock(&ctx_lock);
}

/* ---- transport ------------------------------------------------------------------ */

size_t tls_exact_limit(const struct conn *c, size_t want)
{
	size_t lim = c->rec_body_left ? c->rec_body_left : 5 - c->rec_hdr_have;
	return want < lim ? want : lim;
}

void tls_exact_consumed(struct conn *c, const uint8_t *data, size_t n)
{
	while (n) {
		if (c->rec_body_left) {
			size_t k = n < c->rec_body_left ? n : c->rec_body_left;
			c->rec_body_left -= k;
			data += k;
			n -= k;
			continue;
		}
		c->rec_hdr[c->rec_hdr_have++] = *data++;
		n--;
		if (c->rec_hdr_have == 5) {
			c->rec_body_left = (size_t)c->rec_hdr[3] << 8 | c->rec_hdr[4];
			c->rec_hdr_have = 0;
		}
	}
}

#define READ_AHEAD 32768

/* GnuTLS reads a record's header, then its body: two system calls per record.
 * On a connection that never goes back to clear text one recv can fetch
 * several records ahead. */
static ssize_t read_ahead(struct conn *c, void *buf, size_t want)
{
	if (c->rbuf_off == c->rbuf_len) {
		if (!c->rbuf && !(c->rbuf = malloc(READ_AHEAD)))
			return recv(c->tcp, buf, want, MSG_DONTWAIT);
		ssize_t n = recv(c->tcp, c->rbuf, READ_AHEAD, MSG_DONTWAIT);
		if (n <= 0) {
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				c->rd_eagain = true;
			return n;
		}
		c->rbuf_len = (size_t)n;
		c->rbuf_off = 0;
	}
	size_t k = c->rbuf_len - c->rbuf_off;
	if (k > want)
		k = want;
	memcpy(buf, c->rbuf + c->rbuf_off, k);
	c->rbuf_off += k;
	return (ssize_t)k;
}

ssize_t tls_transport_read(struct conn *c, void *buf, size_t len)
{
	size_t want = c->exact_reads ? tls_exact_limit(c, len) : len;
	if (c->inject) {
		/* Peer bytes the program had been given before TLS started come first. */
		size_t k = c->inject_len - c->inject_off;
		if (k > want)
			k = want;
		memcpy(buf, c->inject + c->inject_off, k);
		c->inject_off += k;
		if (c->inject_off == c->inject_len) {
			free(c->inject);
			c->inject = NULL;
		}
		if (c->exact_reads)
			tls_exact_consumed(c, buf, k);
		return (ssize_t)k;
	}
	if (!c->exact_reads)
		return read_ahead(c, buf, want);
	ssize_t n = recv(c->tcp, buf, want, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		c->rd_eagain = true;
	if (n > 0)
		tls_exact_consumed(c, buf, (size_t)n);
	return n;
}

static ssize_t pull(gnutls_transport_ptr_t ptr, void *buf, size_t len)
{
	struct conn *c = ptr;
	ssize_t n = tls_transport_read(c, buf, len);
	if (n < 0)
		gnutls_transport_set_errno(c->ses, errno == EWOULDBLOCK ? EAGAIN : errno);
	return n;
}

static ssize_t push(gnutls_transport_ptr_t ptr, const giovec_t *iov, int iovcnt)
{
	struct conn *c = ptr;
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };
	ssize_t n = sendmsg(c->tcp, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		c->wr_eagain = true;
	if (n < 0)
		gnutls_transport_set_errno(c->ses, errno == EWOULDBLOCK ? EAGAIN : errno);
	return n;
}

void tls_transport_attach(struct conn *c)
{
	gnutls_transport_set_ptr(c->ses, c);
	gnutls_transport_set_pull_function(c->ses, pull);
	gnutls_transport_set_vec_push_function(c->ses, push);
}

/* ---- server session cache (TLS 1.2 session IDs) ---------------------------- */

static int db_store(void *ptr, gnutls_datum_t key, gnutls_datum_t data)
{
	struct tls_ctx *x = ptr;
	size_t cap = x->s->sid_cache_size;
	if (!cap || key.size > 32)
		return -1;
	pthread_mutex_lock(&x->mu);
	if (!x->server)
		x->server = calloc(cap, sizeof *x->server);
	if (!x->server) {
		pthread_mutex_unlock(&x->mu);
		return -1;
	}
	struct server_session *e;
	if (x->nserver < cap) {
		e = &x->server[x->nserver++];
	} else {
		e = &x->server[x->server_next];
		x->server_next = (x->server_next + 1) % cap;
		gnutls_free(e->data.data);
	}
	memcpy(e->id, key.data, key.size);
	e->idlen = key.size;
	e->data.data = gnutls_malloc(data.size);
	e->data.size = e->data.data ? data.size : 0;
	if (e->data.data)
		memcpy(e->data.data, data.data, data.size);
	e->stored = time(NULL);
	pthread_mutex_unlock(&x->mu);
	return 0;
}

static gnutls_datum_t db_fetch(void *ptr, gnutls_datum_t key)
{
	struct tls_ctx *x = ptr;
	gnutls_datum_t out = { NULL, 0 };
	pthread_mutex_lock(&x->mu);
	for (size_t i = 0; i < x->nserver; i++) {
		struct server_session *e = &x->server[i];
		if (e->idlen == key.size && memcmp(e->id, key.data, key.size) == 0 && e->data.size &&
		    time(NULL) - e->stored < (time_t)x->s->session_timeout) {
			out.data = gnutls_malloc(e->data.size);
			if (out.data) {
				memcpy(out.data, e->data.data, e->data.size);
				out.size = e->data.size;
			}
			break;
		}
	}
	pthread_mutex_unlock(&x->mu);
	return out;
}

static int db_remove(void *ptr, gnutls_datum_t key)
{
	struct tls_ctx *x = ptr;
	pthread_mutex_lock(&x->mu);
	for (size_t i = 0; i < x->nserver; i++)
		if (x->server[i].idlen == key.size && memcmp(x->server[i].id, key.data, key.size) == 0)
			x->server[i].idlen = 0;
	pthread_mutex_unlock(&x->mu);
	return 0;
}

/* ---- client resumption ---------------------------------------------------------- */

static void client_key(const struct conn *c, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (c->remote.ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)&c->remote;
		inet_ntop(AF_INET, &s4->sin_addr, addr, sizeof addr);
		port = ntohs(s4->sin_port);
	} else if (c->remote.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)&c->remote;
		inet_ntop(AF_INET6, &s6->sin6_addr, addr, sizeof addr);
		port = ntohs(s6->sin6_port);
	}
	snprintf(buf, len, "%s|%s|%u", c->host, addr, port);
}

static void client_resume(struct conn *c)
{
	struct tls_ctx *x = c->ctx;
	char key[320];
	client_key(c, key, sizeof key);
	pthread_mutex_lock(&x->mu);
	for (size_t i = 0; i < CLIENT_CACHE; i++)
		if (x->client[i].data.size && strcmp(x->client[i].key, key) == 0) {
			gnutls_session_set_data(c->ses, x->client[i].data.data, x->client[i].data.size);
			break;
		}
	pthread_mutex_unlock(&x->mu);
}

void tls_forget_resumption(struct conn *c)
{
	if (!c->ctx || c->role != ROLE_CLIENT)
		return;
	char key[320];
	client_key(c, key, sizeof key);
	pthread_mutex_lock(&c->ctx->mu);
	for (size_t i = 0; i < CLIENT_CACHE; i++)
		if (strcmp(c->ctx->client[i].key, key) == 0) {
			gnutls_free(c->ctx->client[i].data.data);
			c->ctx->client[i].data.data = NULL;
			c->ctx->client[i].data.size = 0;
			c->ctx->client[i].key[0] = '\0';
		}
	pthread_mutex_unlock(&c->ctx->mu);
	c->no_resume_store = true;
}

static void client_remember(struct conn *c)
{
	struct tls_ctx *x = c->ctx;
	gnutls_datum_t d;
	if (gnutls_session_get_data2(c->ses, &d) < 0)
		return;
	char key[320];
	client_key(c, key, sizeof key);
	pthread_mutex_lock(&x->mu);
	size_t slot = x->client_next;
	for (size_t i = 0; i < CLIENT_CACHE; i++)
		if (strcmp(x->client[i].key, key) == 0)
			slot = i;
	if (slot == x->client_next)
		x->client_next = (x->client_next + 1) % CLIENT_CACHE;
	gnutls_free(x->client[slot].data.data);
	snprintf(x->client[slot].key, sizeof x->client[slot].key, "%s", key);
	x->client[slot].data = d;
	pthread_mutex_unlock(&x->mu);
}

/* A TLS 1.3 ticket arrives after the handshake; keep it at once, because the program
 * may open its next connection before this one is torn down (curl with two URLs). */
static int remember_ticket(gnutls_session_t ses, unsigned htype, unsigned when,
			   unsigned incoming, const gnutls_datum_t *msg)
{
	(void)msg;
	struct conn *c = gnutls_session_get_ptr(ses);
	if (c && htype == GNUTLS_HANDSHAKE_NEW_SESSION_TICKET && when == GNUTLS_HOOK_POST &&
	    incoming && !c->no_resume_store && gnutls_protocol_get_version(ses) == GNUTLS_TLS1_3)
		client_remember(c);
	return 0;
}

/* ---- sessions ------------------------------------------------------------------------ */

/* ClientAuthType Full: verify a certificate if the client sent one. */
static int verify_if_sent(gnutls_session_t ses)
{
	unsigned n = 0;
	if (!gnutls_certificate_get_peers(ses, &n) || n == 0)
		return 0;
	unsigned status = 0;
	if (gnutls_certificate_verify_peers3(ses, NULL, &status) < 0 || status)
		return GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR;
	return 0;
}

int tls_session_start(struct conn *c, char *err, size_t errlen)
{
	const struct attls_settings *s = c->s;
	bool server = c->role != ROLE_CLIENT;
	int rc = gnutls_init(&c->ses, (server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NONBLOCK |
			     GNUTLS_NO_SIGNAL);
	if (rc < 0) {
		snprintf(err, errlen, "gnutls_init: %s", gnutls_strerror(rc));
		c->ses = NULL;
		return -1;
	}
	gnutls_priority_set(c->ses, c->ctx->prio);
	gnutls_credentials_set(c->ses, GNUTLS_CRD_CERTIFICATE, c->ctx->cred);
	tls_transport_attach(c);
	gnutls_handshake_set_timeout(c->ses, 0);   /* the engine keeps its own clock */
	if (server) {
		if (c->ctx->ticket_key.data)
			gnutls_session_ticket_enable_server(c->ses, &c->ctx->ticket_key);
		if (s->sid_cache_size) {
			gnutls_db_set_ptr(c->ses, c->ctx);
			gnutls_db_set_store_function(c->ses, db_store);
			gnutls_db_set_retrieve_function(c->ses, db_fetch);
			gnutls_db_set_remove_function(c->ses, db_remove);
			gnutls_db_set_cache_expiration(c->ses, (int)s->session_timeout);
		}
		if (c->role == ROLE_SERVER_CLIENT_AUTH) {
			switch (s->client_auth) {
			case CAUTH_PASSTHRU:
				gnutls_certificate_server_set_request(c->ses, GNUTLS_CERT_REQUEST);
				break;
			case CAUTH_FULL:
				gnutls_certificate_server_set_request(c->ses, GNUTLS_CERT_REQUEST);
				gnutls_session_set_verify_function(c->ses, verify_if_sent);
				break;
			default:
				gnutls_certificate_server_set_request(c->ses, GNUTLS_CERT_REQUIRE);
				gnutls_session_set_verify_cert(c->ses, NULL, 0);
			}
		}
	} else {
		if (c->host[0] && s->client_sni != SNI_OFF) {
			rc = gnutls_server_name_set(c->ses, GNUTLS_NAME_DNS, c->host, strlen(c->host));
			if (rc < 0) {
				snprintf(err, errlen, "cannot set server name %s: %s", c->host,
					 gnutls_strerror(rc));
				return -1;
			}
		} else if (s->client_sni == SNI_REQUIRED) {
			snprintf(err, errlen, "ClientHandshakeSNI Required, but the server's name is not "
				 "known (connect by name, or set HostReferenceIdDNS)");
			return -1;
		}
		/* Chain always; the name whenever one is known. */
		gnutls_session_set_verify_cert(c->ses, c->host[0] ? c->host : NULL, 0);
		if (s->tickets_client) {
			client_resume(c);
			gnutls_session_set_ptr(c->ses, c);
			gnutls_handshake_set_hook_function(c->ses, GNUTLS_HANDSHAKE_NEW_SESSION_TICKET,
							   GNUTLS_HOOK_POST, remember_ticket);
		}
	}
	return 0;
}

static uint16_t tls13_code(gnutls_cipher_algorithm_t ciph)
{
	switch (ciph) {
	case GNUTLS_CIPHER_AES_128_GCM: return 0x1301;
	case GNUTLS_CIPHER_AES_256_GCM: return 0x1302;
	case GNUTLS_CIPHER_CHACHA20_POLY1305: return 0x1303;
	case GNUTLS_CIPHER_AES_128_CCM: return 0x1304;
	case GNUTLS_CIPHER_AES_128_CCM_8: return 0x1305;
	default: return 0;
	}
}

static uint16_t suite_code(gnutls_session_t ses)
{
	gnutls_cipher_algorithm_t ciph = gnutls_cipher_get(ses);
	if (gnutls_protocol_get_version(ses) == GNUTLS_TLS1_3)
		return tls13_code(ciph);
	gnutls_kx_algorithm_t kx = gnutls_kx_get(ses);
	gnutls_mac_algorithm_t mac = gnutls_mac_get(ses);
	unsigned char id[2];
	gnutls_kx_algorithm_t k;
	gnutls_cipher_algorithm_t ci;
	gnutls_mac_algorithm_t m;
	gnutls_protocol_t minv;
	for (size_t i = 0; gnutls_cipher_suite_info(i, id, &k, &ci, &m, &minv); i++)
		if (k == kx && ci == ciph && m == mac)
			return (uint16_t)(id[0] << 8 | id[1]);
	return 0;
}

static uint16_t group_code(gnutls_session_t ses)
{
	switch (gnutls_group_get(ses)) {
	case GNUTLS_GROUP_SECP256R1: return 0x0017;
	case GNUTLS_GROUP_SECP384R1: return 0x0018;
	case GNUTLS_GROUP_SECP521R1: return 0x0019;
	case GNUTLS_GROUP_X25519: return 0x001d;
	case GNUTLS_GROUP_X448: return 0x001e;
	case GNUTLS_GROUP_FFDHE2048: return 0x0100;
	case GNUTLS_GROUP_FFDHE3072: return 0x0101;
	case GNUTLS_GROUP_FFDHE4096: return 0x0102;
	case GNUTLS_GROUP_FFDHE8192: return 0x0104;
	default: return 0;
	}
}

int tls_session_established(struct conn *c, char *err, size_t errlen)
{
	gnutls_session_t ses = c->ses;
	const char *pv = gnutls_protocol_get_name(gnutls_protocol_get_version(ses));
	snprintf(c->proto, sizeof c->proto, "%s", pv ? pv : "?");
	c->cipher_code = suite_code(ses);
	const struct cipher_suite *cs = cipher_by_code(c->cipher_code);
	if (cs)
		snprintf(c->cipher, sizeof c->cipher, "%s", cs->name);
	else
		snprintf(c->cipher, sizeof c->cipher, "%s", gnutls_ciphersuite_get(ses));
	c->keyshare = gnutls_protocol_get_version(ses) == GNUTLS_TLS1_3 ? group_code(ses) : 0;
	c->peer_subject[0] = '\0';
	unsigned n = 0;
	const gnutls_datum_t *peers = gnutls_certificate_get_peers(ses, &n);
	if (peers && n) {
		gnutls_x509_crt_t crt;
		gnutls_datum_t dn = { NULL, 0 };
		if (gnutls_x509_crt_init(&crt) == 0) {
			if (gnutls_x509_crt_import(crt, &peers[0], GNUTLS_X509_FMT_DER) == 0 &&
			    gnutls_x509_crt_get_dn3(crt, &dn, 0) == 0) {
				snprintf(c->peer_subject, sizeof c->peer_subject, "%s", (char *)dn.data);
				gnutls_free(dn.data);
			}
			gnutls_x509_crt_deinit(crt);
		}
	}
	const struct attls_settings *s = c->s;
	if (s->nciphers) {
		bool ok = false;
		for (size_t i = 0; i < s->nciphers; i++)
			ok |= s->ciphers[i] == c->cipher_code;
		if (!ok) {
			snprintf(err, errlen, "negotiated %s (%04X), which the policy's cipher list does "
				 "not allow", c->cipher, c->cipher_code);
			return -1;
		}
	}
	/* TLS 1.2 resumption data is complete now (TLS 1.3 tickets: remember_ticket). */
	if (c->role == ROLE_CLIENT && s->tickets_client && !c->no_resume_store &&
	    gnutls_protocol_get_version(ses) != GNUTLS_TLS1_3)
		client_remember(c);
	return 0;
}

void tls_failure_reason(struct conn *c, int rc, char *buf, size_t len)
{
	if (rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR && c->ses) {
		unsigned status = gnutls_session_get_verify_cert_status(c->ses);
		gnutls_datum_t out = { NULL, 0 };
		gnutls_certificate_type_t type = gnutls_certificate_type_get(c->ses);
		if (gnutls_certificate_verification_status_print(status, type, &out, 0) == 0) {
			snprintf(buf, len, "peer certificate rejected: %s%s%s", (char *)out.data,
				 c->host[0] ? " (expected name " : "", c->host[0] ? c->host : "");
			if (c->host[0])
				strncat(buf, ")", len - strlen(buf) - 1);
			gnutls_free(out.data);
			return;
		}
	}
	if (rc == GNUTLS_E_FATAL_ALERT_RECEIVED && c->ses) {
		snprintf(buf, len, "peer sent fatal alert: %s",
			 gnutls_alert_get_name(gnutls_alert_get(c->ses)));
		return;
	}
	snprintf(buf, len, "%s", gnutls_strerror(rc));
}

void tls_session_end(struct conn *c)
{
	free(c->rbuf);
	c->rbuf = NULL;
	c->rbuf_len = c->rbuf_off = 0;
	c->uncork_pending = false;
	if (!c->ses)
		return;
	/* Nothing to remember here: remember_ticket and tls_session_established
	 * already did (and gnutls_session_get_data2 on a TLS 1.3 session without
	 * a ticket would wait for one on the wire). */
	gnutls_deinit(c->ses);
	c->ses = NULL;
}
