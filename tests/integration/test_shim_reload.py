"""A policy file rewritten in place while connections come and go never lets a
covered connection fall back to clear text.

Editors and `cat new > policy` truncate the file and then write it, sometimes
in pieces. In between, the file is empty or holds a prefix that may itself be
a valid policy (cut at a statement boundary). The shim installs a changed file
only once it has been stable for a second, and never replaces a policy that has
TTLSRules by one that has none. The tests rewrite the policy both ways, over and
over, while a plain peer talks to a program under attls without pause:

- server side: build/tests/progs/echo_server under an Inbound rule; the test
  is the plain client and must never get an application byte back in clear;
- client side: connect_loop.py under an Outbound rule connects to a recording
  plain TCP peer that must never see the program's bytes in clear.

Every prefix of the policy cut at a statement boundary is valid (actions
first, then a decoy rule for another port, then the covered rule), so most of
a rewrite is a valid policy that leaves the port under test in clear text. The
last rewrite adds a rule: the tests go on until the log says it is in force.
"""
import re
import socket
import threading
import time

import pytest

from shim_helpers import (PROGS, PY, Procs, RecordingPeer, attls_run, certs,  # noqa: F401
                          echo_roundtrip, free_port, log_text, procs, recv_until, rule,
                          start_echo_server, tls_connect, wait_for, work, write_policy)

CYCLES = 3
# Pauses between the pieces of a rewrite, well inside the one-second window.
PIECE_PAUSE = 0.3
# An emptied file that stays empty longer than the window: only the rule that
# an empty policy never replaces one with rules keeps TLS here.
EMPTY_PAUSE = 2.5
MAX_CONNECTIONS = 3000


def policy_texts(direction, role, keyring, port):
    """The policy at start and after each rewrite: every action first, then
    the decoy rule(s), then the covered rule, so every prefix cut at a
    statement boundary is a valid policy that does not cover the port. The
    last version has a second decoy rule, so the log says when it is in force."""
    where = "lport" if direction == "Inbound" else "rport"
    decoys = [free_port(), free_port()]

    def text(version, ndecoys):
        names = [f"decoy{i}" for i in range(ndecoys)] + ["covered"]
        ports = decoys[:ndecoys] + [port]
        parts = [statements(rule(n, direction, keyring, role, **{where: p}))
                 for n, p in zip(names, ports)]
        actions = [st for rule_parts in parts for st in rule_parts[1:]]
        rules = [rule_parts[0] for rule_parts in parts]
        return "".join(actions + rules) + f"# version {version}\n"
    return [text(v, 1) for v in range(CYCLES)] + [text(CYCLES, 2)]


def statements(text):
    """text cut after each top-level statement, so every prefix of the pieces
    ends at a statement boundary."""
    return [p for p in re.split(r"(?<=\n}\n)", text) if p]


def rewrite(path, text, how):
    """Rewrite path in place (same inode), the way an editor without a
    temporary file or a shell redirection does."""
    with open(path, "w") as f:                  # truncated here
        if how == "truncate-then-write":
            f.flush()
            time.sleep(EMPTY_PAUSE)
            f.write(text)
        else:
            for piece in statements(text):
                time.sleep(PIECE_PAUSE)
                f.write(piece)
                f.flush()


def rewriter(path, texts, how):
    """A thread rewriting path with each text in turn, a second apart."""
    def run():
        for text in texts:
            rewrite(path, text, how)
            time.sleep(1.0)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


HOW = ["truncate-then-write", "small-pieces"]


def last_version_installed(log):
    return "reloaded; new connections follow it (3 TTLSRules, was 2)" in log_text(log)


def check_log(log, how):
    text = log_text(log)
    if how == "truncate-then-write":
        kept = [ln for ln in text.splitlines() if "has no TTLSRule" in ln]
        assert kept, text
        assert all("TTLSEnabled Off" in ln and "warning:" in ln for ln in kept), kept


@pytest.mark.parametrize("how", HOW)
def test_server_never_answers_in_clear_during_in_place_rewrite(procs, work, certs, how):
    port = free_port()
    texts = policy_texts("Inbound", "Server", certs.path("server.pem"), port)
    pol = write_policy(work / "policy.conf", texts[0])
    log = work / "attls.log"
    server = start_echo_server(procs, pol, log, port)
    with tls_connect(port, certs.ca) as s:
        assert echo_roundtrip(s, b"tls first\n") == b"tls first\n"

    writer = rewriter(pol, texts[1:], how)
    answers, n, end = [], 0, None
    # Until the rewrites are done and the last version is in force (or 15 s more).
    while n < MAX_CONNECTIONS:
        if not writer.is_alive():
            end = end or time.monotonic() + 15
            if last_version_installed(log) or time.monotonic() > end:
                break
        n += 1
        data = b"app-data %d\n" % n
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
                got = recv_until(s, 1 << 20)
        except OSError:
            got = b""
        answers.append(got)
        time.sleep(0.02)
    writer.join(30)
    assert not writer.is_alive()
    clear = [a for a in answers if b"app-data" in a]
    assert not clear, f"{len(clear)} of {len(answers)} connections answered in clear text"
    # At most a TLS alert came back, never anything else.
    assert all(a == b"" or a[:1] == b"\x15" for a in answers), answers
    assert len(answers) > 50, len(answers)
    # The program behind attls received nothing but the first TLS client's line.
    echoed = re.findall(r"^eof ([1-9]\d*)$", Procs.err(server), re.M)
    assert echoed == [str(len(b"tls first\n"))], Procs.err(server)
    with tls_connect(port, certs.ca) as s:
        assert echo_roundtrip(s, b"tls last\n") == b"tls last\n"
    check_log(log, how)
    assert last_version_installed(log), log_text(log)


@pytest.mark.parametrize("how", HOW)
def test_client_never_sends_in_clear_during_in_place_rewrite(procs, work, certs, how):
    peer = RecordingPeer()
    try:
        texts = policy_texts("Outbound", "Client", certs.path("ca.pem"), peer.port)
        pol = write_policy(work / "policy.conf", texts[0])
        log = work / "attls.log"
        stop = work / "stop"
        client = procs.start(attls_run(pol, log, PY, PROGS / "connect_loop.py", "127.0.0.1",
                                       peer.port, stop, MAX_CONNECTIONS), name="client")
        wait_for(lambda: peer.seen or client.poll() is not None, 15, "the first connection")
        writer = rewriter(pol, texts[1:], how)
        writer.join(60)
        assert not writer.is_alive()
        deadline = time.monotonic() + 15
        while not last_version_installed(log) and time.monotonic() < deadline:
            time.sleep(0.1)
        stop.write_text("")
        client.wait(30)
    finally:
        peer.close()
    lines = Procs.out(client).splitlines()
    assert len(lines) > 50, Procs.out(client) + Procs.err(client)
    clear = [s for s in peer.seen if b"app-data" in s]
    assert not clear, f"{len(clear)} of {len(peer.seen)} connections sent clear text"
    assert all(s[:1] == b"\x16" for s in peer.seen), peer.seen[:5]
    # The program saw every connection fail: the peer speaks no TLS.
    assert not [ln for ln in lines if " ok " in ln], lines
    check_log(log, how)
    assert last_version_installed(log), log_text(log)
