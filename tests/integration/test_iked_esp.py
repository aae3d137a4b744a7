"""iked's own ESP data path (KernelBackend tun) carrying real traffic in
network namespaces: with strongSwan's charon (kernel-libipsec, ESP in UDP)
both ways, AES-CBC/HMAC-SHA2-256 and AES-GCM, between the protected
addresses behind the hosts and host to host; with another iked over plain
ESP (IPv4 and IPv6), over UDP through a real NAT, and in transport mode; refreshes driven
by the lifesize during a transfer; packets tampered, replayed, cut short
or sent to an unknown SPI on the wire."""
import os
import re
import socket
import subprocess

import pytest

from esp_env import (HOST_BEHIND, NatTopology, add_host_behind, assert_byte_exact, drops, ns_cmd,
                     peer_policy, ping, sa_counts, start_pair, tun_policy, PY)
from iked_env import (A_ADDR, A_NET, B_ADDR, B_NET, Iked, charon_child, charon_conf, data_offer,
                      run, wait_until)
from iked_env import charon, iked, topo, workdir  # noqa: F401  (fixtures)

MB = 1 << 20
TRANSFER = 50 * MB

CIPHERS = {
    "aes-cbc-sha256": (data_offer("d1"), "aes128-sha256-modp2048"),
    "aes-gcm": (data_offer("d1", enc="AES_GCM_16 KeyLength 128", auth=None),
                "aes128gcm16-modp2048"),
}


def up(iked, charon, initiator):
    if initiator == "iked":
        iked.ipsec("-y", "activate", "toB")
    else:
        r = charon.initiate()
        assert r.returncode == 0, r.stdout + r.stderr
    assert wait_until(lambda: iked.active_dyn(), timeout=30), iked.log()[-4000:]
    assert wait_until(lambda: charon_child(charon), timeout=20), "charon has no CHILD_SA"


def both_ways(topo_a, a, topo_b, b, total=TRANSFER):
    assert ping(topo_a, a, b), "no ping %s -> %s" % (a, b)
    assert ping(topo_b, b, a), "no ping %s -> %s" % (b, a)
    assert_byte_exact(topo_a, a, topo_b, b, total)
    assert_byte_exact(topo_b, b, topo_a, a, total)


@pytest.mark.parametrize("cipher", sorted(CIPHERS))
@pytest.mark.parametrize("initiator", ["iked", "charon"])
def test_charon_protected_subnets(topo, charon, iked, workdir, initiator, cipher):
    """Tunnel mode between the subnets behind the hosts (the security
    endpoints are other addresses): ping and 50 MB each way, byte-exact,
    counted on both sides."""
    offer, esp = CIPHERS[cipher]
    charon.start(quiet=True)
    charon.load(charon_conf(esp=esp, lnet="198.19.2.0/24", rnet="198.19.1.0/24",
                            rekey_time="3h", child_extra="        life_time = 4h\n"))
    iked.start(tun_policy(workdir, data_offers=[offer], lnet="198.19.1.0/24",
                          rnet="198.19.2.0/24"), log_keys=False)
    assert "KernelBackend" not in iked.log() or "kernel backend tun" in iked.log()
    up(iked, charon, initiator)
    both_ways(topo.a, A_NET, topo.b, B_NET)
    ike, child = charon_child(charon)
    assert child["encap"] == "yes"
    assert int(child["bytes-in"]) > TRANSFER and int(child["bytes-out"]) > TRANSFER
    # the display has the data path's count (the busier of the two SAs)
    y = iked.active_dyn()[0]
    assert int(y["CurrentByteCount"].rstrip("b")) > TRANSFER
    assert "route 198.19.2.0/24 dev attls0 src 198.19.1.1 table 4303" in iked.log()
    iked.ipsec("-y", "deactivate", "-a", "Y1")
    assert iked.wait_log("removed SA Y1.1 out")
    counts = sa_counts(iked.log())
    for d in ("in", "out"):
        c = counts["Y1.1 " + d]
        assert c["bytes"] > TRANSFER and c["replay"] == c["integrity"] == c["malformed"] == 0
    assert int(child["bytes-out"]) == counts["Y1.1 in"]["bytes"]


CHARON_PEER_TS = """plugins {
    kernel-libipsec {
      allow_peer_ts = yes
    }
    kernel-netlink {
      fwmark = !0x42
    }
    socket-default {
      fwmark = 0x42
    }
  }"""


