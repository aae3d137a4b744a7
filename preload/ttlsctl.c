#include "preload/ttlsctl.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <ezbztlsc.h>

#include "policy/attls.h"
#include "policy/ciphers.h"
#include "policy/policy.h"
#include "policy/schema.h"
#include "preload/conn.h"
#include "preload/convert.h"
#include "preload/engine.h"
#include "preload/engine_internal.h"
#include "preload/fdtab.h"
#include "preload/real.h"
#include "preload/rt.h"
#include "preload/uaccess.h"

#define EXPORT __attribute__((visibility("default")))
#define KNOWN_REQUESTS 0xFFu
#define CONTROLLING (TTLS_INIT_CONNECTION | TTLS_RESET_SESSION | TTLS_RESET_CIPHER | \
		     TTLS_STOP_CONNECTION | TTLS_RESET_WRITE_CIPHER | TTLS_SEND_SESSION_TICKET)
#define RESETS (TTLS_RESET_SESSION | TTLS_RESET_CIPHER | TTLS_RESET_WRITE_CIPHER | \
		TTLS_SEND_SESSION_TICKET)
#define MAX_PUSHBACK (1u << 20)

static __thread unsigned last_jr;

EXPORT unsigned int __errno2(void)
{
	return last_jr;
}

static int fail(int err, unsigned jr)
{
	last_jr = jr;
	errno = err;
	return -1;
}

/* What a query reports, taken on the engine thread. */
struct status {
	int stat_policy;
	const struct attls_rule *rule;
	enum conn_state st;
	int role;
	int client_auth;
	bool app_controlled, tls_ever, net_dead, op_busy;
	char proto[16];
	uint16_t cipher, keyshare;
	uint8_t *cert;                /* the peer's certificate, DER (malloc) */
	size_t certlen;
};

static int sec_type(int role, int client_auth)
{
	if (role == ROLE_CLIENT)
		return TTLS_SEC_CLIENT;
	if (role == ROLE_SERVER)
		return TTLS_SEC_SERVER;
	switch (client_auth) {
	case CAUTH_PASSTHRU: return TTLS_SEC_SRV_CA_PASS;
	case CAUTH_FULL: return TTLS_SEC_SRV_CA_FULL;
	case CAUTH_SAFCHECK: return TTLS_SEC_SRV_CA_SAFCHK;
	default: return TTLS_SEC_SRV_CA_REQD;
	}
}

/* ---- engine-side work ---------------------------------------------------------------- */

struct ctl {
	struct conn *c;
	unsigned req;
	const uint8_t *pushback;
	size_t npushback;
	int err;
	unsigned jr;
	bool started;                 /* an operation began: wait for it, or EINPROGRESS */
	int app_dup;                  /* non-blocking: the program's end, held unwritable */
	int sync_err;                 /* the operation ended at once, with this errno */
	struct status *st;
};

/* A non-blocking operation that started: the program's end polls writable
 * only once it is over (spec 1.8: wait for writable, then query). */
static void hold_if_nonblocking(struct ctl *x)
{
	if (x->app_dup < 0)
		return;
	if (x->started)
		eng_hold_unwritable(x->c, x->app_dup);
	else
		fdtab_release(x->app_dup);
	x->app_dup = -1;
}

static void take_status(struct conn *c, struct status *st)
{
	st->st = c->st;
	st->role = c->role;
	st->client_auth = c->s->client_auth;
	st->app_controlled = c->app_controlled;
	st->tls_ever = c->tls_ever || !c->app_controlled;
	st->net_dead = c->st == CS_DEAD || c->net_eof;
	pthread_mutex_lock(&c->mu);
	st->op_busy = c->op_done != c->op_seq;
	pthread_mutex_unlock(&c->mu);
	st->proto[0] = '\0';
	if (c->st == CS_SECURE || c->st == CS_STOPPING) {
		snprintf(st->proto, sizeof st->proto, "%s", c->proto);
		st->cipher = c->cipher_code;
		st->keyshare = c->keyshare;
		unsigned n = 0;
		const gnutls_datum_t *peers = c->ses ? gnutls_certificate_get_peers(c->ses, &n) : NULL;
		if (peers && n && (st->cert = malloc(peers[0].size))) {
			memcpy(st->cert, peers[0].data, peers[0].size);
			st->certlen = peers[0].size;
		}
	}
}

