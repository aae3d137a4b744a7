/*
 * ttls_errors — provokes every errno and reason code of the SIOCTTLSCTL error
 * table (spec 1.7) and the request combinations of spec 1.3 on real loopback
 * connections, and prints what the ioctl answered, one line per case:
 *
 *   NAME rc=-1 errno=EACCES jr=JrConnDeniedPolicy pol=4 conn=3 [extra]
 *
 * (errno "-" when the call succeeded; pol and conn are TTLSi_Stat_Policy and
 * TTLSi_Stat_Conn as the call left them). test_ioctl_errors.py holds the
 * expected answers.
 *
 *   ttls_errors CTRL,BASIC,NONE,OFF,ZERO,SHORT [CASE...]
 *
 * The six ports are listened on here; the policy (written by the test) gives
 * them: CTRL an application-controlled server rule and an application-
 * controlled client rule for connections to it; BASIC transparent server and
 * client rules; NONE no rule; OFF a rule with TTLSEnabled Off; ZERO an
 * application-controlled server rule with HandshakeTimeout 0; SHORT one with
 * HandshakeTimeout 1 and no client rule (its peers are plain sockets).
 *
 *   ttls_errors inherited FD     QUERY on descriptor FD, inherited connected
 *                                (the test runs this under a broken policy)
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <ezbztlsc.h>

#include "util.h"

#define WAIT_MS 20000

enum port { P_CTRL, P_BASIC, P_NONE, P_OFF, P_ZERO, P_SHORT, NPORTS };

static int ports[NPORTS], listeners[NPORTS];

/* The descriptors a case made, closed after it. */
static int fds[16], nfds;

static int keep(int fd)
{
	if (fd >= 0 && nfds < (int)(sizeof fds / sizeof fds[0]))
		fds[nfds++] = fd;
	return fd;
}

/* Close one of them now. */
static void drop(int fd)
{
	for (int i = 0; i < nfds; i++)
		if (fds[i] == fd)
			fds[i] = fds[--nfds];
	close(fd);
}

static void close_all(void)
{
	while (nfds > 0)
		close(fds[--nfds]);
}

struct result {
	int rc, err;
	unsigned jr;
	struct TTLS_IOCTL ioc;
	char extra[160];
};

/* ---- sockets ---------------------------------------------------------------------- */

static void set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

static bool wait_fd(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	return poll(&p, 1, WAIT_MS) == 1;
}

/* A connection to one of our ports: *srv the accepted end. The connect is
 * non-blocking, so a transparent client rule's handshake can run while this
 * thread accepts. Returns the connecting end. */
static int dial_fresh(enum port which, int *srv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)ports[which]),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int cli = keep(socket(AF_INET, SOCK_STREAM, 0)), err = 0;
	socklen_t len = sizeof err;
	set_nonblock(cli, true);
	if (connect(cli, (struct sockaddr *)&sin, sizeof sin) < 0 && errno != EINPROGRESS)
		perror("connect");
	*srv = keep(accept(listeners[which], NULL, NULL));
	if (!wait_fd(cli, POLLOUT) || getsockopt(cli, SOL_SOCKET, SO_ERROR, &err, &len) || err)
		fprintf(stderr, "connect to port %d: %s\n", ports[which], strerror(err));
	set_nonblock(cli, false);
	return cli;
}

static void query_blocking(int fd)
{
	struct TTLS_IOCTL ioc;
	memset(&ioc, 0, sizeof ioc);
	ioc.TTLSi_Ver = TTLS_VERSION1;
	ioctl(fd, SIOCTTLSCTL, &ioc);
}

/* The same, once AT-TLS has taken both ends in hand: a blocking query goes
 * through the shim's engine after the new connection. (Without it a
 * non-blocking INIT may come too early: see einprogress_init_right_after_*.) */
static int dial(enum port which, int *srv)
{
	int cli = dial_fresh(which, srv);
	query_blocking(cli);
	query_blocking(*srv);
	return cli;
}

/* ---- the ioctl ---------------------------------------------------------------------- */

