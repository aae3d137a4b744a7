/*
 * ezbztlsc.h — the SIOCTTLSCTL ioctl of AT-TLS, with z/OS Communications
 * Server's names, for programs that control TLS on their own connections
 * (start it after a clear-text negotiation, stop it, query it).
 *
 * On Linux the ioctl is served by libattls.so (attls run). Without it the
 * kernel answers ENOTTY, so a program can tell "no AT-TLS here" and carry on.
 * Differences from z/OS: character fields are ASCII, not EBCDIC;
 * TTLSi_SSL_Protocol is filled as the two bytes Prot_Ver/Prot_Mod (use
 * TTLS_SSL_PROT(ioc) for the 16-bit value); errno values are Linux's (EMVSERR
 * becomes EIO); the reason code ("errno junior") of the calling thread's last
 * failed SIOCTTLSCTL comes from __errno2().
 */
#ifndef EZBZTLSC_H
#define EZBZTLSC_H

#include <stdint.h>
#include <sys/ioctl.h>

#ifdef __cplusplus
extern "C" {
#endif

struct TTLS_IOCTL {                  /* off size */
	uint16_t TTLSi_Ver;              /*  0  2  TTLS_VERSION1 or TTLS_VERSION2 */
	uint16_t TTLSi_Req_Type;         /*  2  2  TTLS_* request flags, OR-ed */
	uint8_t  TTLSi_Stat_Policy;      /*  4  1  TTLS_POL_* */
	uint8_t  TTLSi_Stat_Conn;        /*  5  1  TTLS_CONN_* */
	union {                          /*  6  2  negotiated protocol */
		uint16_t TTLSi_SSL_Prot;
		struct {
			uint8_t Prot_Ver;
			uint8_t Prot_Mod;
		} Prot_bytes;
	} TTLSi_SSL_Protocol;
	char     TTLSi_Neg_Cipher[2];    /*  8  2  2-char cipher code, or "4X" */
	uint8_t  TTLSi_Sec_Type;         /* 10  1  TTLS_SEC_* */
	uint8_t  TTLSi_UserID_Len;       /* 11  1  0: no user mapped */
	char     TTLSi_UserID[9];        /* 12  9 */
	uint8_t  TTLSi_FIPS140;          /* 21  1  TTLS_FIPS140_* */
	uint8_t  TTLSi_Flags;            /* 22  1  TTLS_FTPDATACONN */
	uint8_t  TTLSi_Rsvd1;            /* 23  1 */
	char     TTLSi_Neg_Cipher4[4];   /* 24  4  4-char cipher code */
	char     TTLSi_Neg_KeyShare[4];  /* 28  4  TLS 1.3 key share group */
	char    *TTLSi_BufferPtr;        /* 32  8  certificate (V1) or TTLSHeader (V2) */
	uint32_t TTLSi_BufferLen;        /* 40  4 */
	uint32_t TTLSi_Cert_Len;         /* 44  4  returned (or needed) certificate length */
	uint8_t  TTLSi_Rsvd2[8];         /* 48  8  must be zero */
};                                   /* = 56 */

#ifdef __cplusplus
static_assert(sizeof(struct TTLS_IOCTL) == 56, "TTLS_IOCTL is 56 bytes");
#else
_Static_assert(sizeof(struct TTLS_IOCTL) == 56, "TTLS_IOCTL is 56 bytes");
#endif

/* 0xC038D90B: read/write, 56 bytes, group 0xD9 (EBCDIC 'R'), number 11. */
#define SIOCTTLSCTL _IOWR(0xD9, 11, struct TTLS_IOCTL)

/* The 16-bit protocol value, e.g. 0x0303 for TLS 1.2. */
#define TTLS_SSL_PROT(ioc) \
	((uint16_t)(((ioc)->TTLSi_SSL_Protocol.Prot_bytes.Prot_Ver << 8) | \
		    (ioc)->TTLSi_SSL_Protocol.Prot_bytes.Prot_Mod))

/* TTLSi_Ver */
#define TTLS_VERSION1 1
#define TTLS_VERSION2 2

/* TTLSi_Req_Type */
#define TTLS_QUERY_ONLY          0x00
#define TTLS_INIT_CONNECTION     0x01
#define TTLS_RESET_SESSION       0x02
#define TTLS_RESET_CIPHER        0x04
#define TTLS_STOP_CONNECTION     0x08
#define TTLS_ALLOW_HSTIMEOUT     0x10
#define TTLS_RETURN_CERTIFICATE  0x20
#define TTLS_RESET_WRITE_CIPHER  0x40
#define TTLS_SEND_SESSION_TICKET 0x80

/* TTLSi_Stat_Policy */
#define TTLS_POL_OFF         1
#define TTLS_POL_NO_POLICY   2
#define TTLS_POL_NOT_ENABLED 3
#define TTLS_POL_ENABLED     4
#define TTLS_POL_APPLCNTRL   5

/* TTLSi_Stat_Conn */
#define TTLS_CONN_NOTSECURE      1
#define TTLS_CONN_HS_INPROGRESS  2
#define TTLS_CONN_SECURE         3

/* TTLSi_Sec_Type */
#define TTLS_SEC_UNKNOWN     0
#define TTLS_SEC_CLIENT      1
#define TTLS_SEC_SERVER      2
#define TTLS_SEC_SRV_CA_PASS 3
#define TTLS_SEC_SRV_CA_FULL 4
#define TTLS_SEC_SRV_CA_REQD 5
#define TTLS_SEC_SRV_CA_SAFCHK 6

/* TTLSi_SSL_Protocol as 16-bit values */
#define TTLS_PROT_UNKNOWN  0x0000
#define TTLS_PROT_SSLV2    0x0200
#define TTLS_PROT_SSLV3    0x0300
#define TTLS_PROT_TLSV1    0x0301
#define TTLS_PROT_TLSV1_1  0x0302
#define TTLS_PROT_TLSV1_2  0x0303
#define TTLS_PROT_TLSV1_3  0x0304

/* TTLSi_FIPS140 */
#define TTLS_FIPS140_OFF    0
#define TTLS_FIPS140_ON     1
#define TTLS_FIPS140_LEVEL1 2
#define TTLS_FIPS140_LEVEL2 3
#define TTLS_FIPS140_LEVEL3 4

/* TTLSi_Flags */
#define TTLS_FTPDATACONN 0x01

/* ---- version 2: TTLSHeader, quadruplets, data ------------------------------ */

struct TTLSHeader {                  /* 44 bytes */
	char     TTLSHdr_Ident[8];       /* "TTLSHDR " (ASCII) */
	uint8_t  TTLSHdr_Rsvd1[8];
	uint32_t TTLSHdr_BytesNeeded;    /* set when not everything fits */
	uint32_t TTLSHdr_SetCount;
	uint32_t TTLSHdr_GetCount;
	uint8_t  TTLSHdr_Rsvd2[16];
};

struct TTLSQuadruplet {
	uint32_t TTLSQ_Key;              /* TTLSK_* */
	uint32_t TTLSQ_Offset;           /* from the start of the TTLSHeader */
	uint32_t TTLSQ_Length;           /* in: room (Get) or length (Set); out: returned or needed */
	uint32_t TTLSQ_Rcode;            /* TTLSQ_RC_* */
};

#ifdef __cplusplus
static_assert(sizeof(struct TTLSHeader) == 44, "TTLSHeader is 44 bytes");
static_assert(sizeof(struct TTLSQuadruplet) == 16, "TTLSQuadruplet is 16 bytes");
#else
_Static_assert(sizeof(struct TTLSHeader) == 44, "TTLSHeader is 44 bytes");
_Static_assert(sizeof(struct TTLSQuadruplet) == 16, "TTLSQuadruplet is 16 bytes");
#endif

#define TTLSHDR_IDENT "TTLSHDR "

/* TTLSQ_Key */
#define TTLSK_TTLSRuleName               1
#define TTLSK_TTLSGroupActionName        2
#define TTLSK_TTLSEnvironmentActionName  3
#define TTLSK_TTLSConnectionActionName   4
#define TTLSK_Certificate                5   /* the peer's certificate, DER */
#define TTLSK_Host_Status                6   /* data: the host name to check */
/* The spellings of the 2008 V1R9 material */
#define TTLSK_TTLRule_Name               TTLSK_TTLSRuleName
#define TTLSK_TTLGroupAction_Name        TTLSK_TTLSGroupActionName
#define TTLSK_TTLSEnvironmentAction_Name TTLSK_TTLSEnvironmentActionName
#define TTLSK_TTLConnectionAction_Name   TTLSK_TTLSConnectionActionName

/* TTLSQ_Rcode */
#define TTLSQ_RC_OK               0
#define TTLSQ_RC_NOT_AVAILABLE    1
#define TTLSQ_RC_HOST_MISMATCH    2
#define TTLSQ_RC_BUFFER_TOO_SMALL 3
#define TTLSQ_RC_UNKNOWN_KEY      4

/* Names come back NUL-terminated, at most this long with the NUL. */
#define TTLS_NAME_MAX 48

/* ---- reason codes ("errno junior") -------------------------------------------- */

#define JrOK                       0x0000
#define JrConnDeniedPolicy         0x7101
#define JrAlreadyActive            0x7102
#define JrTTLSHandshakeFailed      0x7103
#define JrInvalidVersion           0x7104
#define JrSocketCallParmError      0x7105
#define JrBuffTooSmall             0x7106
#define JrTTLSStopReadDataPending  0x7107
#define JrTTLSStopWriteDataPending 0x7108
#define JrUnexpectedErr            0x7109

/* The reason code of the calling thread's last failed SIOCTTLSCTL (0 when it
 * succeeded). Weak: without libattls.so the symbol is absent; test for it
 * (if (__errno2) ...) before calling. */
extern unsigned int __errno2(void) __attribute__((weak));

#ifdef __cplusplus
}
#endif

#endif