def test_charon_host_to_host(topo, charon, iked, workdir):
    """The selectors are the security endpoints themselves: IKE and ESP to
    the peer must stay out of the tunnel while everything else to it goes
    in. A refresh during a transfer proves IKE still gets through."""
    charon.start(extra=CHARON_PEER_TS, quiet=True)
    charon.load(charon_conf(lnet=B_ADDR, rnet=A_ADDR, rekey_time="3h",
                            child_extra="        life_time = 4h\n"))
    iked.start(tun_policy(workdir, lnet=A_ADDR, rnet=B_ADDR), log_keys=False)
    up(iked, charon, "iked")
    both_ways(topo.a, A_ADDR, topo.b, B_ADDR, total=10 * MB)
    iked.ipsec("-y", "refresh", "-a", "Y1")
    assert iked.wait_log("Dynamic tunnel Y1 refreshed"), iked.log()[-3000:]
    both_ways(topo.a, A_ADDR, topo.b, B_ADDR, total=10 * MB)
    ike, child = charon_child(charon)
    assert int(child["bytes-in"]) > 10 * MB


def test_iked_iked_plain_esp(topo, workdir):
    """No NAT and no NAT-T: ESP as IP protocol 50, on raw sockets."""
    a, b = start_pair(workdir, topo.a, topo.b, tun_policy(workdir, allow_nat="No"),
                      peer_policy(workdir, allow_nat="No"))
    try:
        a.ipsec("-y", "activate", "toB")
        assert wait_until(lambda: a.active_dyn() and b.active_dyn(), timeout=20), a.log()[-3000:]
        assert "udp-encap" not in a.log()
        both_ways(topo.a, A_NET, topo.b, B_NET)
    finally:
        a.stop()
        b.stop()
    assert sa_counts(a.log())["Y1.1 in"]["bytes"] > TRANSFER
    assert drops(a.log()).get("unknown SPI", 0) == 0


def test_gateway_for_a_subnet_behind_it(topo, workdir):
    """A is a gateway: the tunnel protects 198.19.1.0/24, where another
    host sits behind A. A forwards that host's traffic into the tunnel and
    what comes out of it to the host, TCP coalesced on the way (checksums
    left partial must be finished when the kernel forwards). The rule says
    Routing Either: A's IP filter then lets the forwarded traffic through
    the tunnel, as z/OS does for routed traffic only when a rule says so."""
    c = add_host_behind(topo)
    a, b = start_pair(workdir, topo.a, topo.b,
                      tun_policy(workdir, allow_nat="No", lnet="198.19.1.0/24",
                                 routing="Either"),
                      peer_policy(workdir, allow_nat="No", rnet="198.19.1.0/24"))
    try:
        a.ipsec("-y", "activate", "toB")
        assert wait_until(lambda: a.active_dyn() and b.active_dyn(), timeout=20), a.log()[-3000:]
        both_ways(c, HOST_BEHIND, topo.b, B_NET, total=20 * MB)
    finally:
        a.stop()
        b.stop()
    assert sa_counts(a.log())["Y1.1 in"]["bytes"] > 20 * MB


@pytest.fixture
def nat(workdir):
    t = NatTopology()
    yield t
    t.close()


def test_iked_iked_through_a_nat(nat, workdir):
    """A behind a masquerading router: NAT-T floats to 4500 and ESP goes in
    UDP (RFC 3948) on the same port as IKE, both ways."""
    text_a = tun_policy(workdir, local_addr=nat.A_PRIV, local_id="IpAddr " + nat.A_PRIV)
    text_b = peer_policy(workdir, a_addr=nat.R_OUT, a_id=nat.A_PRIV)
    a, b = start_pair(workdir, nat.a, nat.b, text_a, text_b)
    try:
        a.ipsec("-y", "activate", "toB")
        assert wait_until(lambda: a.active_dyn() and b.active_dyn(), timeout=20), b.log()[-3000:]
        assert "udp-encap 4500->4500" in a.log() and "udp-encap 4500->" in b.log()
        both_ways(nat.a, A_NET, nat.b, B_NET)
        # IKE still reaches IKE on the shared port
        a.ipsec("-y", "refresh", "-a", "Y1")
        assert a.wait_log("Dynamic tunnel Y1 refreshed"), a.log()[-3000:]
        assert ping(nat.a, A_NET, B_NET)
    finally:
        a.stop()
        b.stop()
    assert drops(b.log()).get("unknown SPI", 0) == 0