static void call(int fd, struct TTLS_IOCTL *ioc, struct result *r)
{
	r->rc = ioctl(fd, SIOCTTLSCTL, ioc);
	r->err = r->rc < 0 ? errno : 0;
	r->jr = ttls_reason();
	r->ioc = *ioc;
}

static void request(int fd, uint16_t ver, uint16_t req, struct result *r)
{
	struct TTLS_IOCTL ioc;
	memset(&ioc, 0, sizeof ioc);
	ioc.TTLSi_Ver = ver;
	ioc.TTLSi_Req_Type = req;
	call(fd, &ioc, r);
}

static int v1(int fd, uint16_t req)
{
	struct result r;
	request(fd, TTLS_VERSION1, req, &r);
	if (r.rc < 0)
		errno = r.err;
	return r.rc;
}

static const char *state_after(int fd)
{
	struct result r;
	request(fd, TTLS_VERSION1, TTLS_QUERY_ONLY, &r);
	return r.rc < 0 ? "query-failed" : r.ioc.TTLSi_Stat_Conn == TTLS_CONN_SECURE ? "secure"
		: r.ioc.TTLSi_Stat_Conn == TTLS_CONN_NOTSECURE ? "notsecure" : "inprogress";
}

/* An application-controlled pair in TLS: the client end starts non-blocking,
 * the server end blocks until its handshake is done. Returns the server end. */
static int secure_pair(int *cli_out)
{
	int srv, cli = dial(P_CTRL, &srv);
	set_nonblock(cli, true);
	if (v1(cli, TTLS_INIT_CONNECTION) == 0 || errno != EINPROGRESS)
		fprintf(stderr, "secure_pair: client INIT: %s\n", strerror(errno));
	if (v1(srv, TTLS_INIT_CONNECTION) < 0)
		fprintf(stderr, "secure_pair: server INIT: %s\n", strerror(errno));
	wait_fd(cli, POLLOUT);
	set_nonblock(cli, false);
	if (cli_out)
		*cli_out = cli;
	return srv;
}

/* Back to clear text, both ends. */
static void stop_pair(int srv, int cli)
{
	set_nonblock(srv, true);
	if (v1(srv, TTLS_STOP_CONNECTION) == 0 || errno != EINPROGRESS)
		fprintf(stderr, "stop_pair: server STOP: %s\n", strerror(errno));
	if (v1(cli, TTLS_STOP_CONNECTION) < 0)
		fprintf(stderr, "stop_pair: client STOP: %s\n", strerror(errno));
	wait_fd(srv, POLLOUT);
	set_nonblock(srv, false);
}

/* ---- what a table row runs on ----------------------------------------------------------- */

enum setup {
	CTRL_CLEAR,     /* server end of an application-controlled pair, clear */
	CTRL_SECURE,    /* ... after INIT */
	CTRL_STOPPED,   /* ... after INIT and STOP */
	CTRL_CLIENT,    /* client end of an application-controlled pair, clear */
	BASIC,          /* server end of a transparent pair (TLS done by AT-TLS) */
	BASIC_CLIENT,   /* its client end */
	NO_RULE, NOT_ENABLED, ZERO_TIMEOUT,
	UDP, UNIX_STREAM, UNCONNECTED, LISTENING,
};

static int setup_fd(enum setup s)
{
	int srv, cli, sv[2];
	switch (s) {
	case CTRL_CLEAR: dial(P_CTRL, &srv); return srv;
	case CTRL_SECURE: return secure_pair(NULL);
	case CTRL_STOPPED: srv = secure_pair(&cli); stop_pair(srv, cli); return srv;
	case CTRL_CLIENT: return dial(P_CTRL, &srv);
	case BASIC: dial(P_BASIC, &srv); return srv;
	case BASIC_CLIENT: return dial(P_BASIC, &srv);
	case NO_RULE: dial(P_NONE, &srv); return srv;
	case NOT_ENABLED: dial(P_OFF, &srv); return srv;
	case ZERO_TIMEOUT: dial(P_ZERO, &srv); return srv;
	case UDP: return keep(socket(AF_INET, SOCK_DGRAM, 0));
	case UNIX_STREAM:
		socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
		keep(sv[1]);
		return keep(sv[0]);
	case UNCONNECTED: return keep(socket(AF_INET, SOCK_STREAM, 0));
	case LISTENING: return listeners[P_NONE];
	}
	return -1;
}

