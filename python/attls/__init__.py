"""attls — control AT-TLS on your own connections from Python.

A program run under attls (`attls run -p POLICY -- python3 prog.py`) whose
connection a rule with ``ApplicationControlled On`` covers starts in clear
text; these functions start TLS on it, stop it, renew its keys and ask what
was negotiated, through the SIOCTTLSCTL ioctl that z/OS programs use::

    import attls, socket

    conn, _ = listener.accept()
    ...                                   # clear text: "STARTTLS", "220 Go ahead"
    st = attls.init_connection(conn)      # the TLS handshake, as the policy says
    print(st.protocol.name, st.cipher)    # TTLS_PROT_TLSV1_3 1302
    conn.sendall(b"secret\\r\\n")          # plain bytes for the program, TLS on the wire

Every function takes a plain ``socket.socket`` (or anything with
``fileno()``, or a descriptor) and follows its mode: on a blocking socket it
returns when the operation is over; on a socket with a timeout it does the
same within the timeout (attls.TTLSTimeout, a TimeoutError, when it passes;
the operation goes on and calling again waits for it); on a non-blocking
socket INIT and STOP raise attls.TTLSInProgress (a BlockingIOError) and the
socket polls writable when they are over. attls.aio has the same functions
for asyncio.

Errors raise attls.TTLSError, an OSError with errno and ``reason``, the
name of the reason code (``"JrAlreadyActive"``). Without libattls.so in
the process every call fails with ENOTTY: ``available()`` tells beforehand.

The names of the z/OS header EZBZTLSC (include/ezbztlsc.h) are here as
IntEnum members and module constants (attls.TTLS_CONN_SECURE), with the Rexx
spellings of z/OS as aliases (attls.INITCONNHSTIMEOUT, attls.QueryRuleName).
"""
from . import _calls
from ._constants import (ENUMS, SIOCTTLSCTL, TTLS_FTPDATACONN, TTLS_NAME_MAX, TTLS_VERSION1,
                         TTLS_VERSION2, TTLSHDR_IDENT, FIPS140, ConnStatus, Key, PolicyStatus,
                         Protocol, QueryRC, Reason, Request, SecurityType)
from ._control import SocketLike, Status, drive
from ._errors import TTLSError, TTLSInProgress, TTLSTimeout, available

__version__ = "1.0"


def init_connection(sock: SocketLike, allow_hs_timeout: bool = False) -> Status:
    """Start TLS on the connection (TTLS_INIT_CONNECTION), in the role its
    rule gives, and return the status once the handshake is over.

    Read every clear-text byte the protocol owes you first: the peer's
    first TLS bytes must still be in the socket. A handshake that fails
    resets the connection: TTLSError ECONNRESET, JrTTLSHandshakeFailed.

    allow_hs_timeout (TTLS_ALLOW_HSTIMEOUT, server roles only) serves TLS and
    clear-text clients on one port: a client whose first bytes are not a TLS
    ClientHello, or who says nothing for the rule's HandshakeTimeout, stays
    in clear text with its bytes intact, and the status says
    TTLS_CONN_NOTSECURE.
    """
    return drive(sock, _calls.init_connection(allow_hs_timeout))


def stop_connection(sock: SocketLike) -> Status:
    """End TLS and go on in clear text on the same TCP connection
    (TTLS_STOP_CONNECTION: close_notify both ways). Everything received must
    have been read (else EPROTO, JrTTLSStopReadDataPending); the peer's clear
    text right behind its close_notify is the program's to read afterwards."""
    return drive(sock, _calls.stop_connection())


def reset_session(sock: SocketLike) -> Status:
    """Forget the TLS session (TTLS_RESET_SESSION): the next handshake on a
    new connection is a full one, not a resumption."""
    return drive(sock, _calls.reset_session())


def reset_cipher(sock: SocketLike, write_only: bool = False) -> Status:
    """Renew the keys (TTLS_RESET_CIPHER): a KeyUpdate that asks the peer to
    update too under TLS 1.3, a renegotiation under TLS 1.2. write_only
    (TTLS_RESET_WRITE_CIPHER, TLS 1.3) renews only the keys this end sends
    with."""
    return drive(sock, _calls.reset_cipher(write_only))


def send_session_ticket(sock: SocketLike) -> Status:
    """Send the peer a new session ticket (TTLS_SEND_SESSION_TICKET, TLS 1.3
    servers)."""
    return drive(sock, _calls.send_session_ticket())


def query(sock: SocketLike) -> Status:
    """What the policy and the connection say now (TTLS_QUERY_ONLY): status,
    protocol, cipher, the rule and action names, the peer's certificate.
    Any program may ask, on any TCP socket, whatever its rule."""
    return drive(sock, _calls.query())


def host_status(sock: SocketLike, hostname: str) -> bool:
    """Whether the peer's certificate carries hostname (TTLSK_Host_Status,
    RFC 6125 rules): True or False. TTLSError ENODATA when there is no peer
    certificate to look at (not secure, or a client that sent none)."""
    return drive(sock, _calls.host_status(hostname))


def request(sock: SocketLike, flags: int) -> Status:
    """Any request, by its flags (Request members, or the Rexx names:
    attls.request(sock, attls.INITCONNHSTIMEOUT)); returns the status once
    the request is over."""
    return drive(sock, _calls.request(flags))


_CONSTANTS = {name: member for e in ENUMS for name, member in e.__members__.items()}


def __getattr__(name: str) -> int:
    """Every enum member as a module constant (attls.TTLS_CONN_SECURE), as
    the socket module has socket.AF_INET."""
    try:
        return _CONSTANTS[name]
    except KeyError:
        raise AttributeError(f"module 'attls' has no attribute {name!r}") from None


def __dir__():
    return sorted(set(globals()) | set(_CONSTANTS))

__all__ = [
    "init_connection", "stop_connection", "reset_session", "reset_cipher",
    "send_session_ticket", "query", "host_status", "request", "available",
    "Status", "TTLSError", "TTLSInProgress", "TTLSTimeout",
    "Request", "PolicyStatus", "ConnStatus", "SecurityType", "Protocol", "FIPS140", "Key",
    "QueryRC", "Reason",
    "SIOCTTLSCTL", "TTLS_VERSION1", "TTLS_VERSION2", "TTLSHDR_IDENT", "TTLS_NAME_MAX",
    "TTLS_FTPDATACONN",
]
__all__ += list(_CONSTANTS)
