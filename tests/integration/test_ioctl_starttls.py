"""examples/starttls_server under policy/examples/starttls.conf, against
openssl s_client -starttls smtp: the session begins in clear text, STARTTLS
starts TLS through SIOCTTLSCTL, and the commands after it are answered over
TLS."""
import socket

from shim_helpers import *          # noqa: F401,F403 (fixtures certs, work, procs)
from ioctl_helpers import EXAMPLES, example_policy, start_example, wait_output

SESSION = "\n".join([
    "EHLO test.client",
    "XSTATE",
    "NOOP",
    "MAIL FROM:<a@example.com>",
    "RCPT TO:<b@example.com>",
    "DATA",
    "Subject: over TLS",
    "",
    "hello",
    ".",
    "QUIT",
]) + "\n"


def starttls_server(procs, work, certs):
    port = free_port()
    policy = example_policy("starttls.conf", work, certs, ports={2525: port})
    srv = start_example(procs, policy, work / "attls.log", "starttls_server", "-p", port)
    return srv, port


def test_openssl_starttls_smtp(procs, work, certs):
    srv, port = starttls_server(procs, work, certs)
    r = run([need("openssl"), "s_client", "-starttls", "smtp", "-connect",
             f"127.0.0.1:{port}", "-CAfile", certs.ca, "-verify_return_error",
             "-verify_hostname", "localhost", "-brief", "-ign_eof", "-crlf",
             "-nocommands"], input=SESSION, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    # The handshake, as openssl saw it.
    assert "Verification: OK" in r.stderr, r.stderr
    assert "Protocol version: TLSv1.3" in r.stderr, r.stderr
    # Every answer after STARTTLS came over TLS: EHLO no longer offers
    # STARTTLS, XSTATE reports what the server's ioctl query says.
    lines = r.stdout.splitlines()
    assert "250-starttls_server greets test.client" in lines, r.stdout
    assert "250-STARTTLS" not in lines, r.stdout
    assert any(l.startswith("250 secure, server, TLSv1.3, cipher 130") and
               l.endswith("policy application-controlled") for l in lines), r.stdout
    assert "250 2.0.0 Ok" in lines
    assert "250 2.0.0 Ok: 28 bytes queued" in lines, r.stdout
    assert lines[-1] == "221 2.0.0 Bye", r.stdout
    log = wait_output(srv, r"^conn 1: closed$") and Procs.out(srv)
    assert "conn 1: STARTTLS\n" in log
    assert "conn 1: TLS started: secure, server, TLSv1.3" in log
    assert "conn 1: message of 28 bytes over TLS" in log
    assert "conn 1: QUIT (TLS)" in log


def test_clear_session_before_starttls(procs, work, certs):
    """Before STARTTLS everything is clear text on the wire, and EHLO offers
    STARTTLS because the ioctl query says the program may start TLS."""
    srv, port = starttls_server(procs, work, certs)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        f = s.makefile("rwb")
        assert f.readline() == b"220 starttls_server ESMTP ready\r\n"
        f.write(b"EHLO plain\r\nXSTATE\r\nQUIT\r\n")
        f.flush()
        got = [f.readline() for _ in range(6)]
    assert got == [b"250-starttls_server greets plain\r\n", b"250-STARTTLS\r\n",
                   b"250-8BITMIME\r\n", b"250 HELP\r\n",
                   b"250 not secure; policy application-controlled\r\n", b"221 2.0.0 Bye\r\n"]


def test_no_starttls_without_attls(procs, work, certs):
    """Without the shim the ioctl fails (ENOTTY): the server says so and
    carries on in clear text."""
    port = free_port()
    srv = procs.start([EXAMPLES / "starttls_server", "-p", port], name="plain")
    wait_output(srv, r"^listening on ")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        f = s.makefile("rwb")
        f.readline()
        f.write(b"EHLO x\r\nSTARTTLS\r\nXSTATE\r\nQUIT\r\n")
        f.flush()
        got = [f.readline() for _ in range(7)]
    assert got == [b"250-starttls_server greets x\r\n", b"250-8BITMIME\r\n", b"250 HELP\r\n",
                   b"454 4.7.0 TLS not available\r\n",
                   b"250 no AT-TLS (Inappropriate ioctl for device)\r\n",
                   b"221 2.0.0 Bye\r\n", b""]