/* The buffer of a row. */
enum buf { NOBUF, V1_CERT_NULL, V1_CERT_ZERO, V1_BUF_ONLY, V2_BAD_IDENT, V2_RULE };

static char area[8192];

static void set_buffer(struct TTLS_IOCTL *ioc, enum buf b)
{
	struct TTLSHeader *h = (struct TTLSHeader *)area;
	struct TTLSQuadruplet *q = (struct TTLSQuadruplet *)(h + 1);
	memset(area, 0, sizeof area);
	switch (b) {
	case NOBUF: return;
	case V1_CERT_NULL: ioc->TTLSi_BufferLen = sizeof area; return;
	case V1_CERT_ZERO: ioc->TTLSi_BufferPtr = area; return;
	case V1_BUF_ONLY:
		ioc->TTLSi_BufferPtr = area;
		ioc->TTLSi_BufferLen = sizeof area;
		return;
	case V2_BAD_IDENT:
	case V2_RULE:
		memcpy(h->TTLSHdr_Ident, b == V2_RULE ? TTLSHDR_IDENT : "XXXXXXXX", 8);
		h->TTLSHdr_GetCount = 1;
		q->TTLSQ_Key = TTLSK_TTLSRuleName;
		q->TTLSQ_Offset = sizeof *h + sizeof *q;
		q->TTLSQ_Length = TTLS_NAME_MAX;
		ioc->TTLSi_BufferPtr = area;
		ioc->TTLSi_BufferLen = sizeof area;
		return;
	}
}

struct row {
	const char *name;
	enum setup setup;
	uint16_t ver, req;
	enum buf buf;
};

#define V1 TTLS_VERSION1
#define V2 TTLS_VERSION2
#define INIT TTLS_INIT_CONNECTION
#define STOP TTLS_STOP_CONNECTION
#define RSESS TTLS_RESET_SESSION
#define RCIPH TTLS_RESET_CIPHER
#define RWRITE TTLS_RESET_WRITE_CIPHER
#define TICKET TTLS_SEND_SESSION_TICKET
#define HST TTLS_ALLOW_HSTIMEOUT
#define CERT TTLS_RETURN_CERTIFICATE

