"""The algorithms of issue 5 against charon: phase 1 AES-CBC 128/192/256 with
SHA1 and SHA2 256/384/512 and DH groups 2, 5, 14, 15, 16, 19, 20, 21; phase 2
ESP AES-CBC with HMAC-SHA1-96 / SHA2-256-128 / 384-192 / 512-256 and
AES-GCM-16 128/256. Each case also checks that both sides derived the same
keys (iked --log-keys against charon's dumps)."""
import pytest

from iked_env import (charon_child, charon_conf, data_offer, iked_policy, ke_offer, wait_until)
from iked_env import charon, iked, topo, workdir  # noqa: F401  (fixtures)

PHASE1 = [
    # charon proposal, iked offer (enc, hash, group), charon's names
    ("aes128-sha1-modp1024", (128, "SHA1", 2), "MODP_1024"),
    ("aes192-sha256-modp1536", (192, "SHA2_256", 5), "MODP_1536"),
    ("aes256-sha384-modp3072", (256, "SHA2_384", 15), "MODP_3072"),
    ("aes256-sha512-modp4096", (256, "SHA2_512", 16), "MODP_4096"),
    ("aes128-sha256-ecp256", (128, "SHA2_256", 19), "ECP_256"),
    ("aes256-sha384-ecp384", (256, "SHA2_384", 20), "ECP_384"),
    ("aes256-sha512-ecp521", (256, "SHA2_512", 21), "ECP_521"),
]


def dumps(charon, name):
    return [b.hex() for n, b in charon.dumps() if n == name]


@pytest.mark.parametrize("proposal,ours,group", PHASE1, ids=[p[0] for p in PHASE1])
def test_phase1_algorithms(topo, charon, iked, workdir, proposal, ours, group):
    enc, hash_, dh = ours
    charon.start()
    charon.load(charon_conf(proposals=proposal, esp="aes128-sha256"))
    iked.start(iked_policy(workdir, ke_offers=[ke_offer("o", enc=enc, hash_=hash_, group=dh)],
                           pfs=("InitiateWithPfs None", "AcceptablePfs None")))
    iked.ipsec("-y", "activate", "toB")
    assert wait_until(lambda: iked.active_dyn(), timeout=30), iked.log()[-3000:]
    ike, child = charon_child(charon)
    assert ike["dh-group"] == group and ike["encr-keysize"] == str(enc)
    k = iked.done_ike()[0]
    assert k["KeyLength"] == enc
    keys = iked.keys()
    for name, dump in (("SKEYID", "SKEYID"), ("SKEYID_e", "SKEYID_e"),
                       ("ENC_KEY", "encryption key Ka")):
        assert keys[("K1.1", name)] in dumps(charon, dump), name


PHASE2 = [
    ("aes128-sha1", ("AES_CBC KeyLength 128", "ESP HMAC_SHA1"), "HMAC_SHA1_96"),
    ("aes128-sha256", ("AES_CBC KeyLength 128", "ESP HMAC_SHA2_256_128"), "HMAC_SHA2_256_128"),
    ("aes256-sha384", ("AES_CBC KeyLength 256", "ESP HMAC_SHA2_384_192"), "HMAC_SHA2_384_192"),
    ("aes192-sha512", ("AES_CBC KeyLength 192", "ESP HMAC_SHA2_512_256"), "HMAC_SHA2_512_256"),
    ("aes128gcm16", ("AES_GCM_16 KeyLength 128", None), None),
    ("aes256gcm16", ("AES_GCM_16 KeyLength 256", None), None),
]


@pytest.mark.parametrize("esp,ours,integ", PHASE2, ids=[p[0] for p in PHASE2])
def test_phase2_algorithms(topo, charon, iked, workdir, esp, ours, integ):
    enc, auth = ours
    charon.start()
    charon.load(charon_conf(esp=esp))
    iked.start(iked_policy(workdir, data_offers=[data_offer("d", enc=enc, auth=auth)],
                           pfs=("InitiateWithPfs None", "AcceptablePfs None")))
    assert charon.initiate().returncode == 0
    assert wait_until(lambda: iked.active_dyn(), timeout=10)
    ike, child = charon_child(charon)
    if integ:
        assert child["integ-alg"] == integ
    else:
        assert child["encr-alg"] == "AES_GCM_16"
    keys = iked.keys()
    # charon initiated: its "initiator" keys are iked's inbound ones
    assert keys[("Y1.1", "ESP_IN_ENC")] in dumps(charon, "encryption initiator key")
    assert keys[("Y1.1", "ESP_OUT_ENC")] in dumps(charon, "encryption responder key")
    if integ:
        assert keys[("Y1.1", "ESP_IN_INTEG")] in dumps(charon, "integrity initiator key")


def test_transport_mode(topo, charon, iked, workdir):
    """Host to host in UDP-encapsulated transport mode, with NAT-OA both ways.
    charon agrees to it, but kernel-libipsec cannot install transport-mode
    SAs ("unsupported mode") and deletes them; iked must follow the Delete."""
    from iked_env import A_ADDR, B_ADDR
    charon.start()
    charon.load(charon_conf(mode="transport", lnet=B_ADDR, rnet=A_ADDR))
    text = iked_policy(workdir, data_offers=[data_offer("t", encap="Transport")],
                       lnet=A_ADDR, rnet=B_ADDR)
    iked.start(text)
    iked.ipsec("-y", "activate", "toB")
    assert iked.wait_log("Dynamic tunnel Y1 activated")
    assert "transport (UDP-encapsulated)" in iked.log()
    assert "ESP transport udp-encap 4500->4500" in iked.log()
    log = charon.log()
    assert "parsed QUICK_MODE request" in log and "NAT-OA NAT-OA ]" in log
    assert wait_until(lambda: "IPsec SA: unsupported mode" in charon.log(), timeout=10)
    assert iked.wait_log("dynamic tunnel Y1 generation 1 deleted: deleted by the peer")
