"""iked against strongSwan's charon (IKEv1, kernel-libipsec) in network
namespaces: Main Mode and Aggressive Mode, pre-shared keys and RSA
signatures, both directions, NAT-T, key agreement, Delete, DPD, and a flood
of malformed packets."""
import os
import random
import shutil
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
    assert y["EncryptInboundSpi"].lower() == "0x" + child["spi-out"]
    assert y["EncryptOutboundSpi"].lower() == "0x" + child["spi-in"]
    assert child["encr-alg"] == "AES_CBC" and child["integ-alg"] == "HMAC_SHA2_256_128"
    assert y["DiffieHellmanGroup"] == "MODP_2048" and child["dh-group"] == "MODP_2048"
    k = iked.done_ike()[0]
    assert k["ExchangeMode"] == "Main" and k["Role"] == "Initiator"
    assert "IKE tunnel K1 activated" in iked.log()


def test_main_mode_psk_charon_initiates(topo, charon, iked, workdir):
    charon.start()
    charon.load(charon_conf())
    iked.start(iked_policy(workdir))
    r = charon.initiate()
    assert r.returncode == 0, r.stdout + r.stderr
    assert wait_until(lambda: iked.active_dyn(), timeout=10)
    y = iked.active_dyn()[0]
    assert y["Role"] == "Responder" and y["IpFilterRuleName"] == "toB"
    k = iked.done_ike()[0]
    assert k["Role"] == "Responder" and k["RemoteID"] == B_ADDR


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
    assert k["NATInFrntRmtScEndPnt"] == "Yes"
    assert str(k["RmtUdpEncapPort"]) == "4500"
    assert y["UdpEncapsulation"] == "Yes"
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
    assert k["NATTSupportLevel"] == "None" and k["RmtUdpEncapPort"] == "n/a"


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


@pytest.mark.parametrize("initiator", ["iked", "charon"])
def test_aggressive_mode_psk_fqdn_identities(topo, charon, iked, workdir, initiator):
    charon.start()
    charon.load(charon_conf(aggressive="yes", local_id="charon.example", remote_id="iked.example"))
    iked.start(iked_policy(workdir, mode="Aggressive", local_id="Fqdn iked.example",
                           remote_id="Fqdn charon.example"))
    if initiator == "iked":
        activate(iked)
    else:
        r = charon.initiate()
        assert r.returncode == 0, r.stdout + r.stderr
        assert wait_until(lambda: iked.active_dyn(), timeout=10)
    ike, child = expect_charon_child(charon)
    assert ike["local-id"] == "charon.example" and ike["remote-id"] == "iked.example"
    k = iked.done_ike()[0]
    assert k["ExchangeMode"] == "Aggressive"
    assert k["LocalIDType"] == "ID_FQDN" and k["LocalID"] == "iked.example"
    assert k["RemoteIDType"] == "ID_FQDN" and k["RemoteID"] == "charon.example"
    keys = iked.keys()
    assert keys[("K1.1", "SKEYID")] in hexdump_values(charon, "SKEYID")


def test_aggressive_mode_wrong_identity_is_refused(topo, charon, iked, workdir):
    """No KeyExchangeRule for the identity charon shows: no proposal chosen."""
    charon.start()
    charon.load(charon_conf(aggressive="yes", local_id="stranger.example",
                            remote_id="iked.example"))
    iked.start(iked_policy(workdir, mode="Aggressive", local_id="Fqdn iked.example",
                           remote_id="Fqdn charon.example"))
    r = charon.initiate()
    assert r.returncode != 0
    assert "EZD1021I no proposal chosen for Aggressive Mode" in iked.log()
    assert "no KeyExchangeRule for identity stranger.example" in iked.log()
    assert iked.done_ike() == []


SYSTEM_STORE = "/etc/ssl/certs/ca-certificates.crt"


@pytest.mark.parametrize("initiator,ring", [("iked", "own"), ("charon", "own"),
                                            ("iked", "with-system-store")])
