"""Non-blocking connect() under a client rule answers as the kernel does
without attls. Each case runs build/tests/progs/nbconnect twice with the same
steps: once plain against a plain echo server (the kernel's answers are the
reference), once under attls with a client rule against the same echo server
behind a server rule (TLS on the wire). The two transcripts must be equal.

The sequences: connect again after the socket polled writable (0, then
EISCONN), SO_ERROR after writable, a refused port (SO_ERROR or connect reports
ECONNREFUSED once; the next connect says ECONNABORTED or starts over), a
connect that does not finish (EALREADY, poll times out, close gives up the
attempt at once), and a TLS handshake that fails (reported as ECONNRESET,
which has no plain reference). Then ApacheBench, which connects this way."""
import re
import socket

import pytest

from shim_helpers import (TEST_PROGS, Procs, attls_run, certs, free_port, log_text,  # noqa: F401
                          need, procs, rule, run, wait_for, work, write_policy)
from test_shim_client import start_nginx_ssl

NBCONNECT = TEST_PROGS / "nbconnect"
ECHO = TEST_PROGS / "echo_server"


def start_echo(procs, name, argv_prefix=()):
    port = free_port()
    p = procs.start([*argv_prefix, ECHO, "--port", port], name=name)

    def ready():
        out = Procs.out(p)
        return "\n" in out or p.poll() is not None
    wait_for(ready, 15, f"{name} to listen")
    assert Procs.out(p).split("\n", 1)[0] == f"ready {port}", Procs.out(p) + Procs.err(p)
    return port


