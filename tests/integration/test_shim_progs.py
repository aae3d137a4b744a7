"""The C programs of tests/integration/progs under attls: readiness with
edge-triggered epoll and level-triggered poll, tiny reads and partial writes,
half-close, misbehaving peers, handshake timeout, many connections at once and
in a row, fork, threads and descriptor juggling."""

import os
import socket
import ssl
import struct
import textwrap
import time

import pytest

from shim_helpers import (PY, TEST_PROGS, Procs, attls_run, certs, fd_count,  # noqa: F401
                          free_port, log_text, procs, rss_kb, rule, run, tls_connect, wait_for,
                          work, write_policy)


class EchoServer:
    """build/tests/progs/echo_server under attls (--trace 255), and the policy
    and log its clients share: a server rule for its port (HandshakeTimeout
    hs_timeout) and a client rule for the same port as remote port."""

    def __init__(self, procs, work, certs, *args, hs_timeout=10):
        self.procs = procs
        self.port = free_port()
        self.policy = write_policy(
            work / "policy.conf",
            rule("srv", "Inbound", certs.path("server.pem"), "Server", lport=self.port,
                 adv={"HandshakeTimeout": hs_timeout}, trace=255),
            # Trace 2 is what a rule without Trace gets: errors to syslog only.
            rule("cli", "Outbound", certs.path("client.pem"), "Client", rport=self.port,
                 trace=2))
        self.log = work / "attls.log"
        # Files, not pipes: thousands of connections write more than a pipe holds.
        self.proc = procs.start(attls_run(self.policy, self.log, TEST_PROGS / "echo_server",
                                          "--port", self.port, *args, trace=255),
                                name="server")

        def first_line():
            out = Procs.out(self.proc)
            if "\n" in out or self.proc.poll() is not None:
                return out or "(exited without output)"
        out = wait_for(first_line, 10, "the server's first line")
        line = out.split("\n", 1)[0]
        assert line.strip() == f"ready {self.port}", out + Procs.err(self.proc)

    def client(self, *args, timeout=180):
        return run(attls_run(self.policy, self.log, TEST_PROGS / "echo_client", "--port",
                             self.port, *args), timeout=timeout, text=True)

    def stop(self):
        self.procs.stop(self.proc)
        return Procs.out(self.proc), Procs.err(self.proc)

    def count_fds(self):
        """The server's descriptors, counted in /proc."""
        return fd_count(self.proc.pid)


@pytest.fixture
def server(procs, work, certs):
    """Starts an EchoServer; procs stops it at the end of the test."""
    def start(*args, **kw):
        return EchoServer(procs, work, certs, *args, **kw)
    return start


