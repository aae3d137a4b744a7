"""PFS in Quick Mode: an iked responder accepts exactly its AcceptablePfs set
(InitiateWithPfs / AcceptablePfs, the z/OS V1R9 enhancement), iked proposes
its InitiateWithPfs group as initiator, both sides can run without PFS, and
the policy refuses the two invalid PFS combinations."""
import os
import subprocess

import pytest

from iked_env import (IKED, charon_child, charon_conf, iked_policy, wait_until)
from iked_env import charon, iked, topo, workdir  # noqa: F401  (fixtures)

ACCEPT_2_14_19 = ("InitiateWithPfs Group14", "AcceptablePfs Group2", "AcceptablePfs Group14",
                  "AcceptablePfs Group19")


@pytest.mark.parametrize("esp,group,name", [
    ("aes128-sha256-modp1024", 2, "MODP_1024"),
    ("aes128-sha256-modp2048", 14, "MODP_2048"),
    ("aes128-sha256-ecp256", 19, "ECP_256"),
])
def test_responder_accepts_each_acceptable_group(topo, charon, iked, workdir, esp, group, name):
    charon.start()
    charon.load(charon_conf(esp=esp))
    iked.start(iked_policy(workdir, pfs=ACCEPT_2_14_19))
    r = charon.initiate()
    assert r.returncode == 0, r.stdout + r.stderr
    ike, child = charon_child(charon)
    assert child["dh-group"] == name
    assert wait_until(lambda: iked.active_dyn(), timeout=10)
    y = iked.active_dyn()[0]
    assert y["DiffieHellmanGroup"] == name and y["Role"] == "Responder"
    assert "PFS Group%d" % group in iked.log()


def test_responder_refuses_group15(topo, charon, iked, workdir):
    charon.start()
    charon.load(charon_conf(esp="aes128-sha256-modp3072"))
    iked.start(iked_policy(workdir, pfs=ACCEPT_2_14_19))
    r = charon.initiate()
    assert r.returncode == 1
    assert iked.wait_log("EZD1022I no proposal chosen for IpDynVpnAction vpn")
    assert "offered PFS Group15, acceptable PFS: Group2 Group14 Group19" in iked.log()
    assert wait_until(lambda: "received NO_PROPOSAL_CHOSEN error notify" in charon.log(), 10)
    # phase 1 stays up (as with charon on both sides)
    assert iked.done_ike() and iked.active_dyn() == []


def test_iked_initiates_with_pfs_group14(topo, charon, iked, workdir):
    charon.start()
    charon.load(charon_conf(esp="aes128-sha256-modp2048"))
    iked.start(iked_policy(workdir, pfs=ACCEPT_2_14_19))
    iked.ipsec("-y", "activate", "toB")
    assert wait_until(lambda: iked.active_dyn(), timeout=20)
    ike, child = charon_child(charon)
    assert child["dh-group"] == "MODP_2048"
    assert "offering IpDataOffer d1 first with PFS Group14" in iked.log()


def test_initiator_group_the_peer_does_not_accept(topo, charon, iked, workdir):
    charon.start()
    charon.load(charon_conf(esp="aes128-sha256-ecp256"))
    iked.start(iked_policy(workdir, pfs=ACCEPT_2_14_19))
    iked.ipsec("-y", "activate", "toB")
    assert iked.wait_log("Quick Mode refused by 198.18.0.2: NO-PROPOSAL-CHOSEN")
    assert "no acceptable" in charon.log()
    assert iked.active_dyn() == []


@pytest.mark.parametrize("initiator", ["iked", "charon"])
def test_no_pfs_on_both_sides(topo, charon, iked, workdir, initiator):
    charon.start()
    charon.load(charon_conf(esp="aes128-sha256"))
    iked.start(iked_policy(workdir, pfs=("InitiateWithPfs None", "AcceptablePfs None")))
    if initiator == "iked":
        iked.ipsec("-y", "activate", "toB")
    else:
        assert charon.initiate().returncode == 0
    assert wait_until(lambda: iked.active_dyn(), timeout=20)
    ike, child = charon_child(charon)
    assert "dh-group" not in child
    assert iked.active_dyn()[0]["DiffieHellmanGroup"] == "None"
    assert "PFS None" in iked.log()


def test_responder_without_none_refuses_no_pfs(topo, charon, iked, workdir):
    charon.start()
    charon.load(charon_conf(esp="aes128-sha256"))
    iked.start(iked_policy(workdir, pfs=ACCEPT_2_14_19))
    assert charon.initiate().returncode == 1
    assert iked.wait_log("offered no PFS, acceptable PFS: Group2 Group14 Group19")


def test_legacy_pfs_is_both_initiate_and_accept(topo, charon, iked, workdir):
    charon.start()
    charon.load(charon_conf(esp="aes128-sha256-ecp256"))
    iked.start(iked_policy(workdir, pfs=("Pfs Group19",)))
    assert charon.initiate().returncode == 0
    assert wait_until(lambda: iked.active_dyn(), timeout=10)
    iked.ipsec("-y", "refresh", "-a", "Y1")
    assert iked.wait_log("Dynamic tunnel Y1 refreshed: generation 2")
    assert "PFS Group19" in iked.log()


def check(workdir, pfs_lines):
    text = iked_policy(workdir, pfs=pfs_lines)
    path = os.path.join(workdir, "check.conf")
    with open(path, "w") as f:
        f.write(text)
    return subprocess.run([IKED, "-n", "-f", path], capture_output=True, text=True, timeout=30)


def test_policy_rejects_pfs_with_the_new_parameters(workdir):
    r = check(workdir, ("Pfs Group14", "InitiateWithPfs Group14", "AcceptablePfs Group14"))
    assert r.returncode == 1
    assert "Pfs cannot be used together with InitiateWithPfs" in r.stderr
    assert "check.conf:" in r.stderr and "error:" in r.stderr


def test_policy_rejects_initiate_group_not_acceptable(workdir):
    r = check(workdir, ("InitiateWithPfs Group5", "AcceptablePfs Group2", "AcceptablePfs Group14"))
    assert r.returncode == 1
    assert "InitiateWithPfs Group5 must also be one of the AcceptablePfs values" in r.stderr
    assert "add: AcceptablePfs Group5" in r.stderr
    ok = check(workdir, ("InitiateWithPfs Group5", "AcceptablePfs Group2", "AcceptablePfs Group5"))
    assert ok.returncode == 0, ok.stderr