static void on_engine_status(void *arg)
{
	struct ctl *x = arg;
	take_status(x->c, x->st);
}

static void on_engine_freeze(void *arg)
{
	struct ctl *x = arg;
	x->c->frozen = true;
}

/* The program's unread bytes go back where they were: in front of anything else. */
static void give_back(struct conn *c, const uint8_t *p, size_t n)
{
	c->frozen = false;
	if (!n) {
		eng_step(c);
		return;
	}
	size_t rest = c->to_app ? c->to_app_len - c->to_app_off : 0;
	uint8_t *b = malloc(n + rest);
	if (!b) {
		eng_fail(c, ENOMEM, "out of memory giving bytes back to the program");
		return;
	}
	memcpy(b, p, n);
	if (rest)
		memcpy(b + n, c->to_app + c->to_app_off, rest);
	free(c->to_app);
	c->to_app = b;
	c->to_app_len = n + rest;
	c->to_app_off = 0;
	eng_step(c);
}

static void on_engine_give_back(void *arg)
{
	struct ctl *x = arg;
	give_back(x->c, x->pushback, x->npushback);
}

static void on_engine_init(void *arg)
{
	struct ctl *x = arg;
	struct conn *c = x->c;
	if (c->st == CS_DEAD || c->net_eof) {
		x->err = EPIPE;
	} else if (c->st == CS_SECURE || c->st == CS_STOPPING) {
		x->err = EALREADY;
		x->jr = JrAlreadyActive;
	} else if (c->st != CS_CLEAR) {
		x->err = EALREADY;   /* another INIT or STOP is under way */
		x->jr = JrAlreadyActive;
	} else {
		x->err = clear_begin_tls(c, x->pushback, x->npushback,
					 (x->req & TTLS_ALLOW_HSTIMEOUT) != 0);
		/* It may be over already (ALLOW_HSTIMEOUT with clear bytes waiting). */
		pthread_mutex_lock(&c->mu);
		x->started = x->err == 0 && c->op_done != c->op_seq;
		x->sync_err = x->err == 0 && !x->started ? c->op_err : 0;
		pthread_mutex_unlock(&c->mu);
		hold_if_nonblocking(x);
		if (!x->err)
			return;
	}
	hold_if_nonblocking(x);
	give_back(c, x->pushback, x->npushback);
}

static void on_engine_stop(void *arg)
{
	struct ctl *x = arg;
	struct conn *c = x->c;
	if (c->st == CS_DEAD || c->net_eof) {
		x->err = EPIPE;
		hold_if_nonblocking(x);
		return;
	}
	if (c->st != CS_SECURE) {
		x->err = EALREADY;
		x->jr = JrAlreadyActive;
		hold_if_nonblocking(x);
		return;
	}
	x->err = secure_begin_stop(c, &x->jr);
	pthread_mutex_lock(&c->mu);
	x->started = x->err == 0 && c->op_done != c->op_seq;
	x->sync_err = x->err == 0 && !x->started ? c->op_err : 0;
	pthread_mutex_unlock(&c->mu);
	hold_if_nonblocking(x);
}

