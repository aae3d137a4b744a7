"""iked's control socket never makes the daemon wait: clients that connect
and stop after a byte (or in the middle of a request) hold up neither the
ipsec command, nor IKE answers, nor retransmissions, and an incomplete
request is never carried out."""
import json
import os
import socket
import subprocess
import sys

from iked_env import A_ADDR, B_ADDR, IPSEC, iked_policy, run, wait_until
from iked_env import iked, topo, workdir  # noqa: F401  (fixtures)

SLOW_CLIENTS = 10

# Runs in a namespace: send one Main Mode first message whose SA payload
# names another DOI (iked answers NO-PROPOSAL-CHOSEN), print the exchange
# type of the answer.
PROBE = r"""
import os, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
s.settimeout(20)
sa = struct.pack("!BBHII", 0, 0, 12, 2, 1)
hdr = os.urandom(8) + bytes(8) + struct.pack("!BBBBII", 1, 0x10, 2, 0, 0, 28 + len(sa))
s.sendto(hdr + sa, (sys.argv[2], 500))
data, _ = s.recvfrom(65535)
print(data[18])
"""

# Runs in a namespace: a peer that never answers; prints the exchange types
# of the first two IKE messages it receives.
SILENT_PEER = r"""
import json, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 500))
s.settimeout(20)
print("ready", flush=True)
seen = []
while len(seen) < 2:
    data, _ = s.recvfrom(65535)
    seen.append(data[18])
print(json.dumps(seen), flush=True)
"""


def in_netns(ns, script, *args):
    return subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", script] + list(args),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def connect(path, first_bytes):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(path)
    c.sendall(first_bytes)
    return c


def still_waiting(c):
    """Connected, and iked has neither answered nor closed."""
    try:
        c.recv(1, socket.MSG_DONTWAIT | socket.MSG_PEEK)
    except BlockingIOError:
        return True
    return False


def answer(c, timeout=30):
    c.settimeout(timeout)
    out = b""
    try:
        while True:
            b = c.recv(65536)
            if not b:
                break
            out += b
    except (ConnectionResetError, socket.timeout):
        pass
    return out.decode(errors="replace")


def test_slow_control_clients_hold_up_nothing(topo, iked, workdir):
    iked.start(iked_policy(workdir))
    slow = [connect(iked.sock, b"c") for _ in range(SLOW_CLIENTS)]
    partial = connect(iked.sock, b"c\tclear")
    try:
        # the ipsec command is served while they wait
        r = run([IPSEC, "-S", iked.sock, "-k", "display"], timeout=30)
        assert "0 entries selected" in r.stdout
        assert all(still_waiting(c) for c in slow + [partial])

        # so is a peer's IKE message
        probe = in_netns(topo.b, PROBE, B_ADDR, A_ADDR)
        out, err = probe.communicate(timeout=30)
        assert probe.returncode == 0, err
        assert out.strip() == "5"                      # Informational: NO-PROPOSAL-CHOSEN
        assert all(still_waiting(c) for c in slow + [partial])

        # and retransmissions to a peer that does not answer go out on time
        peer = in_netns(topo.b, SILENT_PEER, B_ADDR)
        assert peer.stdout.readline().strip() == "ready"
        iked.ipsec("-y", "activate", "toB")
        out, err = peer.communicate(timeout=30)
        assert peer.returncode == 0, err
        assert json.loads(out.strip().splitlines()[-1]) == [2, 2]   # Main Mode 1, again
        assert all(still_waiting(c) for c in slow + [partial])

        # a request cut short by the end of the stream is refused, not run
        cut = connect(iked.sock, b"c\tclear")
        cut.shutdown(socket.SHUT_WR)
        a = answer(cut)
        cut.close()
        assert a.startswith("rc=2\n") and "incomplete request" in a, a

        # the deadline ends the waiting ones, and none of them was run
        answers = [answer(c) for c in slow + [partial]]
        for a in answers:
            assert not a.startswith("rc=0"), a
        assert iked.alive()
        assert "0 entries selected" in iked.ipsec("-k", "display").stdout
    finally:
        for c in slow + [partial]:
            c.close()


def test_control_clients_beyond_the_limit_wait_their_turn(topo, iked, workdir):
    """More clients than iked serves at once: the others wait in the listen
    queue and are served as slots free up, never refused."""
    iked.start(iked_policy(workdir))
    held = [connect(iked.sock, b"k") for _ in range(40)]
    try:
        waiting = subprocess.Popen([IPSEC, "-S", iked.sock, "-k", "display"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # the command gets through once the deadline frees slots
        out, err = waiting.communicate(timeout=60)
        assert waiting.returncode == 0, err
        assert "0 entries selected" in out
    finally:
        for c in held:
            c.close()
    assert wait_until(lambda: iked.ipsec("-k", "display", check=False).returncode == 0,
                      timeout=10)
    assert os.path.exists(iked.sock)
