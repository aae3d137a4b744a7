"""Policy parameters seen by real TLS peers: TLSv1.2/TLSv1.3 switches and
V3CipherSuites4Char decide what openssl s_client negotiates with a program
under attls; session resumption is on by default on both sides (an OpenSSL
client that keeps its session against the server role, curl's second
connection in the client role)."""
import socket
import ssl
import subprocess

import pytest

from shim_helpers import (PROGS, PY, SERVER_NAME, attls_run, certs, echo_roundtrip,  # noqa: F401
                          free_port, hosts_file, listening, log_text, need, nginx_argv,
                          nginx_conf, procs, rule, run, tls_context, wait_for, with_hosts, work,
                          write_policy)


def start_echo(procs, work, certs, **kw):
    port = free_port()
    pol = write_policy(work / "server.conf",
                       rule("srv", "Inbound", certs.path("server.pem"), "Server", lport=port, **kw))
    log = work / "attls.log"
    p = procs.start(attls_run(pol, log, PY, PROGS / "echo_server.py", port), name="echo")
    wait_for(lambda: listening(port) or p.poll() is not None, 15, "echo server to listen")
    assert p.poll() is None, procs.err(p)
    return port, log


def s_client(port, certs, *extra):
    argv = [need("openssl"), "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile",
            str(certs.ca), "-verify_return_error", *extra]
    r = subprocess.run(argv, input=b"", capture_output=True, timeout=60)
    out = r.stdout.decode(errors="replace")
    return r.returncode, [ln for ln in out.splitlines()
                          if ln.startswith(("New,", "Reused,")) and "(NONE)" not in ln], \
        out + r.stderr.decode(errors="replace")


