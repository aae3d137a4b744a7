"""What the SIOCTTLSCTL tests (test_ioctl_*.py) share on top of shim_helpers:
the example programs and policies, the C test programs, and a TLS peer in
this process built on Python's ssl module with memory BIOs, so a test
decides byte by byte what goes on the wire and when."""
import os
import re
import select
import shutil
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest

from shim_helpers import (REPO, Procs, attls_run, free_port, need, rule, run, wait_for,
                          write_policy)

EXAMPLES = REPO / "build" / "examples"
TEST_PROGS = REPO / "build" / "tests" / "progs"
POLICY_EXAMPLES = REPO / "policy" / "examples"


def example_policy(name, workdir, certs, ports=None, edits=None):
    """policy/examples/NAME as it ships, with its port numbers replaced
    (ports: {old: new}) and text edits applied (edits: [(old, new)]), written
    to workdir next to a certs/ directory holding this run's certificates
    (server.pem, client.pem, ca.pem, as scripts/mkcerts names them)."""
    text = (POLICY_EXAMPLES / name).read_text()
    for old, new in (ports or {}).items():
        text, n = re.subn(rf"(PortRange\s+){old}\b", rf"\g<1>{new}", text)
        assert n, f"{name}: no port range {old}"
    for old, new in edits or []:
        assert old in text, f"{name}: no {old!r}"
        text = text.replace(old, new)
    d = Path(workdir)
    (d / "certs").mkdir(exist_ok=True)
    for f in ("server.pem", "client.pem", "ca.pem"):
        shutil.copy(certs.path(f), d / "certs" / f)
    path = d / name
    path.write_text(text)
    return path


def out_lines(p):
    return Procs.out(p).splitlines()


def wait_output(p, pattern, timeout=15, what=None):
    """The first match of regex pattern in p's stdout, waiting for it (and
    failing early, with the output, when p exits without it)."""
    rx = re.compile(pattern, re.M)

    def seen():
        m = rx.search(Procs.out(p))
        if m:
            return m
        assert p.poll() is None, (f"{p.name} exited ({p.returncode}) before {pattern!r}:\n"
                                  f"{Procs.out(p)}\n{Procs.err(p)}")
        return None
    return wait_for(seen, timeout, what or f"{pattern!r} from {p.name}")


def start_example(procs, policy, log, prog, *args, trace=255):
    """An example server under attls; returns the process once it listens."""
    p = procs.start(attls_run(policy, log, EXAMPLES / prog, *args, trace=trace), name=prog)
    wait_output(p, r"^listening on ")
    return p


# ---- a TLS peer in this process ---------------------------------------------------