def test_iked_iked_transport_mode(topo, workdir):
    """Transport mode, host to host: the IP header is rebuilt on arrival."""
    offer = [data_offer("d1", encap="Transport")]
    a, b = start_pair(workdir, topo.a, topo.b,
                      tun_policy(workdir, allow_nat="No", data_offers=offer, lnet=A_ADDR,
                                 rnet=B_ADDR),
                      peer_policy(workdir, allow_nat="No", data_offers=offer, lnet=B_ADDR,
                                  rnet=A_ADDR))
    try:
        a.ipsec("-y", "activate", "toB")
        assert wait_until(lambda: a.active_dyn() and b.active_dyn(), timeout=20), a.log()[-3000:]
        assert "ESP transport" in a.log()
        both_ways(topo.a, A_ADDR, topo.b, B_ADDR, total=10 * MB)
        a.ipsec("-y", "refresh", "-a", "Y1")
        assert a.wait_log("Dynamic tunnel Y1 refreshed"), a.log()[-3000:]
    finally:
        a.stop()
        b.stop()
    c = sa_counts(a.log())
    assert c["Y1.1 in"]["bytes"] > 10 * MB and c["Y1.1 in"]["malformed"] == 0


def test_lifesize_refreshes_during_a_transfer(topo, workdir):
    """A lifesize of 16 MB: 50 MB each way run through several refreshes,
    each started by the data path's byte count, and arrive byte-exact. No
    PFS keeps a Quick Mode short next to the last 15% of the lifesize at
    full speed; should an SA still reach its hard limit first, TCP resends
    what was lost meanwhile and the bytes must still all arrive."""
    offer = [data_offer("d1", lifesize_kb=16384)]
    nopfs = ("InitiateWithPfs None", "AcceptablePfs None")
    a, b = start_pair(workdir, topo.a, topo.b,
                      tun_policy(workdir, allow_nat="No", data_offers=offer, pfs=nopfs),
                      peer_policy(workdir, allow_nat="No", data_offers=offer, pfs=nopfs))
    try:
        a.ipsec("-y", "activate", "toB")
        assert wait_until(lambda: a.active_dyn() and b.active_dyn(), timeout=20), a.log()[-3000:]
        assert_byte_exact(topo.a, A_NET, topo.b, B_NET, TRANSFER)
        assert_byte_exact(topo.b, B_NET, topo.a, A_NET, TRANSFER)
        log = a.log() + b.log()
        assert len(re.findall(r"Dynamic tunnel Y1: lifesize reached, refreshing", log)) >= 4
        assert a.log().count("Dynamic tunnel Y1 refreshed") >= 4
    finally:
        a.stop()
        b.stop()
    # the first packets of a new SA that overtake Quick Mode message 3 wait
    # for it: none is dropped as unknown
    assert "unknown SPI" not in drops(a.log()) and "unknown SPI" not in drops(b.log()), \
        (drops(a.log()), drops(b.log()))


# ---- packets on the wire ------------------------------------------------------------

CAPTURE = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ESP)
s.settimeout(10)
print("ready", flush=True)
want = int(sys.argv[1])
for _ in range(want):
    pkt = s.recv(65535)
    ihl = (pkt[0] & 15) * 4
    print(pkt[ihl:].hex(), flush=True)
"""

INJECT = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ESP)
for line in sys.stdin:
    s.sendto(bytes.fromhex(line.strip()), (sys.argv[1], 0))
"""

LISTEN = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
s.settimeout(float(sys.argv[2]))
print(s.getsockname()[1], flush=True)
try:
    while True:
        got = s.recv(2048).decode()
        print(got, flush=True)
        if got == "after":
            break
except socket.timeout:
    pass
