/*
 * ftp_server — a small FTP server (RFC 959, RFC 2428 EPSV, RFC 4217 FTP over
 * TLS) whose TLS is AT-TLS's, started and stopped with the SIOCTTLSCTL ioctl
 * as the z/OS FTP server does under a rule with ApplicationControlled On:
 *
 *   AUTH TLS  answers 234, then TTLS_INIT_CONNECTION on the control connection;
 *   CCC       answers 200, then TTLS_STOP_CONNECTION: the control connection
 *             goes on in clear text (the TLS close_notify exchange, TCP stays);
 *   PROT P    data connections are secured by the program with
 *             TTLS_INIT_CONNECTION too, as a server, once accepted.
 *
 * Data connections come from PASV or EPSV on ports the kernel chooses; with
 * SecondaryMap On in the control connection's rule they inherit its policy
 * (policy/examples/ftp.conf).
 *
 *   attls run -p policy/examples/ftp.conf -- build/examples/ftp_server -d /tmp/ftp
 *   curl --ssl-reqd --cacert policy/examples/certs/ca.pem ftp://127.0.0.1:2121/
 *
 * Commands: USER, PASS, AUTH TLS, PBSZ, PROT C|P, CCC, PWD, CWD, CDUP, TYPE,
 * MODE, STRU, SYST, FEAT, OPTS, NOOP, PASV, EPSV, LIST, NLST, SIZE, REST, RETR,
 * STOR, QUIT. Any user name and password are accepted; files are the regular
 * files of one flat directory.
 *
 * Options: -a ADDR (default 127.0.0.1), -p PORT (default 2121), -d DIR
 * (default .; it must be a directory this program can read, or it does not
 * start). stdout: "listening on ADDR:PORT", then one line per command
 * with the control connection's state as the ioctl reports it, and one per
 * data connection with the rule that covers it.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ezbztlsc.h>

#include "util.h"

#define DATA_ACCEPT_MS 10000

struct session {
	int fd;                 /* control connection */
	unsigned id;
	bool secure;            /* TLS on the control connection */
	bool user_given, logged_in;
	bool pbsz, prot_p;
	int pasv;               /* listening socket of PASV/EPSV, -1 when none */
	off_t rest;             /* REST offset for the next RETR */
};

static const char *root = ".";
static atomic_uint next_id = 1;

/* ---- SIOCTTLSCTL --------------------------------------------------------------- */

static int ttls(int fd, uint16_t req, struct TTLS_IOCTL *ioc)
{
	memset(ioc, 0, sizeof *ioc);
	ioc->TTLSi_Ver = TTLS_VERSION1;
	ioc->TTLSi_Req_Type = req;
	return ioctl(fd, SIOCTTLSCTL, ioc);
}

/* A version 2 buffer with one Get entry: header, quadruplet, data area. */
struct name_query {
	struct TTLSHeader hdr;
	struct TTLSQuadruplet get;
	char data[TTLS_NAME_MAX];
};

/* The name of the rule that covers fd. */
static const char *rule_name(int fd, char *name, size_t len)
{
	struct name_query buf;
	struct TTLS_IOCTL ioc;
	memset(&buf, 0, sizeof buf);
	memcpy(buf.hdr.TTLSHdr_Ident, TTLSHDR_IDENT, sizeof buf.hdr.TTLSHdr_Ident);
	buf.hdr.TTLSHdr_GetCount = 1;
	buf.get.TTLSQ_Key = TTLSK_TTLSRuleName;
	buf.get.TTLSQ_Offset = offsetof(struct name_query, data);
	buf.get.TTLSQ_Length = sizeof buf.data;
	memset(&ioc, 0, sizeof ioc);
	ioc.TTLSi_Ver = TTLS_VERSION2;
	ioc.TTLSi_Req_Type = TTLS_QUERY_ONLY;
	ioc.TTLSi_BufferPtr = (char *)&buf;
	ioc.TTLSi_BufferLen = sizeof buf;
	if (ioctl(fd, SIOCTTLSCTL, &ioc) < 0 || buf.get.TTLSQ_Rcode != TTLSQ_RC_OK)
		snprintf(name, len, "(none)");
	else
		snprintf(name, len, "%.*s", (int)strnlen(buf.data, sizeof buf.data), buf.data);
	return name;
}

/* The state of fd as the ioctl sees it, for the log. */
static const char *state(int fd, char *buf, size_t len)
{
	struct TTLS_IOCTL ioc;
	if (ttls(fd, TTLS_QUERY_ONLY, &ioc) < 0)
		snprintf(buf, len, "no AT-TLS: %s", strerror(errno));
	else
		ttls_describe(&ioc, buf, len);
	return buf;
}

