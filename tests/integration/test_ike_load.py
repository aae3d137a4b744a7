"""Smoke runs of the IKE load generator (build/bench/ike_load) against both
responders it is measured with: a few negotiations from several addresses
with a few in flight, each from its own address (as in the benchmark, where
an address comes round again only long after its Deletes), every one completed and seen by the responder, no SA
left behind after the Deletes. No timing is asserted; scripts/bench-ike
measures."""
import re

import pytest

from iked_env import A_ADDR, B_ADDR, Charon, Iked, wait_until, workdir, topo  # noqa: F401
from ike_load_env import (CHARON_LOAD_SETTINGS, CHARON_LOG_LEVELS, GROUP_NAMES, add_initiator_addresses,
                          charon_responder_conf, iked_responder_policy, route_initiators,
                          run_load)

COUNT = 20


@pytest.fixture
def load_topo(topo):
    add_initiator_addresses(topo.a, COUNT)
    route_initiators(topo.b, A_ADDR)
    return topo


def check_result(res):
    assert res["rc"] == 0, res
    assert res.get("started") == COUNT and res.get("completed") == COUNT, res
    assert res.get("failed") == 0, res


@pytest.mark.parametrize("group", sorted(GROUP_NAMES))
def test_ike_load_against_iked(load_topo, workdir, group):
    ik = Iked(load_topo.b, workdir)
    ik.start(iked_responder_policy(ik.dir, B_ADDR), log_keys=False)
    try:
        res = run_load(load_topo.a, B_ADDR, group, concurrency=4, count=COUNT, sources=COUNT)
        check_result(res)
        # every negotiation reached the responder's kernel backend, and the
        # Deletes took each tunnel down again
        assert wait_until(lambda: ik.log().count("deleted: deleted by the peer") >= 2 * COUNT,
                          timeout=10), ik.log()[-3000:]
        assert len(re.findall(r"Dynamic tunnel Y\d+ activated", ik.log())) == COUNT
        assert "PFS Group%d" % group in ik.log()
        assert ik.tunnels("-y") == [] and ik.done_ike() == []
    finally:
        ik.stop()


@pytest.mark.parametrize("group", sorted(GROUP_NAMES))
def test_ike_load_against_charon(load_topo, workdir, group):
    ch = Charon(load_topo.b, workdir)
    ch.start(extra=CHARON_LOAD_SETTINGS, levels=CHARON_LOG_LEVELS)
    try:
        ch.load(charon_responder_conf(B_ADDR))
        res = run_load(load_topo.a, B_ADDR, group, concurrency=4, count=COUNT, sources=COUNT)
        check_result(res)
        assert wait_until(lambda: ch.list_sas() == [], timeout=10), ch.log()[-3000:]
        assert len(re.findall(r"CHILD_SA c\{\d+\} established", ch.log())) == COUNT
    finally:
        ch.stop()
