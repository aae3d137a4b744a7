/*
 * ezbztlsc_names — a program written against the names of spec 0.1 only, as
 * a z/OS program using EZBZTLSC would be: test_ioctl_header.py compiles it as
 * C (gnu11; c99 -pedantic) and as C++ (c++11), with warnings as errors, and
 * runs it. It makes a TCP connection to itself and queries it (version 1 and
 * version 2), then prints one line: what SIOCTTLSCTL answered.
 *
 * Without libattls.so the answer is ENOTTY and __errno2 is absent; under
 * attls with no rule for the connection the query works: "no policy".
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ezbztlsc.h>

/* Every constant of spec 0.1, so the compilers see each one used. */
static const unsigned long names[] = {
	SIOCTTLSCTL, TTLS_VERSION1, TTLS_VERSION2,
	TTLS_QUERY_ONLY, TTLS_INIT_CONNECTION, TTLS_RESET_SESSION, TTLS_RESET_CIPHER,
	TTLS_STOP_CONNECTION, TTLS_ALLOW_HSTIMEOUT, TTLS_RETURN_CERTIFICATE,
	TTLS_RESET_WRITE_CIPHER, TTLS_SEND_SESSION_TICKET,
	TTLS_POL_OFF, TTLS_POL_NO_POLICY, TTLS_POL_NOT_ENABLED, TTLS_POL_ENABLED,
	TTLS_POL_APPLCNTRL,
	TTLS_CONN_NOTSECURE, TTLS_CONN_HS_INPROGRESS, TTLS_CONN_SECURE,
	TTLS_SEC_UNKNOWN, TTLS_SEC_CLIENT, TTLS_SEC_SERVER, TTLS_SEC_SRV_CA_PASS,
	TTLS_SEC_SRV_CA_FULL, TTLS_SEC_SRV_CA_REQD, TTLS_SEC_SRV_CA_SAFCHK,
	TTLS_PROT_SSLV2, TTLS_PROT_SSLV3, TTLS_PROT_TLSV1, TTLS_PROT_TLSV1_1,
	TTLS_PROT_TLSV1_2, TTLS_PROT_TLSV1_3,
	TTLS_FIPS140_ON, TTLS_FIPS140_LEVEL1, TTLS_FIPS140_LEVEL2, TTLS_FIPS140_LEVEL3,
	TTLSK_TTLSRuleName, TTLSK_TTLSGroupActionName, TTLSK_TTLSEnvironmentActionName,
	TTLSK_TTLSConnectionActionName, TTLSK_Certificate, TTLSK_Host_Status,
	TTLSK_TTLRule_Name, TTLSK_TTLGroupAction_Name, TTLSK_TTLSEnvironmentAction_Name,
	TTLSK_TTLConnectionAction_Name,
	TTLSQ_RC_OK, TTLSQ_RC_NOT_AVAILABLE, TTLSQ_RC_HOST_MISMATCH,
	TTLSQ_RC_BUFFER_TOO_SMALL, TTLSQ_RC_UNKNOWN_KEY,
	JrConnDeniedPolicy, JrAlreadyActive, JrTTLSHandshakeFailed, JrInvalidVersion,
	JrSocketCallParmError, JrBuffTooSmall, JrTTLSStopReadDataPending,
	JrTTLSStopWriteDataPending, JrUnexpectedErr,
};

struct query {
	struct TTLSHeader hdr;
	struct TTLSQuadruplet get[2];
	char rule[48];
	char env[48];
};

static int self_connection(int *other)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l < 0 || c < 0 || bind(l, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&sin, &len) < 0 ||
	    connect(c, (struct sockaddr *)&sin, sizeof sin) < 0)
		return -1;
	*other = accept(l, NULL, NULL);
	close(l);
	return c;
}

static void print_result(const char *what, int rc, const struct TTLS_IOCTL *ioc)
{
	int e = errno;
	if (rc == 0) {
		printf("%s: ok policy=%u conn=%u prot=%04x\n", what, ioc->TTLSi_Stat_Policy,
		       ioc->TTLSi_Stat_Conn, (unsigned)TTLS_SSL_PROT(ioc));
		return;
	}
	printf("%s: errno=%d (%s) errno2=%s\n", what, e, strerror(e),
	       __errno2 ? "present" : "absent");
}

int main(void)
{
	struct TTLS_IOCTL ioc;
	struct query q;
	int other = -1, fd = self_connection(&other);
	unsigned long sum = 0;
	size_t i;
	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		sum += names[i];
	if (fd < 0 || other < 0 || sum == 0) {
		perror("connection");
		return 1;
	}

	memset(&ioc, 0, sizeof ioc);
	ioc.TTLSi_Ver = TTLS_VERSION1;
	ioc.TTLSi_Req_Type = TTLS_QUERY_ONLY;
	print_result("v1", ioctl(fd, SIOCTTLSCTL, &ioc), &ioc);

	memset(&q, 0, sizeof q);
	memcpy(q.hdr.TTLSHdr_Ident, "TTLSHDR ", 8);
	q.hdr.TTLSHdr_GetCount = 2;
	q.get[0].TTLSQ_Key = TTLSK_TTLSRuleName;
	q.get[0].TTLSQ_Offset = (unsigned)(q.rule - (char *)&q);
	q.get[0].TTLSQ_Length = sizeof q.rule;
	q.get[1].TTLSQ_Key = TTLSK_TTLSEnvironmentActionName;
	q.get[1].TTLSQ_Offset = (unsigned)(q.env - (char *)&q);
	q.get[1].TTLSQ_Length = sizeof q.env;
	memset(&ioc, 0, sizeof ioc);
	ioc.TTLSi_Ver = TTLS_VERSION2;
	ioc.TTLSi_Req_Type = TTLS_QUERY_ONLY;
	ioc.TTLSi_BufferPtr = (char *)&q;
	ioc.TTLSi_BufferLen = sizeof q;
	print_result("v2", ioctl(fd, SIOCTTLSCTL, &ioc), &ioc);
	close(fd);
	close(other);
	return 0;
}