static void on_engine_reset(void *arg)
{
	struct ctl *x = arg;
	struct conn *c = x->c;
	if (c->st == CS_DEAD || c->net_eof) {
		x->err = (x->req & (TTLS_RESET_CIPHER | TTLS_RESET_WRITE_CIPHER)) ? EPIPE : ENOTCONN;
		return;
	}
	if (c->st != CS_SECURE) {
		x->err = EPROTO;   /* not secure now (stopped, or clear) */
		return;
	}
	if (x->req & TTLS_RESET_SESSION)
		secure_reset_session(c);
	if (!x->err && (x->req & TTLS_RESET_CIPHER)) {
		uint64_t before = c->op_seq;
		x->err = secure_reset_cipher(c, false, &x->jr);
		x->started = !x->err && c->op_seq != before;
	}
	if (!x->err && (x->req & TTLS_RESET_WRITE_CIPHER))
		x->err = secure_reset_cipher(c, true, &x->jr);
	if (!x->err && (x->req & TTLS_SEND_SESSION_TICKET))
		x->err = secure_send_ticket(c, &x->jr);
	if (!x->err)
		eng_step(c);
}

/* ---- waiting --------------------------------------------------------------------- */

/* Wait until no operation is under way. Returns the errno of the last one. */
static int wait_idle(struct conn *c)
{
	pthread_mutex_lock(&c->mu);
	while (c->op_done != c->op_seq)
		pthread_cond_wait(&c->cv, &c->mu);
	int err = c->op_err;
	pthread_mutex_unlock(&c->mu);
	return err;
}

/* ---- filling the answer ----------------------------------------------------------------- */

static void hex4(char out[4], uint16_t v)
{
	char tmp[5];
	snprintf(tmp, sizeof tmp, "%04X", v);
	memcpy(out, tmp, 4);
}

static void fill_query(struct TTLS_IOCTL *ioc, const struct status *st)
{
	ioc->TTLSi_Stat_Policy = (uint8_t)st->stat_policy;
	bool secure = st->st == CS_SECURE || st->st == CS_STOPPING;
	bool hs = st->st == CS_HANDSHAKE || st->st == CS_SNIFF;
	ioc->TTLSi_Stat_Conn = secure ? TTLS_CONN_SECURE : hs ? TTLS_CONN_HS_INPROGRESS
							      : TTLS_CONN_NOTSECURE;
	ioc->TTLSi_Sec_Type = st->rule && st->rule->s->enabled ? (uint8_t)sec_type(st->role, st->client_auth)
							       : TTLS_SEC_UNKNOWN;
	ioc->TTLSi_SSL_Protocol.Prot_bytes.Prot_Ver = 0;
	ioc->TTLSi_SSL_Protocol.Prot_bytes.Prot_Mod = 0;
	memset(ioc->TTLSi_Neg_Cipher, 0, sizeof ioc->TTLSi_Neg_Cipher);
	memset(ioc->TTLSi_Neg_Cipher4, 0, sizeof ioc->TTLSi_Neg_Cipher4);
	memset(ioc->TTLSi_Neg_KeyShare, 0, sizeof ioc->TTLSi_Neg_KeyShare);
	ioc->TTLSi_FIPS140 = TTLS_FIPS140_OFF;
	ioc->TTLSi_UserID_Len = 0;
	memset(ioc->TTLSi_UserID, 0, sizeof ioc->TTLSi_UserID);
	if (!secure)
		return;
	static const struct { const char *name; uint8_t ver, mod; } protos[] = {
		{ "TLS1.3", 3, 4 }, { "TLS1.2", 3, 3 }, { "TLS1.1", 3, 2 }, { "TLS1.0", 3, 1 },
		{ "SSL3.0", 3, 0 },
	};
	for (size_t i = 0; i < sizeof protos / sizeof protos[0]; i++)
		if (!strcmp(st->proto, protos[i].name)) {
			ioc->TTLSi_SSL_Protocol.Prot_bytes.Prot_Ver = protos[i].ver;
			ioc->TTLSi_SSL_Protocol.Prot_bytes.Prot_Mod = protos[i].mod;
		}
	char two[3];
	cipher_zos_code2(st->cipher, two);
	memcpy(ioc->TTLSi_Neg_Cipher, two, 2);
	hex4(ioc->TTLSi_Neg_Cipher4, st->cipher);
	if (st->keyshare)
		hex4(ioc->TTLSi_Neg_KeyShare, st->keyshare);
}

