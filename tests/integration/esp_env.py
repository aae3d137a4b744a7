"""What the data-path tests (test_iked_esp.py) and the ESP benchmark share:
traffic through the tunnels (ping, a byte-exact TCP transfer, iperf3), two
ikeds facing each other, a NAT between namespaces, and iked's data-path
counters as it logs them.

Every transfer is bounded in bytes and in time; every namespace and process
is removed by whoever made it."""
import itertools
import json
import os
import re
import subprocess

import pytest

from iked_env import (A_ADDR, A_NET, B_ADDR, B_NET, Iked, iked_policy, run, stop_pid,
                      wait_until)

PY = "/usr/bin/python3"

# The receiving end: binds port 0 on an address, says which port, takes one
# connection and prints how many bytes came and their SHA-256.
SINK = r"""
import hashlib, socket, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET, socket.SOCK_STREAM)
s.bind((sys.argv[1], 0))
s.listen(1)
s.settimeout(float(sys.argv[2]))
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
c.settimeout(float(sys.argv[2]))
h = hashlib.sha256()
n = 0
while True:
    b = c.recv(1 << 20)
    if not b:
        break
    h.update(b)
    n += len(b)
print(n, h.hexdigest(), flush=True)
"""

# The sending end: total bytes of pseudo-random data from one address to
# another; prints what it sent (count and SHA-256).
SOURCE = r"""
import hashlib, random, socket, sys
src, dst, port, total, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
block = random.Random(seed).randbytes(1 << 20)
s = socket.create_connection((dst, port), timeout=float(sys.argv[6]), source_address=(src, 0))
h = hashlib.sha256()
n = 0
i = 0
while n < total:
    chunk = (i.to_bytes(8, "big") + block)[: min(len(block), total - n)]
    s.sendall(chunk)
    h.update(chunk)
    n += len(chunk)
    i += 1
s.shutdown(socket.SHUT_WR)
s.recv(1)
print(n, h.hexdigest(), flush=True)
"""

_seed = itertools.count(1)


def ns_cmd(ns, *cmd):
    return ["ip", "netns", "exec", ns] + list(cmd)


def ping(ns, src, dst, count=3):
    """True when every echo of count came back (bounded: 2 s per reply)."""
    r = run(ns_cmd(ns, "ping", "-n", "-q", "-c", str(count), "-i", "0.2", "-W", "2", "-I", src,
                   dst), check=False, timeout=30)
    return r.returncode == 0