static bool can_start_tls(int fd)
{
	struct TTLS_IOCTL ioc;
	return ttls(fd, TTLS_QUERY_ONLY, &ioc) == 0 &&
	       ioc.TTLSi_Stat_Policy == TTLS_POL_APPLCNTRL &&
	       ioc.TTLSi_Stat_Conn == TTLS_CONN_NOTSECURE;
}

/* TTLS_INIT_CONNECTION, blocking: back when the handshake is over. */
static int start_tls(int fd, const char *what, unsigned id)
{
	struct TTLS_IOCTL ioc;
	char desc[128];
	if (ttls(fd, TTLS_INIT_CONNECTION, &ioc) < 0) {
		ttls_perror(what);
		return -1;
	}
	printf("conn %u: %s: TLS started: %s\n", id, what, ttls_describe(&ioc, desc, sizeof desc));
	return 0;
}

/* TTLS_STOP_CONNECTION, blocking: close_notify both ways, the TCP connection
 * stays and carries clear text again. */
static int stop_tls(int fd, unsigned id)
{
	struct TTLS_IOCTL ioc;
	char desc[128];
	if (ttls(fd, TTLS_STOP_CONNECTION, &ioc) < 0) {
		ttls_perror("CCC");
		return -1;
	}
	printf("conn %u: TLS stopped: %s\n", id, ttls_describe(&ioc, desc, sizeof desc));
	return 0;
}

/* ---- files ------------------------------------------------------------------------ */

/* The path of a file of the served directory: a plain name, no path. */
static bool file_path(const char *name, char *path, size_t len)
{
	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")) {
		errno = EACCES;
		return false;
	}
	snprintf(path, len, "%s/%s", root, name);
	return true;
}

