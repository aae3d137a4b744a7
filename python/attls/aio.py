"""attls for asyncio: the same calls as attls, as coroutines that wait for
the operation without blocking the event loop.

The socket must be non-blocking, as asyncio's are: the call is made, and
when the shim answers EINPROGRESS or EWOULDBLOCK the coroutine waits for the
socket to poll writable (the sign, on z/OS and here, that the operation is
over) and asks again. Use asyncio.wait_for() for a time limit; cancelling
leaves the operation going on in the shim, as a timeout does in attls.

Works on sockets of the loop's low-level API (loop.sock_accept(),
loop.sock_recv()) and on the socket of a stream's transport
(writer.get_extra_info("socket")). A STARTTLS server on streams must keep
the transport from reading the peer's first TLS bytes before the handshake
starts: call transport.pause_reading() before answering the STARTTLS
command, and resume_reading() after init_connection().
"""
import asyncio
import os
from typing import TypeVar

from . import _calls
from ._calls import StepsOf
from ._control import SocketLike, Status, descriptor

T = TypeVar("T")


async def _writable(fd: int) -> None:
    """Until fd polls writable. A copy of the descriptor is watched, so a
    descriptor an asyncio transport owns can be waited on too."""
    loop = asyncio.get_running_loop()
    watched = os.dup(fd)
    done = loop.create_future()

    def ready() -> None:
        if not done.done():
            done.set_result(None)
    try:
        loop.add_writer(watched, ready)
        try:
            await done
        finally:
            loop.remove_writer(watched)
    finally:
        os.close(watched)


async def _drive(sock: SocketLike, steps_of: StepsOf) -> T:
    fd, timeout = descriptor(sock)
    if timeout != 0.0:
        raise ValueError("attls.aio needs a non-blocking socket (sock.setblocking(False))")
    steps = steps_of(fd)
    try:
        wait = next(steps)
        while True:
            if wait.delay:
                await asyncio.sleep(wait.delay)
            await _writable(fd)
            wait = next(steps)
    except StopIteration as done:
        return done.value
    finally:
        steps.close()


async def init_connection(sock: SocketLike, allow_hs_timeout: bool = False) -> Status:
    """attls.init_connection, waiting for the handshake in the event loop."""
    return await _drive(sock, _calls.init_connection(allow_hs_timeout))


async def stop_connection(sock: SocketLike) -> Status:
    """attls.stop_connection, waiting for the close_notify exchange in the event loop."""
    return await _drive(sock, _calls.stop_connection())


async def reset_session(sock: SocketLike) -> Status:
    """attls.reset_session."""
    return await _drive(sock, _calls.reset_session())


async def reset_cipher(sock: SocketLike, write_only: bool = False) -> Status:
    """attls.reset_cipher, waiting for a renegotiation in the event loop."""
    return await _drive(sock, _calls.reset_cipher(write_only))


async def send_session_ticket(sock: SocketLike) -> Status:
    """attls.send_session_ticket."""
    return await _drive(sock, _calls.send_session_ticket())


async def query(sock: SocketLike) -> Status:
    """attls.query; during a handshake it waits for the handshake's end."""
    return await _drive(sock, _calls.query())


async def host_status(sock: SocketLike, hostname: str) -> bool:
    """attls.host_status."""
    return await _drive(sock, _calls.host_status(hostname))


async def request(sock: SocketLike, flags: int) -> Status:
    """attls.request."""
    return await _drive(sock, _calls.request(flags))


__all__ = ["init_connection", "stop_connection", "reset_session", "reset_cipher",
           "send_session_ticket", "query", "host_status", "request"]
