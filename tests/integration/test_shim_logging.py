"""Where the shim's lines go, and what they are labelled.

Without syslog (a container or a minimal host has no /dev/log) a connection
that fails closed must still leave its reason where the person running the
program looks: its stderr, which is the terminal under `attls run` and the
journal under systemd. With syslog, lines go there and not also to stderr.
Never stdout, and never into a network connection that happens to be fd 2.

The programs run in a private mount namespace whose /dev is a tmpfs with only
the device nodes they need, and no log socket, or a log socket of the test's
own; journald's socket directory is hidden too.

Trace bits (1 errors to stderr, 2 errors to syslog, 4 info, 8 events,
16 flow): a line prints at one bit and is labelled by it, so what the log
calls `info:` is exactly what Trace 4 adds."""
import os
import re
import socket
import subprocess
import threading

import pytest

from shim_helpers import (LIBATTLS, PROGS, PY, TEST_PROGS, FakeSyslog, RecordingPeer,  # noqa: F401
                          built, private_dev,
                          certs, echo_roundtrip, free_port, log_text, need, procs, recv_until,
                          rule, run, start_echo_server, tls_connect, wait_for, work,
                          write_policy)

def client_policy(work, certs, port):
    # Trace 2, the default: errors to syslog only.
    return write_policy(work / "client.conf",
                        rule("must-tls", "Outbound", certs.path("ca.pem"), "Client",
                             rport=port, trace=2))


def failing_client(work, certs, peer):
    """attls run (no --log) of a client whose handshake fails."""
    pol = client_policy(work, certs, peer.port)
    return [built(), "run", "-p", pol, "--", PY, PROGS / "try_connect.py", "127.0.0.1",
            peer.port, "secret"]


FAILED = re.compile(r"^attls: conn \d+ rule must-tls to 127\.0\.0\.1:\d+: TLS handshake failed: "
                    r".*; connection closed$", re.M)


def test_without_syslog_the_reason_reaches_stderr(work, certs):
    peer = RecordingPeer()
    try:
        r = run(private_dev(work, failing_client(work, certs, peer)), timeout=60)
    finally:
        peer.close()
    out, err = r.stdout.decode(), r.stderr.decode()
    assert out.startswith("connect error "), out + err
    assert "attls" not in out
    assert FAILED.search(err), err


def test_with_syslog_the_reason_goes_there_only(work, certs):
    syslog = FakeSyslog(work / "log.sock")
    peer = RecordingPeer()
    try:
        r = run(private_dev(work, failing_client(work, certs, peer)), timeout=60,
                env={"ATTLS_TEST_SYSLOG": str(syslog.path), "PATH": "/usr/bin:/bin"})
        wait_for(lambda: any("TLS handshake failed" in ln for ln in syslog.lines), 10,
                 "the line in syslog")
    finally:
        peer.close()
        syslog.close()
    line = next(ln for ln in syslog.lines if "TLS handshake failed" in ln)
    assert re.match(r"<27>attls\[\d+\]: conn \d+ rule must-tls ", line), line   # daemon.err
    assert r.stderr.decode() == "", r.stderr.decode()
    assert r.stdout.decode().startswith("connect error ")


def as_a_service(work, certs, peer, stderr):
    """The failing client started as a systemd unit would start it (its
    environment sets LD_PRELOAD and ATTLS_POLICY), stderr given, no syslog."""
    env = {"LD_PRELOAD": str(LIBATTLS), "ATTLS_POLICY": str(client_policy(work, certs, peer.port)),
           "PATH": "/usr/bin:/bin"}
    argv = private_dev(work, [PY, PROGS / "try_connect.py", "127.0.0.1", peer.port, "secret"])
    return subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=stderr, timeout=60)


def service_stderr(work, certs, write_end, read_end):
    """What the failing client, run as a service whose stderr is write_end,
    wrote there (read from read_end)."""
    peer = RecordingPeer()
    try:
        r = as_a_service(work, certs, peer, write_end)
    finally:
        peer.close()
        write_end.close()
    with read_end:
        got = recv_until(read_end, 1 << 20)
    assert r.stdout.decode().startswith("connect error ")
    return got