def test_rsa_signatures_with_certificates(topo, charon, iked, workdir, initiator, ring):
    """ring with-system-store: iked's key ring also holds the system's ~140
    trust anchors (more than the 64 certificates a key ring once held)."""
    pki = make_certs(workdir)
    keyring = pki["a_bundle"]
    if ring == "with-system-store":
        keyring = os.path.join(workdir, "big-ring.pem")
        with open(keyring, "w") as out:
            for part in (pki["a_bundle"], SYSTEM_STORE):
                out.write(open(part).read())
        assert open(keyring).read().count("BEGIN CERTIFICATE") > 100
    charon.start()
    cert, ca = charon.install_pki(pki["b_cert"], pki["b_key"], pki["ca"])
    charon.load(charon_conf(auth="pubkey", local_id="C=US, O=attls, CN=charon.example",
                            remote_id="C=US, O=attls, CN=iked.example", certs=cert,
                            cacert=ca, privkey=pki["b_key"],
                            proposals="aes256-sha384-modp3072", esp="aes256gcm16-modp3072"))
    offers = [ke_offer("rsa", enc=256, hash_="SHA2_384", group=15, auth="RsaSignature")]
    doffers = [data_offer("gcm", enc="AES_GCM_16 KeyLength 256", auth=None)]
    iked.start(iked_policy(workdir, ke_offers=offers, data_offers=doffers, psk=None,
                           keyring=keyring, ca_label="attls test CA",
                           local_id="X500dn CN=iked.example,O=attls,C=US",
                           remote_id="X500dn CN=charon.example,O=attls,C=US",
                           pfs=("InitiateWithPfs Group15", "AcceptablePfs Group15")))
    if initiator == "iked":
        activate(iked)
    else:
        r = charon.initiate()
        assert r.returncode == 0, r.stdout + r.stderr
        assert wait_until(lambda: iked.active_dyn(), timeout=10)
    ike, child = expect_charon_child(charon)
    assert ike["encr-keysize"] == "256" and ike["dh-group"] == "MODP_3072"
    assert child["encr-alg"] == "AES_GCM_16" and child["encr-keysize"] == "256"
    k = iked.done_ike()[0]
    assert k["LocalAuthenticationMethod"] == "RsaSignature"
    assert k["RemoteIDType"] == "ID_DER_ASN1_DN"
    assert "CN=charon.example" in k["RemoteID"]
    keys = iked.keys()
    assert keys[("K1.1", "SKEYID")] in hexdump_values(charon, "SKEYID")
    # GCM: 32 bytes of key and 4 of salt in each direction
    assert len(keys[("Y1.1", "ESP_IN_ENC")]) == 72


def test_rsa_untrusted_certificate_is_refused(topo, charon, iked, workdir):
    """iked trusts only the CA its CaLabel names; charon's CA is another one."""
    pki = make_certs(workdir)
    other = make_certs(os.path.join(workdir, "other"))
    charon.start()
    cert, _ = charon.install_pki(other["b_cert"], other["b_key"], other["ca"])
    shutil.copy(pki["ca"], os.path.join(charon.dir, "swanctl", "x509ca", "trusted-ca.pem"))
    charon.load(charon_conf(auth="pubkey", local_id="C=US, O=attls, CN=charon.example",
                            remote_id="C=US, O=attls, CN=iked.example", certs=cert,
                            cacert="trusted-ca.pem", privkey=other["b_key"]))
    offers = [ke_offer("rsa", auth="RsaSignature")]
    iked.start(iked_policy(workdir, ke_offers=offers, psk=None, keyring=pki["a_bundle"],
                           local_id="X500dn CN=iked.example,O=attls,C=US",
                           remote_id="X500dn CN=charon.example,O=attls,C=US"))
    r = charon.initiate()
    assert r.returncode != 0
    assert wait_until(lambda: "not trusted" in iked.log(), timeout=10)
    assert iked.done_ike() == []