/* Cases that are one ioctl on a prepared connection. */
static const struct row rows[] = {
	/* EACCES / JrConnDeniedPolicy: ApplicationControlled Off */
	{ "eacces_init", BASIC, V1, INIT, NOBUF },
	{ "eacces_reset_session", BASIC, V1, RSESS, NOBUF },
	{ "eacces_reset_cipher", BASIC, V1, RCIPH, NOBUF },
	{ "eacces_stop", BASIC, V1, STOP, NOBUF },
	{ "eacces_reset_write_cipher", BASIC, V1, RWRITE, NOBUF },
	{ "eacces_send_session_ticket", BASIC, V1, TICKET, NOBUF },
	/* EALREADY / JrAlreadyActive */
	{ "ealready_init_on_secure", CTRL_SECURE, V1, INIT, NOBUF },
	{ "ealready_stop_on_clear", CTRL_STOPPED, V1, STOP, NOBUF },
	/* EINVAL / JrInvalidVersion */
	{ "einval_version_0", CTRL_CLEAR, 0, 0, NOBUF },
	{ "einval_version_3", CTRL_CLEAR, 3, 0, NOBUF },
	/* EINVAL / JrSocketCallParmError */
	{ "einval_unknown_request_bit", CTRL_CLEAR, V1, 0x100, NOBUF },
	{ "einval_cert_null_buffer", CTRL_SECURE, V1, CERT, V1_CERT_NULL },
	{ "einval_cert_zero_length", CTRL_SECURE, V1, CERT, V1_CERT_ZERO },
	{ "einval_v1_buffer_without_cert", CTRL_SECURE, V1, 0, V1_BUF_ONLY },
	{ "einval_cert_with_version_2", CTRL_SECURE, V2, CERT, V2_RULE },
	{ "einval_v2_bad_ident", CTRL_SECURE, V2, 0, V2_BAD_IDENT },
	/* ENOTCONN */
	{ "enotconn_unconnected", UNCONNECTED, V1, 0, NOBUF },
	{ "enotconn_listening", LISTENING, V1, 0, NOBUF },
	/* EOPNOTSUPP: no AT-TLS for the connection */
	{ "eopnotsupp_no_rule_init", NO_RULE, V1, INIT, NOBUF },
	{ "eopnotsupp_no_rule_stop", NO_RULE, V1, STOP, NOBUF },
	{ "eopnotsupp_no_rule_reset_session", NO_RULE, V1, RSESS, NOBUF },
	{ "eopnotsupp_no_rule_reset_cipher", NO_RULE, V1, RCIPH, NOBUF },
	{ "eopnotsupp_not_enabled_init", NOT_ENABLED, V1, INIT, NOBUF },
	/* EPERM: forbidden combinations (spec 1.3) */
	{ "eperm_init_reset_session", CTRL_CLEAR, V1, INIT | RSESS, NOBUF },
	{ "eperm_init_reset_cipher", CTRL_CLEAR, V1, INIT | RCIPH, NOBUF },
	{ "eperm_init_stop", CTRL_CLEAR, V1, INIT | STOP, NOBUF },
	{ "eperm_stop_reset_session", CTRL_SECURE, V1, STOP | RSESS, NOBUF },
	{ "eperm_stop_reset_cipher", CTRL_SECURE, V1, STOP | RCIPH, NOBUF },
	{ "eperm_allow_hstimeout_alone", CTRL_CLEAR, V1, HST, NOBUF },
	/* EPROTO without a reason code: no INIT ever */
	{ "eproto_stop_before_init", CTRL_CLEAR, V1, STOP, NOBUF },
	{ "eproto_reset_session_before_init", CTRL_CLEAR, V1, RSESS, NOBUF },
	{ "eproto_reset_cipher_before_init", CTRL_CLEAR, V1, RCIPH, NOBUF },
	/* EPROTO: ALLOW_HSTIMEOUT where it cannot apply */
	{ "eproto_hstimeout_client_role", CTRL_CLIENT, V1, INIT | HST, NOBUF },
	{ "eproto_hstimeout_zero_timeout", ZERO_TIMEOUT, V1, INIT | HST, NOBUF },
	/* EPROTOTYPE */
	{ "eprototype_udp", UDP, V1, 0, NOBUF },
	{ "eprototype_unix_stream", UNIX_STREAM, V1, 0, NOBUF },
	/* Allowed: queries for any program, QUERY_ONLY with anything (spec 1.3) */
	{ "ok_query_basic", BASIC, V1, 0, NOBUF },
	{ "ok_query_no_rule", NO_RULE, V1, 0, NOBUF },
	{ "ok_query_not_enabled", NOT_ENABLED, V1, 0, NOBUF },
	{ "ok_query_clear", CTRL_CLEAR, V1, 0, NOBUF },
	{ "ok_query_v2_no_buffer", CTRL_SECURE, V2, 0, NOBUF },
	{ "ok_query_v2_rule_name", BASIC, V2, 0, V2_RULE },
	{ "ok_cert_basic", BASIC_CLIENT, V1, CERT, V1_BUF_ONLY },
	{ "ok_reset_session", CTRL_SECURE, V1, RSESS, NOBUF },
};

static void run_row(const struct row *w, struct result *r)
{
	struct TTLS_IOCTL ioc;
	int fd = setup_fd(w->setup);
	memset(&ioc, 0, sizeof ioc);
	ioc.TTLSi_Ver = w->ver;
	ioc.TTLSi_Req_Type = w->req;
	set_buffer(&ioc, w->buf);
	call(fd, &ioc, r);
	if (w->buf == V2_RULE && r->rc == 0)
		snprintf(r->extra, sizeof r->extra, "rule=%.48s", area + sizeof(struct TTLSHeader) +
			 sizeof(struct TTLSQuadruplet));
	if (w->req & CERT)
		snprintf(r->extra, sizeof r->extra, "cert_len=%u", r->ioc.TTLSi_Cert_Len);
}