/* Version 1 RETURN_CERTIFICATE: the peer's DER certificate into the buffer. */
static int v1_certificate(struct TTLS_IOCTL *ioc, const struct status *st)
{
	ioc->TTLSi_Cert_Len = (uint32_t)st->certlen;
	if (!st->certlen)
		return 0;
	if (st->certlen > ioc->TTLSi_BufferLen)
		return fail(ENOBUFS, JrBuffTooSmall);
	if (uaccess_write(ioc->TTLSi_BufferPtr, st->cert, st->certlen))
		return fail(EFAULT, JrSocketCallParmError);
	return 0;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/* TTLSK_Host_Status: the name in the entry's data against the peer certificate. */
static uint32_t host_status(const struct status *st, const uint8_t *name, uint32_t len)
{
	if (!st->certlen)
		return TTLSQ_RC_NOT_AVAILABLE;
	char host[256];
	if (len == 0 || len >= sizeof host)
		return TTLSQ_RC_HOST_MISMATCH;
	memcpy(host, name, len);
	host[len] = '\0';
	gnutls_x509_crt_t crt;
	gnutls_datum_t der = { st->cert, (unsigned)st->certlen };
	if (gnutls_x509_crt_init(&crt) < 0)
		return TTLSQ_RC_NOT_AVAILABLE;
	uint32_t rc = TTLSQ_RC_NOT_AVAILABLE;
	if (gnutls_x509_crt_import(crt, &der, GNUTLS_X509_FMT_DER) == 0)
		rc = gnutls_x509_crt_check_hostname2(crt, host, 0) ? TTLSQ_RC_OK : TTLSQ_RC_HOST_MISMATCH;
	gnutls_x509_crt_deinit(crt);
	return rc;
}

/* The data a Get key returns, or NULL (rc says why). */
static const void *get_value(const struct status *st, uint32_t key, size_t *len, uint32_t *rc)
{
	const char *name = NULL;
	const struct attls_rule *r = st->rule;
	*rc = TTLSQ_RC_OK;
	switch (key) {
	case TTLSK_TTLSRuleName: name = r ? r->name : NULL; break;
	case TTLSK_TTLSGroupActionName: name = r ? r->group : NULL; break;
	case TTLSK_TTLSEnvironmentActionName: name = r ? r->env : NULL; break;
	case TTLSK_TTLSConnectionActionName: name = r ? r->conn : NULL; break;
	case TTLSK_Certificate:
		if (!st->certlen) {
			*rc = TTLSQ_RC_NOT_AVAILABLE;
			return NULL;
		}
		*len = st->certlen;
		return st->cert;
	default:
		*rc = TTLSQ_RC_UNKNOWN_KEY;
		return NULL;
	}
	if (!name) {
		*rc = TTLSQ_RC_NOT_AVAILABLE;
		return NULL;
	}
	size_t l = strlen(name);
	if (l > TTLS_NAME_MAX - 1)
		l = TTLS_NAME_MAX - 1;
	*len = l + 1;   /* with the NUL */
	return name;
}

/* A Get entry's value into the program's buffer at off. Names end with a NUL
 * even when cut to TTLS_NAME_MAX. */
static int put_value(uint8_t *ubuf, uint32_t off, uint32_t key, const void *v, size_t len)
{
	char name[TTLS_NAME_MAX];
	if (key != TTLSK_Certificate && len <= sizeof name) {
		memcpy(name, v, len);
		name[len - 1] = '\0';
		v = name;
	}
	return uaccess_write(ubuf + off, v, len);
}

/* Version 2: header, Set quadruplets, Get quadruplets, Set data, Get data.
 * Every offset and length is checked against BufferLen before use. The
 * program's buffer is reached only through uaccess: the header and the
 * quadruplets are worked on in a copy and written back at the end. */
static int v2_buffer(struct TTLS_IOCTL *ioc, const struct status *st)
{
	uint8_t *ubuf = (uint8_t *)ioc->TTLSi_BufferPtr;
	uint32_t blen = ioc->TTLSi_BufferLen;
	if (!ubuf && !blen)
		return 0;   /* a plain query */
	struct TTLSHeader h;
	if (!ubuf || blen < sizeof h)
		return fail(EINVAL, JrSocketCallParmError);
	if (uaccess_read(&h, ubuf, sizeof h))
		return fail(EFAULT, JrSocketCallParmError);
	if (memcmp(h.TTLSHdr_Ident, TTLSHDR_IDENT, 8) != 0)
		return fail(EINVAL, JrSocketCallParmError);
	uint32_t sets = h.TTLSHdr_SetCount, gets = h.TTLSHdr_GetCount;
	uint64_t fixed = sizeof h + (uint64_t)16 * ((uint64_t)sets + gets);
	if (sets > 4096 || gets > 4096 || fixed > blen)
		return fail(EINVAL, JrSocketCallParmError);
	uint8_t *buf = malloc(fixed);
	if (!buf)
		return fail(ENOMEM, JrUnexpectedErr);
	int rc = 0;
	if (uaccess_read(buf, ubuf, fixed)) {
		rc = fail(EFAULT, JrSocketCallParmError);
		goto out;
	}
	uint64_t needed = fixed;
	bool short_ = false;
	uint8_t *q = buf + sizeof h;
	/* Set entries: attls has no settable keys. Their data still counts. */
	for (uint32_t i = 0; i < sets; i++, q += 16) {
		uint32_t off = rd32(q + 4), len = rd32(q + 8);
		if (off < fixed || (uint64_t)off + len > blen) {
			rc = fail(EINVAL, JrSocketCallParmError);
			goto out;
		}
		needed += len;
		wr32(q + 12, TTLSQ_RC_UNKNOWN_KEY);
	}
	for (uint32_t i = 0; i < gets; i++, q += 16) {
		uint32_t key = rd32(q), off = rd32(q + 4), room = rd32(q + 8), qrc;
		if (off < fixed || (uint64_t)off + room > blen) {
			rc = fail(EINVAL, JrSocketCallParmError);
			goto out;
		}
		if (key == TTLSK_Host_Status) {
			uint8_t name[256];
			if (room < sizeof name && uaccess_read(name, ubuf + off, room)) {
				rc = fail(EFAULT, JrSocketCallParmError);
				goto out;
			}
			wr32(q + 12, host_status(st, name, room));
			needed += room;
			continue;
		}
		size_t len = 0;
		const void *v = get_value(st, key, &len, &qrc);
		if (v && len > room) {
			qrc = TTLSQ_RC_BUFFER_TOO_SMALL;
			short_ = true;
		} else if (v && put_value(ubuf, off, key, v, len)) {
			rc = fail(EFAULT, JrSocketCallParmError);
			goto out;
		}
		wr32(q + 8, v ? (uint32_t)len : 0);
		wr32(q + 12, qrc);
		needed += v ? len : room;
	}
	wr32(buf + offsetof(struct TTLSHeader, TTLSHdr_BytesNeeded),
	     !short_ ? 0 : needed > UINT32_MAX ? UINT32_MAX : (uint32_t)needed);
	if (uaccess_write(ubuf, buf, fixed))
		rc = fail(EFAULT, JrSocketCallParmError);
	else if (short_)
		rc = fail(ENOBUFS, JrBuffTooSmall);
out:
	free(buf);
	return rc;
}

static int answer(struct TTLS_IOCTL *ioc, const struct status *st)
{
	fill_query(ioc, st);
	if (ioc->TTLSi_Ver == TTLS_VERSION1 && (ioc->TTLSi_Req_Type & TTLS_RETURN_CERTIFICATE))
		return v1_certificate(ioc, st);
	if (ioc->TTLSi_Ver == TTLS_VERSION2)
		return v2_buffer(ioc, st);
	return 0;
}

/* ---- checks that need no connection ------------------------------------------------------ */

static int check_request(const struct TTLS_IOCTL *ioc)
{
	if (ioc->TTLSi_Ver != TTLS_VERSION1 && ioc->TTLSi_Ver != TTLS_VERSION2)
		return fail(EINVAL, JrInvalidVersion);
	unsigned req = ioc->TTLSi_Req_Type;
	if (req & ~KNOWN_REQUESTS)
		return fail(EINVAL, JrSocketCallParmError);
	if ((req & TTLS_INIT_CONNECTION) && (req & (RESETS | TTLS_STOP_CONNECTION)))
		return fail(EPERM, 0);
	if ((req & TTLS_STOP_CONNECTION) && (req & RESETS))
		return fail(EPERM, 0);
	if ((req & TTLS_ALLOW_HSTIMEOUT) && !(req & TTLS_INIT_CONNECTION))
		return fail(EPERM, 0);
	for (size_t i = 0; i < sizeof ioc->TTLSi_Rsvd2; i++)
		if (ioc->TTLSi_Rsvd2[i])
			return fail(EINVAL, JrSocketCallParmError);
	bool cert = req & TTLS_RETURN_CERTIFICATE;
	bool has_buf = ioc->TTLSi_BufferPtr || ioc->TTLSi_BufferLen;
	if (ioc->TTLSi_Ver == TTLS_VERSION1) {
		if (has_buf && !cert)
			return fail(EINVAL, JrSocketCallParmError);
		if (cert && (!ioc->TTLSi_BufferPtr || !ioc->TTLSi_BufferLen))
			return fail(EINVAL, JrSocketCallParmError);
	} else if (cert) {
		return fail(EINVAL, JrSocketCallParmError);
	}
	return 0;
}

/* ---- connections the shim never took over ------------------------------------------- */

/* Map policy now, as z/OS does at the first ioctl: for QUERY on a connection
 * no rule covers, or whose rule leaves it alone. */
static int uncovered(int fd, struct TTLS_IOCTL *ioc)
{
	if (!convert_is_inet_tcp(fd)) {
		int type = 0;
		socklen_t l = sizeof type;
		return fail(sys_getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) == 0 ? EPROTOTYPE
										   : ENOTSOCK, 0);
	}
	struct sockaddr_storage local, remote;
	socklen_t ll = sizeof local, rl = sizeof remote;
	if (sys_getpeername(fd, (struct sockaddr *)&remote, &rl) != 0 ||
	    sys_getsockname(fd, (struct sockaddr *)&local, &ll) != 0)
		return fail(ENOTCONN, 0);
	struct policy *p = rt_policy();
	if (!p)
		return fail(EIO, JrUnexpectedErr);
	struct status st = { .st = CS_CLEAR, .stat_policy = TTLS_POL_NO_POLICY };
	/* Which way the connection was made is not known for a socket the shim
	 * did not convert: try the rule for either. */
	struct attls_conn key = { 0 };
	char job[32], user[64];
	ip_addr_from_sockaddr((struct sockaddr *)&local, &key.local, &key.lport);
	ip_addr_from_sockaddr((struct sockaddr *)&remote, &key.remote, &key.rport);
	rt_fill_identity(p, &key, job, sizeof job, user, sizeof user);
	key.direction = DIR_INBOUND;
	const struct attls_rule *r = attls_match(p, &key);
	if (!r) {
		key.direction = DIR_OUTBOUND;
		r = attls_match(p, &key);
	}
	st.rule = r;
	if (r)
		st.stat_policy = r->s->enabled ? TTLS_POL_ENABLED : TTLS_POL_NOT_ENABLED;
	if (r && r->s->enabled) {
		st.role = r->s->role;
		st.client_auth = r->s->client_auth;
	}
	int rc = 0;
	if (ioc->TTLSi_Req_Type & CONTROLLING)
		rc = fail(EOPNOTSUPP, 0);
	else
		rc = answer(ioc, &st);
	policy_unref(p);
	return rc;
}

