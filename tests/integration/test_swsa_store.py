"""iked's SWSA store against a real redis-server (loopback, a free port, no
persistence), through tests/progs/swsa_driver: the store in an event loop of
its own, driven line by line. Records land as readable JSON under
attls:swsa:<DVIPA>:<TUNNEL>; the password comes from its file and never shows
in a log; a Redis that is down at start, killed, restarted or silent never
holds the loop up, the outage is logged once, and what was pending lands when
Redis is back (records the restart lost are written again, but never over
another node's)."""
import json
import os
import signal
import socket
import subprocess
import time

import pytest

from conftest import BUILD
from shim_helpers import free_port, need, procs, wait_for, work  # noqa: F401 (fixtures)

DRIVER = BUILD / "tests" / "progs" / "swsa_driver"
DVIPA = "198.18.5.10"
WAIT = 15


class Redis:
    """A redis-server of this test: 127.0.0.1, a port of its own, no disk."""

    def __init__(self, procs, work, port, password=None):
        self.procs, self.work, self.port, self.password = procs, work, port, password
        self.p = None

    def start(self):
        argv = [need("redis-server"), "--bind", "127.0.0.1", "--port", str(self.port),
                "--save", "", "--appendonly", "no", "--dir", str(self.work)]
        if self.password:
            argv += ["--requirepass", self.password]
        self.p = self.procs.start(argv, name=f"redis{self.port}-{time.monotonic_ns()}")
        wait_for(lambda: self.cli("PING").strip() == "PONG", WAIT, "redis-server to answer")
        return self

    def kill(self):
        self.procs.stop(self.p, sig=signal.SIGKILL)

    def cli(self, *args):
        env = dict(os.environ)
        if self.password:
            env["REDISCLI_AUTH"] = self.password
        r = subprocess.run([need("redis-cli"), "-h", "127.0.0.1", "-p", str(self.port), *args],
                           capture_output=True, text=True, timeout=10, env=env)
        return r.stdout

    def keys(self):
        return sorted(self.cli("--scan", "--pattern", "attls:swsa:*").split())

    def get(self, key):
        return self.cli("--raw", "GET", key).rstrip("\n")


class Driver:
    """swsa_driver: one command in, its JSON answer(s) out."""

    def __init__(self, procs, url, node="nodeA", pwfile="-", timeout_ms=500, retry_max_ms=300):
        assert DRIVER.is_file(), "run `make all` first"
        self.procs = procs
        self.p = procs.start([DRIVER, url, node, pwfile, timeout_ms, retry_max_ms],
                             name=f"driver-{node}-{time.monotonic_ns()}",
                             stdin=subprocess.PIPE)
        self.seen = 0

    def lines(self):
        return [json.loads(l) for l in self.procs.out(self.p).splitlines() if l.strip()]

    def wait(self, cmd, **match):
        def find():
            for i, a in enumerate(self.lines()[self.seen:], self.seen):
                if a["cmd"] == cmd and all(a.get(k) == v for k, v in match.items()):
                    self.seen = i + 1
                    return a
            return None
        return wait_for(find, WAIT, f"driver answer {cmd} {match}")

    def send(self, line):
        self.p.stdin.write((line + "\n").encode())
        self.p.stdin.flush()

    def cmd(self, line, answer=None):
        self.send(line)
        return self.wait(answer or line.split()[0])

    def put(self, dvipa, rule, gen):
        a = self.cmd(f"put {dvipa} {rule} {gen}")
        assert a["rc"] == 0
        return a

    def state(self, dvipa, tunnel):
        return self.cmd(f"state {dvipa} {tunnel}")["state"]

    def wait_state(self, dvipa, tunnel, want):
        wait_for(lambda: self.state(dvipa, tunnel) == want, WAIT, f"record state {want}")

    def read(self, what, dvipa="all", timeout_ms=WAIT * 1000):
        rid = self.cmd(f"{what} {dvipa} {timeout_ms}")["id"]
        assert rid > 0
        return self.wait("records" if what == "get" else "rows", id=rid)

    def log(self):
        return self.procs.err(self.p)


@pytest.fixture
def redis(procs, work):
    return Redis(procs, work, free_port()).start()


def url(r):
    return f"redis://127.0.0.1:{r.port}"


