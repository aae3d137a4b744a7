"""examples/query_client under policy/examples/query-client.conf: the rule
and action names (version 2 quadruplets), the negotiated protocol and cipher,
the server's certificate (TTLSK_Certificate and version 1
RETURN_CERTIFICATE), TTLSK_Host_Status for names the certificate does and
does not carry, and the ENOBUFS retry with TTLSHdr_BytesNeeded."""
import re
import ssl
import threading

import pytest

from shim_helpers import *          # noqa: F401,F403 (fixtures certs, work, procs)
from ioctl_helpers import EXAMPLES, example_policy, server_der, start_example


def query_client(work, certs, ports, *args, hosts=True):
    """query_client under query-client.conf, ports: {8025: controlled port,
    8443: transparent port}; with a private /etc/hosts naming the server."""
    policy = example_policy("query-client.conf", work, certs, ports=ports)
    argv = attls_run(policy, work / "client.log", EXAMPLES / "query_client", *args, trace=255)
    if hosts:
        argv = with_hosts(hosts_file(work / "hosts", [SERVER_NAME, WRONG_NAME]), argv)
    r = run(argv, text=True)
    return r, r.stdout.splitlines()


@pytest.fixture
def mixed(procs, work, certs):
    """mixed_server (implicit TLS or clear on one port) as the server."""
    port = free_port()
    d = work / "server"
    d.mkdir()
    policy = example_policy("mixed-port.conf", d, certs, ports={8025: port})
    start_example(procs, policy, d / "attls.log", "mixed_server", "-p", port)
    return port


def test_controlled_client_starts_tls_and_reports(work, certs, mixed):
    r, lines = query_client(work, certs, {8025: mixed, 8443: free_port()},
                            "-n", "localhost", "-n", SERVER_NAME, "-n", WRONG_NAME,
                            "-c", work / "cert.der", "-1", SERVER_NAME, mixed)
    assert r.returncode == 0, r.stdout + r.stderr
    der = server_der(certs)
    i = lines.index("init: TLS started")
    assert lines[:i] == [f"connected: {SERVER_NAME} port {mixed}",
                         "policy: application-controlled", "connection: not secure"]
    assert lines[i + 1:i + 6] == ["policy: application-controlled", "connection: secure",
                                  "role: client", "protocol: TLSv1.3", "cipher: 1302"]
    assert re.fullmatch(r"key share: [0-9A-F]{4}", lines[i + 6]), lines[i + 6]
    assert lines[i + 7:i + 15] == [
        "rule: query-client-controlled",
        "group action: grp-on",
        "environment action: env-client",
        "connection action: conn-app-controlled",
        f"certificate: {len(der)} bytes",
        "host localhost: match",
        f"host {SERVER_NAME}: match",
        f"host {WRONG_NAME}: mismatch",
    ]
    assert (work / "cert.der").read_bytes() == der
    assert lines[i + 15:i + 17] == [
        f"v1 enobufs: buffer 16 bytes, needed {len(der)} (TTLSi_Cert_Len, JrBuffTooSmall)",
        f"v1 certificate: {len(der)} bytes, same as version 2's"]
    assert len(lines) == i + 17


def test_controlled_client_reads_until_the_server_closes(work, certs, mixed):
    """After the answer the server closes (close_notify, then FIN): the
    program, which started TLS itself, reads the answer and then end of file."""
    r, lines = query_client(work, certs, {8025: mixed, 8443: free_port()},
                            "-s", "GET /query HTTP/1.0", "-s", "", SERVER_NAME, mixed)
    assert r.returncode == 0, r.stdout + r.stderr
    assert lines[-4:] == ["reply: secure: yes", "reply: protocol: TLSv1.3", "reply: cipher: 1302",
                          "reply: request: GET /query HTTP/1.0"], r.stdout


def test_enobufs_retry_with_bytes_needed(work, certs, mixed):
    """A certificate room of 100 bytes: ENOBUFS, and TTLSHdr_BytesNeeded is
    the header, the 6 quadruplets and every answer's length."""
    r, lines = query_client(work, certs, {8025: mixed, 8443: free_port()},
                            "-r", "100", "-n", "localhost", SERVER_NAME, mixed)
    assert r.returncode == 0, r.stdout + r.stderr
    der = server_der(certs)
    names = ["query-client-controlled", "grp-on", "env-client", "conn-app-controlled"]
    first = 44 + 6 * 16 + 4 * 48 + 100 + len("localhost")
    needed = 44 + 6 * 16 + sum(len(n) + 1 for n in names) + len(der) + len("localhost")
    assert (f"enobufs: buffer {first} bytes, needed {needed} (TTLSHdr_BytesNeeded, "
            f"JrBuffTooSmall), retrying with {needed}") in lines, r.stdout
    assert f"certificate: {len(der)} bytes" in lines
    assert "rule: query-client-controlled" in lines
    assert "host localhost: match" in lines


class TLS12Server:
    """A TLS 1.2 server in this process for one connection: it records what
    it negotiated and echoes one line."""

    def __init__(self, certs):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(str(certs.path("server.crt")), str(certs.path("server.key")))
        self.ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        self.ctx.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256")
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.sock.settimeout(30)
        self.port = self.sock.getsockname()[1]
        self.seen = {}
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        try:
            conn, _ = self.sock.accept()
            with self.ctx.wrap_socket(conn, server_side=True) as t:
                t.settimeout(30)
                self.seen = {"version": t.version(), "cipher": t.cipher()[0]}
                line = t.recv(1024)
                t.sendall(b"echo " + line)
        except OSError as e:
            self.seen = {"error": str(e)}

    def close(self):
        self.thread.join(30)
        self.sock.close()


def test_transparent_client_reports_what_attls_negotiated(work, certs):
    srv = TLS12Server(certs)
    try:
        r, lines = query_client(work, certs, {8025: free_port(), 8443: srv.port},
                                "-n", SERVER_NAME, "-s", "hello", SERVER_NAME, srv.port)
    finally:
        srv.close()
    assert r.returncode == 0, r.stdout + r.stderr
    assert srv.seen == {"version": "TLSv1.2", "cipher": "ECDHE-ECDSA-AES128-GCM-SHA256"}
    assert "init: TLS started" not in lines
    assert lines[1:6] == ["policy: enabled", "connection: secure", "role: client",
                          "protocol: TLSv1.2", "cipher: C02B"]
    assert "rule: query-client-transparent" in lines
    assert "connection action: (none: rcode 1)" in lines
    assert f"host {SERVER_NAME}: match" in lines
    assert "reply: echo hello" in lines


def test_no_rule_nothing_to_report(work, certs, procs):
    """A connection no rule covers: the query works, every name and the
    certificate are 'not available', the host status too."""
    port = free_port()
    srv = procs.start([EXAMPLES / "mixed_server", "-p", port], name="plain")
    wait_for(lambda: "listening" in Procs.out(srv), 10, "mixed_server")
    r, lines = query_client(work, certs, {8025: free_port(), 8443: free_port()},
                            "-n", "localhost", "-s", "GET / HTTP/1.0", "-s", "", "127.0.0.1", port,
                            hosts=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert lines[1:3] == ["policy: no policy", "connection: not secure"]
    assert lines[3:9] == ["rule: (none: rcode 1)", "group action: (none: rcode 1)",
                          "environment action: (none: rcode 1)",
                          "connection action: (none: rcode 1)",
                          "certificate: (none: rcode 1)", "host localhost: rcode 1"]
    assert "reply: secure: unknown (Inappropriate ioctl for device)" in lines