def test_a_service_without_syslog_reaches_the_journal_through_stderr(work, certs):
    """Under systemd a service's stderr is a stream socket connected to
    journald (/run/systemd/journal/stdout); the test plays journald."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as journal:
        journal.bind(str(work / "journal.stdout"))
        journal.listen(1)
        stream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stream.connect(str(work / "journal.stdout"))
        got = service_stderr(work, certs, stream, journal.accept()[0])
    assert FAILED.search(got.decode()), got


def test_never_writes_into_a_network_connection_on_fd_2(work, certs):
    """inetd-style programs have a TCP connection on fd 2: log lines must not
    become part of its data."""
    with socket.socket() as sink:
        sink.bind(("127.0.0.1", 0))
        sink.listen(1)
        conn = socket.create_connection(sink.getsockname())
        got = service_stderr(work, certs, conn, sink.accept()[0])
    assert got == b"", got


def c_client_as_a_service(work, policy, port, stderr):
    """build/tests/progs/echo_client (C: SIGPIPE kills it, unlike Python)
    run as a service would be: LD_PRELOAD and ATTLS_POLICY set, stderr given,
    no syslog."""
    env = {"LD_PRELOAD": str(LIBATTLS), "ATTLS_POLICY": str(policy), "PATH": "/usr/bin:/bin"}
    argv = private_dev(work, [TEST_PROGS / "echo_client", "--port", port, "--once"])
    return subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=stderr, timeout=60)


def test_a_closed_stderr_pipe_does_not_kill_the_program(work):
    """A log line written on the program's own thread (here: no usable
    policy, at its first connect) to a pipe nobody reads any more must not
    raise SIGPIPE in a program that never writes to stderr itself."""
    r_end, w_end = os.pipe()
    os.close(r_end)
    try:
        r = c_client_as_a_service(work, work / "missing.conf", free_port(), w_end)
    finally:
        os.close(w_end)
    assert r.returncode == 1, r.returncode           # its own failure, not a signal
    assert r.stdout.decode() == "error EACCES\n", r.stdout


def test_a_full_stderr_pipe_does_not_stall_the_engine(work, certs):
    """A pipe nobody drains: the line is dropped, the connection's failure
    still reaches the program at once."""
    r_end, w_end = os.pipe()
    os.set_blocking(w_end, False)
    try:
        while True:
            os.write(w_end, b"x" * 4096)
    except BlockingIOError:
        pass
    os.set_blocking(w_end, True)
    peer = RecordingPeer()
    try:
        r = c_client_as_a_service(work, client_policy(work, certs, peer.port), peer.port, w_end)
    finally:
        peer.close()
        os.close(w_end)
        os.close(r_end)
    assert r.returncode == 1, r.returncode
    assert r.stdout.decode().startswith("error "), r.stdout


# ---- trace bits and labels ----------------------------------------------------------

LINE = re.compile(r"^\S+ \S+ attls\[\d+\]: (\w+): conn \d+ rule web from [\d.:]+: (.*)$")


def traced_server(procs, work, certs, trace):
    port = free_port()
    pol = write_policy(work / "server.conf",
                       rule("web", "Inbound", certs.path("server.pem"), "Server", lport=port,
                            trace=trace))
    log = work / "attls.log"
    p = start_echo_server(procs, pol, log, port)
    with tls_connect(port, certs.ca) as s:
        assert echo_roundtrip(s, b"hello\n") == b"hello\n"
    # The program sees the end of the connection after the shim logged it.
    wait_for(lambda: "eof 6" in procs.err(p), 10, "the server to see the client go")
    procs.stop(p)
    return [m.groups() for m in map(LINE.match, log_text(log).splitlines()) if m]


def test_info_bit_shows_the_rule_and_the_result(procs, work, certs):
    """Trace 6 (errors and info), as z/OS suggests while deploying a policy:
    which rule a connection maps to and what TLS it got; nothing else."""
    lines = traced_server(procs, work, certs, 6)
    assert [label for label, _ in lines] == ["info", "info"], lines
    assert lines[0][1] == "covered (inbound)", lines
    assert lines[1][1].startswith("secure: TLS1.3 "), lines


@pytest.mark.parametrize("trace,labels", [(10, {"event"}), (18, {"flow"}),
                                          (30, {"info", "event", "flow"})])
def test_each_line_is_labelled_by_the_bit_it_prints_at(procs, work, certs, trace, labels):
    """The test's client closes without close_notify (Python's ssl does):
    the server logs that as an event."""
    lines = traced_server(procs, work, certs, trace)
    assert {label for label, _ in lines} == labels, lines
    if trace & 8:
        assert ("event", "peer closed TCP without TLS close_notify") in lines, lines


# ---- repeated errors ---------------------------------------------------------------

def test_repeated_errors_are_limited_per_rule(procs, work, certs):
    """Forty clients that do not speak TLS: ten lines say why, and once the
    ten seconds are over the next line brings the count of the rest."""
    port = free_port()
    pol = write_policy(work / "server.conf",
                       rule("web", "Inbound", certs.path("server.pem"), "Server", lport=port,
                            trace=2))
    log = work / "attls.log"
    server = start_echo_server(procs, pol, log, port)

    def plain_client():
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            try:
                while s.recv(4096):
                    pass
            except OSError:
                pass

    def failures():
        return [ln for ln in log_text(log).splitlines() if "TLS handshake failed" in ln]

    for _ in range(40):
        plain_client()
    wait_for(lambda: procs.err(server).count("accept") >= 40, 15, "forty connections")
    assert len(failures()) == 10, failures()
    summary = re.compile(r" warning: rule web: (\d+) more lines like \"TLS handshake failed: "
                         r"[^\"]*\" within 10 s were not logged \(at most 10 of a kind per rule "
                         r"every 10 s\)$", re.M)

    def summed_up():
        plain_client()
        return summary.search(log_text(log))
    m = wait_for(summed_up, 30, "the count of the lines held back", interval=1)
    assert int(m.group(1)) >= 30, m.group(0)