def client_hello():
    """The first flight of a real TLS client."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return out.read()


def test_edge_triggered_server_small_reads_poll_client_small_writes(server):
    s = server("--chunk", "7", "--sndbuf", "4096")
    r = s.client("--poll", "--bytes", "20000")
    assert r.returncode == 0 and r.stdout.startswith("ok poll 20000"), r.stdout + r.stderr


def test_level_triggered_poll_server(server):
    s = server("--poll", "--chunk", "3")
    r = s.client("--concurrent", "40", "--bytes", "50000")
    assert r.returncode == 0 and "ok 40 concurrent" in r.stdout, r.stdout + r.stderr


def test_half_close_both_ways(server):
    # --once: the client shuts its sending side, then reads the whole echo; the
    # server sees end-of-file, finishes echoing, then shuts down its side.
    s = server()
    r = s.client("--once", "--bytes", "300000")
    assert r.returncode == 0 and "ok once" in r.stdout, r.stdout + r.stderr
    out, err = s.stop()
    assert "eof 300000" in err


def test_500_concurrent_connections(server):
    s = server()
    r = s.client("--concurrent", "500", "--bytes", "20000", timeout=240)
    assert r.returncode == 0 and "ok 500 concurrent" in r.stdout, r.stdout + r.stderr


def test_10000_sequential_connections_leave_fds_and_rss_where_they_were(server):
    s = server()
    # Warm up so the server's engine, caches and export socket exist.
    r = s.client("--sequential", "50", "--bytes", "100")
    assert r.returncode == 0, r.stdout + r.stderr
    fds0 = wait_for(lambda: s.count_fds(), 10, "server fd count")
    rss0 = rss_kb(s.proc.pid)
    r = s.client("--sequential", "10000", "--bytes", "1000", timeout=600)
    assert r.returncode == 0 and r.stdout.startswith("ok 10000"), r.stdout + r.stderr
    # client: "ok N fds A B rss X Y" (after warm-up, at the end)
    f = r.stdout.split()
    cfd0, cfd1, crss0, crss1 = int(f[3]), int(f[4]), int(f[6]), int(f[7])
    assert cfd1 <= cfd0, r.stdout
    assert crss1 - crss0 < 4096, r.stdout
    # server: the last connections finish asynchronously in its engine
    wait_for(lambda: s.count_fds() <= fds0, 20,
             f"server descriptors back to {fds0} (now {s.count_fds()})")
    rss1 = rss_kb(s.proc.pid)
    assert rss1 - rss0 < 8192, f"server RSS {rss0} kB -> {rss1} kB"


def _raw_connect(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    return sock


def _reset(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _server_alive_and_serving(s):
    r = s.client("--once", "--bytes", "5000")
    assert r.returncode == 0 and "ok once" in r.stdout, r.stdout + r.stderr


def test_peer_reset_mid_handshake(server):
    s = server()
    hello = client_hello()
    sock = _raw_connect(s.port)
    sock.sendall(hello[: len(hello) // 2])
    time.sleep(0.2)
    _reset(sock)
    wait_for(lambda: "handshake failed" in log_text(s.log), 10, "failure logged")
    # The program learns of it as a reset, not as an empty clear-text session.
    wait_for(lambda: "error Connection reset by peer" in Procs.err(s.proc), 10,
             "the server's read to fail with ECONNRESET")
    _server_alive_and_serving(s)
    s.stop()


def test_clear_text_where_tls_is_expected(server):
    s = server()
    sock = _raw_connect(s.port)
    sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
    sock.settimeout(10)
    try:
        data = sock.recv(100)
    except ConnectionResetError:
        data = b""
    # Nothing in clear text comes back (at most a TLS alert record).
    assert data == b"" or data[0] == 0x15, data
    sock.close()
    wait_for(lambda: "handshake failed" in log_text(s.log), 10, "failure logged")
    _server_alive_and_serving(s)


def test_garbage_after_the_handshake_ends_only_that_connection(server, certs):
    s = server()
    tls = tls_connect(s.port, certs.ca)
    tls.sendall(b"hello")
    assert tls.recv(5) == b"hello"
    # Bytes that are not a TLS record, straight onto the TCP stream.
    plain = socket.socket(fileno=os.dup(tls.fileno()))
    plain.sendall(b"\x17\x03\x03\x00\x20" + os.urandom(32))
    plain.close()
    tls.settimeout(10)
    with pytest.raises((ssl.SSLError, ConnectionResetError, OSError)):
        while tls.recv(100):
            pass
        raise ConnectionResetError("closed")
    tls.close()
    wait_for(lambda: "TLS error from peer" in log_text(s.log), 10, "garbage logged")
    _server_alive_and_serving(s)


def test_handshake_timeout(server):
    s = server(hs_timeout=1)
    sock = _raw_connect(s.port)
    sock.settimeout(15)
    start = time.monotonic()
    try:
        data = sock.recv(100)
    except ConnectionResetError:
        data = b""
    assert data == b""
    assert time.monotonic() - start < 14
    sock.close()
    wait_for(lambda: "HandshakeTimeout" in log_text(s.log), 10, "timeout logged")
    _server_alive_and_serving(s)
    out, err = s.stop()
    assert "error Connection reset by peer" in err


PY_CLIENT = textwrap.dedent("""
    import os, socket, sys, threading
    port = int(sys.argv[1])
    mode = sys.argv[2]

    def exchange(sock, payload):
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            b = sock.recv(65536)
            if not b:
                break
            got += b
        return got == payload

    if mode == "fork":
        a = socket.create_connection(("127.0.0.1", port))
        pid = os.fork()
        if pid == 0:
            # the child uses the inherited connection (the parent's engine serves it)
            ok1 = exchange(a, b"inherited" * 1000)
            # and makes one of its own (its own engine)
            b = socket.create_connection(("127.0.0.1", port))
            ok2 = exchange(b, b"childown" * 1000)
            os._exit(0 if ok1 and ok2 else 1)
        a.close()
        _, status = os.waitpid(pid, 0)
        # the parent can still connect after the fork
        c = socket.create_connection(("127.0.0.1", port))
        ok3 = exchange(c, b"parent" * 1000)
        print("ok" if status == 0 and ok3 else "fail %d %s" % (status, ok3))
    elif mode == "threads":
        results = []
        def worker(i):
            for k in range(10):
                s = socket.create_connection(("127.0.0.1", port))
                results.append(exchange(s, (b"%d-%d;" % (i, k)) * 3000))
                s.close()
        ts = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
        for t in ts: t.start()
        for t in ts: t.join()
        print("ok" if len(results) == 160 and all(results) else "fail")
    elif mode == "dup":
        s = socket.create_connection(("127.0.0.1", port))
        high = 200
        os.dup2(s.fileno(), high)
        s2 = socket.socket(fileno=high)
        s.close()                      # the original number goes; the copy keeps working
        ok = exchange(s2, b"dup2" * 5000)
        peer = s2.getpeername()
        s2.close()
        # close_range over a covered descriptor and everything above it
        t = socket.create_connection(("127.0.0.1", port))
        os.closerange(t.fileno(), 4096)
        u = socket.create_connection(("127.0.0.1", port))
        ok2 = exchange(u, b"after-closerange" * 100)
        print("ok" if ok and ok2 and peer[1] == port else "fail %s %s %s" % (ok, ok2, peer))
    elif mode == "calls":
        import array, fcntl, select, struct, termios, time
        s = socket.create_connection(("127.0.0.1", port))
        fd = s.fileno()
        checks = {}
        checks["peer"] = s.getpeername()[1] == port
        checks["sock"] = s.getsockname()[0] == "127.0.0.1"
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        checks["nodelay"] = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        checks["domain"] = s.getsockopt(socket.SOL_SOCKET, socket.SO_DOMAIN) == socket.AF_INET
        checks["so_error"] = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
        # writev, then read the echo with MSG_PEEK, FIONREAD and MSG_WAITALL
        os.writev(fd, [b"abc", b"defgh", b"ij"])
        select.select([s], [], [], 10)
        checks["peek"] = s.recv(3, socket.MSG_PEEK) == b"abc"
        deadline = time.time() + 10
        n = 0
        while time.time() < deadline and n < 10:
            buf = array.array("i", [0])
            fcntl.ioctl(fd, termios.FIONREAD, buf)
            n = buf[0]
        checks["fionread"] = n == 10
        checks["waitall"] = s.recv(10, socket.MSG_WAITALL) == b"abcdefghij"
        # sendmsg / recvmsg
        s.sendmsg([b"msg-", b"parts"])
        data, _, _, _ = s.recvmsg(9, 0, socket.MSG_WAITALL)
        checks["msg"] = data == b"msg-parts"
        # readv
        s.sendall(b"0123456789")
        a, b = bytearray(4), bytearray(6)
        got = 0
        while got < 10:
            got += os.readv(fd, [memoryview(a)[got:] if got < 4 else bytearray(0),
                                 memoryview(b)[max(0, got - 4):]])
        checks["readv"] = bytes(a) + bytes(b) == b"0123456789"
        # sendfile from a file, splice through a pipe
        path = "/tmp/attls-calls-%d" % os.getpid()
        with open(path, "wb") as f:
            f.write(b"F" * 100000)
        with open(path, "rb") as f:
            sent = 0
            while sent < 100000:
                sent += os.sendfile(fd, f.fileno(), sent, 100000 - sent)
        os.unlink(path)
        got = b""
        while len(got) < 100000:
            got += s.recv(65536)
        checks["sendfile"] = got == b"F" * 100000
        r, w = os.pipe()
        os.write(w, b"spliced!")
        os.splice(r, fd, 8)
        checks["splice"] = s.recv(8, socket.MSG_WAITALL) == b"spliced!"
        # O_NONBLOCK changes and MSG_DONTWAIT on an idle connection
        fl = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, fl | os.O_NONBLOCK)
        try:
            s.recv(1)
            checks["nonblock"] = False
        except BlockingIOError:
            checks["nonblock"] = True
        fcntl.fcntl(fd, fcntl.F_SETFL, fl)
        try:
            s.recv(1, socket.MSG_DONTWAIT)
            checks["dontwait"] = False
        except BlockingIOError:
            checks["dontwait"] = True
        # F_DUPFD_CLOEXEC: the copy is the same connection
        d = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 50)
        c2 = socket.socket(fileno=d)
        checks["dupfd_cloexec"] = fcntl.fcntl(d, fcntl.F_GETFD) & fcntl.FD_CLOEXEC == 1
        c2.sendall(b"via-dup")
        checks["dupfd_io"] = s.recv(7, socket.MSG_WAITALL) == b"via-dup"
        checks["dupfd_peer"] = c2.getpeername()[1] == port
        c2.detach()
        os.close(d)
        bad = [k for k, v in checks.items() if not v]
        print("ok" if not bad else "fail " + " ".join(bad))
""")


@pytest.mark.parametrize("mode", ["fork", "threads", "dup", "calls"])
def test_python_socket_programs(server, work, mode):
    s = server()
    prog = work / "client.py"
    prog.write_text(PY_CLIENT)
    r = run(attls_run(s.policy, s.log, PY, prog, s.port, mode), timeout=180, text=True)
    problems = [ln for ln in log_text(s.log).splitlines()
                if any(w in ln for w in ("error", "fail", "warn", "refus"))]
    assert r.returncode == 0 and r.stdout.strip() == "ok", \
        r.stdout + r.stderr[-3000:] + "\n".join(problems[-40:])