def test_delete_from_iked_reaches_charon(topo, charon, iked, workdir):
    charon.start()
    charon.load(charon_conf())
    iked.start(iked_policy(workdir))
    activate(iked)
    expect_charon_child(charon)
    iked.ipsec("-y", "deactivate", "-a", "Y1")
    assert wait_until(lambda: charon_child(charon) is None, timeout=10)
    assert "received DELETE for ESP CHILD_SA" in charon.log()
    iked.ipsec("-k", "deactivate", "-a", "K1")
    assert wait_until(lambda: charon.list_sas() == [], timeout=10)
    assert "received DELETE for IKE_SA" in charon.log()
    assert iked.tunnels("-k") == [] and iked.tunnels("-y") == []


def test_delete_from_charon_reaches_iked(topo, charon, iked, workdir):
    charon.start()
    charon.load(charon_conf())
    iked.start(iked_policy(workdir))
    activate(iked)
    expect_charon_child(charon)
    charon.swanctl("--terminate", "--child", "c")
    assert iked.wait_log("dynamic tunnel Y1 generation 1 deleted: deleted by the peer")
    assert iked.tunnels("-y") == []
    charon.swanctl("--terminate", "--ike", "t")
    assert iked.wait_log("IKE tunnel K1 generation 1 deleted: deleted by the peer")
    assert iked.tunnels("-k") == []


def test_dpd_notices_a_killed_peer(topo, charon, iked, workdir):
    charon.start()
    charon.load(charon_conf())
    iked.start(iked_policy(workdir, liveness=2, retries=2, init_wait=1, max_wait=1))
    activate(iked)
    expect_charon_child(charon)
    # while charon lives, probes are answered
    assert iked.wait_log("R-U-THERE-ACK", timeout=20, count=2)
    assert iked.active_dyn()
    charon.kill()
    assert iked.wait_log("dead peer detection", timeout=30)
    assert wait_until(lambda: iked.tunnels("-k") == [] and iked.tunnels("-y") == [], timeout=10)
    assert "deleted: dead peer detection" in iked.log()


def malformed_packets(rng, icky, rcky):
    """Garbage of many shapes: random bytes, wrong versions, lying lengths,
    first messages with broken payload chains, and messages carrying the
    cookies of the live ISAKMP SA (encrypted Quick Mode and Informational
    garbage, phase 1 replays) that must not disturb it."""
    rb = lambda n: bytes(rng.getrandbits(8) for _ in range(n))
    out = []
    for n in range(600):
        kind = n % 8
        if kind == 0:
            out.append(rb(rng.randrange(0, 40)))
            continue
        ic, rc, msgid = rb(8), rb(8), bytes(4)
        ver, exch, flags = 0x10, rng.choice([2, 4, 5, 32]), 0
        body = rb(rng.randrange(0, 300))
        if kind == 1:
            ver = rng.choice([0x20, 0x11, 0x00])
        elif kind == 3:
            # a first message: zero responder cookie, a payload chain that
            # starts well and then lies
            rc, exch = bytes(8), rng.choice([2, 4])
            sa = bytes([rng.choice([0, 4, 10]), 0]) + (rng.randrange(8, 400)).to_bytes(2, "big")
            body = sa + bytes([0, 0, 0, 1, 0, 0, 0, 1]) + rb(rng.randrange(0, 200))
        elif kind in (4, 5):
            # the live SA's cookies, encrypted Quick Mode / Informational garbage
            ic, rc, exch, flags, msgid = icky, rcky, 32 if kind == 4 else 5, 1, rb(4)
            body = rb(16 * rng.randrange(1, 20))
        elif kind == 6:
            # the live SA's cookies, a phase 1 message after phase 1 ended
            ic, rc, exch = icky, rcky, 2
        elif kind == 7:
            flags = rng.choice([0x08, 0x80, 0xff])
        np = rng.choice([1, 2, 4, 5, 8, 11, 12, 13, 20, 200]) if kind != 3 else 1
        length = 28 + len(body)
        if kind == 2:
            length = rng.randrange(0, 100000)
        hdr = ic + rc + bytes([np, ver, exch, flags]) + msgid + length.to_bytes(4, "big")
        out.append(hdr + body)
    return out


