"""Client role: `curl http://NAME:PORT/` under attls talks TLS, verified, to a
real TLS server (openssl s_server -WWW, nginx with ssl); a wrong name or an
untrusted CA is refused: curl fails, the server sees only a failed handshake,
and the attls log says why.

Names: curl resolves "localhost" itself (RFC 6761) without getaddrinfo, so
the tests use names from a hosts file mounted over /etc/hosts in a private
mount namespace of the client (the machine's /etc/hosts is not touched)."""
import socket
import ssl
import threading

import pytest

from shim_helpers import (PROGS, PY, SERVER_NAME, WRONG_NAME, attls_run, certs,  # noqa: F401
                          free_port, hosts_file, listening, log_text, make_file, need, nginx_argv,
                          nginx_conf, procs, rule, run, wait_for, with_hosts, work, write_policy)

PAGE = b"<html>TLS server behind a plain client</html>\n"


def docroot(work):
    d = work / "www"
    d.mkdir(exist_ok=True)
    (d / "index.html").write_bytes(PAGE)
    return d


def start_s_server(procs, work, certs):
    port = free_port()
    p = procs.start([need("openssl"), "s_server", "-WWW", "-accept", f"127.0.0.1:{port}",
                     "-cert", certs.path("server.crt"), "-key", certs.path("server.key")],
                    name="s_server", cwd=docroot(work))
    wait_for(lambda: listening(port) or p.poll() is not None, 15, "s_server to listen")
    assert p.poll() is None, procs.err(p)
    return p, port


def start_nginx_ssl(procs, work, certs):
    port = free_port()
    d = work / "nginx"
    d.mkdir()
    nginx_conf(d, f"""
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {certs.path('server.crt')};
        ssl_certificate_key {certs.path('server.key')};
        ssl_protocols TLSv1.2 TLSv1.3;
        root {docroot(work)};
    }}""")
    p = procs.start(nginx_argv(d), name="nginx")
    wait_for(lambda: listening(port) or p.poll() is not None, 15, "nginx to listen")
    assert p.poll() is None, procs.err(p) + log_text(d / "error.log")
    return p, port, d


def client_policy(work, port, keyring, host_ref=None):
    return write_policy(work / "client.conf",
                        rule("to-tls", "Outbound", keyring, "Client", rport=port,
                             host_ref=host_ref))


def curl_under_attls(work, policy, url):
    hosts = hosts_file(work / "hosts", [SERVER_NAME, WRONG_NAME])
    log = work / "client.log"
    r = run(with_hosts(hosts, attls_run(policy, log, need("curl"), "-sS", "--max-time", "30",
                                        url)), timeout=60)
    return r, log_text(log)


def test_curl_by_name_to_s_server(procs, work, certs):
    """curl speaks plain HTTP; attls turns it into TLS 1.3 to openssl s_server,
    sends the name curl resolved (SNI) and checks the certificate against it."""
    server, port = start_s_server(procs, work, certs)
    pol = client_policy(work, port, certs.path("ca.pem"))
    r, log = curl_under_attls(work, pol, f"http://{SERVER_NAME}:{port}/index.html")
    assert r.returncode == 0, r.stderr.decode() + log
    assert r.stdout == PAGE
    assert f"covered (outbound, {SERVER_NAME})" in log, log
    assert "secure: TLS1.3" in log and "peer CN=localhost" in log, log


def test_curl_by_name_to_nginx_ssl(procs, work, certs):
    """The same against nginx: nginx's own log shows the request arrived over
    TLS 1.3 with the server name curl used as SNI."""
    server, port, d = start_nginx_ssl(procs, work, certs)
    pol = client_policy(work, port, certs.path("ca.pem"))
    r, log = curl_under_attls(work, pol, f"http://{SERVER_NAME}:{port}/index.html")
    assert r.returncode == 0, r.stderr.decode() + log
    assert r.stdout == PAGE
    access = wait_for(lambda: log_text(d / "access.log"), 10, "nginx access log")
    assert f'"GET /index.html HTTP/1.1" 200 {len(PAGE)} TLSv1.3 {SERVER_NAME}' in access, access


