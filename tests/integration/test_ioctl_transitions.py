"""No byte lost or misplaced when a program starts or stops TLS (issue 4,
item 3). The program is ttls_driver under attls; the other end is a TLS
peer in this process (Python's ssl module over memory BIOs), so each test
decides what is on the wire, in which order, in which segment. Every case
runs with the program as TLS server and as TLS client."""
import os
import re

import pytest

from shim_helpers import *          # noqa: F401,F403 (fixtures certs, work, procs)
from ioctl_helpers import pattern, session  # noqa: F401 (fixture)

ROLES = ["server", "client"]


def test_clienthello_already_in_flight_when_tls_starts(session):
    """The peer sends STARTTLS and its ClientHello in one segment, without
    waiting; both are in the program's socket when it reads its command line
    and starts TLS. The ClientHello must go to the handshake, not be lost."""
    s = session("server")
    s.peer.tls_begin()
    hello = s.peer.hello_bytes()
    s.peer.send_raw(b"STARTTLS\r\n" + hello)
    assert s.d.do(f"avail {10 + len(hello)}").startswith("ok avail")
    assert s.d.do("expect STARTTLS\\r\\n") == "ok"
    s.d.send("init")
    s.peer.handshake()
    assert s.d.answer().startswith("ok secure, server, TLSv1.3")
    s.tls_both_ways(100_000)
    assert "with the peer's first bytes already here" in log_text(s.log)


@pytest.mark.parametrize("role", ROLES)
def test_program_writes_just_before_starting_tls(session, role):
    """The program writes its last clear line and at once asks for TLS: the
    line reaches the peer whole, in clear text, before the first handshake
    byte."""
    s = session(role)
    s.d.send("send 220 go ahead\\r\\n")
    s.d.send("init")
    assert s.d.answer() == "ok sent 14"
    s.peer.expect_clear(b"220 go ahead\r\n")
    s.peer.start_tls()
    assert s.d.answer().startswith(f"ok secure, {role}, TLSv1.3")
    s.tls_both_ways(50_000)


@pytest.mark.parametrize("role", ROLES)
def test_program_writes_just_before_stopping_tls(session, role):
    """Data the program wrote under TLS right before STOP arrives under TLS,
    before the close_notify; the clear text after it is clear."""
    s = session(role)
    s.start_tls()
    data = os.urandom(200_000)
    s.d.send(f"echo {len(data)}")
    s.d.send("stop")
    s.peer.send(data)
    s.peer.expect(data)
    assert s.d.answer() == f"ok echoed {len(data)}"
    s.peer.stop_tls()
    assert s.d.answer() == "ok not secure"
    s.clear_both_ways("after")


@pytest.mark.parametrize("role", ROLES)
def test_burst_written_just_before_stop_goes_under_tls(session, role):
    """The program writes a burst larger than the shim moves in one step and
    stops TLS at once: every byte of it is TLS data before the close_notify,
    none comes after it in clear text."""
    s = session(role)
    s.start_tls()
    size = 2_000_000
    s.d.send(f"pattern {size}")
    s.d.send("stop")
    s.peer.expect(pattern(size))
    assert s.d.answer() == f"ok sent {size}"
    s.peer.stop_tls()
    assert s.d.answer() == "ok not secure"
    assert s.peer.inbuf == b""
    s.clear_both_ways("after")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("who_first", ["peer", "program"])
def test_clear_text_right_behind_the_peers_close_notify(session, role, who_first):
    """The peer sends its close_notify and clear text in one segment. Those
    clear bytes are the program's, in clear, after its STOP; nothing of them
    is taken for TLS. who_first: whose close_notify leaves first (for the
    peer going first the program asks only once the shim has seen it)."""
    s = session(role)
    s.start_tls()
    s.tls_both_ways(10_000)
    if who_first == "program":
        s.d.send("stop")
        wait_for(lambda: "program stops TLS: close_notify sent" in log_text(s.log), 15,
                 "the program's close_notify")
    s.peer.send_raw(s.peer.close_notify_bytes() + b"HELO right behind\r\n")
    if who_first == "peer":
        wait_for(lambda: "peer ended TLS (close_notify)" in log_text(s.log), 15,
                 "the shim to see the peer's close_notify")
        s.d.send("stop")
    s.peer.finish_stop()
    assert s.d.answer() == "ok not secure"
    assert s.d.do("expect HELO right behind\\r\\n") == "ok"
    s.clear_both_ways("after")


@pytest.mark.parametrize("role", ROLES)
def test_five_start_stop_cycles_on_one_connection(session, role):
    s = session(role)
    for i in range(5):
        s.clear_both_ways(f"clear {i}")
        s.start_tls()
        s.tls_both_ways(30_000 + i)
        assert s.d.do("query").startswith(f"ok secure, {role}, TLSv1.3")
        s.stop_tls()
        assert s.d.do("query") == "ok not secure"
    s.clear_both_ways("end")
    handshakes = re.findall(r"secure: TLS1\.3 \S+( \(resumed\))?", log_text(s.log))
    assert len(handshakes) == 5, log_text(s.log)

