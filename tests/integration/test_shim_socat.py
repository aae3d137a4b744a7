"""`socat TCP-LISTEN:P,fork EXEC:...` under attls: several TLS clients at once
(openssl s_client processes and Python ssl clients), each answered by its own
forked handler with its own correct answer.

socat accepts in the parent (whose engine does the TLS), forks a child per
connection which talks through the inherited descriptor, and that child
forks again and execs the handler. With `nofork` the child execs the handler
directly on the connection's descriptor: the inetd shape."""
import hashlib
import secrets
import subprocess
import threading

import pytest

from shim_helpers import (PROGS, PY, attls_run, certs, free_port, listening, log_text,  # noqa: F401
                          make_file, need, procs, rule, run, sha256_file, tls_connect, wait_for,
                          work, write_policy)

N_SCLIENT = 4
N_PYTHON = 8


def start_socat(procs, work, certs, nofork):
    port = free_port()
    pol = write_policy(work / "server.conf",
                       rule("socat-tls", "Inbound", certs.path("server.pem"), "Server",
                            lport=port))
    log = work / "attls.log"
    handler = f"EXEC:{PY} {PROGS / 'line_reply.py'}" + (",nofork" if nofork else "")
    p = procs.start(attls_run(pol, log, need("socat"),
                              f"TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr", handler),
                    name="socat")
    wait_for(lambda: listening(port) or p.poll() is not None, 15, "socat to listen")
    assert p.poll() is None, procs.err(p)
    return p, port, log


def check_answer(token, answer):
    parts = answer.split()
    assert len(parts) == 2, f"answer {answer!r} for {token!r}"
    assert parts[0] == hashlib.sha256(token.encode()).hexdigest(), \
        f"{token!r} got someone else's answer {answer!r}"
    return int(parts[1])


@pytest.mark.parametrize("nofork", [False, True], ids=["exec", "exec-nofork"])
def test_socat_fork_exec_concurrent_clients(procs, work, certs, nofork):
    p, port, log = start_socat(procs, work, certs, nofork)

    # Python clients: all connected and through the handshake before any of
    # them sends, so the connections are live at the same time.
    n_all = N_PYTHON + N_SCLIENT
    barrier = threading.Barrier(N_PYTHON)
    results, errors = {}, {}

    def py_client(i):
        token = f"py-{i}-{secrets.token_hex(8)}"
        try:
            with tls_connect(port, certs.ca) as s:
                barrier.wait(timeout=30)
                s.sendall(token.encode() + b"\n")
                s.settimeout(30)
                buf = b""
                while not buf.endswith(b"\n"):
                    b = s.recv(4096)
                    if not b:
                        break
                    buf += b
                results[token] = buf.decode()
        except Exception as e:          # reported below, with the token
            errors[token] = repr(e)

    threads = [threading.Thread(target=py_client, args=(i,)) for i in range(N_PYTHON)]
    openssl = need("openssl")
    sclients = []
    for i in range(N_SCLIENT):
        token = f"s_client-{i}-{secrets.token_hex(8)}"
        sclients.append((token, subprocess.Popen(
            [openssl, "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", str(certs.ca),
             "-verify_return_error", "-verify_hostname", "localhost", "-quiet"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)))
    for t in threads:
        t.start()
    s_out = {}
    try:
        for token, c in sclients:
            out, err = c.communicate(token.encode() + b"\n", timeout=60)
            assert c.returncode == 0, err.decode()
            s_out[token] = out.decode()
    finally:
        for _, c in sclients:
            if c.poll() is None:
                c.kill()
                c.wait()
    for t in threads:
        t.join(60)
    assert not errors, errors
    answers = {**results, **s_out}
    assert len(answers) == n_all
    pids = {check_answer(tok, ans) for tok, ans in answers.items()}
    assert len(pids) == n_all, "every connection has its own handler process"
    text = log_text(log)
    assert text.count("secure: TLS1.3") == n_all, text


def test_socat_upload_then_exit_loses_nothing(procs, work, certs):
    """socat under attls (client rule) sends a file and exits as soon as it
    reaches end of file; socat under attls (server rule) writes what arrives
    to a file. Every byte arrives: what the program wrote but the engine had
    not yet sent when exit() ran is sent before the process goes."""
    src = make_file(work / "upload.bin", 4 * 1024 * 1024 + 3, "upload")
    dst = work / "received.bin"
    port = free_port()
    pol = write_policy(work / "policy.conf",
                       rule("in", "Inbound", certs.path("server.pem"), "Server", lport=port),
                       rule("out", "Outbound", certs.path("ca.pem"), "Client", rport=port,
                            host_ref="localhost"))
    socat = need("socat")
    server = procs.start(attls_run(pol, work / "server.log", socat, "-u",
                                   f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr",
                                   f"OPEN:{dst},creat,trunc"), name="receiver")
    wait_for(lambda: listening(port) or server.poll() is not None, 15, "receiver to listen")
    r = run(attls_run(pol, work / "client.log", socat, "-u", f"OPEN:{src}",
                      f"TCP:127.0.0.1:{port}"), timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    server.wait(30)
    assert server.returncode == 0, procs.err(server)
    assert dst.stat().st_size == src.stat().st_size
    assert sha256_file(dst) == sha256_file(src)