/* ---- cases of several steps -------------------------------------------------------------- */

/* ECONNRESET: a blocking INIT whose handshake fails (the peer sends clear text). */
static void econnreset_init(struct result *r)
{
	int srv, cli = dial(P_SHORT, &srv);
	write_all(cli, "HELLO\r\n", 7);
	request(srv, V1, INIT, r);
}

/* ENOTCONN for a connection already closed: the handshake failed and AT-TLS
 * reset the connection; the program still holds its descriptor. */
static void enotconn_after_reset(struct result *r)
{
	int srv, cli = dial(P_SHORT, &srv);
	write_all(cli, "HELLO\r\n", 7);
	v1(srv, INIT);
	request(srv, V1, 0, r);
}

/* ECONNRESET for a request that waited: INIT non-blocking, then a blocking
 * QUERY waits for that handshake, which times out (HandshakeTimeout 1). */
static void econnreset_query_waited(struct result *r)
{
	int srv;
	dial(P_SHORT, &srv);
	set_nonblock(srv, true);
	v1(srv, INIT);
	set_nonblock(srv, false);
	request(srv, V1, 0, r);
}

/* EINPROGRESS: a non-blocking INIT; the socket polls writable when the
 * handshake is over, and a query then says secure. me: the end that asks
 * (server or client); fresh: right after accept() / connect(). The other end
 * starts non-blocking too, so nothing waits for a handshake that never
 * starts. */
static void einprogress_init(struct result *r, bool server, bool fresh)
{
	int srv, cli = fresh ? dial_fresh(P_CTRL, &srv) : dial(P_CTRL, &srv);
	int me = server ? srv : cli, other = server ? cli : srv;
	set_nonblock(me, true);
	set_nonblock(other, true);
	request(me, V1, INIT, r);
	v1(other, INIT);
	bool w = wait_fd(me, POLLOUT);
	set_nonblock(me, false);
	snprintf(r->extra, sizeof r->extra, "writable=%s then=%s", w ? "yes" : "no", state_after(me));
}

static void einprogress_init_server(struct result *r) { einprogress_init(r, true, false); }
static void einprogress_init_client(struct result *r) { einprogress_init(r, false, false); }
static void einprogress_init_right_after_accept(struct result *r) { einprogress_init(r, true, true); }
static void einprogress_init_right_after_connect(struct result *r)
{
	einprogress_init(r, false, true);
}

static void einprogress_stop(struct result *r)
{
	int cli, srv = secure_pair(&cli);
	set_nonblock(srv, true);
	request(srv, V1, STOP, r);
	v1(cli, STOP);
	bool w = wait_fd(srv, POLLOUT);
	set_nonblock(srv, false);
	snprintf(r->extra, sizeof r->extra, "writable=%s then=%s", w ? "yes" : "no", state_after(srv));
}

/* A second INIT while the first one's handshake is under way. */
static void einprogress_init_again(struct result *r)
{
	int srv, cli = dial(P_CTRL, &srv);
	set_nonblock(cli, true);
	v1(cli, INIT);
	request(cli, V1, INIT, r);
	v1(srv, INIT);
	wait_fd(cli, POLLOUT);
	set_nonblock(cli, false);
	snprintf(r->extra, sizeof r->extra, "then=%s", state_after(cli));
}

/* EWOULDBLOCK: a query on a non-blocking socket during the handshake (the
 * server end has not started its side yet). */
static void ewouldblock_query(struct result *r)
{
	int srv, cli = dial(P_CTRL, &srv);
	set_nonblock(cli, true);
	v1(cli, INIT);
	request(cli, V1, 0, r);
}

/* ENOBUFS: the server's certificate into 16 bytes (version 1, client end). */
static void enobufs_v1_certificate(struct result *r)
{
	struct TTLS_IOCTL ioc;
	char small[16];
	int cli;
	secure_pair(&cli);
	memset(&ioc, 0, sizeof ioc);
	ioc.TTLSi_Ver = V1;
	ioc.TTLSi_Req_Type = CERT;
	ioc.TTLSi_BufferPtr = small;
	ioc.TTLSi_BufferLen = sizeof small;
	call(cli, &ioc, r);
	snprintf(r->extra, sizeof r->extra, "cert_len=%u", r->ioc.TTLSi_Cert_Len);
}