def test_host_reference_id_dns_by_address(procs, work, certs):
    """Connecting by address, HostReferenceIdDNS names the server to check and
    to send as SNI."""
    server, port, d = start_nginx_ssl(procs, work, certs)
    pol = client_policy(work, port, certs.path("ca.pem"), host_ref=SERVER_NAME)
    r, log = curl_under_attls(work, pol, f"http://127.0.0.1:{port}/index.html")
    assert r.returncode == 0, r.stderr.decode() + log
    assert r.stdout == PAGE
    access = wait_for(lambda: log_text(d / "access.log"), 10, "nginx access log")
    assert f"200 {len(PAGE)} TLSv1.3 {SERVER_NAME}" in access, access


def assert_refused(r, log, server_dir, why):
    """curl failed, nginx saw a handshake that failed with the alert attls sent
    (bad_certificate) and no request, the attls log gives the reason."""
    assert r.returncode != 0, r.stdout
    assert PAGE not in r.stdout
    assert "TLS handshake failed" in log and why in log, log
    errlog = wait_for(lambda: ("while SSL handshaking" in log_text(server_dir / "error.log")
                               and log_text(server_dir / "error.log")), 10,
                      "nginx to log the failed handshake")
    assert "SSL_do_handshake() failed" in errlog and "alert bad certificate" in errlog, errlog
    assert log_text(server_dir / "access.log") == ""


@pytest.mark.parametrize("how", ["resolved-name", "HostReferenceIdDNS"])
def test_wrong_name_refused(procs, work, certs, how):
    """The server's certificate does not carry the name: refused."""
    server, port, d = start_nginx_ssl(procs, work, certs)
    if how == "resolved-name":
        pol = client_policy(work, port, certs.path("ca.pem"))
        url, name = f"http://{WRONG_NAME}:{port}/index.html", WRONG_NAME
    else:
        pol = client_policy(work, port, certs.path("ca.pem"), host_ref="other.example")
        url, name = f"http://127.0.0.1:{port}/index.html", "other.example"
    r, log = curl_under_attls(work, pol, url)
    assert_refused(r, log, d, "does not match")
    assert f"expected name {name}" in log, log


def test_untrusted_ca_refused(procs, work, certs):
    """The keyring trusts only another CA: the server's chain does not verify."""
    server, port, d = start_nginx_ssl(procs, work, certs)
    pol = client_policy(work, port, certs.path("wrongca.pem"))
    r, log = curl_under_attls(work, pol, f"http://{SERVER_NAME}:{port}/index.html")
    assert_refused(r, log, d, "issuer is unknown")


class SpeaksFirstServer:
    """A TLS 1.3 server (Python's ssl over memory BIOs) that, right after the
    handshake, sends its session tickets and a banner in one TCP write, then
    answers one line. A client that reads the tickets and the banner in one
    go must not stop after the tickets."""

    BANNER = b"220 banner from a server that speaks first\n"

    def __init__(self, certs):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        self.ctx.load_cert_chain(str(certs.path("server.crt")), str(certs.path("server.key")))
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.tickets_with_banner = None
        self.got = b""
        self.error = None
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def pump(self, c, inc, out):
        if out.pending:
            c.sendall(out.read())
        data = c.recv(65536)
        if not data:
            raise EOFError("client went away")
        inc.write(data)

    def run(self):
        try:
            self.sock.settimeout(30)
            c, _ = self.sock.accept()
            with c:
                c.settimeout(15)
                inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
                obj = self.ctx.wrap_bio(inc, out, server_side=True)
                while True:
                    try:
                        obj.do_handshake()
                        break
                    except ssl.SSLWantReadError:
                        self.pump(c, inc, out)
                self.tickets_with_banner = out.pending > 0
                obj.write(self.BANNER)
                c.sendall(out.read())            # tickets + banner: one write
                while not self.got.endswith(b"\n"):
                    try:
                        self.got += obj.read(4096)
                    except ssl.SSLWantReadError:
                        self.pump(c, inc, out)
                obj.write(b"250 bye\n")
                c.sendall(out.read())
        except Exception as e:                    # reported by the test
            self.error = repr(e)

    def close(self):
        self.sock.close()
        self.thread.join(20)


