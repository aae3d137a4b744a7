"""iked against strongSwan's charon (IKEv1, kernel-libipsec) in network
namespaces: Main Mode and Aggressive Mode, pre-shared keys and RSA
signatures, both directions, NAT-T, key agreement, Delete, DPD, and a flood
of malformed packets."""
import os
import random
import socket
import subprocess

import pytest

from iked_env import (A_ADDR, A_NET, B_ADDR, B_NET, charon_child, charon_conf, data_offer,
                      iked_policy, ke_offer, make_certs, wait_until)
from iked_env import charon, iked, topo, workdir  # noqa: F401  (fixtures)


def activate(iked):
    iked.ipsec("-y", "activate", "toB")
    if not wait_until(lambda: iked.active_dyn(), timeout=30):
        pytest.fail("dynamic tunnel did not become active:\n" + iked.log()[-4000:])
    return iked.active_dyn()[0]


def expect_charon_child(charon):
    got = wait_until(lambda: charon_child(charon), timeout=20)
    assert got, "charon has no installed CHILD_SA"
    return got


def test_main_mode_psk_iked_initiates(topo, charon, iked, workdir):
    charon.start()
    charon.load(charon_conf())
    iked.start(iked_policy(workdir))
    y = activate(iked)
    ike, child = expect_charon_child(charon)
    assert ike["state"] == "ESTABLISHED"
    assert ike["remote-id"] == A_ADDR
    # the same SPIs on both sides, mirrored
    assert y["EncryptInboundSpi:"].lower() == "0x" + child["spi-out"]
    assert y["EncryptOutboundSpi:"].lower() == "0x" + child["spi-in"]
    assert child["encr-alg"] == "AES_CBC" and child["integ-alg"] == "HMAC_SHA2_256_128"
    assert y["DiffieHellmanGroup:"] == "MODP_2048" and child["dh-group"] == "MODP_2048"
    k = iked.done_ike()[0]
    assert k["ExchangeMode:"] == "Main" and k["Role:"] == "Initiator"
    assert "IKE tunnel K1 activated" in iked.log()


def test_main_mode_psk_charon_initiates(topo, charon, iked, workdir):
    charon.start()
    charon.load(charon_conf())
    iked.start(iked_policy(workdir))
    r = charon.initiate()
    assert r.returncode == 0, r.stdout + r.stderr
    assert wait_until(lambda: iked.active_dyn(), timeout=10)
    y = iked.active_dyn()[0]
    assert y["Role:"] == "Responder" and y["IpFilterRuleName:"] == "toB"
    k = iked.done_ike()[0]
    assert k["Role:"] == "Responder" and k["RemoteID:"] == B_ADDR


def test_nat_t_floats_to_4500(topo, charon, iked, workdir):
    """charon's kernel-libipsec fakes its NAT-D hash, so iked sees a NAT in
    front of the peer: both float to 4500 and use UDP-encapsulated tunnel mode."""
    charon.start()
    charon.load(charon_conf())
    iked.start(iked_policy(workdir))
    y = activate(iked)
    ike, child = expect_charon_child(charon)
    assert ike["local-port"] == "4500" and ike["remote-port"] == "4500"
    assert child["encap"] == "yes"
    k = iked.done_ike()[0]
    assert k["NATInFrntRmtScEndPnt:"] == "Yes"
    assert str(k["RmtUdpEncapPort:"]) == "4500"
    assert y["UdpEncapsulation:"] == "Yes"
    assert "NAT detected in front of the peer" in iked.log()
    assert "udp-encap 4500->4500" in iked.log()


def test_no_nat_t_when_not_allowed(topo, charon, iked, workdir):
    """AllowNat No: iked does not announce NAT-T, so nobody floats and the
    SAs are plain tunnel mode. kernel-libipsec installs only UDP-encapsulated
    SAs, so charon deletes this one at once; iked must follow that Delete."""
    charon.start()
    charon.load(charon_conf())
    iked.start(iked_policy(workdir, allow_nat="No"))
    iked.ipsec("-y", "activate", "toB")
    assert iked.wait_log("Dynamic tunnel Y1 activated")
    log = iked.log()
    assert "udp-encap" not in log and "NAT-T" not in log
    assert "ESP tunnel AES_CBC-128" in log
    assert wait_until(lambda: "only UDP encapsulation is supported" in charon.log(), timeout=10)
    assert iked.wait_log("dynamic tunnel Y1 generation 1 deleted: deleted by the peer")
    assert iked.active_dyn() == []
    k = iked.done_ike()[0]
    assert k["NATTSupportLevel:"] == "None" and k["RmtUdpEncapPort:"] == "n/a"


def hexdump_values(charon, name):
    return [b.hex() for n, b in charon.dumps() if n == name]


@pytest.mark.parametrize("initiator", ["iked", "charon"])
def test_both_sides_derive_the_same_keys(topo, charon, iked, workdir, initiator):
    charon.start()
    charon.load(charon_conf())
    iked.start(iked_policy(workdir))
    if initiator == "iked":
        activate(iked)
    else:
        assert charon.initiate().returncode == 0
        assert wait_until(lambda: iked.active_dyn(), timeout=10)
    expect_charon_child(charon)
    keys = iked.keys()
    for name, dump in (("SKEYID", "SKEYID"), ("SKEYID_d", "SKEYID_d"), ("SKEYID_a", "SKEYID_a"),
                       ("SKEYID_e", "SKEYID_e"), ("ENC_KEY", "encryption key Ka")):
        assert keys[("K1.1", name)] in hexdump_values(charon, dump), name
    # ESP: charon names keys by the initiator's and responder's direction;
    # the initiator's outbound SA is charon's "initiator" key.
    i_dir, r_dir = ("OUT", "IN") if initiator == "iked" else ("IN", "OUT")
    assert keys[("Y1.1", "ESP_%s_ENC" % i_dir)] in hexdump_values(charon, "encryption initiator key")
    assert keys[("Y1.1", "ESP_%s_INTEG" % i_dir)] in hexdump_values(charon, "integrity initiator key")
    assert keys[("Y1.1", "ESP_%s_ENC" % r_dir)] in hexdump_values(charon, "encryption responder key")
    assert keys[("Y1.1", "ESP_%s_INTEG" % r_dir)] in hexdump_values(charon, "integrity responder key")
    ike, child = charon_child(charon)
    assert keys[("Y1.1", "ESP_IN_SPI")] == child["spi-out"]
    assert keys[("Y1.1", "ESP_OUT_SPI")] == child["spi-in"]