/* ENOBUFS: a rule name into 4 bytes (version 2). */
static void enobufs_v2_query(struct result *r)
{
	struct TTLS_IOCTL ioc;
	struct TTLSHeader *h = (struct TTLSHeader *)area;
	struct TTLSQuadruplet *q = (struct TTLSQuadruplet *)(h + 1);
	int srv = secure_pair(NULL);
	memset(&ioc, 0, sizeof ioc);
	set_buffer(&ioc, V2_RULE);
	q->TTLSQ_Length = 4;
	ioc.TTLSi_Ver = V2;
	ioc.TTLSi_BufferLen = sizeof *h + sizeof *q + 4;
	call(srv, &ioc, r);
	snprintf(r->extra, sizeof r->extra, "bytes_needed=%u length=%u rcode=%u",
		 h->TTLSHdr_BytesNeeded, q->TTLSQ_Length, q->TTLSQ_Rcode);
}

/* EPIPE: the peer has closed the TCP connection; the program has read the
 * end of file. (Under TLS: test_ioctl_requests.py, with a peer that can end
 * TCP without close_notify.) */
static void epipe_init(struct result *r)
{
	int srv, cli = dial(P_SHORT, &srv);
	char c;
	drop(cli);
	wait_fd(srv, POLLIN);
	if (read(srv, &c, 1) != 0)
		fprintf(stderr, "epipe_init: expected end of file\n");
	request(srv, V1, INIT, r);
}

/* EPROTO / JrTTLSStopReadDataPending: data arrived under TLS, unread. */
static void eproto_stop_read_pending(struct result *r)
{
	int cli, srv = secure_pair(&cli);
	char c;
	write_all(cli, "x", 1);
	wait_fd(srv, POLLIN);
	request(srv, V1, STOP, r);
	snprintf(r->extra, sizeof r->extra, "read=%zd", read(srv, &c, 1));
}

/* EPROTO / JrTTLSStopWriteDataPending: the peer reads nothing; the program
 * writes until its socket stays full (every buffer on the way is), so what it
 * wrote cannot all have left. */
static void eproto_stop_write_pending(struct result *r)
{
	static char block[65536];
	struct pollfd p;
	int srv = secure_pair(NULL);
	size_t total = 0;
	ssize_t n;
	set_nonblock(srv, true);
	do {
		while ((n = write(srv, block, sizeof block)) > 0)
			total += (size_t)n;
		p = (struct pollfd){ .fd = srv, .events = POLLOUT };
	} while (poll(&p, 1, 500) == 1 && total < (256u << 20));
	request(srv, V1, STOP, r);
	snprintf(r->extra, sizeof r->extra, "written=%zu", total);
}

/* EINVAL / JrSocketCallParmError: the command code of SIOCTTLSCTL with
 * another argument length (48 bytes instead of 56). */
static void einval_wrong_length(struct result *r)
{
	struct TTLS_IOCTL ioc;
	int srv = secure_pair(NULL);
	memset(&ioc, 0, sizeof ioc);
	ioc.TTLSi_Ver = V1;
	r->rc = ioctl(srv, _IOC(_IOC_READ | _IOC_WRITE, 0xD9, 11, 48), &ioc);
	r->err = r->rc < 0 ? errno : 0;
	r->jr = ttls_reason();
	r->ioc = ioc;
}

/* ---- bad pointers: EFAULT, as the kernel's ioctls answer, and the program lives --- */

