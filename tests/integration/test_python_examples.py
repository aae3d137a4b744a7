"""The Python examples of docs/python.md (examples/python/), end to end under
the example policies they name, with real clients: openssl s_client and
curl for STARTTLS (SMTP), curl for FTP with AUTH TLS, PROT P and CCC, curl
and a silent client on the asyncio mixed port. The Python code shown in
docs/python.md and README.md is checked to be cut from these files."""
import os
import re
import socket

import pytest

from shim_helpers import *          # noqa: F401,F403 (fixtures certs, work, procs)
from shim_helpers import PY, REPO
from ioctl_helpers import (TapProxy, assert_clear_only_after_ccc, curl_ftp_ccc, example_policy,
                           wait_output)

EXAMPLES = REPO / "examples" / "python"


def start(procs, work, policy, prog, *args):
    """examples/python/PROG under attls with the package from the tree; the
    process once it listens."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "python"))
    p = procs.start(attls_run(policy, work / "attls.log", PY, EXAMPLES / prog, *args, trace=30),
                    name=prog, env=env)
    wait_output(p, r"^listening on ")
    return p


def curl(certs, *args):
    return run([need("curl"), "-sS", "--cacert", certs.ca, "--max-time", "60", *args], text=True)


def read_until(sock, end):
    buf = b""
    while not buf.endswith(end):
        b = sock.recv(4096)
        assert b, buf
        buf += b
    return buf


def closed(p, n):
    wait_output(p, rf"^conn {n}: closed$")
    assert "Traceback" not in Procs.err(p), Procs.err(p)
    return Procs.out(p)


# ---- starttls_server.py ----------------------------------------------------------------

@pytest.fixture
def smtp(procs, work, certs):
    port = free_port()
    policy = example_policy("starttls.conf", work, certs, ports={2525: port})
    return start(procs, work, policy, "starttls_server.py", "-p", port), port


def test_starttls_openssl_s_client(smtp, certs):
    srv, port = smtp
    session = "EHLO test.client\nNOOP\nQUIT\n"
    r = run([need("openssl"), "s_client", "-starttls", "smtp", "-connect", f"127.0.0.1:{port}",
             "-CAfile", certs.ca, "-verify_return_error", "-verify_hostname", "localhost",
             "-brief", "-ign_eof", "-crlf", "-nocommands"], input=session, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Verification: OK" in r.stderr and "Protocol version: TLSv1.3" in r.stderr, r.stderr
    lines = r.stdout.splitlines()
    # After STARTTLS (openssl sends it itself), EHLO no longer offers it.
    assert "250-starttls_server.py greets test.client" in lines, r.stdout
    assert "250-STARTTLS" not in lines and lines[-1] == "221 2.0.0 Bye", r.stdout
    log = closed(srv, 1)
    assert re.search(r"^conn 1: TLS started: secure, TTLS_PROT_TLSV1_3, cipher 130\d, "
                     r"rule starttls-server$", log, re.M), log
    assert "conn 1: QUIT (TLS)\n" in log


def test_starttls_curl_sends_mail_over_tls(smtp, certs, work):
    """curl offers EHLO in clear, sees STARTTLS, starts TLS and delivers the
    message; on the wire only the greeting and EHLO were readable."""
    srv, port = smtp
    tap = TapProxy(port)
    mail = work / "mail.txt"
    mail.write_bytes(b"Subject: a secret subject\r\n\r\nthe secret body\r\n")
    r = curl(certs, "--ssl-reqd", f"smtp://127.0.0.1:{tap.port}", "--mail-from",
             "a@example.com", "--mail-rcpt", "b@example.com", "-T", mail)
    tap.close()
    assert r.returncode == 0, r.stderr
    log = closed(srv, 1)
    assert "conn 1: | Subject: a secret subject\n" in log and "conn 1: | the secret body\n" in log
    assert re.search(r"^conn 1: message of \d+ bytes over TLS$", log, re.M), log
    up, down = bytes(tap.up), bytes(tap.down)
    assert re.match(rb"EHLO [^\r]*\r\nSTARTTLS\r\n\x16\x03", up), up[:60]
    assert b"250-STARTTLS\r\n" in down and b"220 2.0.0 Ready to start TLS\r\n" in down
    for secret in (b"MAIL FROM", b"secret", b"b@example.com"):
        assert secret not in up, secret


def test_starttls_not_offered_without_application_control(procs, work, certs):
    """Under a rule that lets attls do TLS by itself, attls.query says
    TTLS_POL_ENABLED: EHLO does not offer STARTTLS."""
    port = free_port()
    policy = example_policy("starttls.conf", work, certs, ports={2525: port},
                            edits=[("ApplicationControlled     On",
                                    "ApplicationControlled     Off")])
    srv = start(procs, work, policy, "starttls_server.py", "-p", port)
    with tls_connect(port, certs.ca) as s:
        assert read_until(s, b"\r\n") == b"220 starttls_server.py ESMTP\r\n"
        s.sendall(b"EHLO c\r\n")
        assert read_until(s, b"250 8BITMIME\r\n") == \
            b"250-starttls_server.py greets c\r\n250 8BITMIME\r\n"
    closed(srv, 1)


# ---- ftp_ccc.py --------------------------------------------------------------------------

@pytest.fixture
def ftp(procs, work, certs):
    root = work / "root"
    root.mkdir()
    make_file(root / "data.bin", 2 * 1024 * 1024 + 5, "ftp-py")
    port = free_port()
    policy = example_policy("ftp.conf", work, certs, ports={2121: port})
    return start(procs, work, policy, "ftp_ccc.py", "-p", port, "-d", root), port, root


@pytest.mark.parametrize("mode", ["passive", "active"])
def test_ftp_ccc_control_connection_back_in_clear(ftp, certs, work, mode):
    """curl --ftp-ssl-ccc: login under TLS, CCC, the rest of the control
    connection in clear on the same TCP connection (the relay reads it); the
    file comes over a PROT P data connection the program secured."""
    srv, port, root = ftp
    out = work / "data.out"
    r, up, down = curl_ftp_ccc(certs, port, mode, out)
    assert r.returncode == 0, r.stderr + Procs.err(srv)
    assert sha256_file(out) == sha256_file(root / "data.bin")
    assert_clear_only_after_ccc(up, down)
    log = closed(srv, 1)
    assert re.search(r"^conn 1: AUTH (SSL|TLS) \[not secure\]$", log, re.M), log
    assert "conn 1: PASS **** [secure]\n" in log
    assert "conn 1: CCC [secure]\nconn 1: CCC: TLS stopped: not secure\n" in log
    assert "conn 1: RETR data.bin [not secure]\n" in log
    assert "conn 1: data connection: rule ftp-server, secure\n" in log


def test_ftp_list_over_tls_and_clear_data(ftp, certs):
    """--ssl-reqd alone: everything under TLS, the listing on a PROT P data
    connection; --ftp-ssl-control: PROT C, a clear data connection."""
    srv, port, root = ftp
    r = curl(certs, "--ssl-reqd", f"ftp://127.0.0.1:{port}/")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["data.bin"]
    log = closed(srv, 1)
    assert "conn 1: LIST [secure]\n" in log
    assert "conn 1: data connection: rule ftp-server, secure\n" in log
    r = curl(certs, "--ftp-ssl-control", "--list-only", f"ftp://127.0.0.1:{port}/")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["data.bin"]
    log = closed(srv, 2)
    assert "conn 2: PROT C [secure]\n" in log and "conn 2: NLST [secure]\n" in log
    assert "conn 2: data connection" not in log


# ---- mixed_port.py (asyncio) ----------------------------------------------------------

def mixed(procs, work, certs, timeout):
    port = free_port()
    policy = example_policy("mixed-port.conf", work, certs, ports={8025: port},
                            edits=[("HandshakeTimeout          3",
                                    f"HandshakeTimeout          {timeout}")])
    return start(procs, work, policy, "mixed_port.py", "-p", port), port


def test_mixed_port_serves_others_while_one_client_is_silent(procs, work, certs):
    """A silent client's INIT waits (up to HandshakeTimeout, here 600 s) in
    the event loop while a TLS client and a clear-text client are served;
    then the silent one speaks clear text and is answered in clear."""
    srv, port = mixed(procs, work, certs, 600)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as silent:
        wait_output(srv, r"^conn 1: accepted$")
        r = curl(certs, f"https://localhost:{port}/tls")
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("secure: yes\nprotocol: TTLS_PROT_TLSV1_3\ncipher: 130"), \
            r.stdout
        assert r.stdout.endswith("request: GET /tls HTTP/1.1\n"), r.stdout
        r = curl(certs, f"http://127.0.0.1:{port}/plain")
        assert r.returncode == 0, r.stderr
        assert r.stdout == "secure: no\nrequest: GET /plain HTTP/1.1\n", r.stdout
        closed(srv, 3)
        silent.sendall(b"GET /late HTTP/1.0\r\n\r\n")
        got = recv_until(silent, 1 << 16, timeout=30)
    assert got.startswith(b"HTTP/1.0 200 OK\r\n"), got
    assert got.endswith(b"\r\n\r\nsecure: no\nrequest: GET /late HTTP/1.0\n"), got
    log = closed(srv, 1)
    assert log.index("conn 3: closed") < log.index("conn 1: clear text"), log


def test_mixed_port_greets_a_client_that_waits(procs, work, certs):
    srv, port = mixed(procs, work, certs, 1)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        greeting = b"220 mixed_port.py ready, clear text; send an HTTP request\r\n"
        assert recv_until(s, len(greeting), timeout=30) == greeting
        s.sendall(b"GET /after HTTP/1.0\r\n\r\n")
        got = recv_until(s, 1 << 16, timeout=30)
    assert got.endswith(b"secure: no\nrequest: GET /after HTTP/1.0\n"), got
    log = closed(srv, 1)
    assert "conn 1: silent client, greeting\n" in log


# ---- the docs show the examples' own code ------------------------------------------

def fenced(path, lang):
    return re.findall(rf"^```{lang}\n(.*?)^```$", path.read_text(), re.M | re.S)


def test_python_shown_in_the_docs_is_the_examples_code():
    sources = [p.read_text() for p in EXAMPLES.glob("*.py")]
    for doc in (REPO / "docs" / "python.md", REPO / "README.md"):
        blocks = fenced(doc, "python")
        assert blocks, doc
        for block in blocks:
            assert any(block in src for src in sources), \
                f"{doc.name}: not in the examples:\n{block}"
    commands = "".join(fenced(REPO / "docs" / "python.md", "sh"))
    named = set(re.findall(r"(?:examples/python|policy/examples)/[\w.-]+\.(?:py|conf)", commands))
    assert len(named) == 6, named
    for path in named:
        assert (REPO / path).is_file(), path