class Peer:
    """One end of a TCP connection that speaks clear text and TLS in turn,
    with ssl.MemoryBIO: every byte sent or received is the test's decision.
    start_tls / stop_tls drive a handshake or a close_notify exchange to the
    end; the *_bytes methods give the raw records so a test can put clear
    text right behind them in one segment."""

    def __init__(self, sock, ctx, server_side, hostname=None, timeout=15):
        self.sock = sock
        self.sock.setblocking(True)
        self.ctx = ctx
        self.server_side = server_side
        self.hostname = hostname
        self.timeout = timeout
        self.tls = None
        self.session = None
        self.inbuf = b""         # clear bytes received, not yet taken

    # -- raw socket ------------------------------------------------------------------
    def _recv_some(self, deadline):
        left = deadline - time.monotonic()
        assert left > 0, "peer: timed out waiting for data"
        r, _, _ = select.select([self.sock], [], [], left)
        assert r, "peer: timed out waiting for data"
        return self.sock.recv(65536)

    def send_raw(self, data):
        self.sock.sendall(data)

    # -- clear text -----------------------------------------------------------------
    def recv_clear(self, n):
        """Exactly n clear bytes (never more from the socket than n)."""
        deadline = time.monotonic() + self.timeout
        while len(self.inbuf) < n:
            left = deadline - time.monotonic()
            assert left > 0, f"peer: timed out, have {self.inbuf!r}"
            r, _, _ = select.select([self.sock], [], [], left)
            assert r, f"peer: timed out, have {self.inbuf!r}"
            b = self.sock.recv(n - len(self.inbuf))
            assert b, f"peer: end of stream, have {self.inbuf!r}"
            self.inbuf += b
        data, self.inbuf = self.inbuf[:n], self.inbuf[n:]
        return data

    def expect_clear(self, data):
        got = self.recv_clear(len(data))
        assert got == data, f"clear text: got {got!r}, want {data!r}"

    # -- TLS --------------------------------------------------------------------------
    def _flush(self):
        out = self.outgoing.read()
        if out:
            self.sock.sendall(out)

    def _pump_once(self, deadline):
        self._flush()
        data = self._recv_some(deadline)
        if data:
            self.incoming.write(data)
        else:
            self.incoming.write_eof()
        return data

    def tls_begin(self, session=None):
        """Create the TLS object (a client offers session to resume); the
        first flight is in hello_bytes()."""
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = self.ctx.wrap_bio(self.incoming, self.outgoing, server_side=self.server_side,
                                     server_hostname=self.hostname, session=session)
        if self.inbuf:                 # clear bytes already read are TLS after all
            self.incoming.write(self.inbuf)
            self.inbuf = b""

    def hello_bytes(self):
        """The client's first flight (a ClientHello), not sent."""
        try:
            self.tls.do_handshake()
        except ssl.SSLWantReadError:
            pass
        return self.outgoing.read()

    def handshake(self):
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                assert self._pump_once(deadline), "peer: end of stream during the handshake"
        self._flush()

    def start_tls(self, session=None):
        self.tls_begin(session)
        self.handshake()

    def send(self, data):
        self.tls.write(data)
        self._flush()

    def recv(self, n):
        """Exactly n bytes of TLS application data."""
        deadline = time.monotonic() + self.timeout
        buf = b""
        while len(buf) < n:
            try:
                got = self.tls.read(n - len(buf))
            except ssl.SSLWantReadError:
                assert self._pump_once(deadline), f"peer: end of stream, have {len(buf)}"
                continue
            assert got, f"peer: close_notify after {len(buf)} of {n} bytes"
            buf += got
        return buf

    def expect(self, data):
        got = self.recv(len(data))
        assert got == data, f"TLS data: got {got[:200]!r}, want {data[:200]!r}"

    def close_notify_bytes(self):
        """Our close_notify, not sent."""
        try:
            self.tls.unwrap()
        except ssl.SSLWantReadError:
            pass
        return self.outgoing.read()

    def finish_stop(self):
        """Having sent ours, read the other close_notify; what follows it in
        the same reads is clear text (kept in inbuf)."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                self.tls.unwrap()
                break
            except ssl.SSLWantReadError:
                assert self._pump_once(deadline), "peer: end of stream during close_notify"
        self._flush()
        self.inbuf = self.incoming.read() if self.incoming.pending else b""
        self.session = self.tls.session      # to resume with
        self.tls = None

    def expect_close_notify(self):
        """Read up to the other side's close_notify and drop TLS without
        sending ours (what curl's passive CCC does)."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                data = self.tls.read(65536)
            except ssl.SSLZeroReturnError:
                break
            except ssl.SSLWantReadError:
                assert self._pump_once(deadline), "peer: end of stream before close_notify"
                continue
            assert not data, f"data before close_notify: {data[:80]!r}"
            break                    # b"": Python's word for close_notify
        self.inbuf = self.incoming.read() if self.incoming.pending else b""
        self.tls = None

    def stop_tls(self):
        self.send_raw(self.close_notify_bytes())
        self.finish_stop()

    def close(self):
        self.sock.close()


def tls_ctx_client(certs, tls12=False):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(certs.ca))
    if tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    return ctx


# OpenSSL 3's SSL_OP_ALLOW_CLIENT_RENEGOTIATION (Python has no name for it):
# a TLS 1.2 server that lets the client renegotiate (RESET_CIPHER, client role).
OP_ALLOW_CLIENT_RENEGOTIATION = 1 << 8


def tls_ctx_server(certs, tls12=False):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(certs.path("server.crt")), str(certs.path("server.key")))
    if tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.options |= OP_ALLOW_CLIENT_RENEGOTIATION
    return ctx


# ---- the driver: a program under attls that does what the test says -----------------