def test_records_are_readable_json_under_their_keys(procs, redis):
    d = Driver(procs, url(redis))
    b = d.put(DVIPA, "toB", 1)
    c = d.put(DVIPA, "toC", 1)
    other = d.put("2001:db8::10", "toD", 4)
    for a, dv in ((b, DVIPA), (c, DVIPA), (other, "2001:db8::10")):
        d.wait_state(dv, a["tunnel"], "written")
    assert redis.keys() == sorted([b["key"], c["key"], other["key"]])
    assert b["key"] == f"attls:swsa:{DVIPA}:{b['tunnel']}"

    rec = json.loads(redis.get(b["key"]))
    assert rec["Format"] == 1 and rec["Owner"] == "nodeA" and rec["IpFilterRule"] == "toB"
    assert rec["LocalSecurityEndpoint"] == DVIPA and rec["Tunnel"] == b["tunnel"]
    assert rec["Phase1"] == {"Mode": "Main", "KeyExchangeOffer": "ke2", "HowToEncrypt": "AES_CBC",
                             "KeyLength": 256, "HowToAuthMsgs": "SHA2_256", "DHGroup": "Group19",
                             "HowToAuthPeers": "PresharedKey", "LifetimeSeconds": 28800,
                             "LifesizeKB": 0}
    assert rec["Phase2"]["HowToAuth"] == "HMAC_SHA2_256_128" and rec["Phase2"]["Pfs"] == "Group14"

    got = d.read("get", DVIPA)
    assert got["err"] == 0 and got["unreadable"] == 0
    assert sorted(r["rule"] for r in got["records"]) == ["toB", "toC"]

    # garbage under our prefix is counted and named in the log, never fatal
    redis.cli("SET", f"attls:swsa:{DVIPA}:{'0' * 32}", "{not json")
    redis.cli("HSET", f"attls:swsa:{DVIPA}:{'1' * 32}", "a", "b")
    redis.cli("SET", "attls:swsa:junk", "x")
    rows = d.read("inspect")
    assert rows["err"] == 0 and rows["unreadable"] == 3
    assert [(r["Dvipa"], r["IpFilterRule"], r["Owner"], r["Generation"])
            for r in rows["records"]] == [(DVIPA, "toB", "nodeA", 1), (DVIPA, "toC", "nodeA", 1),
                                          ("2001:db8::10", "toD", "nodeA", 4)]
    assert rows["text"].splitlines()[0].split() == ["DVIPA", "IpFilterRule", "Peer", "Owner",
                                                    "Generation", "Age"]
    assert "3 records, 3 unreadable" in rows["text"]
    assert d.log().count("is unreadable and ignored") == 3
    assert "record attls:swsa:junk is unreadable and ignored: not a record key\n" in d.log()

    d.cmd(f"delete {DVIPA} {b['tunnel']}")
    wait_for(lambda: b["key"] not in redis.keys(), WAIT, "the deleted record to go")
    assert d.state(DVIPA, b["tunnel"]) == "none"
    assert c["key"] in redis.keys()


def test_password_comes_from_its_file_and_never_shows(procs, work):
    r = Redis(procs, work, free_port(), password="s3cret-pw").start()
    pw = work / "redis.pw"
    pw.write_text("wrong-pw\n")
    d = Driver(procs, f"redis://127.0.0.1:{r.port}/3", pwfile=pw)
    a = d.put(DVIPA, "toB", 1)
    wait_for(lambda: "cannot be used" in d.log(), WAIT, "the outage to be logged")
    assert d.state(DVIPA, a["tunnel"]) == "pending"
    # the password is read at each connection: fixing the file is enough
    pw.write_text("s3cret-pw\n")
    d.wait_state(DVIPA, a["tunnel"], "written")
    assert r.cli("-n", "3", "--scan", "--pattern", "attls:swsa:*").split() == [a["key"]]
    log = d.log()
    assert log.count("cannot be used") == 1
    assert f"SWSA store redis://127.0.0.1:{r.port}/3 cannot be used (connect: AUTH: " in log
    assert "is back; 1 record writes pending" in log
    assert "s3cret-pw" not in log and "wrong-pw" not in log


def test_redis_down_at_start(procs, work):
    port = free_port()
    d = Driver(procs, f"redis://127.0.0.1:{port}")
    a = d.put(DVIPA, "toB", 1)
    wait_for(lambda: "cannot be used" in d.log(), WAIT, "the outage to be logged")
    assert d.cmd("ping", "pong")["rc"] == 0
    st = d.cmd("pending")
    assert st["pending"] == 1 and st["up"] is False
    # a takeover's read waits for the store, within its own time limit
    assert d.read("get", DVIPA, timeout_ms=200)["err"] == 110      # ETIMEDOUT
    r = Redis(procs, work, port).start()
    d.wait_state(DVIPA, a["tunnel"], "written")
    assert r.keys() == [a["key"]]
    assert d.log().count("cannot be used") == 1
    assert d.cmd("pending")["up"] is True


