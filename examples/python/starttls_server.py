#!/usr/bin/env python3
"""starttls_server.py — STARTTLS in a line protocol (SMTP's), with attls.

    attls run -p policy/examples/starttls.conf -- python3 examples/python/starttls_server.py
    openssl s_client -starttls smtp -connect 127.0.0.1:2525 -CAfile policy/examples/certs/ca.pem

The session begins in clear text. EHLO advertises STARTTLS when the policy
lets the program start TLS (attls.query says TTLS_POL_APPLCNTRL);
STARTTLS is answered "220 Ready to start TLS", then attls.init_connection
starts the handshake and the session goes on over TLS: MAIL, RCPT, DATA
(the message is printed), NOOP, RSET, QUIT. Lines are read one at a time,
never a byte past the line's end, so the client's first TLS bytes stay in
the socket for the handshake.

Each connection has its own thread and a socket with a timeout: attls calls
wait within it like every other call on the socket.

Options: -a ADDR (default 127.0.0.1), -p PORT (default 2525).
stdout: "listening on ADDR:PORT", then a line per command and event.
"""
import argparse
import itertools
import socket
import threading

import attls

TIMEOUT = 60          # seconds any call may wait for the client, the handshake included
MAX_LINE = 4096


def log(n, text):
    print(f"conn {n}: {text}", flush=True)


def read_line(sock):
    """One line, with its end; b"" at end of file. Peeks first so as never
    to take a byte past the line's end."""
    line = b""
    while not line.endswith(b"\n"):
        ahead = sock.recv(MAX_LINE, socket.MSG_PEEK)
        if not ahead:
            return line
        end = ahead.find(b"\n")
        line += sock.recv(end + 1 if end >= 0 else len(ahead))
        if len(line) > MAX_LINE:
            raise ValueError("line too long")
    return line


def say(sock, *lines):
    sock.sendall(b"".join(line.encode() + b"\r\n" for line in lines))


def describe(st):
    if not st.secure:
        return "not secure"
    return f"secure, {st.protocol.name}, cipher {st.cipher}, rule {st.rule_name}"


def may_start_tls(sock):
    try:
        return attls.query(sock).policy_status == attls.TTLS_POL_APPLCNTRL
    except attls.TTLSError:
        return False          # ENOTTY: not under attls; EOPNOTSUPP: no rule


def receive_message(sock, n, secure):
    size = 0
    while True:
        line = read_line(sock)
        if not line or line.rstrip(b"\r\n") == b".":
            break
        size += len(line)
        log(n, "| " + line.decode("utf-8", "replace").rstrip("\r\n"))
    log(n, f"message of {size} bytes{' over TLS' if secure else ''}")
    return size


def session(sock, n):
    secure = False
    say(sock, "220 starttls_server.py ESMTP")
    while True:
        line = read_line(sock)
        if not line:
            break
        verb, _, arg = line.decode("ascii", "replace").rstrip("\r\n").partition(" ")
        verb = verb.upper()
        log(n, verb + (" (TLS)" if secure else ""))
        if verb in ("EHLO", "HELO"):
            lines = [f"250-starttls_server.py greets {arg}"]
            if not secure and may_start_tls(sock):
                lines.append("250-STARTTLS")
            say(sock, *lines, "250 8BITMIME")
        elif verb == "STARTTLS":
            if secure:
                say(sock, "503 5.5.1 TLS already active")
                continue
            say(sock, "220 2.0.0 Ready to start TLS")
            try:
                st = attls.init_connection(sock)
            except attls.TTLSError as e:
                log(n, f"TLS did not start: {e}")    # ECONNRESET: attls reset it
                return
            secure = st.secure
            log(n, f"TLS started: {describe(st)}")
        elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
            say(sock, "250 2.0.0 Ok")
        elif verb == "DATA":
            say(sock, "354 End data with <CR><LF>.<CR><LF>")
            size = receive_message(sock, n, secure)
            say(sock, f"250 2.0.0 Ok: {size} bytes queued")
        elif verb == "QUIT":
            say(sock, "221 2.0.0 Bye")
            break
        else:
            say(sock, "502 5.5.2 Command not recognized")


def connection(sock, n):
    with sock:
        sock.settimeout(TIMEOUT)
        try:
            session(sock, n)
        except (OSError, ValueError) as e:
            log(n, f"ended: {e}")
    log(n, "closed")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-a", default="127.0.0.1", metavar="ADDR")
    ap.add_argument("-p", type=int, default=2525, metavar="PORT")
    args = ap.parse_args()
    listener = socket.create_server((args.a, args.p))
    print(f"listening on {args.a}:{args.p}", flush=True)
    for n in itertools.count(1):
        sock, _ = listener.accept()
        threading.Thread(target=connection, args=(sock, n), daemon=True).start()


if __name__ == "__main__":
    main()