class Driver:
    """build/tests/progs/ttls_driver under attls: one command per line on its
    stdin, one answer line on its stdout (see ttls_driver.c). Subclasses
    name another program (argv, env) and read its answers (parse)."""
    argv = [TEST_PROGS / "ttls_driver"]
    env = None

    def __init__(self, procs, policy, log, *args, trace=255):
        self.p = procs.start(attls_run(policy, log, *self.argv, *args, trace=trace),
                             name=f"driver{len(procs.procs)}", stdin=subprocess.PIPE,
                             env=self.env)
        self.seen = 0

    @staticmethod
    def parse(line):
        return line

    def send(self, cmd):
        """Send a command without waiting for its answer."""
        self.p.stdin.write(cmd.encode() + b"\n")
        self.p.stdin.flush()

    def answer(self, timeout=20):
        def line():
            lines = out_lines(self.p)
            if len(lines) > self.seen and Procs.out(self.p).endswith("\n"):
                return lines[self.seen]
            assert self.p.poll() is None, (f"driver exited ({self.p.returncode}):\n"
                                           f"{Procs.out(self.p)}\n{Procs.err(self.p)}")
            return None
        got = wait_for(line, timeout, f"an answer from {self.p.name}")
        self.seen += 1
        return self.parse(got)

    def do(self, cmd, timeout=20):
        self.send(cmd)
        return self.answer(timeout)

    def ok(self, cmd, timeout=20):
        got = self.do(cmd, timeout)
        assert got.startswith("ok"), f"{cmd}: {got}\n{Procs.err(self.p)}"
        return got


class PeerSession:
    """A program under attls, driven from the test (self.d), connected to a
    Peer in clear text. role is the program's: "server" (it listens, the
    peer connects) or "client". tls12: the peer allows TLS 1.2 at most;
    peer_cert: the peer, a client, shows certs' client certificate.
    Subclasses write the policy (policy(certs, direction, port, **kw)),
    start the program (start(procs, policy, log, "listen"|"connect", port))
    and check its first answers (expect_answer("listening", port),
    ("accepted"), ("connected"))."""

    def __init__(self, procs, work, certs, role, tls12=False, peer_cert=False, **policy_kw):
        self.role = role
        n = len(procs.procs)
        self.log = work / f"attls{n}.log"
        path = work / f"policy{n}.conf"
        if role == "server":
            port = free_port()
            write_policy(path, self.policy(certs, "Inbound", port, **policy_kw))
            self.d = self.start(procs, path, self.log, "listen", port)
            self.expect_answer("listening", port)
            sock = socket.create_connection(("127.0.0.1", port), timeout=15)
            self.expect_answer("accepted")
            ctx = tls_ctx_client(certs, tls12)
            if peer_cert:
                ctx.load_cert_chain(str(certs.path("client.crt")), str(certs.path("client.key")))
            self.peer = Peer(sock, ctx, server_side=False, hostname="localhost")
        else:
            lsock, port = listen_local()
            write_policy(path, self.policy(certs, "Outbound", port, **policy_kw))
            self.d = self.start(procs, path, self.log, "connect", port)
            lsock.settimeout(15)
            sock, _ = lsock.accept()
            lsock.close()
            self.expect_answer("connected")
            self.peer = Peer(sock, tls_ctx_server(certs, tls12), server_side=True)

    def close(self):
        self.d.send("quit")
        self.peer.close()


def sessions(procs, work, certs, cls):
    """For a fixture: yields a factory of cls(procs, work, certs, role, **kw)
    sessions, and ends them with the test."""
    made = []

    def make(role, **kw):
        s = cls(procs, work, certs, role, **kw)
        made.append(s)
        return s
    yield make
    for s in made:
        s.close()


class Session(PeerSession):
    """ttls_driver under an application-controlled rule (role: the program's
    HandshakeRole; adv: more TTLSEnvironmentAdvancedParms) and a Peer,
    connected, in clear text. tls12: the peer allows TLS 1.2 at most."""

    def __init__(self, procs, work, certs, role, adv=None, tls12=False):
        self.version = "TLSv1.2" if tls12 else "TLSv1.3"
        super().__init__(procs, work, certs, role, tls12=tls12, adv=adv)

    @staticmethod
    def policy(certs, direction, port, adv):
        adv = dict(adv or {}, ApplicationControlled="On")
        if direction == "Inbound":
            return rule("ctl", "Inbound", certs.path("server.pem"), "Server", lport=port,
                        adv=adv, trace=255)
        return rule("ctl", "Outbound", certs.path("ca.pem"), "Client", rport=port, adv=adv,
                    host_ref="localhost", trace=255)

    @staticmethod
    def start(procs, policy, log, mode, port):
        return Driver(procs, policy, log, mode, port)

    def expect_answer(self, what, port=None):
        want = f"ok {what}" + (f" {port}" if port is not None else "")
        assert self.d.answer() == want

    def start_tls(self, session=None):
        """The program's INIT and the peer's handshake, at the same time."""
        self.d.send("init")
        self.peer.start_tls(session)
        secure = self.d.answer()
        assert secure.startswith(f"ok secure, {self.role}, {self.version}"), secure

    def stop_tls(self):
        """The program's STOP first, then the peer's close_notify."""
        self.d.send("stop")
        self.peer.stop_tls()
        assert self.d.answer() == "ok not secure"

    def clear_both_ways(self, tag):
        self.d.ok(f"send program {tag}\\r\\n")
        self.peer.expect_clear(f"program {tag}\r\n".encode())
        self.peer.send_raw(f"peer {tag}\r\n".encode())
        assert self.d.do(f"expect peer {tag}\\r\\n") == "ok"

    def tls_both_ways(self, size):
        """size random bytes from the peer, echoed back by the program."""
        data = os.urandom(size)
        self.d.send(f"echo {size}")
        self.peer.send(data)
        self.peer.expect(data)
        assert self.d.answer() == f"ok echoed {size}"