/* ---- covered connections ------------------------------------------------------------- */

/* Take back what the engine forwarded to the program but the program has not
 * read: it is the start of the TLS stream (a ClientHello already in flight). */
static int pull_back(int fd, uint8_t **out, size_t *n)
{
	size_t cap = 0;
	*out = NULL;
	*n = 0;
	for (;;) {
		if (*n == cap) {
			if (cap >= MAX_PUSHBACK)
				return -1;
			cap = cap ? cap * 2 : 4096;
			uint8_t *b = realloc(*out, cap);
			if (!b)
				return -1;
			*out = b;
		}
		ssize_t r = recv(fd, *out + *n, cap - *n, MSG_DONTWAIT);
		if (r <= 0)
			return 0;
		*n += (size_t)r;
	}
}

static void status_of(struct conn *c, struct status *st)
{
	struct ctl x = { .c = c, .st = st };
	engine_call(on_engine_status, &x);
	st->rule = c->rule;
	st->stat_policy = c->app_controlled ? TTLS_POL_APPLCNTRL : TTLS_POL_ENABLED;
}

static int run(struct conn *c, struct ctl *x, void (*fn)(void *), bool nonblocking)
{
	engine_call(fn, x);
	if (x->err)
		return fail(x->err, x->jr);
	if (x->sync_err)
		return fail(ECONNRESET, JrTTLSHandshakeFailed);
	if (!x->started)
		return 0;
	if (nonblocking)
		return fail(EINPROGRESS, JrOK);
	if (wait_idle(c))
		return fail(ECONNRESET, JrTTLSHandshakeFailed);
	return 0;
}