static size_t page(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

static void *new_page(void)
{
	void *p = mmap(NULL, page(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return p;
}

/* An address that was mapped a moment ago and no longer is. */
static void *unmapped_page(void)
{
	void *p = new_page();
	munmap(p, page());
	return p;
}

/* n bytes of src on a page of their own that can then only be read (munmap
 * it when done). */
static void *readonly_copy(const void *src, size_t n)
{
	void *p = new_page();
	memcpy(p, src, n);
	mprotect(p, page(), PROT_READ);
	return p;
}

/* The ioctl with its argument wherever it points: nothing is read back from
 * it. Then, on the same descriptor, a good query must still work. */
static void call_at(int fd, void *arg, struct result *r)
{
	r->rc = ioctl(fd, SIOCTTLSCTL, arg);
	r->err = r->rc < 0 ? errno : 0;
	r->jr = ttls_reason();
	memset(&r->ioc, 0, sizeof r->ioc);
	snprintf(r->extra, sizeof r->extra, "then=%s", state_after(fd));
}

/* A secure connection with a peer certificate (the client end of a
 * transparent pair), and a request for it. */
static int efault_setup(struct TTLS_IOCTL *ioc, uint16_t ver, uint16_t req)
{
	memset(ioc, 0, sizeof *ioc);
	ioc->TTLSi_Ver = ver;
	ioc->TTLSi_Req_Type = req;
	return setup_fd(BASIC_CLIENT);
}

static void efault_arg_null(struct result *r)
{
	struct TTLS_IOCTL ioc;
	call_at(efault_setup(&ioc, V1, 0), NULL, r);
}

static void efault_arg_unmapped(struct result *r)
{
	struct TTLS_IOCTL ioc;
	int fd = efault_setup(&ioc, V1, 0);
	call_at(fd, unmapped_page(), r);
}

/* Readable, so the request is valid, but the results cannot be written. */
static void efault_arg_readonly(struct result *r)
{
	struct TTLS_IOCTL ioc;
	int fd = efault_setup(&ioc, V1, 0);
	void *ro = readonly_copy(&ioc, sizeof ioc);
	call_at(fd, ro, r);
	munmap(ro, page());
}

static void efault_v1_cert_at(struct result *r, void *buf)
{
	struct TTLS_IOCTL ioc;
	int fd = efault_setup(&ioc, V1, CERT);
	ioc.TTLSi_BufferPtr = buf;
	ioc.TTLSi_BufferLen = (uint32_t)page();
	call_at(fd, &ioc, r);
}

static void efault_v1_cert_ptr_one(struct result *r) { efault_v1_cert_at(r, (void *)1); }
static void efault_v1_cert_unmapped(struct result *r) { efault_v1_cert_at(r, unmapped_page()); }

static void efault_v1_cert_readonly(struct result *r)
{
	static const char zeros[64];
	void *ro = readonly_copy(zeros, sizeof zeros);
	efault_v1_cert_at(r, ro);
	munmap(ro, page());
}

static void efault_v2_at(struct result *r, void *buf, uint32_t len)
{
	struct TTLS_IOCTL ioc;
	int fd = efault_setup(&ioc, V2, 0);
	ioc.TTLSi_BufferPtr = buf;
	ioc.TTLSi_BufferLen = len;
	call_at(fd, &ioc, r);
}

static void efault_v2_ptr_one(struct result *r) { efault_v2_at(r, (void *)1, sizeof area); }
static void efault_v2_unmapped(struct result *r)
{
	efault_v2_at(r, unmapped_page(), (uint32_t)page());
}

/* A valid header asking for the rule name, on a page that cannot be written. */
static void efault_v2_header_readonly(struct result *r)
{
	struct TTLS_IOCTL scratch;
	set_buffer(&scratch, V2_RULE);
	void *ro = readonly_copy(area, sizeof(struct TTLSHeader) + sizeof(struct TTLSQuadruplet) +
				 TTLS_NAME_MAX);
	efault_v2_at(r, ro, (uint32_t)page());
	munmap(ro, page());
}

/* The header is fine; the rule name's room lies on the next page, which is
 * gone (BufferLen claims both pages). */
static void efault_v2_data_unmapped(struct result *r)
{
	size_t pg = page();
	uint8_t *two = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (two == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	munmap(two + pg, pg);
	struct TTLSHeader *h = (struct TTLSHeader *)two;
	struct TTLSQuadruplet *q = (struct TTLSQuadruplet *)(h + 1);
	memset(two, 0, pg);
	memcpy(h->TTLSHdr_Ident, TTLSHDR_IDENT, 8);
	h->TTLSHdr_GetCount = 1;
	q->TTLSQ_Key = TTLSK_TTLSRuleName;
	q->TTLSQ_Offset = (uint32_t)pg;
	q->TTLSQ_Length = TTLS_NAME_MAX;
	efault_v2_at(r, two, (uint32_t)(2 * pg));
	munmap(two, pg);
}

struct step {
	const char *name;
	void (*fn)(struct result *r);
};

static const struct step steps[] = {
	{ "econnreset_init", econnreset_init },
	{ "econnreset_query_waited", econnreset_query_waited },
	{ "enotconn_after_reset", enotconn_after_reset },
	{ "einprogress_init_server", einprogress_init_server },
	{ "einprogress_init_client", einprogress_init_client },
	{ "einprogress_init_right_after_accept", einprogress_init_right_after_accept },
	{ "einprogress_init_right_after_connect", einprogress_init_right_after_connect },
	{ "einprogress_stop", einprogress_stop },
	{ "einprogress_init_again", einprogress_init_again },
	{ "ewouldblock_query", ewouldblock_query },
	{ "enobufs_v1_certificate", enobufs_v1_certificate },
	{ "enobufs_v2_query", enobufs_v2_query },
	{ "epipe_init", epipe_init },
	{ "eproto_stop_read_pending", eproto_stop_read_pending },
	{ "eproto_stop_write_pending", eproto_stop_write_pending },
	{ "einval_wrong_length", einval_wrong_length },
	{ "efault_arg_null", efault_arg_null },
	{ "efault_arg_unmapped", efault_arg_unmapped },
	{ "efault_arg_readonly", efault_arg_readonly },
	{ "efault_v1_cert_ptr_one", efault_v1_cert_ptr_one },
	{ "efault_v1_cert_unmapped", efault_v1_cert_unmapped },
	{ "efault_v1_cert_readonly", efault_v1_cert_readonly },
	{ "efault_v2_ptr_one", efault_v2_ptr_one },
	{ "efault_v2_unmapped", efault_v2_unmapped },
	{ "efault_v2_header_readonly", efault_v2_header_readonly },
	{ "efault_v2_data_unmapped", efault_v2_data_unmapped },
};

/* ---- the program --------------------------------------------------------------------- */

static void print(const char *name, const struct result *r)
{
	printf("%s rc=%d errno=%s jr=%s pol=%u conn=%u%s%s\n", name, r->rc,
	       r->rc < 0 ? strerrorname_np(r->err) : "-", ttls_reason_name(r->jr),
	       r->ioc.TTLSi_Stat_Policy, r->ioc.TTLSi_Stat_Conn, r->extra[0] ? " " : "", r->extra);
}

static bool wanted(const char *name, int argc, char **argv)
{
	if (argc == 0)
		return true;
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], name))
			return true;
	return false;
}

static int inherited(int fd)
{
	struct result r;
	memset(&r, 0, sizeof r);
	request(fd, V1, 0, &r);
	print("eio_inherited_query", &r);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "inherited"))
		return inherited(atoi(argv[2]));
	if (argc < 2 || sscanf(argv[1], "%d,%d,%d,%d,%d,%d", &ports[0], &ports[1], &ports[2],
			       &ports[3], &ports[4], &ports[5]) != NPORTS) {
		fprintf(stderr, "usage: %s CTRL,BASIC,NONE,OFF,ZERO,SHORT [CASE...]\n", argv[0]);
		return 2;
	}
	example_init();
	for (int i = 0; i < NPORTS; i++)
		if ((listeners[i] = tcp_listen("127.0.0.1", ports[i])) < 0)
			return 1;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct result r = { 0 };
		if (!wanted(rows[i].name, argc - 2, argv + 2))
			continue;
		run_row(&rows[i], &r);
		print(rows[i].name, &r);
		close_all();
	}
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		struct result r = { 0 };
		if (!wanted(steps[i].name, argc - 2, argv + 2))
			continue;
		steps[i].fn(&r);
		print(steps[i].name, &r);
		close_all();
	}
	return 0;
}
