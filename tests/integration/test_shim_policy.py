"""Policy under real programs: reload while a server runs (new connections
follow the new policy, an existing one keeps going with its rule), a broken
edit changes nothing and is logged, fail closed when no valid policy exists
at start, fail closed against a plain server, and the policy attls run named
still applies after the program cleared its environment."""
import socket
import threading

import pytest

from shim_helpers import (PROGS, PY, attls_run, certs, conns_json, echo_roundtrip,  # noqa: F401
                          free_port, listening, log_text, need, preloaded, procs, rule, run,
                          tls_connect, wait_for, work, write_policy)


def start_echo(procs, work, policy, port, argv=None):
    log = work / "attls.log"
    p = procs.start(attls_run(policy, log, *(argv or [PY, PROGS / "echo_server.py", port])),
                    name="echo")
    wait_for(lambda: listening(port) or p.poll() is not None, 15, "echo server to listen")
    assert p.poll() is None, procs.err(p)
    return p, log


def plain_echo(port, payload=b"plain?\n"):
    """A clear-text round trip; b'' when the connection was closed on us."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            return echo_roundtrip(s, payload)
    except OSError:
        return b""


def tls_echo_ok(port, certs, payload=b"tls!\n"):
    with tls_connect(port, certs.ca) as s:
        return echo_roundtrip(s, payload) == payload


def test_reload_new_connections_follow_existing_keep_going(procs, work, certs):
    port = free_port()
    pol = write_policy(work / "policy.conf",
                       rule("first", "Inbound", certs.path("server.pem"), "Server", lport=port))
    p, log = start_echo(procs, work, pol, port)

    live = tls_connect(port, certs.ca)
    try:
        assert echo_roundtrip(live, b"before\n") == b"before\n"
        # The new policy covers another port: this one is now clear text.
        write_policy(pol, rule("second", "Inbound", certs.path("server.pem"), "Server",
                               lport=free_port()))
        # The shim looks at the file at most once a second, on a connect or
        # accept: clear-text attempts fail (TLS expected) until it reloads.
        wait_for(lambda: plain_echo(port) == b"plain?\n", 15,
                 "a clear-text connection to be let through after the reload")
        assert "reloaded; new connections follow it" in log_text(log)
        # The connection made under the old policy keeps TLS and its rule.
        assert echo_roundtrip(live, b"after\n") == b"after\n"
        mine = [c for c in conns_json()["connections"] if c["pid"] == p.pid]
        assert [c["rule"] for c in mine] == ["first"], mine
        assert mine[0]["state"] == "secure"
    finally:
        live.close()


def test_broken_edit_changes_nothing(procs, work, certs):
    port = free_port()
    good = rule("web", "Inbound", certs.path("server.pem"), "Server", lport=port)
    pol = write_policy(work / "policy.conf", good)
    p, log = start_echo(procs, work, pol, port)
    assert tls_echo_ok(port, certs)

    broken = good.replace("TTLSRule web\n{", "TTLSRule web\n{\n  LocalPortRange\n", 1)
    write_policy(pol, broken)
    # Every connection still gets TLS while the shim notices and rejects the edit.
    wait_for(lambda: tls_echo_ok(port, certs) and "is not valid" in log_text(log), 15,
             "the shim to reject the broken edit")
    text = log_text(log)
    line = next(ln for ln in text.splitlines() if "is not valid" in ln)
    assert f"{pol}:" in line and "the previous policy stays in force" in line, line
    assert tls_echo_ok(port, certs)
    reply = plain_echo(port)                         # still not clear text: at most
    assert reply == b"" or reply[:1] == b"\x15", reply  # a TLS alert comes back
    assert "attls" not in procs.err(p)               # reload errors go to the log, not stderr


BAD_POLICIES = {
    "missing": None,
    "syntax-error": "TTLSRule r\n{\n  Direction Inbound\n",
    "directory": "DIR",
}


def bad_policy(work, kind):
    path = work / "bad.conf"
    if kind == "directory":
        path.mkdir()
    elif BAD_POLICIES[kind] is not None:
        path.write_text(BAD_POLICIES[kind])
    return path


@pytest.mark.parametrize("kind", list(BAD_POLICIES))
def test_fail_closed_connect_without_valid_policy(work, kind):
    """connect() fails with EACCES, nothing reaches the network, and stderr
    has exactly one line saying why."""
    pol = bad_policy(work, kind)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        r = run([PY, PROGS / "try_connect.py", "127.0.0.1", port, "secret"], timeout=30,
                env=preloaded(pol, work / "attls.log"))
        assert r.stdout.decode() == "connect error EACCES\n"
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()                        # no connection was ever made
    err = r.stderr.decode().splitlines()
    assert len(err) == 1, err
    assert str(pol) in err[0] and "EACCES" in err[0], err


@pytest.mark.parametrize("kind", list(BAD_POLICIES))
def test_fail_closed_accept_without_valid_policy(procs, work, kind):
    """accept() fails with EACCES (the client's connection is closed) and
    stderr has exactly one line saying why."""
    pol = bad_policy(work, kind)
    port = free_port()
    p = procs.start([PY, PROGS / "try_accept.py", port], name="acceptor",
                    env=preloaded(pol, work / "attls.log"))
    wait_for(lambda: listening(port) or p.poll() is not None, 15, "the acceptor to listen")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"secret\n")
        try:
            got = s.recv(100)
        except ConnectionResetError:
            got = b""
        assert got == b""
    p.wait(15)
    assert procs.out(p) == "accept error EACCES\n"
    err = procs.err(p).splitlines()
    assert len(err) == 1, err
    assert str(pol) in err[0] and "EACCES" in err[0], err


class PlainServer:
    """A clear-text server in the test process: records everything each
    connection sends, answers like a plain HTTP server would, and waits for
    the client to go."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.received = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        self.sock.settimeout(30)
        try:
            c, _ = self.sock.accept()
        except OSError:
            self.done.set()
            return
        data = b""
        with c:
            c.settimeout(10)
            try:
                data = c.recv(65536)
                c.sendall(b"HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                while True:
                    b = c.recv(65536)
                    if not b:
                        break
                    data += b
            except OSError:
                pass
        self.received.append(data)
        self.done.set()

    def close(self):
        self.sock.close()
        self.thread.join(15)


def tls_records(data):
    """The TLS records in data as (type, first body byte) until the bytes
    stop being records; the rest, if any, as a last entry (None, rest)."""
    out, i = [], 0
    while i + 5 <= len(data) and data[i] in (20, 21, 22, 23) and data[i + 1] == 3:
        n = int.from_bytes(data[i + 3:i + 5], "big")
        if i + 5 + n > len(data):
            break
        out.append((data[i], data[i + 5] if n else None))
        i += 5 + n
    if i < len(data):
        out.append((None, data[i:]))
    return out


@pytest.mark.parametrize("program", ["curl", "python"])
def test_fail_closed_against_plain_server(work, certs, program):
    """A client rule against a server that does not speak TLS: the server
    receives a ClientHello and nothing else (no clear text, no data records);
    the program sees a connection error."""
    server = PlainServer()
    try:
        pol = write_policy(work / "client.conf",
                           rule("must-tls", "Outbound", certs.path("ca.pem"), "Client",
                                rport=server.port))
        log = work / "attls.log"
        if program == "curl":
            argv = [need("curl"), "-sS", "--max-time", "30",
                    f"http://127.0.0.1:{server.port}/secret-path"]
        else:
            argv = [PY, PROGS / "try_connect.py", "127.0.0.1", server.port, "secret payload"]
        r = run(attls_run(pol, log, *argv), timeout=60)
        assert server.done.wait(30)
    finally:
        server.close()
    assert r.returncode != 0
    out = r.stdout.decode()
    assert "400" not in out and "Bad Request" not in out, out
    if program == "python":
        assert out.startswith("connect error ECONNRESET"), out
    else:
        assert r.returncode in (7, 35, 56), r.stderr.decode()    # connect/TLS/recv failure
    assert len(server.received) == 1
    data = server.received[0]
    assert data[:1] == b"\x16", data[:40]
    recs = tls_records(data)
    assert recs[0] == (22, 1), recs                 # a handshake record: ClientHello
    # Nothing after it but, at most, the alert attls sends when it gives up.
    assert all(t == 21 for t, _ in recs[1:]), recs
    assert b"secret" not in data
    assert "TLS handshake failed" in log_text(log)


def test_policy_survives_cleared_environment(procs, work, certs):
    """A program that clears its environment before its first connection
    (nginx does, daemons do) still gets the policy attls run named."""
    port = free_port()
    pol = write_policy(work / "policy.conf",
                       rule("web", "Inbound", certs.path("server.pem"), "Server", lport=port))
    code = ("import os, runpy, sys; os.environ.clear(); "
            f"sys.argv = ['echo_server.py', '{port}']; "
            f"runpy.run_path('{PROGS / 'echo_server.py'}', run_name='__main__')")
    p, log = start_echo(procs, work, pol, port, argv=[PY, "-c", code])
    assert tls_echo_ok(port, certs)
    assert "secure: TLS1.3" in log_text(log)
    assert procs.err(p) == ""

