"""The SA cache (z/OS V1R9): per tunnel iked keeps the attributes the two
sides agreed, and a refresh offers exactly those first. Here charon starts
the tunnels and accepts only what matches iked's SECOND offers (phase 1
KeyExchangeOffer o2 with Group19 in Aggressive Mode; phase 2 IpDataOffer d2
with PFS Group19 while iked's InitiateWithPfs is Group14). Refreshes that
iked starts succeed because they offer the cached attributes; with the cache
cleared the same refreshes offer the first configured offer and group, and
charon refuses them. The log shows the difference."""
import pytest

from iked_env import (charon_child, charon_conf, data_offer, iked_policy, ke_offer, wait_until)
from iked_env import charon, iked, topo, workdir  # noqa: F401  (fixtures)


def test_refresh_offers_the_agreed_attributes(topo, charon, iked, workdir):
    charon.start()
    charon.load(charon_conf(aggressive="yes", proposals="aes128-sha256-ecp256",
                            esp="aes128-sha256-ecp256", local_id="charon.example",
                            remote_id="iked.example"))
    offers = [ke_offer("o1", enc=256, hash_="SHA2_512", group=14),
              ke_offer("o2", enc=128, hash_="SHA2_256", group=19)]
    doffers = [data_offer("d1", enc="AES_GCM_16 KeyLength 256", auth=None),
               data_offer("d2", enc="AES_CBC KeyLength 128", auth="ESP HMAC_SHA2_256_128")]
    iked.start(iked_policy(workdir, mode="Aggressive", ke_offers=offers, data_offers=doffers,
                           local_id="Fqdn iked.example", remote_id="Fqdn charon.example",
                           pfs=("InitiateWithPfs Group14", "AcceptablePfs Group14",
                                "AcceptablePfs Group19")))
    r = charon.initiate()
    assert r.returncode == 0, r.stdout + r.stderr
    assert wait_until(lambda: iked.active_dyn(), timeout=10)
    k = iked.done_ike()[0]
    assert k["KeyExchangeOfferName"] == "o2" and k["Role"] == "Responder"
    y = iked.active_dyn()[0]
    assert y["IpDataOfferName"] == "d2" and y["DiffieHellmanGroup"] == "ECP_256"

    cache = {e["TunnelID"]: e for e in iked.json("--cache", "display")}
    assert cache["K1"]["KeyExchangeOfferName"] == "o2"
    assert cache["Y1"]["IpDataOfferName"] == "d2" and cache["Y1"]["PfsGroup"] == "Group19"

    # phase 1 refresh, from the cache: o2 with Group19 in Aggressive Mode
    iked.ipsec("-k", "refresh", "-a", "K1")
    assert iked.wait_log("IKE tunnel K1 refreshed: generation 2")
    assert "K1: refresh offering KeyExchangeOffer o2 first (SA cache: agreed at generation 1)" \
        in iked.log()
    assert iked.done_ike()[0]["Generation"] == 2
    assert iked.done_ike()[0]["OfferFromSaCache"] == "Yes"

    # phase 2 refresh, from the cache: d2 with PFS Group19 (not InitiateWithPfs Group14)
    iked.ipsec("-y", "refresh", "-a", "Y1")
    assert iked.wait_log("Dynamic tunnel Y1 refreshed: generation 2")
    assert "Y1.2: refresh offering IpDataOffer d2 first with PFS Group19 (SA cache: agreed at " \
           "generation 1)" in iked.log()
    y = iked.active_dyn()[0]
    assert y["Generation"] == 2 and y["DiffieHellmanGroup"] == "ECP_256"
    assert wait_until(lambda: charon_child(charon) is not None, timeout=10)

    # the same refreshes with the cache cleared offer the first configured
    # offer and InitiateWithPfs, which charon refuses
    out = iked.ipsec("--cache", "clear").stdout
    assert "2 SA cache entries cleared" in out
    iked.ipsec("-y", "refresh", "-a", "Y1")
    assert iked.wait_log("Quick Mode refused by 198.18.0.2: NO-PROPOSAL-CHOSEN")
    assert "Y1.3: refresh offering IpDataOffer d1 first with PFS Group14 (no SA cache entry)" \
        in iked.log()
    iked.ipsec("-k", "refresh", "-a", "K1")
    assert iked.wait_log("K1: refresh offering KeyExchangeOffer o1 first (no SA cache entry)")
    assert iked.wait_log("IKE tunnel K1: Aggressive Mode with 198.18.0.2 failed", timeout=30)
    # what was agreed before still stands
    assert iked.done_ike()[0]["Generation"] == 2
    assert iked.active_dyn()[0]["Generation"] == 2
