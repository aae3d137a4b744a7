"""A FIFO (or anything but a regular file) at the policy path is refused at
once with a clear message, never waited on: `attls policy check`, `attls run`,
a server under attls whose policy is replaced by one (it keeps its last good
policy and keeps accepting), `iked -n` and a running iked told to reload."""
import os
import signal
import socket
import subprocess

from iked_env import IKED, iked_policy
from iked_env import iked, topo, workdir  # noqa: F401  (fixtures)
from shim_helpers import (PROGS, PY, built, certs, echo_roundtrip, free_port,  # noqa: F401
                          log_text, procs, rule, run, start_echo_server, tls_connect,
                          wait_for, work, write_policy)

# Every command here answers at once; a program stuck opening a FIFO does not.
PROMPT = 20


def fifo(path):
    os.mkfifo(path)
    return path


def test_policy_check_refuses_a_fifo(work):
    pol = fifo(work / "policy.conf")
    r = run([built(), "policy", "check", pol], timeout=PROMPT)
    assert r.returncode == 1
    assert f"{pol}:1:1: error: the policy is not a regular file (a FIFO)" in r.stderr.decode()


def test_attls_run_does_not_wait_on_a_fifo(work):
    """The program never makes a connection and stderr says why."""
    pol = fifo(work / "policy.conf")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        r = run([built(), "run", "-p", pol, "--", PY, PROGS / "try_connect.py", "127.0.0.1",
                 port, "secret"], timeout=PROMPT)
        listener.setblocking(False)
        try:
            listener.accept()
            connected = True
        except BlockingIOError:
            connected = False
    assert not connected
    assert r.returncode != 0
    assert "connect ok" not in r.stdout.decode()
    assert "not a regular file (a FIFO)" in r.stderr.decode(), r.stderr.decode()


def test_server_keeps_its_policy_when_a_fifo_replaces_it(procs, work, certs):
    port = free_port()
    pol = write_policy(work / "policy.conf",
                       rule("web", "Inbound", certs.path("server.pem"), "Server", lport=port))
    log = work / "attls.log"
    start_echo_server(procs, pol, log, port)

    def tls_ok(payload=b"over TLS\n"):
        with tls_connect(port, certs.ca, timeout=PROMPT) as s:
            return echo_roundtrip(s, payload) == payload
    assert tls_ok()
    os.replace(fifo(work / "policy.fifo"), pol)
    # Connections go on with TLS (each accept may look at the file) until the
    # shim has said once that it will not read a FIFO.
    wait_for(lambda: tls_ok() and "not a regular file" in log_text(log), 15,
             "the shim to refuse the FIFO")
    for _ in range(3):
        assert tls_ok()
    lines = [ln for ln in log_text(log).splitlines() if "not a regular file" in ln]
    assert len(lines) == 1, lines
    assert "(a FIFO)" in lines[0] and "the previous policy stays in force" in lines[0]


def test_iked_check_mode_refuses_a_fifo(workdir):
    pol = fifo(os.path.join(workdir, "iked.conf"))
    r = subprocess.run([IKED, "-n", "-f", pol], capture_output=True, text=True, timeout=PROMPT)
    assert r.returncode == 1
    assert "not a regular file (a FIFO)" in r.stderr, r.stderr


def test_iked_reload_keeps_its_policy_when_a_fifo_replaces_it(topo, iked, workdir):
    iked.start(iked_policy(workdir))
    tmp = fifo(os.path.join(iked.dir, "iked.fifo"))
    os.replace(tmp, iked.policy)
    os.kill(iked.proc.pid, signal.SIGHUP)
    wait_for(lambda: "not a regular file" in iked.log(), 15, "iked to refuse the FIFO")
    assert "previous policy stays" in iked.log()
    # Its event loop is not stuck: the control socket answers.
    assert iked.ipsec("-k", "display").returncode == 0
    assert iked.alive()