CASES = {
    # policy settings, s_client options -> the "New, ..." line s_client prints (None: refused)
    "defaults": ({}, [], "New, TLSv1.3, Cipher is TLS_"),
    "tls13-off": ({"adv": {"TLSv1.3": "Off"}}, [], "New, TLSv1.2, Cipher is ECDHE-ECDSA-"),
    "tls12-off-client-wants-1.2": ({"adv": {"TLSv1.2": "Off"}}, ["-tls1_2"], None),
    "suite-1301": ({"ciphers4": "1301"}, [], "New, TLSv1.3, Cipher is TLS_AES_128_GCM_SHA256"),
    "suite-c02b-tls12": ({"ciphers4": "C02B", "adv": {"TLSv1.3": "Off"}}, [],
                         "New, TLSv1.2, Cipher is ECDHE-ECDSA-AES128-GCM-SHA256"),
    "suite-not-offered": ({"ciphers4": "1302"}, ["-ciphersuites", "TLS_AES_128_GCM_SHA256"],
                          None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_versions_and_suites(procs, work, certs, case):
    settings, opts, expect = CASES[case]
    port, log = start_echo(procs, work, certs, **settings)
    rc, lines, out = s_client(port, certs, *opts)
    if expect is None:
        assert rc != 0 and not lines, out
        assert "TLS handshake failed" in log_text(log)
    else:
        assert rc == 0, out
        assert lines and lines[0].startswith(expect), lines
        assert "secure:" in log_text(log)


@pytest.mark.parametrize("version", ["TLSv1_3", "TLSv1_2"])
def test_server_resumption_by_default(procs, work, certs, version):
    """A client (Python's ssl, i.e. OpenSSL) that keeps its session resumes
    it on the next connections (TLS 1.3 tickets, TLS 1.2 session IDs or
    tickets). openssl s_client -reconnect cannot show this for TLS 1.3: it
    reconnects before the ticket arrives."""
    port, log = start_echo(procs, work, certs)
    ctx = tls_context(certs.ca)
    ctx.minimum_version = ctx.maximum_version = getattr(ssl.TLSVersion, version)
    session, reused = None, []
    for i in range(4):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as s:
                assert echo_roundtrip(s, b"ping %d\n" % i) == b"ping %d\n" % i
                reused.append(s.session_reused)
                session = s.session
    assert reused == [False, True, True, True]
    assert log_text(log).count("(resumed)") == 3


def start_tls_nginx(procs, work, certs, protocols, settings="", extra_http=""):
    """nginx serving index.html ("resume me") over TLS with session tickets,
    and a client policy for its port. Returns (port, nginx dir, policy, log)."""
    port = free_port()
    d = work / "nginx"
    d.mkdir()
    (work / "www").mkdir()
    (work / "www" / "index.html").write_bytes(b"resume me\n")
    nginx_conf(d, f"""
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {certs.path('server.crt')};
        ssl_certificate_key {certs.path('server.key')};
        ssl_protocols {protocols};
        ssl_session_tickets on;
        {settings}
        root {work / 'www'};
    }}""", extra_http=extra_http)
    p = procs.start(nginx_argv(d), name="nginx")
    wait_for(lambda: listening(port) or p.poll() is not None, 15, "nginx to listen")
    pol = write_policy(work / "client.conf",
                       rule("cli", "Outbound", certs.path("ca.pem"), "Client", rport=port))
    return port, d, pol, work / "client.log"


def test_client_resumption_by_default(procs, work, certs):
    """curl under attls makes two connections to nginx (Connection: close):
    attls resumes the second with the ticket from the first."""
    port, d, pol, log = start_tls_nginx(
        procs, work, certs, "TLSv1.3",
        settings=f"keepalive_timeout 0; access_log {work / 'nginx'}/resumed.log r;",
        extra_http="log_format r '$ssl_session_reused';")
    hosts = hosts_file(work / "hosts", [SERVER_NAME])
    url = f"http://{SERVER_NAME}:{port}/index.html"
    r = run(with_hosts(hosts, attls_run(pol, log, need("curl"), "-sS", "--fail", url, url)))
    assert r.returncode == 0, r.stderr.decode() + log_text(log)
    assert r.stdout == b"resume me\n" * 2
    text = log_text(log)
    assert text.count("secure: TLS1.3") == 2, text
    secure = [ln for ln in text.splitlines() if "secure: TLS1.3" in ln]
    assert "(resumed)" not in secure[0] and "(resumed)" in secure[1], secure
    # nginx agrees: its second connection was a resumed session.
    lines = wait_for(lambda: (len(ls := log_text(d / "resumed.log").split()) == 2 and ls), 10,
                     "nginx to log both requests")
    assert lines == [".", "r"], lines


OVERLAP_CLIENT = r"""
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
def get(s):
    s.sendall(b"GET /index.html HTTP/1.1\r\nHost: " + host.encode() + b"\r\n\r\n")
    buf = b""
    while not buf.endswith(b"resume me\n"):
        chunk = s.recv(4096)
        if not chunk:
            break
        buf += chunk
    return buf.endswith(b"resume me\n")
first = socket.create_connection((host, port), timeout=10)
ok1 = get(first)
second = socket.create_connection((host, port), timeout=10)   # the first is still open
ok2 = get(second)
second.close()
first.close()
print("ok" if ok1 and ok2 else "short")
"""


@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
def test_client_resumes_while_first_connection_is_open(procs, work, certs, version):
    """The session from a connection that is still open resumes the next one:
    attls keeps a TLS 1.3 ticket when it arrives and TLS 1.2 session data when
    the handshake ends, not only when a connection closes (a program that
    reconnects at once would otherwise race its own teardown)."""
    port, _, pol, log = start_tls_nginx(procs, work, certs, version, settings="access_log off;")
    hosts = hosts_file(work / "hosts", [SERVER_NAME])
    r = run(with_hosts(hosts, attls_run(pol, log, PY, "-c", OVERLAP_CLIENT, SERVER_NAME, port)))
    assert r.returncode == 0 and r.stdout == b"ok\n", r.stderr.decode() + log_text(log)
    secure = [ln for ln in log_text(log).splitlines() if "secure: " in ln]
    assert len(secure) == 2, secure
    assert version.replace("v", "") in secure[0], secure
    assert "(resumed)" not in secure[0] and "(resumed)" in secure[1], secure