@pytest.fixture
def session(procs, work, certs):
    """Session(role, **kw) factory; sessions end with the test."""
    yield from sessions(procs, work, certs, Session)


def pattern(n):
    """What ttls_driver's pattern and fill commands write (pattern_byte)."""
    return bytes((i * 7 + (i >> 9) + (i >> 17)) & 0xFF for i in range(n))


def listen_local():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    return s, s.getsockname()[1]


class TapProxy:
    """A TCP relay in this process, for one connection to 127.0.0.1:target,
    that keeps a copy of what each side sent: the test sees what went over
    the wire in clear text."""

    def __init__(self, target):
        self.target = target
        self.lsock, self.port = listen_local()
        self.up = bytearray()         # client -> server
        self.down = bytearray()       # server -> client
        self.socks = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.lsock.settimeout(30)
        try:
            c, _ = self.lsock.accept()
            s = socket.create_connection(("127.0.0.1", self.target), timeout=30)
        except OSError:
            return
        self.socks += [c, s]
        try:
            self._relay({c: (s, self.up), s: (c, self.down)})
        except (OSError, ValueError):
            pass               # closed under us by close()

    def _relay(self, ways):
        while ways:
            r, _, _ = select.select(list(ways), [], [], 30)
            if not r:
                break
            for x in r:
                other, buf = ways[x]
                try:
                    data = x.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    try:
                        other.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    del ways[x]
                    continue
                buf.extend(data)
                other.sendall(data)

    def close(self):
        """After the client is done: the relay has seen both sides finish."""
        self.thread.join(15)
        self.lsock.close()
        for x in self.socks:
            x.close()


def curl_ftp_ccc(certs, port, mode, out):
    """curl fetches data.bin from the FTP server on port with AUTH TLS and
    --ftp-ssl-ccc (mode: passive, curl's default, waits for the server's
    close_notify and sends none; active sends its own first), through a
    TapProxy. Returns curl's CompletedProcess and what went up and down."""
    tap = TapProxy(port)
    r = run([need("curl"), "-sS", "--cacert", certs.ca, "--max-time", "60", "--ssl-reqd",
             "--ftp-ssl-ccc", "--ftp-ssl-ccc-mode", mode, "-o", out,
             f"ftp://127.0.0.1:{tap.port}/data.bin"], text=True)
    tap.close()
    return r, bytes(tap.up), bytes(tap.down)


def assert_clear_only_after_ccc(up, down):
    """Before CCC only AUTH crossed the wire in clear; after it the commands
    did, to the end of the session."""
    assert re.match(rb"AUTH (SSL|TLS)\r\n\x16\x03", up), up[:40]
    for secret in (b"USER ", b"PASS ", b"PBSZ ", b"PROT ", b"CCC"):
        assert secret not in up, secret
    assert b"\r\nPWD\r\n" in up or b"\r\nEPSV\r\n" in up, up[-200:]
    assert re.search(rb"\r\nRETR data\.bin\r\nQUIT\r\n$", up), up[-80:]
    assert b"200 CCC OK" not in down       # said under TLS
    assert re.search(rb"226 Transfer complete\r\n221 Goodbye\r\n$", down), down[-80:]


def server_der(certs):
    """The server's certificate, DER, as a peer receives it."""
    r = run([need("certtool"), "--certificate-info", "--infile", certs.path("server.crt"),
             "--outder"])
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout


__all__ = [n for n in dir() if not n.startswith("_")] + ["need"]
