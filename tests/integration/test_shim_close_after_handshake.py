"""A client that closes right after its TLS 1.3 handshake is a normal close.

GnuTLS servers send their session tickets with their Finished, so a client
that closes without reading (health checks, load tools, Python's ssl after
do_handshake()) leaves them unread and its kernel answers with a reset. The
server under attls must not log that as an error: every such connection
used to give one error line. A client that resets at once (SO_LINGER 0, as
openssl s_time does) can even beat the server's ticket write, so that the
server's handshake ends on the reset with the client's Finished unread.
A handshake that really fails still logs an error."""
import socket
import ssl
import struct

import pytest

from shim_helpers import (TEST_PROGS, Procs, attls_run, certs, free_port, log_text,  # noqa: F401
                          procs, rule, wait_for, work, write_policy)

CLIENTS = 200


def error_lines(log):
    return [line for line in log_text(log).splitlines() if " error: " in line]


def start_server(procs, work, certs):
    port = free_port()
    # Trace 255: errors, info, events and flow all go to the log file.
    policy = write_policy(work / "policy.conf",
                          rule("srv", "Inbound", certs.path("server.pem"), "Server", lport=port,
                               trace=255))
    log = work / "server.log"
    p = procs.start(attls_run(policy, log, TEST_PROGS / "echo_server", "--port", port),
                    name="server")
    wait_for(lambda: "\n" in Procs.out(p) or p.poll() is not None, 15, "the server to listen")
    assert Procs.out(p).startswith(f"ready {port}"), Procs.out(p) + Procs.err(p)
    return p, port, log


@pytest.mark.parametrize("how", ["close", "reset"])
def test_close_after_handshake_is_not_an_error(procs, work, certs, how):
    p, port, log = start_server(procs, work, certs)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(certs.ca))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    for _ in range(CLIENTS):
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        tls = ctx.wrap_socket(raw, server_hostname="localhost")   # the handshake
        assert tls.version() == "TLSv1.3"
        if how == "reset":
            tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        tls.close()                                              # tickets unread
    # The program sees end of file, or a reset where its handshake had not
    # finished (the client's reset came first).
    wait_for(lambda: Procs.err(p).count("eof ") + Procs.err(p).count("error ") >= CLIENTS, 30,
             "the server to see every client go")
    assert error_lines(log) == [], "\n".join(error_lines(log)[:5])
    if how == "close":
        text = log_text(log)
        assert text.count("secure: TLS1.3") == CLIENTS, text[-3000:]

    # A real handshake failure still is an error: a client that sends clear text.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        s.settimeout(10)
        try:
            while s.recv(4096):
                pass
        except ConnectionResetError:
            pass
    wait_for(lambda: error_lines(log), 15, "the failed handshake's error line")
    errors = error_lines(log)
    assert len(errors) == 1 and "TLS handshake failed" in errors[0], errors