/* LIST (long) or NLST (names) of the directory's regular files. */
static int list_dir(int dfd, bool names_only)
{
	DIR *d = opendir(root);
	struct dirent *e;
	char path[PATH_MAX], when[32];
	struct stat st;
	int rc = 0;
	if (!d)
		return -1;
	while (rc == 0 && (e = readdir(d))) {
		snprintf(path, sizeof path, "%s/%s", root, e->d_name);
		if (e->d_name[0] == '.' || stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (names_only) {
			rc = reply(dfd, "%s", e->d_name);
			continue;
		}
		strftime(when, sizeof when, "%b %d %H:%M", gmtime(&st.st_mtime));
		rc = reply(dfd, "-rw-r--r-- 1 ftp ftp %12lld %s %s", (long long)st.st_size, when,
			   e->d_name);
	}
	closedir(d);
	return rc;
}

static int copy(int from, int to)
{
	char buf[65536];
	for (;;) {
		ssize_t n = read(from, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return (int)n;
		if (write_all(to, buf, (size_t)n) < 0)
			return -1;
	}
}

/* ---- data connections ------------------------------------------------------------- */

static void close_pasv(struct session *s)
{
	if (s->pasv >= 0)
		close(s->pasv);
	s->pasv = -1;
}

/* PASV and EPSV: a listening socket on the control connection's address. */
static void passive(struct session *s, bool extended)
{
	char addr[64];
	close_pasv(s);
	s->pasv = tcp_listen(local_addr(s->fd, addr, sizeof addr), 0);
	int port = s->pasv >= 0 ? local_port(s->pasv) : -1;
	if (port < 0) {
		reply(s->fd, "425 Cannot open a passive port");
		return;
	}
	if (extended) {
		reply(s->fd, "229 Entering Extended Passive Mode (|||%d|)", port);
		return;
	}
	for (char *p = addr; *p; p++)
		if (*p == '.')
			*p = ',';
	reply(s->fd, "227 Entering Passive Mode (%s,%d,%d)", addr, port >> 8, port & 0xff);
}

/* After "150": the client's data connection, secured when PROT P. -1 after
 * replying with the reason. */
static int open_data(struct session *s)
{
	struct pollfd p = { .fd = s->pasv, .events = POLLIN };
	char rule[TTLS_NAME_MAX], desc[128];
	int dfd = poll(&p, 1, DATA_ACCEPT_MS) == 1 ? accept4(s->pasv, NULL, NULL, SOCK_CLOEXEC) : -1;
	close_pasv(s);
	if (dfd < 0) {
		reply(s->fd, "425 No data connection");
		return -1;
	}
	if (s->prot_p && start_tls(dfd, "PROT P data connection", s->id) < 0) {
		close(dfd);
		reply(s->fd, "425 Cannot secure the data connection");
		return -1;
	}
	printf("conn %u: data connection: rule %s, %s\n", s->id, rule_name(dfd, rule, sizeof rule),
	       state(dfd, desc, sizeof desc));
	return dfd;
}

/* The file a RETR reads (from the REST offset) or a STOR writes (under a
 * temporary name, tmp, renamed when complete). -1 with errno. */
static int transfer_file(struct session *s, bool store, const char *name, char *tmp, size_t len)
{
	char path[PATH_MAX];
	if (!file_path(name, path, sizeof path))
		return -1;
	if (store) {
		snprintf(tmp, len, "%s/.stor.%u", root, s->id);
		return open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && lseek(fd, s->rest, SEEK_SET) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* LIST, NLST, RETR, STOR: 150, the data connection, the transfer, 226. */
static void transfer(struct session *s, const char *verb, const char *arg)
{
	bool store = !strcasecmp(verb, "STOR"), list = !store && strcasecmp(verb, "RETR");
	char tmp[PATH_MAX], path[PATH_MAX];
	int file = -1, rc = -1;
	if (s->pasv < 0) {
		reply(s->fd, "425 Use PASV or EPSV first");
		return;
	}
	if (!list && (file = transfer_file(s, store, arg, tmp, sizeof tmp)) < 0) {
		reply(s->fd, "550 %s: %s", arg, strerror(errno));
		close_pasv(s);
		return;
	}
	s->rest = 0;
	reply(s->fd, "150 Opening %s data connection", s->prot_p ? "protected" : "clear");
	int dfd = open_data(s);
	if (dfd >= 0) {
		if (list)
			rc = list_dir(dfd, !strcasecmp(verb, "NLST"));
		else
			rc = store ? copy(dfd, file) : copy(file, dfd);
		close(dfd);   /* AT-TLS sends close_notify, then FIN */
	}
	if (file >= 0)
		close(file);
	if (store && rc == 0 && file_path(arg, path, sizeof path))
		rc = rename(tmp, path);
	else if (store)
		unlink(tmp);
	if (dfd >= 0)
		reply(s->fd, rc == 0 ? "226 Transfer complete" : "451 Transfer failed");
}

/* ---- commands -------------------------------------------------------------------- */

static bool auth(struct session *s, const char *arg)
{
	if (strcasecmp(arg, "TLS") && strcasecmp(arg, "SSL")) {
		reply(s->fd, "504 AUTH %s not supported", arg);
		return true;
	}
	if (s->secure) {
		reply(s->fd, "503 TLS already active");
		return true;
	}
	if (!can_start_tls(s->fd)) {
		reply(s->fd, "431 TLS not available");
		return true;
	}
	reply(s->fd, "234 AUTH %s OK", arg);
	if (start_tls(s->fd, "AUTH TLS", s->id) < 0)
		return false;
	s->secure = true;
	s->user_given = s->logged_in = false;   /* RFC 4217: log in again */
	return true;
}

static bool ccc(struct session *s)
{
	if (!s->secure) {
		reply(s->fd, "533 Control connection not protected");
		return true;
	}
	reply(s->fd, "200 CCC OK, control connection in clear text from here");
	if (stop_tls(s->fd, s->id) < 0)
		return false;
	s->secure = false;
	return true;
}

static void prot(struct session *s, const char *arg)
{
	if (!s->pbsz) {
		reply(s->fd, "503 PBSZ first");
	} else if (!strcasecmp(arg, "C") || !strcasecmp(arg, "P")) {
		s->prot_p = toupper((unsigned char)*arg) == 'P';
		reply(s->fd, "200 PROT %s OK", s->prot_p ? "P" : "C");
	} else {
		reply(s->fd, "536 PROT %s not supported", arg);
	}
}

static void feat(struct session *s)
{
	static const char *const lines[] = {
		"211-Features:", " AUTH TLS", " PBSZ", " PROT", " CCC", " EPSV", " PASV",
		" SIZE", " REST STREAM", " UTF8", "211 End",
	};
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
		reply(s->fd, "%s", lines[i]);
}

static void size(struct session *s, const char *arg)
{
	char path[PATH_MAX];
	struct stat st;
	if (file_path(arg, path, sizeof path) && stat(path, &st) == 0 && S_ISREG(st.st_mode))
		reply(s->fd, "213 %lld", (long long)st.st_size);
	else
		reply(s->fd, "550 %s: no such file", arg);
}

/* Commands that need no login. Returns 1 handled, 0 not one of these, -1 end. */
static int before_login(struct session *s, const char *verb, const char *arg)
{
	if (!strcasecmp(verb, "AUTH"))
		return auth(s, arg) ? 1 : -1;
	if (!strcasecmp(verb, "USER")) {
		s->user_given = true;
		s->logged_in = false;
		reply(s->fd, "331 Password required for %s", arg);
	} else if (!strcasecmp(verb, "PASS")) {
		s->logged_in = s->user_given;
		reply(s->fd, s->logged_in ? "230 Logged in" : "503 USER first");
	} else if (!strcasecmp(verb, "PBSZ")) {
		s->pbsz = s->secure;
		reply(s->fd, s->secure ? "200 PBSZ=0" : "503 AUTH TLS first");
	} else if (!strcasecmp(verb, "FEAT")) {
		feat(s);
	} else if (!strcasecmp(verb, "SYST")) {
		reply(s->fd, "215 UNIX Type: L8");
	} else if (!strcasecmp(verb, "NOOP") || !strcasecmp(verb, "OPTS")) {
		reply(s->fd, "200 OK");
	} else if (!strcasecmp(verb, "QUIT")) {
		reply(s->fd, "221 Goodbye");
		return -1;
	} else {
		return 0;
	}
	return 1;
}

/* One command; false when the session is over. */
static bool command(struct session *s, const char *verb, const char *arg)
{
	int r = before_login(s, verb, arg);
	if (r != 0)
		return r > 0;
	if (!s->logged_in) {
		reply(s->fd, "530 Log in first");
	} else if (!strcasecmp(verb, "CCC")) {
		return ccc(s);
	} else if (!strcasecmp(verb, "PROT")) {
		prot(s, arg);
	} else if (!strcasecmp(verb, "PWD") || !strcasecmp(verb, "XPWD")) {
		reply(s->fd, "257 \"/\" is the current directory");
	} else if (!strcasecmp(verb, "CWD") || !strcasecmp(verb, "CDUP")) {
		bool ok = !strcasecmp(verb, "CDUP") || !strcmp(arg, "/") || !strcmp(arg, ".");
		reply(s->fd, ok ? "250 OK" : "550 No such directory");
	} else if (!strcasecmp(verb, "TYPE") || !strcasecmp(verb, "MODE") ||
		   !strcasecmp(verb, "STRU")) {
		reply(s->fd, "200 %s %s OK", verb, arg);
	} else if (!strcasecmp(verb, "PASV") || !strcasecmp(verb, "EPSV")) {
		passive(s, !strcasecmp(verb, "EPSV"));
	} else if (!strcasecmp(verb, "REST")) {
		s->rest = strtoll(arg, NULL, 10);
		reply(s->fd, "350 Restarting at %lld", (long long)s->rest);
	} else if (!strcasecmp(verb, "SIZE")) {
		size(s, arg);
	} else if (!strcasecmp(verb, "LIST") || !strcasecmp(verb, "NLST") ||
		   !strcasecmp(verb, "RETR") || !strcasecmp(verb, "STOR")) {
		transfer(s, verb, arg);
	} else {
		reply(s->fd, "502 %s not implemented", verb);
	}
	return true;
}

static void session(int fd)
{
	struct session s = { .fd = fd, .id = atomic_fetch_add(&next_id, 1), .pasv = -1 };
	char line[1024], desc[128];
	printf("conn %u: accepted\n", s.id);
	reply(fd, "220 ftp_server ready");
	for (;;) {
		ssize_t n = read_line(fd, line, sizeof line);
		if (n < 0 && errno == EMSGSIZE)
			reply(fd, "500 Line too long");
		if (n <= 0)
			break;
		char *arg = strchr(line, ' ');
		if (arg)
			*arg++ = '\0';
		else
			arg = line + strlen(line);
		/* LIST's options are not for us. */
		if (!strcasecmp(line, "LIST") && *arg == '-')
			arg += strcspn(arg, " ") + (arg[strcspn(arg, " ")] == ' ');
		printf("conn %u: %s%s%s [%s]\n", s.id, line, *arg ? " " : "",
		       strcasecmp(line, "PASS") ? arg : "****", state(fd, desc, sizeof desc));
		if (!command(&s, line, arg))
			break;
	}
	close_pasv(&s);
	printf("conn %u: closed\n", s.id);
}

/* A directory this program can list and read from, or a message on stderr:
 * a server that starts on a directory it cannot serve fails every client
 * later instead of its user now. */
static bool usable_dir(const char *dir)
{
	struct stat st;
	if (stat(dir, &st) != 0) {
		fprintf(stderr, "ftp_server: %s: %s\n", dir, strerror(errno));
		return false;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "ftp_server: %s: not a directory\n", dir);
		return false;
	}
	if (access(dir, R_OK | X_OK) != 0) {
		fprintf(stderr, "ftp_server: %s: %s\n", dir, strerror(errno));
		return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	const char *addr = "127.0.0.1";
	int port = 2121, opt;
	while ((opt = getopt(argc, argv, "a:p:d:")) != -1) {
		switch (opt) {
		case 'a': addr = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'd': root = optarg; break;
		default:
			fprintf(stderr, "usage: %s [-a ADDR] [-p PORT] [-d DIR]\n", argv[0]);
			return 2;
		}
	}
	if (!usable_dir(root))
		return 1;
	example_init();
	return serve_forever(addr, port, session);
}