def test_server_speaks_first_tickets_and_data_together(work, certs):
    """Regression: GnuTLS answers AGAIN after a TLS 1.3 NewSessionTicket even
    when the banner behind it is already read; the engine waited for an
    epoll edge that never came and the program never saw the banner."""
    server = SpeaksFirstServer(certs)
    try:
        pol = client_policy(work, server.port, certs.path("ca.pem"), host_ref="localhost")
        r = run(attls_run(pol, work / "client.log", PY, PROGS / "line_client.py", "127.0.0.1",
                          server.port), timeout=60)
    finally:
        server.close()
    assert server.error is None, server.error
    assert server.tickets_with_banner, "the server sent no session ticket with its banner"
    assert r.stdout.decode() == ("banner " + SpeaksFirstServer.BANNER.decode()
                                 + "reply 250 bye\n"), r.stdout.decode() + log_text(
                                     work / "client.log")
    assert server.got == b"thanks\n"


class LateTicketServer:
    """A TLS 1.3 server (Python's ssl over memory BIOs) with a small receive
    buffer that holds back its session tickets and reads nothing until
    ready() says so; then it sends the tickets and reads everything. While it
    reads nothing, most of what the client sent waits in the client's kernel:
    a client that closes its socket then answers the late tickets with a
    reset, and a reset throws away what its kernel had not sent yet."""

    def __init__(self, certs, ready):
        self.ready = ready
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        self.ctx.load_cert_chain(str(certs.path("server.crt")), str(certs.path("server.key")))
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.received = b""
        self.end = None
        self.error = None
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        try:
            self.sock.settimeout(30)
            c, _ = self.sock.accept()
            with c:
                c.settimeout(15)
                inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
                obj = self.ctx.wrap_bio(inc, out, server_side=True)
                while True:
                    try:
                        obj.do_handshake()
                        break
                    except ssl.SSLWantReadError:
                        c.sendall(out.read())
                        inc.write(c.recv(65536) or b"")
                held = out.read()               # the session tickets, for later
                wait_for(self.ready, 15, "the client to finish", interval=0.005)
                c.sendall(held)
                while True:
                    try:
                        got = obj.read(65536)
                    except ssl.SSLWantReadError:
                        data = c.recv(65536)
                        if not data:
                            raise EOFError("TCP end before close_notify")
                        inc.write(data)
                        continue
                    if not got:
                        break                    # the client's close_notify
                    self.received += got
                try:
                    obj.unwrap()
                except ssl.SSLWantReadError:
                    pass
                c.sendall(out.read())
                self.end = "eof" if c.recv(65536) == b"" else "data after close_notify"
        except ConnectionResetError as e:
            self.end = f"reset ({e}) after {len(self.received)} bytes"
        except Exception as e:                    # reported by the test
            self.error = repr(e)

    def close(self):
        self.sock.close()
        self.thread.join(20)


def test_program_gone_waits_for_peer_close(work, certs):
    """socat sends 400 kB and exits; the server reads nothing and sends its
    session tickets only once attls has sent close_notify. attls reads them
    and waits for the server to close instead of closing the socket under
    them: the server gets every byte and a clean end, no reset."""
    payload = make_file(work / "payload.bin", 400_000, "late-ticket")
    log = work / "client.log"
    server = LateTicketServer(certs, lambda: "sent close_notify" in log_text(log))
    try:
        pol = client_policy(work, server.port, certs.path("ca.pem"), host_ref="localhost")
        r = run(attls_run(pol, log, need("socat"), "-u", f"OPEN:{payload}",
                          f"TCP:127.0.0.1:{server.port}"), timeout=60)
    finally:
        server.close()
    assert r.returncode == 0, r.stderr.decode()
    assert server.error is None, server.error
    assert server.end == "eof", f"{server.end}: " + log_text(log)
    assert server.received == payload.read_bytes()
