"""Soak run for iked (make soak-iked, not part of make check): five minutes of
refreshes against charon from both sides - charon rekeys its CHILD_SA every
6 s and reauthenticates every 12 s, iked refreshes its dynamic tunnel every
3 s by command - then checks that exactly one IKE and one dynamic tunnel are
left, that the generations advanced, and that iked's memory did not grow."""
import os
import time

from iked_env import charon_conf, data_offer, iked_policy, ke_offer, wait_until
from iked_env import charon, iked, topo, workdir  # noqa: F401  (fixtures)

SECONDS = int(os.environ.get("IKED_SOAK_SECONDS", "300"))


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_soak_refreshes(topo, charon, iked, workdir):
    charon.start(quiet=True)
    charon.load(charon_conf(child_extra="        rand_time = 0\n        life_time = 70s\n",
                            rekey_time="6s",
                            ike_extra="    rekey_time = 12s\n    reauth_time = 0\n"
                                      "    rand_time = 0\n    over_time = 60s\n"))
    iked.start(iked_policy(workdir, ke_offers=[ke_offer("o1", acc_min=1)],
                           data_offers=[data_offer("d1", acc_min=1)]), log_keys=False)
    assert charon.initiate().returncode == 0
    assert wait_until(lambda: iked.active_dyn(), timeout=10)
    time.sleep(5)
    start_rss = rss_kb(iked.proc.pid)
    end = time.monotonic() + SECONDS
    refreshes = 0
    for _ in range(SECONDS):
        if time.monotonic() >= end:
            break
        ys = iked.active_dyn()
        if ys:
            iked.ipsec("-y", "refresh", "-a", ys[0]["TunnelID"], check=False)
            refreshes += 1
        time.sleep(3)
    assert iked.alive()
    assert wait_until(lambda: len(iked.done_ike()) == 1 and len(iked.active_dyn()) == 1,
                      timeout=30)
    y = iked.active_dyn()[0]
    k = iked.done_ike()[0]
    assert y["Generation"] > SECONDS // 6 and k["Generation"] > SECONDS // 20
    # charon never lost track: one INITIAL-CONTACT (the first contact), and
    # its stale CHILD_SAs are all deleted
    assert iked.log().count("INITIAL-CONTACT from") == 1
    assert wait_until(lambda: sum(len(i["children"]) for i in charon.list_sas()) == 1, timeout=15)
    grown = rss_kb(iked.proc.pid) - start_rss
    print("refreshes by command: %d, Y generation %s, K generation %s, RSS growth %d kB"
          % (refreshes, y["Generation"], k["Generation"], grown))
    assert grown < 4096
