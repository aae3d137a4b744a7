"""`attls conns` run by root against exporters it must not trust: another user
(nobody) binds @attls/<a root process's pid> to speak for it, or binds its own
@attls/<pid> and answers with terminal control bytes, a flood, a trickle or
nothing. Forged rows never show, every answer is bounded in size and time
(a skipped process is named on stderr), and nothing printed drives a terminal."""
import json
import os
import shutil
import subprocess
import tempfile

import pytest

from shim_helpers import (PROGS, PY, attls_run, built, certs, free_port, listening,  # noqa: F401
                          need, procs, rule, run, wait_for, work, write_policy)

NOBODY = 65534
# Generous bound on the whole command: its own deadline is 2 s per batch of
# processes; a command that waits on a hostile process runs into this.
CONNS_TIMEOUT = 30


@pytest.fixture(scope="module")
def exporter_script():
    """fake_exporter.py where nobody can read it, whatever the checkout's modes."""
    d = tempfile.mkdtemp(prefix="attls-fake-exporter-")
    os.chmod(d, 0o755)
    path = os.path.join(d, "fake_exporter.py")
    shutil.copyfile(PROGS / "fake_exporter.py", path)
    os.chmod(path, 0o644)
    try:
        yield path
    finally:
        shutil.rmtree(d, ignore_errors=True)


def start_fake(procs, script, mode, name="self"):
    """A fake exporter running as nobody; returns its process (pid = its own)."""
    p = procs.start([need("setpriv"), f"--reuid={NOBODY}", f"--regid={NOBODY}",
                     "--clear-groups", PY, script, mode, name], name=f"fake-{mode}")
    wait_for(lambda: procs.out(p).startswith("ready") or p.poll() is not None, 15,
             f"the {mode} exporter to listen")
    assert p.poll() is None, procs.err(p)
    assert procs.out(p).split()[1] == str(p.pid)
    return p


def conns(*args):
    r = run([built(), "conns", *args], timeout=CONNS_TIMEOUT)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return r


def assert_terminal_safe(data):
    """UTF-8, and no control character but the line feed (C0, DEL, C1)."""
    text = data.decode("utf-8")   # raises on a byte of no UTF-8 sequence
    bad = [c for c in text if (ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F]
    assert not bad, f"control characters in the output: {bad!r}"


def covered_server(procs, work, certs):
    """A real process under attls with one live covered connection."""
    port = free_port()
    pol = write_policy(work / "server.conf",
                       rule("real-rule", "Inbound", certs.path("server.pem"), "Server", lport=port))
    server = procs.start(attls_run(pol, work / "server.log", PY, PROGS / "echo_server.py", port),
                         name="server")
    wait_for(lambda: listening(port) or server.poll() is not None, 15, "echo server to listen")
    client = procs.start([need("openssl"), "s_client", "-quiet", "-connect", f"127.0.0.1:{port}",
                          "-CAfile", certs.path("ca.pem")], name="client", stdin=subprocess.PIPE)
    client.stdin.write(b"hi\n")
    client.stdin.flush()
    wait_for(lambda: procs.out(client) == "hi\n" or client.poll() is not None, 15, "the echo")
    return server


def test_another_users_socket_cannot_speak_for_a_root_process(procs, work, certs,
                                                             exporter_script):
    server = covered_server(procs, work, certs)
    victim = procs.start(["sleep", "300"], name="victim")      # a root process
    fake = start_fake(procs, exporter_script, "rows", str(victim.pid))
    r = conns("--json")
    rows = json.loads(r.stdout)["connections"]
    assert [x["rule"] for x in rows if x["pid"] == server.pid] == ["real-rule"], rows
    assert not [x for x in rows if x["rule"] == "forged-rule" or x["pid"] == victim.pid], rows
    err = r.stderr.decode()
    assert f"skipped process {victim.pid}: @attls/{victim.pid} is a socket of process {fake.pid}" \
        f" (uid {NOBODY})" in err, err
    assert json.loads(r.stdout)["processes_skipped"] == 1
    t = conns()
    assert b"forged-rule" not in t.stdout and b"real-rule" in t.stdout


def test_control_bytes_never_reach_the_terminal(procs, work, exporter_script):
    fake = start_fake(procs, exporter_script, "escape")
    for args in ((), ("--json",)):
        r = conns(*args)
        assert_terminal_safe(r.stdout)
        assert_terminal_safe(r.stderr)
    rows = [x for x in json.loads(conns("--json").stdout)["connections"] if x["pid"] == fake.pid]
    # The process's own claims of pid and program are not believed.
    assert len(rows) == 1 and rows[0]["program"] == "python3", rows
    line = [ln for ln in conns().stdout.decode().splitlines() if ln.startswith(f"{fake.pid} ")]
    assert len(line) == 1 and "python3" in line[0] and "sshd" not in line[0], line
    assert "forged-rule\\x1B]0;owned\\x07" in line[0], line


def test_a_flood_is_cut_at_the_bound(procs, work, exporter_script):
    fake = start_fake(procs, exporter_script, "flood")
    r = conns("--json")
    assert not [x for x in json.loads(r.stdout)["connections"] if x["pid"] == fake.pid]
    assert len(r.stdout) < 1 << 20
    assert f"skipped process {fake.pid}: its answer is larger than 4 MiB" in r.stderr.decode()


def test_a_trickle_or_silence_meets_the_deadline(procs, work, exporter_script):
    trickle = start_fake(procs, exporter_script, "trickle")
    hang = start_fake(procs, exporter_script, "hang")
    r = conns()
    err = r.stderr.decode()
    for p in (trickle, hang):
        assert f"skipped process {p.pid}: no complete answer within 2000 ms" in err, err
        assert f"\n{p.pid} " not in r.stdout.decode()
