"""attls_driver.py — one TCP connection under attls driven line by line from
stdin through the Python package attls (python/attls), so a test decides
exactly what the program reads, writes and asks, and when
(test_python_attls.py).

    attls_driver.py listen PORT    answers {"listening": PORT}, then {"accepted": true}
    attls_driver.py connect PORT   answers {"connected": true}

Commands, one per line, each answered by one JSON line: the call's result
under "ok", or the exception under "error" (type, errno name, reason,
message). A command written !COMMAND is first answered {"started": COMMAND},
then made:

    timeout none|SECONDS   sock.settimeout (0: non-blocking)
    init [hst]             attls.init_connection (hst: allow_hs_timeout=True)
    stop | reset_session | reset_cipher [write] | send_ticket | query
    host NAME              attls.host_status
    request FLAGS          attls.request with Rexx/z/OS names joined by |
    recvline               one line, never a byte past its end
    recv N                 exactly N bytes
    send TEXT              TEXT with \\r \\n escapes
    avail N                wait (at most 20 s) until N bytes wait unread in the socket
    writable SECONDS       whether the socket polls writable within SECONDS
    quit
"""
import dataclasses
import enum
import errno
import fcntl
import json
import select
import socket
import sys
import termios
import time

import attls


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def as_json(v):
    if isinstance(v, attls.Status):
        d = {}
        for f in dataclasses.fields(v):
            x = getattr(v, f.name)
            d[f.name] = x.name if isinstance(x, enum.Enum) else \
                x.hex() if isinstance(x, bytes) else x
        return d
    return v


def recv_exactly(sock, n):
    buf = b""
    while len(buf) < n:
        b = sock.recv(n - len(buf))
        if not b:
            break
        buf += b
    return buf


def recv_line(sock):
    """Peek for the line end, then take exactly the line."""
    while True:
        head = sock.recv(4096, socket.MSG_PEEK)
        if not head:
            return b""
        end = head.find(b"\n")
        if end >= 0:
            return recv_exactly(sock, end + 1)
        if len(head) == 4096:
            return recv_exactly(sock, 4096)
        select.select([sock], [], [], 1)


def unread_at_least(sock, n):
    buf = bytearray(4)
    for _ in range(400):
        fcntl.ioctl(sock, termios.FIONREAD, buf, True)
        if int.from_bytes(buf, sys.byteorder) >= n:
            return True
        time.sleep(0.05)
    return False


def flags(text):
    v = 0
    for name in text.split("|"):
        v |= getattr(attls, name)
    return v


def command(sock, line):
    cmd, _, arg = line.partition(" ")
    if cmd == "timeout":
        sock.settimeout(None if arg == "none" else float(arg))
        return True
    if cmd == "init":
        return attls.init_connection(sock, allow_hs_timeout=arg == "hst")
    if cmd == "stop":
        return attls.stop_connection(sock)
    if cmd == "reset_session":
        return attls.reset_session(sock)
    if cmd == "reset_cipher":
        return attls.reset_cipher(sock, write_only=arg == "write")
    if cmd == "send_ticket":
        return attls.send_session_ticket(sock)
    if cmd == "query":
        return attls.query(sock)
    if cmd == "host":
        return attls.host_status(sock, arg)
    if cmd == "request":
        return attls.request(sock, flags(arg))
    if cmd == "recvline":
        return recv_line(sock).decode("latin-1")
    if cmd == "recv":
        return recv_exactly(sock, int(arg)).decode("latin-1")
    if cmd == "send":
        sock.sendall(arg.replace("\\r", "\r").replace("\\n", "\n").encode("latin-1"))
        return True
    if cmd == "avail":
        return unread_at_least(sock, int(arg))
    if cmd == "writable":
        p = select.poll()
        p.register(sock, select.POLLOUT)
        return bool(p.poll(float(arg) * 1000))
    raise ValueError(f"unknown command {cmd!r}")


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "listen":
        lsock = socket.create_server(("127.0.0.1", port))
        out({"listening": port})
        sock, _ = lsock.accept()
        lsock.close()
        out({"accepted": True})
    else:
        sock = socket.create_connection(("127.0.0.1", port))
        out({"connected": True})
    for line in sys.stdin:
        line = line.rstrip("\n")
        if line == "quit":
            break
        if line.startswith("!"):
            line = line[1:]
            out({"started": line})
        try:
            out({"ok": as_json(command(sock, line))})
        except OSError as e:
            out({"error": {"type": type(e).__name__,
                           "errno": errno.errorcode.get(e.errno, e.errno),
                           "reason": getattr(e, "reason", None), "message": str(e),
                           "timeout": isinstance(e, TimeoutError),
                           "blocking": isinstance(e, BlockingIOError)}})
    sock.close()


main()