static int controlled(int fd, struct conn *c, struct TTLS_IOCTL *ioc)
{
	unsigned req = ioc->TTLSi_Req_Type;
	struct status st = { 0 };
	int fl = sys_fcntl(fd, F_GETFL, 0);
	bool nonblocking = fl >= 0 && (fl & O_NONBLOCK);
	int rc = 0;

	if (c->foreign)
		return fail(EIO, JrUnexpectedErr);   /* the parent's engine serves it */
	/* What the engine says now; the program's thread never reads its fields. */
	status_of(c, &st);
	free(st.cert);
	st.cert = NULL;
	if (st.st == CS_DEAD && !(req & CONTROLLING))
		return fail(ENOTCONN, 0);
	if (st.st == CS_CONNECTING)
		return fail(ENOTCONN, 0);

	/* A handshake (or an operation) may still be under way. */
	if (st.op_busy || st.st == CS_HANDSHAKE || st.st == CS_SNIFF || st.st == CS_STOPPING) {
		bool again_op = req & (TTLS_INIT_CONNECTION | TTLS_STOP_CONNECTION);
		if (nonblocking)
			return again_op ? fail(EINPROGRESS, JrOK) : fail(EWOULDBLOCK, 0);
		if (st.op_busy && wait_idle(c))
			return fail(ECONNRESET, JrTTLSHandshakeFailed);
		if (!c->app_controlled) {
			pthread_mutex_lock(&c->mu);
			while (!c->ready)
				pthread_cond_wait(&c->cv, &c->mu);
			int e = c->err;
			pthread_mutex_unlock(&c->mu);
			if (e)
				return fail(ECONNRESET, JrTTLSHandshakeFailed);
		}
	}
	if (req & CONTROLLING) {
		if (!c->app_controlled) {
			status_of(c, &st);
			rc = answer(ioc, &st);
			free(st.cert);
			return rc ? rc : fail(EACCES, JrConnDeniedPolicy);
		}
		struct ctl x = { .c = c, .req = req, .app_dup = -1 };
		if (nonblocking && (req & (TTLS_INIT_CONNECTION | TTLS_STOP_CONNECTION))) {
			int d = sys_fcntl(fd, F_DUPFD_CLOEXEC, 0);
			x.app_dup = d >= 0 ? fdtab_adopt(d) : -1;
		}
		if (req & TTLS_INIT_CONNECTION) {
			if ((req & TTLS_ALLOW_HSTIMEOUT) && (c->role == ROLE_CLIENT || !c->s->hs_timeout)) {
				if (x.app_dup >= 0)
					fdtab_release(x.app_dup);
				return fail(EPROTO, 0);
			}
			uint8_t *pb = NULL;
			size_t npb = 0;
			struct ctl fz = { .c = c };
			engine_call(on_engine_freeze, &fz);
			if (pull_back(fd, &pb, &npb) != 0) {
				x.pushback = pb;
				x.npushback = npb;
				engine_call(on_engine_give_back, &x);
				if (x.app_dup >= 0)
					fdtab_release(x.app_dup);
				free(pb);
				return fail(EIO, JrUnexpectedErr);
			}
			x.pushback = pb;
			x.npushback = npb;
			rc = run(c, &x, on_engine_init, nonblocking);
			free(pb);
		} else if (req & TTLS_STOP_CONNECTION) {
			int unread = 0;
			if (!st.tls_ever || (real.ioctl(fd, FIONREAD, &unread) == 0 && unread > 0)) {
				if (x.app_dup >= 0)
					fdtab_release(x.app_dup);
				return st.tls_ever ? fail(EPROTO, JrTTLSStopReadDataPending) : fail(EPROTO, 0);
			}
			rc = run(c, &x, on_engine_stop, nonblocking);
		} else {
			if (!st.tls_ever)
				return fail(EPROTO, 0);
			rc = run(c, &x, on_engine_reset, nonblocking);
		}
		if (rc && errno != EINPROGRESS && errno != EALREADY && errno != EPROTO &&
		    errno != ENOBUFS)
			return rc;   /* no query data with these */
	}
	int saved_errno = errno;
	unsigned saved_jr = last_jr;
	status_of(c, &st);
	int arc = answer(ioc, &st);
	free(st.cert);
	if (rc) {
		last_jr = saved_jr;
		errno = saved_errno;
		return rc;
	}
	return arc;
}