class Listeners:
    """A port nobody listens on, and a listener whose accept queue is full so
    that a connect to it stays in SYN-SENT (backlog 0 holds one connection;
    the kernel drops later SYNs)."""

    def __init__(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.closed = s.getsockname()[1]
        self.full_sock = socket.socket()
        self.full_sock.bind(("127.0.0.1", 0))
        self.full_sock.listen(0)
        self.full = self.full_sock.getsockname()[1]
        self.filler = socket.create_connection(("127.0.0.1", self.full), timeout=10)

    def close(self):
        self.filler.close()
        self.full_sock.close()


@pytest.fixture
def env(procs, work, certs):
    plain = start_echo(procs, "plain-echo")
    tls = free_port()
    nets = Listeners()
    client_rules = [rule(f"cli-{n}", "Outbound", certs.path("client.pem"), "Client", rport=p,
                         trace=255)
                    for n, p in (("tls", tls), ("closed", nets.closed), ("full", nets.full))]
    policy = write_policy(work / "policy.conf",
                          rule("srv", "Inbound", certs.path("server.pem"), "Server", lport=tls,
                               trace=255), *client_rules)
    slog = work / "server.log"
    p = procs.start(attls_run(policy, slog, ECHO, "--port", tls), name="tls-echo")
    wait_for(lambda: "\n" in Procs.out(p) or p.poll() is not None, 15, "tls-echo to listen")
    assert Procs.out(p).startswith(f"ready {tls}"), Procs.out(p) + Procs.err(p)
    try:
        yield {"plain": plain, "tls": tls, "closed": nets.closed, "full": nets.full,
               "policy": policy, "log": work / "client.log"}
    finally:
        nets.close()


def transcript(argv):
    r = run(argv, timeout=60, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout.splitlines()


def settled(lines):
    """A failed connection under attls can wake poll() with ERR HUP a moment
    before OUT: the kernel wakes a unix socket's peer when the other end
    closes, then frees what that end had queued (the filler that kept the
    program's end unwritable). POSIX lets a hung-up stream report no POLLOUT;
    a moment later it polls OUT ERR HUP, as a reset TCP socket does at once."""
    return ["poll OUT ERR HUP" if line == "poll ERR HUP" else line for line in lines]


def both(env, target, steps):
    """(plain transcript, transcript under attls) for the same steps."""
    plain_port = env["plain"] if target == "echo" else env[target]
    shim_port = env["tls"] if target == "echo" else env[target]
    ref = transcript([NBCONNECT, "127.0.0.1", plain_port, *steps])
    got = settled(transcript(attls_run(env["policy"], env["log"], NBCONNECT, "127.0.0.1",
                                       shim_port, *steps)))
    return ref, got


CASES = {
    # poll says writable, then connect() again: 0 the first time, EISCONN after.
    "again_after_writable": ("echo", ["poll", "connect", "connect", "echo"],
                             ["connect EINPROGRESS", "poll OUT", "connect 0", "connect EISCONN",
                              "echo ok"]),
    # SO_ERROR after writable does not count as connect()'s answer.
    "soerror_after_writable": ("echo", ["poll", "soerror", "connect", "connect", "echo"],
                               ["connect EINPROGRESS", "poll OUT", "soerror 0", "connect 0",
                                "connect EISCONN", "echo ok"]),
    # Refused, reported by SO_ERROR: the next connect says ECONNABORTED, the one
    # after that starts over (and is refused again).
    "refused_soerror": ("closed", ["poll", "soerror", "soerror", "connect", "connect", "poll",
                                   "soerror"],
                        ["connect EINPROGRESS", "poll OUT ERR HUP", "soerror ECONNREFUSED",
                         "soerror 0", "connect ECONNABORTED", "connect EINPROGRESS",
                         "poll OUT ERR HUP", "soerror ECONNREFUSED"]),
    # Refused, reported by connect itself: the next connect starts over.
    "refused_connect": ("closed", ["poll", "connect", "soerror", "connect", "poll", "connect"],
                        ["connect EINPROGRESS", "poll OUT ERR HUP", "connect ECONNREFUSED",
                         "soerror 0", "connect EINPROGRESS", "poll OUT ERR HUP",
                         "connect ECONNREFUSED"]),
    # A connect that cannot finish: EALREADY, the program's timeout, close; the
    # attempt ends with the close (no SYN-SENT socket left behind).
    "timeout_then_close": ("full", ["connect", "poll-short", "connect", "soerror", "close",
                                    "nosyn"],
                           ["connect EINPROGRESS", "connect EALREADY", "poll timeout",
                            "connect EALREADY", "soerror 0", "close 0", "nosyn ok"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_answers_as_the_kernel(env, case):
    target, steps, expected = CASES[case]
    ref, got = both(env, target, steps)
    # The reference pins what Linux says, so a kernel that answers otherwise
    # shows up here rather than as a difference.
    assert ref == expected, ref
    assert got == ref, "\n".join(got) + "\n--- log ---\n" + log_text(env["log"])


@pytest.mark.parametrize("how", ["soerror", "connect"])
def test_tls_failure_is_a_reset(work, env, certs, how):
    """A handshake that fails (the client trusts another CA) after the TCP
    connect succeeded: writable with an error, reported once as ECONNRESET,
    as a TCP connection reset by its peer would be; then end of file."""
    policy = write_policy(work / "badca.conf",
                          rule("cli-badca", "Outbound", certs.path("wrongca.pem"), "Client",
                               rport=env["tls"], trace=255))
    log = work / "badca.log"
    got = settled(transcript(attls_run(policy, log, NBCONNECT, "127.0.0.1", env["tls"], "poll",
                                       how, "connect", "read")))
    want_second = "connect ECONNABORTED" if how == "soerror" else "connect EINPROGRESS"
    assert got[:4] == ["connect EINPROGRESS", "poll OUT ERR HUP", f"{how} ECONNRESET",
                       want_second], "\n".join(got) + "\n--- log ---\n" + log_text(log)
    assert "TLS handshake failed" in log_text(log)


def test_ab_through_a_client_rule(procs, work, certs):
    """ApacheBench (plain HTTP, non-blocking connects, concurrency 4) under a
    client rule against nginx with TLS: every request completes."""
    _, port, d = start_nginx_ssl(procs, work, certs)
    policy = write_policy(work / "ab.conf",
                          rule("ab", "Outbound", certs.path("client.pem"), "Client", rport=port))
    log = work / "ab.log"
    r = run(attls_run(policy, log, need("ab"), "-n", "200", "-c", "4", "-s", "30",
                      f"http://127.0.0.1:{port}/index.html"), timeout=120, text=True)
    assert r.returncode == 0, r.stdout + r.stderr + log_text(log)
    assert re.search(r"^Complete requests:\s+200$", r.stdout, re.M), r.stdout
    assert re.search(r"^Failed requests:\s+0$", r.stdout, re.M), r.stdout
    served = (d / "access.log").read_text().count('"GET /index.html HTTP/1.0" 200')
    assert served == 200, (d / "access.log").read_text()
