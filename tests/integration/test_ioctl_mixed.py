"""examples/mixed_server under policy/examples/mixed-port.conf: one port for
TLS and clear-text clients (TTLS_INIT_CONNECTION | TTLS_ALLOW_HSTIMEOUT).
A ClientHello starts TLS; clear bytes leave the connection in clear text and
reach the program intact; a silent client gets the clear greeting once
HandshakeTimeout has passed."""
import socket

import pytest

from shim_helpers import *          # noqa: F401,F403 (fixtures certs, work, procs)
from ioctl_helpers import example_policy, start_example, wait_output


@pytest.fixture
def mixed(procs, work, certs):
    port = free_port()
    policy = example_policy("mixed-port.conf", work, certs, ports={8025: port},
                            edits=[("HandshakeTimeout          3", "HandshakeTimeout          1")])
    srv = start_example(procs, policy, work / "attls.log", "mixed_server", "-p", port)
    return srv, port


def curl(*args):
    r = run([need("curl"), "-sS", "--max-time", "30", *args], text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_curl_http_and_https_on_one_port(mixed, certs):
    srv, port = mixed
    assert curl(f"http://127.0.0.1:{port}/plain") == "secure: no\nrequest: GET /plain HTTP/1.1\n"
    assert curl("--cacert", certs.ca, f"https://127.0.0.1:{port}/tls") == (
        "secure: yes\nprotocol: TLSv1.3\ncipher: 1302\nrequest: GET /tls HTTP/1.1\n")
    assert curl("--cacert", certs.ca, "--tls-max", "1.2", "--ciphers",
                "ECDHE-ECDSA-AES128-GCM-SHA256", f"https://127.0.0.1:{port}/tls12") == (
        "secure: yes\nprotocol: TLSv1.2\ncipher: C02B\nrequest: GET /tls12 HTTP/1.1\n")
    # Again in clear, after TLS clients: each connection decides for itself.
    assert curl(f"http://127.0.0.1:{port}/again") == "secure: no\nrequest: GET /again HTTP/1.1\n"
    log = wait_output(srv, r"^conn 4: closed$") and Procs.out(srv)
    assert "conn 1: not secure\n" in log
    assert "conn 2: secure, server, TLSv1.3, cipher 1302\n" in log
    assert "silent client" not in log


def test_clear_bytes_reach_the_program_intact(mixed):
    """The first bytes decide; they are not consumed by the decision. A long
    request line sent in small pieces comes back whole."""
    srv, port = mixed
    path = "/" + "".join(chr(ord("a") + i % 26) for i in range(1500))
    request = f"GET {path} HTTP/1.0\r\nHost: x\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", port), timeout=15) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(0, len(request), 7):
            s.sendall(request[i:i + 7])
        body = recv_until(s, 1 << 16).decode()
    assert body.endswith(f"\r\n\r\nsecure: no\nrequest: GET {path} HTTP/1.0\n"), body[:300]


def test_silent_client_gets_the_greeting_after_handshake_timeout(mixed):
    srv, port = mixed
    with socket.create_connection(("127.0.0.1", port), timeout=15) as s:
        f = s.makefile("rwb")
        assert f.readline() == b"220 mixed_server ready, clear text; send an HTTP request\r\n"
        f.write(b"GET /late HTTP/1.0\r\n\r\n")
        f.flush()
        rest = f.read()
    assert rest.endswith(b"\r\n\r\nsecure: no\nrequest: GET /late HTTP/1.0\n"), rest
    log = wait_output(srv, r"^conn 1: closed$") and Procs.out(srv)
    assert "conn 1: not secure\nconn 1: silent client, greeting\n" in log