static int ttlsctl(int fd, struct TTLS_IOCTL *ioc)
{
	if (check_request(ioc))
		return -1;
	if (fdtab_is_shim(fd))
		return fail(EBADF, 0);
	struct stat sb;
	if (fstat(fd, &sb) != 0)
		return fail(EBADF, 0);
	if (!S_ISSOCK(sb.st_mode))
		return fail(ENOTSOCK, 0);
	struct conn *c = fdtab_conn(fd);
	if (c && sb.st_ino != c->app_ino) {
		conn_unref(c);
		c = NULL;
	}
	if (!c)
		return uncovered(fd, ioc);
	int rc = controlled(fd, c, ioc);
	int e = errno;
	conn_unref(c);
	errno = e;
	return rc;
}

int ttlsctl_ioctl(int fd, void *arg, bool right_size)
{
	last_jr = 0;
	if (!right_size)
		return fail(EINVAL, JrSocketCallParmError);
	/* The program's argument is read and written back through the kernel, as
	 * its own ioctls do: one it cannot read, or where the results could not
	 * be written, is EFAULT before anything happens, and the program lives. */
	struct TTLS_IOCTL ioc, in;
	if (uaccess_read(&in, arg, sizeof in) || uaccess_write(arg, &in, sizeof in))
		return fail(EFAULT, JrSocketCallParmError);
	ioc = in;
	int rc = ttlsctl(fd, &ioc);
	int e = errno;
	unsigned jr = last_jr;
	if (memcmp(&ioc, &in, sizeof ioc) != 0 && uaccess_write(arg, &ioc, sizeof ioc))
		return fail(EFAULT, JrSocketCallParmError);
	last_jr = jr;
	errno = e;
	return rc;
}