"""


def send_udp(ns, src, dst, port, payloads):
    code = ("import socket, sys\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "s.bind((sys.argv[1], 0))\nfor p in sys.argv[4:]:\n"
            "    s.sendto(p.encode(), (sys.argv[2], int(sys.argv[3])))\n")
    run(ns_cmd(ns, PY, "-c", code, src, dst, str(port), *payloads), timeout=30)


def test_bad_packets_are_dropped_and_counted(topo, workdir):
    """ESP packets B sends to A are captured in A, then sent again from B:
    as they were (replays), with a changed byte (integrity), cut short, and
    with an SPI nobody has. A delivers each genuine datagram once and none
    of the others, counts every refusal and keeps running."""
    a, b = start_pair(workdir, topo.a, topo.b, tun_policy(workdir, allow_nat="No"),
                      peer_policy(workdir, allow_nat="No"))
    listener = None
    try:
        a.ipsec("-y", "activate", "toB")
        assert wait_until(lambda: a.active_dyn() and b.active_dyn(), timeout=20), a.log()[-3000:]
        listener = subprocess.Popen(ns_cmd(topo.a, PY, "-c", LISTEN, A_NET, "20"),
                                    stdout=subprocess.PIPE, text=True)
        port = int(listener.stdout.readline())
        cap = subprocess.Popen(ns_cmd(topo.a, PY, "-c", CAPTURE, "5"), stdout=subprocess.PIPE,
                               text=True)
        assert cap.stdout.readline().strip() == "ready"
        genuine = ["genuine-%d" % i for i in range(5)]
        send_udp(topo.b, B_NET, A_NET, port, genuine)
        packets, _ = cap.communicate(timeout=20)
        packets = packets.split()
        assert len(packets) == 5
        bad = []
        for i, p in enumerate(packets):
            raw = bytearray.fromhex(p)
            bad.append(bytes(raw))                            # replay
            t = bytearray(raw)
            t[4:8] = (0x100000 + i).to_bytes(4, "big")        # a new number: past the window check
            t[len(t) // 2] ^= 0x40                            # ... and changed ciphertext
            bad.append(bytes(t))
            bad.append(bytes(raw[:len(raw) - 7]))             # truncated
            w = bytearray(raw)
            w[0:4] = b"\x7f\x00\x00\x01"                      # an SPI nobody has
            bad.append(bytes(w))
        run(ns_cmd(topo.b, PY, "-c", INJECT, A_ADDR), input="\n".join(x.hex() for x in bad) +
            "\n", timeout=30)
        # one more genuine datagram after the attack: the SA still works
        send_udp(topo.b, B_NET, A_NET, port, ["after"])
        out, _ = listener.communicate(timeout=30)
        listener = None
        got = out.split()[:]
        assert sorted(got) == sorted(genuine + ["after"]), got
        assert a.alive() and ping(topo.a, A_NET, B_NET)
    finally:
        if listener:
            listener.kill()
            listener.wait()
        a.stop()
        b.stop()
    c = sa_counts(a.log())["Y1.1 in"]
    assert c["replay"] == 5
    assert c["integrity"] == 5
    assert c["malformed"] == 5                          # cut short: not a whole block
    assert drops(a.log()).get("unknown SPI") == 5


def test_auto_picks_tun_where_the_kernel_has_no_esp(topo, iked, workdir):
    """Without KernelBackend, iked probes the kernel (this one has no ESP)
    and takes the tun backend; the probe leaves no SA behind and the
    device, routes and rule go when iked stops."""
    iked.start(tun_policy(workdir).replace("  KernelBackend tun\n", ""))
    assert "KernelBackend auto: tun (the kernel refused an ESP SA" in iked.log()
    assert "kernel backend tun" in iked.log()
    assert run(["ip", "-n", topo.a, "xfrm", "state"]).stdout == ""
    assert "attls0" in run(["ip", "-n", topo.a, "link"]).stdout
    iked.stop()
    assert "attls0" not in run(["ip", "-n", topo.a, "link"]).stdout
    assert "4303" not in run(["ip", "-n", topo.a, "rule"]).stdout


def test_iked_iked_over_ipv6(topo, workdir):
    """IPv6 outside and inside: plain ESP on IPv6 raw sockets, IPv6 routes
    and rule, IPv6 flows."""
    a6, b6, an6, bn6 = "2001:db8::1", "2001:db8::2", "2001:db8:1::1", "2001:db8:2::1"
    for ns, dev, addr, net in ((topo.a, topo.va, a6, an6), (topo.b, topo.vb, b6, bn6)):
        run(["ip", "-n", ns, "addr", "add", addr + "/64", "dev", dev, "nodad"])
        run(["ip", "-n", ns, "addr", "add", net + "/128", "dev", "lo"])
    a, b = start_pair(workdir, topo.a, topo.b,
                      tun_policy(workdir, allow_nat="No", local_addr=a6, remote_addr=b6,
                                 local_id="IpAddr " + a6, remote_id="IpAddr " + b6, lnet=an6,
                                 rnet=bn6),
                      peer_policy(workdir, allow_nat="No", a_addr=a6, b_addr=b6, lnet=bn6,
                                  rnet=an6))
    try:
        a.ipsec("-y", "activate", "toB")
        assert wait_until(lambda: a.active_dyn() and b.active_dyn(), timeout=20), a.log()[-3000:]
        assert "route %s/128 dev attls0 src %s" % (bn6, an6) in a.log()
        both_ways(topo.a, an6, topo.b, bn6, total=10 * MB)
    finally:
        a.stop()
        b.stop()
    assert sa_counts(a.log())["Y1.1 in"]["bytes"] > 10 * MB
