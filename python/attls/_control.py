"""The calls, written once as generators that say when they must wait
(sans I/O), and driven by a blocking driver here and by asyncio in aio.py.

How a call that cannot finish at once is completed is z/OS's (and the
shim's, preload/ttlsctl.c): on a non-blocking socket INIT and STOP answer
EINPROGRESS and any call made while a handshake or another operation runs
answers EWOULDBLOCK; the socket polls writable once the operation is over,
and a QUERY then gives the outcome. A connection the failed handshake has
reset answers ENOTCONN to that query: the call reports it as a blocking
call would, ECONNRESET with JrTTLSHandshakeFailed.

Some operations end without the socket ever polling unwritable (a TLS 1.2
renegotiation, a handshake the shim started itself on an accepted
connection): a call that finds the socket writable and the operation still
under way waits a little longer each time before it asks again (1 ms
doubling to 50 ms).
"""
import errno
import fcntl
import math
import os
import select
import socket
import time
from dataclasses import dataclass
from typing import Generator, Optional, Protocol as TypingProtocol, Tuple, TypeVar, Union

from . import _abi
from ._abi import Get, V2Buffer, pack_ioctl, unpack_ioctl
from ._constants import (SIOCTTLSCTL, TTLS_NAME_MAX, TTLS_VERSION1, ConnStatus, FIPS140, Key,
                         PolicyStatus, Protocol, QueryRC, Reason, Request, SecurityType)
from ._errors import TTLSError, TTLSInProgress, TTLSTimeout, error_from, last_reason_code, \
    make_error


class HasFileno(TypingProtocol):
    def fileno(self) -> int: ...


SocketLike = Union[socket.socket, HasFileno, int]
"""A socket.socket, anything with fileno() (an asyncio TransportSocket), or
a descriptor."""

T = TypeVar("T")


@dataclass(frozen=True)
class Wait:
    """What an operation needs before it asks again: delay seconds, then the
    socket polling writable. error is what a non-blocking caller gets; what
    names the call."""
    delay: float
    error: TTLSInProgress
    what: str


Steps = Generator[Wait, None, T]

FIRST_RETRY = 0.001
LAST_RETRY = 0.05
CERT_ROOM = 4096
NAME_KEYS = (Key.TTLSK_TTLSRuleName, Key.TTLSK_TTLSGroupActionName,
             Key.TTLSK_TTLSEnvironmentActionName, Key.TTLSK_TTLSConnectionActionName)


@dataclass(frozen=True)
class Status:
    """What SIOCTTLSCTL says about a connection (TTLS_QUERY_ONLY, version 2).

    Character fields are text (ASCII on Linux); a field with nothing to say
    is None: cipher, key share and peer certificate before TLS (protocol is
    then TTLS_PROT_UNKNOWN), the names of actions the rule does not have,
    user_id when no user is mapped (attls maps none).
    """
    policy_status: Union[PolicyStatus, int]
    """TTLS_POL_*: no policy, not enabled, enabled, application controlled."""
    conn_status: Union[ConnStatus, int]
    """TTLS_CONN_*: not secure, handshake in progress, secure."""
    protocol: Union[Protocol, int]
    """TTLS_PROT_*: the negotiated protocol, TTLS_PROT_UNKNOWN when not secure."""
    cipher: Optional[str]
    """The negotiated cipher suite's four hex digits (TTLSi_Neg_Cipher4), e.g. "1302"."""
    rule_name: Optional[str]
    group_action_name: Optional[str]
    environment_action_name: Optional[str]
    connection_action_name: Optional[str]
    user_id: Optional[str]
    peer_certificate: Optional[bytes]
    """The peer's certificate, DER (ssl.DER_cert_to_PEM_cert makes PEM of it)."""
    security_type: Union[SecurityType, int]
    """TTLS_SEC_*: this end's role (client, server, server with client authentication)."""
    key_share: Optional[str]
    """TLS 1.3: the key share group's four hex digits, e.g. "001D" (x25519)."""
    fips140: Union[FIPS140, int]

    @property
    def secure(self) -> bool:
        """Whether the connection is secure now."""
        return self.conn_status == ConnStatus.TTLS_CONN_SECURE


# ---- the ioctl --------------------------------------------------------------------------

