#!/usr/bin/env python3
"""mixed_port.py — TLS and clear-text clients on one port, with asyncio.

    attls run -p policy/examples/mixed-port.conf -- python3 examples/python/mixed_port.py
    curl http://127.0.0.1:8025/
    curl --cacert policy/examples/certs/ca.pem https://127.0.0.1:8025/

On each accepted connection the server asks attls to start TLS at once,
allowing the handshake to time out (attls.aio.init_connection with
allow_hs_timeout=True): a client that opens with a TLS ClientHello gets
TLS; one that sends anything else, or nothing for the rule's
HandshakeTimeout, stays in clear text with its bytes intact. The event loop
goes on serving other connections meanwhile. A client that waited gets a
greeting; then each client's HTTP request is answered with what attls says
about its connection.

The handshake runs before the socket is handed to asyncio's streams: a
stream transport reads as soon as it exists, and would take the client's
first TLS bytes away from the handshake.

Options: -a ADDR (default 127.0.0.1), -p PORT (default 8025).
stdout: "listening on ADDR:PORT", then a line per connection and request.
"""
import argparse
import asyncio
import errno
import itertools
import socket

import attls
import attls.aio

REQUEST_WAIT = 30


def log(n, text):
    print(f"conn {n}: {text}", flush=True)


def has_bytes(sock):
    try:
        return bool(sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
    except BlockingIOError:
        return False


async def start_tls_or_clear(sock, n):
    """The Status, or None when the program does not steer TLS here (ENOTTY:
    no attls; EOPNOTSUPP: no rule; EACCES: attls did the handshake itself)."""
    try:
        return await attls.aio.init_connection(sock, allow_hs_timeout=True)
    except attls.TTLSError as e:
        if e.errno in (errno.ENOTTY, errno.EOPNOTSUPP, errno.EACCES):
            log(n, f"not steering TLS: {e}")
            return None
        raise                  # ECONNRESET: a handshake began and failed


def body_for(st, request):
    if st.secure:
        text = f"secure: yes\nprotocol: {st.protocol.name}\ncipher: {st.cipher}\n"
    else:
        text = "secure: no\n"
    return (text + f"request: {request}\n").encode()


async def serve(sock, n):
    st = await start_tls_or_clear(sock, n)
    if st is not None:
        log(n, "secure" if st.secure else "clear text")
        if not st.secure and not has_bytes(sock):
            log(n, "silent client, greeting")
            await asyncio.get_running_loop().sock_sendall(
                sock, b"220 mixed_port.py ready, clear text; send an HTTP request\r\n")
    reader, writer = await asyncio.open_connection(sock=sock)
    try:
        request = (await asyncio.wait_for(reader.readline(), REQUEST_WAIT)).decode().strip()
        while (await asyncio.wait_for(reader.readline(), REQUEST_WAIT)).strip():
            pass                                      # the header lines
        st = await attls.aio.query(sock)
        body = body_for(st, request)
        log(n, f"{request} -> {body.splitlines()[0].decode()}")
        writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
                     b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
        await writer.drain()
    finally:
        writer.close()
        await writer.wait_closed()


async def connection(sock, n):
    log(n, "accepted")
    try:
        await serve(sock, n)
    except (OSError, asyncio.TimeoutError) as e:
        log(n, f"ended: {e!r}")
        sock.close()
    log(n, "closed")


async def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-a", default="127.0.0.1", metavar="ADDR")
    ap.add_argument("-p", type=int, default=8025, metavar="PORT")
    args = ap.parse_args()
    listener = socket.create_server((args.a, args.p))
    listener.setblocking(False)
    print(f"listening on {args.a}:{args.p}", flush=True)
    loop = asyncio.get_running_loop()
    tasks = set()
    for n in itertools.count(1):
        sock, _ = await loop.sock_accept(listener)    # non-blocking, as attls.aio wants
        task = asyncio.create_task(connection(sock, n))
        tasks.add(task)
        task.add_done_callback(tasks.discard)


if __name__ == "__main__":
    asyncio.run(main())
