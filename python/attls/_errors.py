"""TTLSError and the reason code of a failed call.

The reason code ("errno junior") comes from __errno2(), which libattls.so
exports: the library is already loaded (LD_PRELOAD), so ctypes finds the
function in the process's global symbols (dlopen(NULL)) without naming a
file. It answers for the calling thread's last SIOCTTLSCTL, so it is asked
on the thread that made the call, right after it.
"""
import ctypes
import errno as _errno
import os
from typing import Callable, Optional

from ._constants import Reason

_errno2: Optional[Callable[[], int]] = None


def _errno2_function() -> Optional[Callable[[], int]]:
    global _errno2
    if _errno2 is None:
        try:
            f = ctypes.CDLL(None)["__errno2"]
        except (OSError, AttributeError):
            return None          # no libattls.so in this process
        f.restype = ctypes.c_uint
        f.argtypes = []
        _errno2 = f
    return _errno2


def available() -> bool:
    """Whether libattls.so is loaded in this process (the program runs
    under `attls run`): without it every call fails with ENOTTY."""
    return _errno2_function() is not None


def last_reason_code() -> Optional[int]:
    """__errno2(): the reason code of this thread's last failed SIOCTTLSCTL,
    or None when libattls.so is not loaded."""
    f = _errno2_function()
    return None if f is None else int(f())


def reason_name(code: int) -> str:
    """JrAlreadyActive for 0x7102; hex for a code this package does not know."""
    try:
        return Reason(code).name
    except ValueError:
        return f"0x{code:04X}"


class TTLSError(OSError):
    """A SIOCTTLSCTL call failed.

    errno is Linux's, as the ioctl set it (EMVSERR of z/OS is EIO);
    reason is the name of the reason code (e.g. "JrAlreadyActive", "JrOK"
    when the call gave none) and reason_code its value; both are None when
    libattls.so is not loaded, and the call then fails with ENOTTY: no
    AT-TLS here.
    """

    def __init__(self, err: int, message: str, reason_code: Optional[int] = None,
                 reason: Optional[str] = None):
        super().__init__(err, message)
        self.reason_code = reason_code
        self._reason = reason

    @property
    def reason(self) -> Optional[str]:
        if self._reason is not None:
            return self._reason
        return None if self.reason_code is None else reason_name(self.reason_code)

    def __reduce__(self):
        return (type(self), (self.errno, self.strerror, self.reason_code, self._reason))


class TTLSInProgress(TTLSError, BlockingIOError):
    """EINPROGRESS or EWOULDBLOCK on a non-blocking socket: the operation goes
    on; the socket polls writable when it is over (then query())."""


class TTLSTimeout(TTLSError, TimeoutError):
    """The socket's timeout passed before the operation ended. It goes on:
    calling the same function again waits for it anew."""


NO_ATTLS = ("no AT-TLS here: nothing in this process serves SIOCTTLSCTL "
            "(libattls.so is not loaded; run the program under `attls run`)")


def error_from(e: OSError, what: str, reason_code: Optional[int]) -> TTLSError:
    """The TTLSError for an ioctl that failed with e, on a socket that is
    non-blocking or not."""
    err = e.errno if e.errno is not None else _errno.EIO
    if err == _errno.ENOTTY and reason_code is None:
        return TTLSError(err, f"{what}: {NO_ATTLS}", None)
    return make_error(err, what, reason_code)


def make_error(err: int, what: str, reason_code: Optional[int]) -> TTLSError:
    text = f"{what}: {os.strerror(err)}"
    if reason_code:
        text += f" ({reason_name(reason_code)})"
    cls = TTLSInProgress if err in (_errno.EINPROGRESS, _errno.EAGAIN) else TTLSError
    return cls(err, text, reason_code)
