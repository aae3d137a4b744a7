"""The values of the SIOCTTLSCTL ioctl, with the names include/ezbztlsc.h
gives them (which are z/OS Communications Server's names).

The header is the source of truth: tests/integration/test_python_attls.py
compiles a program against it and checks every value here. The Rexx-style
names of z/OS (INITCONNHSTIMEOUT, QueryRuleName, ...) are aliases of the
same values.
"""
from enum import IntEnum, IntFlag

SIOCTTLSCTL = 0xC038D90B
"""_IOWR(0xD9, 11, struct TTLS_IOCTL): read/write, 56 bytes."""

TTLS_VERSION1 = 1
TTLS_VERSION2 = 2

TTLS_FTPDATACONN = 0x01
"""TTLSi_Flags: an FTP data connection (z/OS's FTP server sets it)."""

TTLSHDR_IDENT = b"TTLSHDR "
TTLS_NAME_MAX = 48
"""Names come back NUL-terminated, at most this long with the NUL."""


class Request(IntFlag):
    """TTLSi_Req_Type: what a call asks for. Flags, OR-ed."""
    TTLS_QUERY_ONLY = 0x00
    TTLS_INIT_CONNECTION = 0x01
    TTLS_RESET_SESSION = 0x02
    TTLS_RESET_CIPHER = 0x04
    TTLS_STOP_CONNECTION = 0x08
    TTLS_ALLOW_HSTIMEOUT = 0x10
    TTLS_RETURN_CERTIFICATE = 0x20
    TTLS_RESET_WRITE_CIPHER = 0x40
    TTLS_SEND_SESSION_TICKET = 0x80
    # The Rexx names of z/OS: one name per request, as SOCKET('IOCTL') takes them.
    QUERYONLY = 0x00
    INITCONNECTION = 0x01
    RESETSESSION = 0x02
    RESETCIPHER = 0x04
    STOPCONNECTION = 0x08
    INITCONNHSTIMEOUT = 0x11
    RESETWRITECIPHER = 0x40
    SENDSESSIONTICKET = 0x80


class PolicyStatus(IntEnum):
    """TTLSi_Stat_Policy: what the policy says about the connection."""
    TTLS_POL_OFF = 1
    TTLS_POL_NO_POLICY = 2
    TTLS_POL_NOT_ENABLED = 3
    TTLS_POL_ENABLED = 4
    TTLS_POL_APPLCNTRL = 5


class ConnStatus(IntEnum):
    """TTLSi_Stat_Conn: whether the connection is secure now."""
    TTLS_CONN_NOTSECURE = 1
    TTLS_CONN_HS_INPROGRESS = 2
    TTLS_CONN_SECURE = 3


class SecurityType(IntEnum):
    """TTLSi_Sec_Type: the role the policy gives this end."""
    TTLS_SEC_UNKNOWN = 0
    TTLS_SEC_CLIENT = 1
    TTLS_SEC_SERVER = 2
    TTLS_SEC_SRV_CA_PASS = 3
    TTLS_SEC_SRV_CA_FULL = 4
    TTLS_SEC_SRV_CA_REQD = 5
    TTLS_SEC_SRV_CA_SAFCHK = 6


class Protocol(IntEnum):
    """TTLSi_SSL_Protocol as a 16-bit value: (Prot_Ver << 8) | Prot_Mod."""
    TTLS_PROT_UNKNOWN = 0x0000
    TTLS_PROT_SSLV2 = 0x0200
    TTLS_PROT_SSLV3 = 0x0300
    TTLS_PROT_TLSV1 = 0x0301
    TTLS_PROT_TLSV1_1 = 0x0302
    TTLS_PROT_TLSV1_2 = 0x0303
    TTLS_PROT_TLSV1_3 = 0x0304


class FIPS140(IntEnum):
    """TTLSi_FIPS140."""
    TTLS_FIPS140_OFF = 0
    TTLS_FIPS140_ON = 1
    TTLS_FIPS140_LEVEL1 = 2
    TTLS_FIPS140_LEVEL2 = 3
    TTLS_FIPS140_LEVEL3 = 4


class Key(IntEnum):
    """TTLSQ_Key: what a version 2 Get quadruplet asks for."""
    TTLSK_TTLSRuleName = 1
    TTLSK_TTLSGroupActionName = 2
    TTLSK_TTLSEnvironmentActionName = 3
    TTLSK_TTLSConnectionActionName = 4
    TTLSK_Certificate = 5
    TTLSK_Host_Status = 6
    # The spellings of the 2008 V1R9 material.
    TTLSK_TTLRule_Name = 1
    TTLSK_TTLGroupAction_Name = 2
    TTLSK_TTLSEnvironmentAction_Name = 3
    TTLSK_TTLConnectionAction_Name = 4
    # The Rexx names of z/OS.
    QueryRuleName = 1
    QueryGroupActionName = 2
    QueryEnvironmentActionName = 3
    QueryConnectionActionName = 4
    QueryCertificate = 5
    QueryHost = 6


class QueryRC(IntEnum):
    """TTLSQ_Rcode: the answer to one quadruplet."""
    TTLSQ_RC_OK = 0
    TTLSQ_RC_NOT_AVAILABLE = 1
    TTLSQ_RC_HOST_MISMATCH = 2
    TTLSQ_RC_BUFFER_TOO_SMALL = 3
    TTLSQ_RC_UNKNOWN_KEY = 4


class Reason(IntEnum):
    """The reason code ("errno junior") of a failed call, from __errno2()."""
    JrOK = 0x0000
    JrConnDeniedPolicy = 0x7101
    JrAlreadyActive = 0x7102
    JrTTLSHandshakeFailed = 0x7103
    JrInvalidVersion = 0x7104
    JrSocketCallParmError = 0x7105
    JrBuffTooSmall = 0x7106
    JrTTLSStopReadDataPending = 0x7107
    JrTTLSStopWriteDataPending = 0x7108
    JrUnexpectedErr = 0x7109


ENUMS = (Request, PolicyStatus, ConnStatus, SecurityType, Protocol, FIPS140, Key, QueryRC,
         Reason)
"""Every enum above: __init__ exports their members as module constants, as
the socket module does with AF_INET."""