def test_malformed_flood_leaves_iked_and_its_sas_intact(topo, charon, iked, workdir):
    charon.start()
    charon.load(charon_conf())
    iked.start(iked_policy(workdir))
    y = activate(iked)
    expect_charon_child(charon)
    k = iked.done_ike()[0]
    icky = bytes.fromhex(k["InitiatorCookie"][2:])
    rcky = bytes.fromhex(k["ResponderCookie"][2:])
    rng = random.Random(20240605)
    pkts = malformed_packets(rng, icky, rcky)
    # send from the peer's namespace, to both ports
    script = ("import socket,sys\n"
              "data=open(sys.argv[1],'rb').read().split(b'\\n--sep--\\n')\n"
              "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
              "for i,p in enumerate(data):\n"
              "    port=4500 if i%2 else 500\n"
              "    q=(bytes(4)+p) if port==4500 else p\n"
              "    s.sendto(q,(sys.argv[2],port))\n")
    blob = os.path.join(workdir, "flood.bin")
    with open(blob, "wb") as f:
        f.write(b"\n--sep--\n".join(pkts))
    for _ in range(3):
        subprocess.run(["ip", "netns", "exec", topo.b, "/usr/bin/python3", "-c", script, blob,
                        A_ADDR],
                       check=True, timeout=60)
    assert iked.alive()
    # every one was looked at and dropped (3 rounds of 600; a first message
    # may be refused with a notification instead of being dropped)
    assert wait_until(lambda: iked.log().count("dropped a message") >= 3 * 580, timeout=10)
    after = iked.active_dyn()
    assert len(after) == 1
    assert after[0]["EncryptInboundSpi"] == y["EncryptInboundSpi"]
    assert iked.done_ike()
    # and the SAs still work: a refresh over the same phase 1 succeeds
    iked.ipsec("-y", "refresh", "-a", "Y1")
    assert iked.wait_log("Dynamic tunnel Y1 refreshed: generation 2")
    assert wait_until(lambda: charon_child(charon) is not None, timeout=10)


def test_charon_refreshes_and_iked_follows(topo, charon, iked, workdir):
    """charon rekeys the CHILD_SA and reauthenticates the IKE_SA on its own
    schedule; iked (responder) counts the new generations of the same K and Y
    tunnels and drops the old ones when charon deletes them."""
    charon.start()
    # lifetimes of at least a minute (iked's smallest RefreshLifetimeAccepted),
    # rekeying long before
    charon.load(charon_conf(child_extra="        rand_time = 0\n        life_time = 70s\n",
                            rekey_time="6s",
                            ike_extra="    rekey_time = 12s\n    reauth_time = 0\n"
                                      "    rand_time = 0\n    over_time = 60s\n"))
    iked.start(iked_policy(workdir, ke_offers=[ke_offer("o1", acc_min=1)],
                           data_offers=[data_offer("d1", acc_min=1)]))
    assert charon.initiate().returncode == 0
    assert iked.wait_log("Dynamic tunnel Y1 refreshed: generation 2", timeout=20)
    assert iked.wait_log("dynamic tunnel Y1 generation 1 deleted", timeout=20)
    assert iked.wait_log("IKE tunnel K1 refreshed: generation 2", timeout=30)
    assert iked.wait_log("IKE tunnel K1 generation 1 deleted", timeout=20)
    assert len(iked.done_ike()) == 1 and len(iked.active_dyn()) == 1
    assert wait_until(lambda: charon_child(charon) is not None, timeout=10)
    ike, child = charon_child(charon)
    y = iked.active_dyn()[0]
    assert y["EncryptInboundSpi"].lower() == "0x" + child["spi-out"]