def transfer(src_ns, src, dst_ns, dst, total, timeout=120):
    """Send total bytes over TCP from src (in src_ns) to dst (in dst_ns);
    returns (sent, received) as (bytes, sha256) pairs."""
    sink = subprocess.Popen(ns_cmd(dst_ns, PY, "-c", SINK, dst, str(timeout)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = sink.stdout.readline().strip()
        if not port.isdigit():
            pytest.fail("the receiving end did not start: " + sink.stderr.read())
        src_run = run(ns_cmd(src_ns, PY, "-c", SOURCE, src, dst, port, str(total),
                             str(next(_seed)), str(timeout)), check=False, timeout=timeout + 10)
        out, err = sink.communicate(timeout=timeout)
    finally:
        if sink.poll() is None:
            stop_pid(sink.pid)
    if src_run.returncode != 0:
        pytest.fail("the sending end failed: " + src_run.stderr[-2000:])
    sent = src_run.stdout.split()
    got = out.split()
    return (int(sent[0]), sent[1]), (int(got[0]) if got else 0, got[1] if len(got) > 1 else "")


def assert_byte_exact(src_ns, src, dst_ns, dst, total):
    sent, got = transfer(src_ns, src, dst_ns, dst, total)
    assert sent[0] == total
    assert got == sent, "received %d bytes (%s), sent %d (%s)" % (got[0], got[1], sent[0],
                                                                    sent[1])


def iperf(client_ns, client_addr, server_ns, server_addr, seconds=5):
    """iperf3 TCP throughput in bits per second, client to server."""
    server = subprocess.Popen(ns_cmd(server_ns, "iperf3", "-s", "-1", "-B", server_addr),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: run(ns_cmd(server_ns, "ss", "-ltn"), check=False).stdout.count(
            ":5201") > 0, timeout=5)
        r = run(ns_cmd(client_ns, "iperf3", "-J", "-c", server_addr, "-B", client_addr, "-t",
                       str(seconds)), check=False, timeout=seconds + 30)
    finally:
        stop_pid(server.pid)
    if r.returncode != 0:
        raise RuntimeError("iperf3 failed: " + r.stdout[-1000:] + r.stderr[-1000:])
    return json.loads(r.stdout)["end"]["sum_received"]["bits_per_second"]


# ---- counters --------------------------------------------------------------------

SA_COUNTS = re.compile(r"kernel\(tun\): (?:removed|removed at exit:|hard limit reached,) SA "
                       r"(\S+ \S+) spi 0x([0-9a-f]+): (\d+) packets, (\d+) bytes; dropped (\d+) "
                       r"replayed, (\d+) failing integrity, (\d+) malformed")


def sa_counts(log):
    """{label: dict(packets, bytes, replay, integrity, malformed)} from
    the lines iked logs when an SA leaves the data path."""
    out = {}
    for m in SA_COUNTS.finditer(log):
        out[m.group(1)] = dict(spi=m.group(2), packets=int(m.group(3)), bytes=int(m.group(4)),
                               replay=int(m.group(5)), integrity=int(m.group(6)),
                               malformed=int(m.group(7)))
    return out


def drops(log):
    """{reason: count} from the data path's last words."""
    m = re.findall(r"kernel\(tun\): data path stopped; packets dropped: (.*)", log)
    out = {}
    if m and m[-1] != "none":
        for part in m[-1].split(", "):
            n, reason = part.split(" ", 1)
            out[reason] = int(n)
    return out


# ---- two ikeds -------------------------------------------------------------------

def tun_policy(workdir, **kw):
    kw.setdefault("backend", "tun")
    return iked_policy(workdir, **kw)


def peer_policy(workdir, a_addr=A_ADDR, b_addr=B_ADDR, **kw):
    """B's side of the tunnel iked_policy describes for A."""
    kw.setdefault("backend", "tun")
    kw.setdefault("lnet", B_NET)
    kw.setdefault("rnet", A_NET)
    return iked_policy(workdir, local_addr=b_addr, remote_addr=a_addr,
                       local_id="IpAddr " + kw.pop("b_id", b_addr),
                       remote_id="IpAddr " + kw.pop("a_id", a_addr), name="ikedb", **kw)


class NatTopology:
    """A (iked) behind a masquerading router R, then B: A 198.18.1.1/24 --
    198.18.1.254 R 198.18.0.254 -- 198.18.0.2/24 B. B sees A as 198.18.0.254.
    Protected addresses on lo as in Topology."""

    A_PRIV, R_IN, R_OUT = "198.18.1.1", "198.18.1.254", "198.18.0.254"
    _n = itertools.count()

    def __init__(self):
        tag = "in%d%d" % (os.getpid() % 100000, next(self._n))
        self.a, self.r, self.b = tag + "a", tag + "r", tag + "b"
        self.made = []
        try:
            for ns in (self.a, self.r, self.b):
                run(["ip", "netns", "add", ns])
                self.made.append(ns)
                run(["ip", "-n", ns, "link", "set", "lo", "up"])
            run(["ip", "link", "add", "x" + tag, "netns", self.a, "type", "veth", "peer", "name",
                 "y" + tag, "netns", self.r])
            run(["ip", "link", "add", "z" + tag, "netns", self.r, "type", "veth", "peer", "name",
                 "w" + tag, "netns", self.b])
            for ns, dev, addr in ((self.a, "x", self.A_PRIV), (self.r, "y", self.R_IN),
                                  (self.r, "z", self.R_OUT), (self.b, "w", B_ADDR)):
                run(["ip", "-n", ns, "addr", "add", addr + "/24", "dev", dev + tag])
                run(["ip", "-n", ns, "link", "set", dev + tag, "up"])
            run(["ip", "-n", self.a, "route", "add", "default", "via", self.R_IN])
            run(["ip", "-n", self.a, "addr", "add", A_NET + "/32", "dev", "lo"])
            run(["ip", "-n", self.b, "addr", "add", B_NET + "/32", "dev", "lo"])
            run(ns_cmd(self.r, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"))
            nat = ("table ip nat {\n chain post {\n  type nat hook postrouting priority srcnat;\n"
                   "  oifname \"z%s\" masquerade\n }\n}\n" % tag)
            run(ns_cmd(self.r, "nft", "-f", "-"), input=nat)
        except Exception:
            self.close()
            raise

    def close(self):
        for ns in reversed(self.made):
            run(["ip", "netns", "del", ns], check=False)
        self.made = []


def add_host_behind(topo, tag="h"):
    """A host behind A, which becomes its gateway: C 198.19.1.2/24 on a
    veth to A (198.19.1.1/24 there), default route through A, A forwarding,
    no checksum offload from A to C. Returns C's namespace (removed with the
    topology)."""
    c = topo.a[:-1] + tag
    run(["ip", "netns", "add", c])
    topo.made.append(c)
    dev_a, dev_c = "g" + topo.a[2:], "c" + topo.a[2:]
    run(["ip", "link", "add", dev_a, "netns", topo.a, "type", "veth", "peer", "name", dev_c,
         "netns", c])
    run(["ip", "-n", topo.a, "addr", "del", A_NET + "/32", "dev", "lo"])
    run(["ip", "-n", topo.a, "addr", "add", A_NET + "/24", "dev", dev_a])
    run(["ip", "-n", c, "addr", "add", HOST_BEHIND + "/24", "dev", dev_c])
    for ns, dev in ((topo.a, dev_a), (c, dev_c), (c, "lo")):
        run(["ip", "-n", ns, "link", "set", dev, "up"])
    run(["ip", "-n", c, "route", "add", "default", "via", A_NET])
    run(ns_cmd(topo.a, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"))
    # as a real NIC would: checksums A leaves partial are finished on the
    # way out (in software here), and C checks them
    run(ns_cmd(topo.a, "ethtool", "-K", dev_a, "tx", "off"))
    return c


HOST_BEHIND = "198.19.1.2"


def start_pair(workdir, ns_a, ns_b, a_text, b_text):
    """Two ikeds (A, B) started with their policies."""
    a = Iked(ns_a, workdir, "iked")
    b = Iked(ns_b, workdir, "ikedb")
    a.start(a_text)
    b.start(b_text)
    return a, b