def test_killed_redis_restarted_gets_pending_and_lost_records(procs, work):
    port = free_port()
    r = Redis(procs, work, port).start()
    d = Driver(procs, f"redis://127.0.0.1:{port}")
    first = d.put(DVIPA, "toB", 1)
    d.wait_state(DVIPA, first["tunnel"], "written")
    r.kill()
    second = d.put(DVIPA, "toC", 1)
    wait_for(lambda: "cannot be used" in d.log(), WAIT, "the outage to be logged")
    assert d.state(DVIPA, second["tunnel"]) == "pending"
    assert d.cmd("ping", "pong")["rc"] == 0
    # a Redis without persistence comes back empty: the pending write lands,
    # and the record written before the crash is written again
    r = Redis(procs, work, port).start()
    d.wait_state(DVIPA, second["tunnel"], "written")
    d.wait_state(DVIPA, first["tunnel"], "written")
    assert r.keys() == sorted([first["key"], second["key"]])
    assert json.loads(r.get(first["key"]))["IpFilterRule"] == "toB"
    log = d.log()
    assert log.count("cannot be used") == 1 and log.count("is back;") == 1


def test_restore_never_overwrites_a_new_owner(procs, work):
    port = free_port()
    r = Redis(procs, work, port).start()
    a = Driver(procs, f"redis://127.0.0.1:{port}", node="nodeA")
    mine = a.put(DVIPA, "toB", 1)
    a.wait_state(DVIPA, mine["tunnel"], "written")
    text = r.get(mine["key"])
    r.kill()
    r = Redis(procs, work, port).start()
    # nodeB took the DVIPA over while nodeA had not noticed the restart
    taken = json.loads(text)
    taken["Owner"], taken["Generation"] = "nodeB", 2
    r.cli("SET", mine["key"], json.dumps(taken))
    other = a.put(DVIPA, "toC", 1)      # nodeA's next write finds the new connection
    a.wait_state(DVIPA, other["tunnel"], "written")
    a.wait_state(DVIPA, mine["tunnel"], "written")
    assert json.loads(r.get(mine["key"]))["Owner"] == "nodeB"
    # and nodeA's delete leaves nodeB's record alone
    a.cmd(f"delete {DVIPA} {mine['tunnel']}")
    wait_for(lambda: "names another owner now; it stays" in a.log(), WAIT, "the kept record")
    assert json.loads(r.get(mine["key"]))["Owner"] == "nodeB"


def test_a_silent_redis_never_holds_the_loop(procs):
    """A server that accepts and never answers: the worker waits (up to its
    timeout) while the loop keeps answering."""
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        port = srv.getsockname()[1]
        d = Driver(procs, f"redis://127.0.0.1:{port}", timeout_ms=3000)
        a = d.put(DVIPA, "toB", 1)
        srv.settimeout(WAIT)
        conn, _ = srv.accept()          # the worker is now waiting for PONG
        with conn:
            for _ in range(5):
                assert d.cmd("ping", "pong")["rc"] == 0
            assert d.state(DVIPA, a["tunnel"]) == "pending"
            conn.settimeout(WAIT)
            assert conn.recv(100).startswith(b"*1\r\n$4\r\nPING")   # and nothing came back
        wait_for(lambda: "cannot be used (connect: PING:" in d.log(), WAIT, "the timeout")


def test_dir_store_shared_by_two_nodes(procs, work):
    store = work / "swsa"
    store.mkdir()
    a = Driver(procs, f"dir:{store}", node="nodeA")
    b = Driver(procs, f"dir:{store}", node="nodeB")
    rec = a.put(DVIPA, "toB", 1)
    a.wait_state(DVIPA, rec["tunnel"], "written")
    f = store / f"{DVIPA}_{rec['tunnel']}.json"
    assert json.loads(f.read_text())["Owner"] == "nodeA"
    # nodeB takes over: its read finds nodeA's record, its write replaces it
    got = b.read("get", DVIPA)
    assert [(r["rule"], r["owner"]) for r in got["records"]] == [("toB", "nodeA")]
    b.put(DVIPA, "toB", 2)
    b.wait_state(DVIPA, rec["tunnel"], "written")
    assert json.loads(f.read_text())["Owner"] == "nodeB"
    a.cmd(f"forget {DVIPA}")
    assert a.state(DVIPA, rec["tunnel"]) == "none"
    assert a.cmd("close 5000", "closed")["rc"] == 0
    assert json.loads(f.read_text())["Generation"] == 2