def descriptor(sock: SocketLike) -> Tuple[int, Optional[float]]:
    """The descriptor and Python's timeout (None: blocking; 0: non-blocking).
    A bare descriptor's timeout comes from its O_NONBLOCK flag."""
    if isinstance(sock, int):
        fd = sock
        timeout = 0.0 if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK else None
        return fd, timeout
    gettimeout = getattr(sock, "gettimeout", None)
    return sock.fileno(), gettimeout() if gettimeout else None


def ioctl(fd: int, raw: bytearray, what: str) -> None:
    """SIOCTTLSCTL with raw (a TTLS_IOCTL), which the call rewrites in place."""
    try:
        fcntl.ioctl(fd, SIOCTTLSCTL, raw, True)
    except OSError as e:
        # __errno2 is per thread: asked on this one, before anything else runs.
        raise error_from(e, what, last_reason_code()) from None


def asking_again(fd: int, raw_of, what: str, first: TTLSInProgress) -> Steps[None]:
    """Repeat a call (raw_of() makes its TTLS_IOCTL) until it no longer
    answers EINPROGRESS/EWOULDBLOCK, waiting between tries."""
    delay, pending = 0.0, first
    while True:
        yield Wait(delay, pending, what)
        try:
            ioctl(fd, raw_of(), what)
            return
        except TTLSInProgress as again:
            pending = again
            delay = min(max(delay * 2, FIRST_RETRY), LAST_RETRY)


def call(fd: int, raw_of, what: str) -> Steps[None]:
    """One call, waiting while the connection is busy."""
    try:
        ioctl(fd, raw_of(), what)
    except TTLSInProgress as busy:
        yield from asking_again(fd, raw_of, what, busy)


# ---- requests -------------------------------------------------------------------------

# Operations a caller stopped waiting for (a timeout, or a non-blocking
# socket's EINPROGRESS), by socket: asked again, the request answers
# EALREADY once the operation is over (or EINPROGRESS while it runs), and the
# call then waits for the operation it made rather than fail.
# Keyed by descriptor and inode, so a number reused for another socket does
# not inherit it.
_left: dict = {}


def _op_key(fd: int) -> Tuple[int, int]:
    return fd, os.fstat(fd).st_ino


def operation(fd: int, request: int, what: str) -> Steps[Status]:
    """A request (INIT, STOP, a reset), waited for, then the connection's status."""
    key = _op_key(fd)
    try:
        ioctl(fd, pack_ioctl(TTLS_VERSION1, request), what)
        _left.pop(key, None)
    except TTLSInProgress as started:
        _left[key] = request
        yield from _waited(fd, key, what, started)
    except TTLSError as e:
        # the shim refuses a request already under way or over; asked again
        # after a timeout, the call waits for the one it made
        if e.errno != errno.EALREADY or _left.get(key) != request:
            _left.pop(key, None)
            raise
        yield from _waited(fd, key, what, None)
    return (yield from status(fd, what))


def _waited(fd: int, key, what: str, started: Optional[TTLSInProgress]) -> Steps[None]:
    """Wait for an operation under way to end. A caller who gives up (a
    timeout closes the generator) leaves it remembered in _left."""
    query = lambda: pack_ioctl(TTLS_VERSION1, Request.TTLS_QUERY_ONLY)  # noqa: E731
    try:
        if started is None:
            yield from call(fd, query, what)
        else:
            yield from asking_again(fd, query, what, started)
    except TTLSError as e:
        _left.pop(key, None)
        if e.errno != errno.ENOTCONN:
            raise
        raise make_error(errno.ECONNRESET, what, Reason.JrTTLSHandshakeFailed) from e
    _left.pop(key, None)


def _text(raw: bytes) -> Optional[str]:
    raw = raw.split(b"\0", 1)[0]
    return raw.decode("ascii", "replace") if raw else None


def _enum(cls, value: int):
    try:
        return cls(value)
    except ValueError:
        return value


def status(fd: int, what: str) -> Steps[Status]:
    """TTLS_QUERY_ONLY, version 2: the fields of the TTLS_IOCTL, the rule and
    action names and the peer's certificate (its room grows when ENOBUFS
    says it must)."""
    room = CERT_ROOM
    for _ in range(4):
        buf = V2Buffer([Get(k, TTLS_NAME_MAX) for k in NAME_KEYS] +
                       [Get(Key.TTLSK_Certificate, room)])
        raw = buf.ioctl(Request.TTLS_QUERY_ONLY)
        try:
            yield from call(fd, lambda: raw, what)
        except TTLSError as e:
            cert = buf.results()[-1]
            if e.errno != errno.ENOBUFS or cert.rcode != QueryRC.TTLSQ_RC_BUFFER_TOO_SMALL:
                raise
            room = cert.length
            continue
        return _status_of(unpack_ioctl(raw), buf)
    raise make_error(errno.ENOBUFS, what, Reason.JrBuffTooSmall)


