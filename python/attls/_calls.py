"""Each public call as a function of the descriptor that returns its steps;
attls (blocking) and attls.aio (asyncio) drive the same steps."""
from typing import Callable

from ._constants import Request
from ._control import Status, Steps, host_check, operation, status

StepsOf = Callable[[int], Steps]


def request(flags: int, what: str = "request") -> StepsOf:
    return lambda fd: operation(fd, int(flags), what)


def init_connection(allow_hs_timeout: bool) -> StepsOf:
    flags = Request.TTLS_INIT_CONNECTION
    if allow_hs_timeout:
        flags |= Request.TTLS_ALLOW_HSTIMEOUT
    return request(flags, "init_connection")


def stop_connection() -> StepsOf:
    return request(Request.TTLS_STOP_CONNECTION, "stop_connection")


def reset_session() -> StepsOf:
    return request(Request.TTLS_RESET_SESSION, "reset_session")


def reset_cipher(write_only: bool) -> StepsOf:
    if write_only:
        return request(Request.TTLS_RESET_WRITE_CIPHER, "reset_cipher")
    return request(Request.TTLS_RESET_CIPHER, "reset_cipher")


def send_session_ticket() -> StepsOf:
    return request(Request.TTLS_SEND_SESSION_TICKET, "send_session_ticket")


def query() -> StepsOf:
    return lambda fd: status(fd, "query")


def host_status(hostname: str) -> StepsOf:
    return lambda fd: host_check(fd, hostname, "host_status")


__all__ = ["Status", "StepsOf"]