def _status_of(a: _abi.Answer, buf: V2Buffer) -> Status:
    got = {g.key: g for g in buf.results()}

    def value(key: Key) -> Optional[bytes]:
        g = got[key]
        return g.data if g.rcode == QueryRC.TTLSQ_RC_OK and g.data else None

    names = [_text(value(k) or b"") for k in NAME_KEYS]
    cipher = a.neg_cipher4 if a.neg_cipher4.strip(b"\0") else a.neg_cipher
    return Status(policy_status=_enum(PolicyStatus, a.stat_policy),
                  conn_status=_enum(ConnStatus, a.stat_conn),
                  protocol=_enum(Protocol, a.protocol),
                  cipher=_text(cipher),
                  rule_name=names[0], group_action_name=names[1],
                  environment_action_name=names[2], connection_action_name=names[3],
                  user_id=_text(a.user_id),
                  peer_certificate=value(Key.TTLSK_Certificate),
                  security_type=_enum(SecurityType, a.sec_type),
                  key_share=_text(a.neg_keyshare),
                  fips140=_enum(FIPS140, a.fips140))


def host_name_bytes(hostname: str) -> bytes:
    if not hostname or "\0" in hostname:
        raise ValueError(f"not a host name: {hostname!r}")
    try:
        return hostname.encode("ascii")
    except UnicodeEncodeError:
        return hostname.encode("idna")


def host_check(fd: int, hostname: str, what: str) -> Steps[bool]:
    """TTLSK_Host_Status: the name in the entry's data area, the answer in its
    Rcode."""
    name = host_name_bytes(hostname)
    buf = V2Buffer([Get(Key.TTLSK_Host_Status, len(name), name)])
    raw = buf.ioctl(Request.TTLS_QUERY_ONLY)
    yield from call(fd, lambda: raw, what)
    rc = buf.results()[0].rcode
    if rc == QueryRC.TTLSQ_RC_OK:
        return True
    if rc == QueryRC.TTLSQ_RC_HOST_MISMATCH:
        return False
    rc_name = _enum(QueryRC, rc)
    rc_name = rc_name.name if isinstance(rc_name, QueryRC) else str(rc)
    raise TTLSError(errno.ENODATA, f"{what}: no peer certificate to check {hostname!r} against "
                    f"({rc_name})", reason=rc_name)


# ---- the blocking driver --------------------------------------------------------------

def drive(sock: SocketLike, steps_of) -> T:
    """Run steps_of(fd) as the socket's mode says: a blocking socket's calls
    wait in the ioctl itself; one with a timeout waits here, within it; a
    non-blocking one gets the EINPROGRESS/EWOULDBLOCK of the call."""
    fd, timeout = descriptor(sock)
    deadline = None if timeout is None else time.monotonic() + timeout
    steps = steps_of(fd)
    try:
        wait = next(steps)
        while True:
            if timeout == 0.0:
                raise wait.error
            _wait_blocking(fd, wait, deadline)
            wait = next(steps)
    except StopIteration as done:
        return done.value
    finally:
        steps.close()


def _wait_blocking(fd: int, wait: Wait, deadline: Optional[float]) -> None:
    """Sleep the delay, then poll for writable, all within the deadline. The
    deadline is checked first: a socket that stays writable while the
    operation goes on would otherwise be asked again for ever."""
    if deadline is not None and time.monotonic() >= deadline:
        raise _timeout(wait)
    if wait.delay:
        time.sleep(wait.delay if deadline is None
                   else max(0.0, min(wait.delay, deadline - time.monotonic())))
    ms = None if deadline is None else max(0, math.ceil((deadline - time.monotonic()) * 1000))
    p = select.poll()
    p.register(fd, select.POLLOUT)
    if not p.poll(ms):
        raise _timeout(wait)


def _timeout(wait: Wait) -> TTLSTimeout:
    return TTLSTimeout(errno.ETIMEDOUT, f"{wait.what}: timed out (the operation goes on; call "
                       "again to wait for it)")
