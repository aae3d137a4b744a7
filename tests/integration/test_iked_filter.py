"""The IP filter policy enforced with nftables: iked in namespace A installs
`table inet attls`, namespace B sends real traffic at it (ping, TCP), and the
drops, the z/OS log lines, SIGHUP reloads (atomic, and refused when broken)
and the table's removal at stop are checked in the kernel itself."""
import os
import re
import shutil
import signal
import subprocess

import pytest

from iked_env import (A_ADDR, A_NET, B_ADDR, B_NET, IKED, iked_policy, run, stop_pid,
                      wait_until)
from iked_env import iked, topo, workdir  # noqa: F401  (fixtures)
from shim_helpers import free_port

PYTHON = "/usr/bin/python3"

# A TCP server that answers "ok" to every connection; it says it is ready in
# a file, so the test never races its bind.
SERVER = r"""
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(8)
open(sys.argv[3], "w").close()
while True:
    c, _ = s.accept()
    c.sendall(b"ok\n")
    c.close()
"""

# One connection attempt, bounded by a timeout; exit 0 when "ok" came back.
CLIENT = r"""
import socket, sys
try:
    c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3]))
    sys.exit(0 if c.recv(16) == b"ok\n" else 1)
except OSError as e:
    print(e)
    sys.exit(1)
"""


def need_filter_tools():
    missing = [t for t in ("nft", "ping") if not shutil.which(t)]
    if missing:
        pytest.fail("missing tools: " + ", ".join(missing) + " (run scripts/deps)")


ACTIONS = """
IpGenericFilterAction permit { IpFilterAction Permit }
IpGenericFilterAction deny { IpFilterAction Deny IpFilterLogging Yes }
"""


def rules(web_action="deny"):
    """ping permitted, TCP to A's unprivileged ports denied (or permitted)."""
    return """
IpFilterRule ping
{
  IpSourceAddr %(a)s
  IpDestAddr %(b)s
  IpService { Protocol ICMP }
  IpGenericFilterActionRef permit
}
IpFilterRule web
{
  IpSourceAddr %(a)s
  IpDestAddr %(b)s
  IpService { Protocol TCP SourcePortRange 1024 65535 }
  IpGenericFilterActionRef %(web)s
}
""" % dict(a=A_ADDR, b=B_ADDR, web=web_action)


def filter_policy(workdir, web_action="deny", policy_lines=None, rules_text=None):
    """iked's usual test policy, its IpFilterPolicy replaced: by default ping
    and web first, then toB (whose clear text is logged); the implicit deny
    logs too."""
    text = iked_policy(workdir)
    old = "IpFilterPolicy\n{\n  IpFilterRuleRef toB\n}\n"
    assert old in text
    lines = policy_lines if policy_lines is not None else [
        "IpFilterLogImplicit Yes", "IpFilterRuleRef ping", "IpFilterRuleRef web",
        "IpFilterRuleRef toB"]
    new = "IpFilterPolicy\n{\n%s}\n" % "".join("  %s\n" % l for l in lines)
    text = text.replace(old, new)
    text = text.replace("  IpFilterAction IpSec\n}", "  IpFilterAction IpSec\n  IpFilterLogging Yes\n}")
    return text + ACTIONS + (rules(web_action) if rules_text is None else rules_text)


def nft(ns, *args, check=False):
    return run(["ip", "netns", "exec", ns, "nft"] + list(args), check=check)


def table(ns):
    """The table without counters, or None when there is none."""
    r = nft(ns, "-s", "list", "table", "inet", "attls")
    return r.stdout if r.returncode == 0 else None


def ping(ns, dst, src=None):
    cmd = ["ip", "netns", "exec", ns, "ping", "-n", "-c", "1", "-W", "2"]
    if src:
        cmd += ["-I", src]
    return run(cmd + [dst], check=False).returncode == 0


class Server:
    def __init__(self, ns, addr, workdir):
        self.port = free_port()
        ready = os.path.join(workdir, "server-%d.ready" % self.port)
        self.proc = subprocess.Popen(["ip", "netns", "exec", ns, PYTHON, "-c", SERVER, addr,
                                      str(self.port), ready])
        if not wait_until(lambda: os.path.exists(ready), timeout=10):
            self.stop()
            pytest.fail("TCP server did not start")

    def stop(self):
        stop_pid(self.proc.pid)


def connects(ns, addr, port, timeout=2.0):
    """A bounded connection attempt: a silent drop takes the whole timeout."""
    r = run(["ip", "netns", "exec", ns, PYTHON, "-c", CLIENT, addr, str(port), str(timeout)],
            check=False, timeout=30)
    return r.returncode == 0


@pytest.fixture
def server(topo, workdir):
    s = Server(topo.a, A_ADDR, workdir)
    yield s
    s.stop()


def test_deny_drops_permit_passes_and_the_table_lives_with_iked(topo, iked, server, workdir):
    need_filter_tools()
    # without iked nothing is filtered
    assert table(topo.a) is None
    assert connects(topo.b, A_ADDR, server.port)
    iked.start(filter_policy(workdir))
    t = table(topo.a)
    assert t is not None
    assert 'comment "web ext 2"' in t and 'comment "implicit deny"' in t
    assert ping(topo.b, A_ADDR)                       # Permit
    assert not connects(topo.b, A_ADDR, server.port)  # Deny
    # the denied SYN in z/OS words, once the kernel handed it over
    pat = (r"EZD0815I Packet denied by policy: \d\d/\d\d/\d{4} [\d:.]+ filter rule= web ext= 2 "
           r"sipaddr= %s dipaddr= %s proto= TCP\(6\) sport= \d+ dport= %d Interface= %s \(I\) "
           r"secclass= 0 dest= local len= \d+ vpnaction= N/A tunnelID= N/A ifcname= %s "
           r"fragment= N" % (re.escape(B_ADDR), re.escape(A_ADDR), server.port, re.escape(A_ADDR),
                             topo.va))
    assert wait_until(lambda: re.search(pat, iked.log()), timeout=10), iked.log()[-3000:]
    # no rule covers UDP: the implicit deny drops and logs it
    run(["ip", "netns", "exec", topo.b, PYTHON, "-c",
         "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM)"
         ".sendto(b'x', ('%s', %d))" % (A_ADDR, server.port)])
    assert wait_until(lambda: re.search(r"filter rule= SYSDEFAULTDENYRULE ext= 1 .* proto= UDP\(17\) "
                                        r"sport= \d+ dport= %d " % server.port, iked.log()),
                      timeout=10)
    # SIGTERM: iked takes its table with it
    iked.stop()
    assert table(topo.a) is None
    assert connects(topo.b, A_ADDR, server.port)
    assert "IP filter: table inet attls removed" in iked.log()


def test_clear_text_of_an_ipsec_rule_is_dropped_both_ways(topo, iked, workdir):
    """The toB selectors in clear text: B's packet to A's protected network
    is dropped on arrival, and A's answer would never leave in clear."""
    need_filter_tools()
    run(["ip", "-n", topo.b, "route", "add", A_NET + "/32", "via", A_ADDR])
    run(["ip", "-n", topo.a, "route", "add", B_NET + "/32", "via", B_ADDR])
    assert ping(topo.b, A_NET, src=B_NET)             # routed fine without the filter
    iked.start(filter_policy(workdir))
    assert not ping(topo.b, A_NET, src=B_NET)
    assert not ping(topo.a, B_NET, src=A_NET)
    pat_in = (r"EZD0822I Packet denied, tunnel inactive: .* filter rule= toB ext= 2 sipaddr= %s "
              r"dipaddr= %s proto= ICMP\(1\) type= 8 code= 0 .* \(I\) .* vpnaction= vpn "
              % (re.escape(B_NET), re.escape(A_NET)))
    pat_out = (r"EZD0822I Packet denied, tunnel inactive: .* filter rule= toB ext= 1 sipaddr= %s "
               r"dipaddr= %s proto= ICMP\(1\) type= 8 code= 0 .* \(O\) .* vpnaction= vpn "
               % (re.escape(A_NET), re.escape(B_NET)))
    assert wait_until(lambda: re.search(pat_in, iked.log()) and re.search(pat_out, iked.log()),
                      timeout=10), iked.log()[-3000:]
    # the drops are the filter's: counted on toB's rules
    counted = nft(topo.a, "list", "table", "inet", "attls").stdout
    assert re.search(r'counter packets [1-9]\d* bytes \d+ drop comment "toB ext 2"', counted)
    assert re.search(r'counter packets [1-9]\d* bytes \d+ drop comment "toB ext 1"', counted)


class Monitor:
    """`nft monitor` in a namespace: the kernel's own record of what each
    transaction changed, with a "# new generation" line after each commit."""

    def __init__(self, ns, workdir):
        self.path = os.path.join(workdir, "monitor.out")
        out = open(self.path, "w")
        # line-buffered: nft writes its events through stdio
        self.proc = subprocess.Popen(["ip", "netns", "exec", ns, "stdbuf", "-oL", "nft", "monitor"],
                                     stdout=out, stderr=subprocess.STDOUT)
        out.close()

    def text(self):
        with open(self.path) as f:
            return f.read()

    def stop(self):
        stop_pid(self.proc.pid)


def test_sighup_replaces_the_table_atomically_and_keeps_it_on_a_bad_edit(topo, iked, server,
                                                                         workdir):
    need_filter_tools()
    iked.start(filter_policy(workdir))
    before = table(topo.a)
    assert not connects(topo.b, A_ADDR, server.port)
    # a broken edit: refused, the table and what it does stay
    iked.write_policy("IkeConfig { Nonsense 1 }\n")
    os.kill(iked.proc.pid, signal.SIGHUP)
    assert iked.wait_log("policy reload failed; the previous policy stays in effect")
    assert table(topo.a) == before
    assert not connects(topo.b, A_ADDR, server.port)
    # a valid edit: web now permits; the kernel sees one transaction that
    # deletes the old table and adds the new one
    mon = Monitor(topo.a, workdir)
    try:
        # nft monitor subscribes before it prints anything; give it the
        # first event to prove it listens: a table of its own, then gone
        assert wait_until(lambda: nft(topo.a, "add", "table", "inet", "probe").returncode == 0
                          and nft(topo.a, "delete", "table", "inet", "probe").returncode == 0
                          and "delete table inet probe" in mon.text(), timeout=10)
        iked.write_policy(filter_policy(workdir, web_action="permit"))
        os.kill(iked.proc.pid, signal.SIGHUP)
        assert iked.wait_log("installed as table inet attls (generation 2)")
        assert wait_until(lambda: "# new generation" in
                          mon.text().rsplit("add table inet attls", 1)[-1], timeout=10)
    finally:
        mon.stop()
    events = mon.text().rsplit("delete table inet probe", 1)[1].splitlines()
    commits = [i for i, l in enumerate(events) if l.startswith("# new generation")]
    deleted = events.index("delete table inet attls")
    added = events.index("add table inet attls")
    # the probe's delete commits first; then one commit holds iked's delete and add
    assert commits[0] < deleted < added < commits[1], "\n".join(events)
    after = table(topo.a)
    assert after != before
    assert 'tcp dport 1024-65535 counter accept comment "web ext 2"' in after
    assert 'tcp dport 1024-65535 counter drop comment "web ext 2"' in before
    assert connects(topo.b, A_ADDR, server.port)
    assert ping(topo.b, A_ADDR)


def test_a_policy_without_filter_rules_installs_nothing(topo, iked, server, workdir):
    need_filter_tools()
    iked.start(filter_policy(workdir, policy_lines=[]))
    assert "0 IpFilterRule(s)" in iked.log()
    assert table(topo.a) is None
    assert connects(topo.b, A_ADDR, server.port)
    # rules arrive with a reload, and leave with the next one
    iked.write_policy(filter_policy(workdir))
    os.kill(iked.proc.pid, signal.SIGHUP)
    assert iked.wait_log("(generation 1)")
    assert table(topo.a) is not None
    iked.write_policy(filter_policy(workdir, policy_lines=[]))
    os.kill(iked.proc.pid, signal.SIGHUP)
    assert iked.wait_log("IP filter: table inet attls removed")
    assert table(topo.a) is None
    assert connects(topo.b, A_ADDR, server.port)


SHAPES = """
IpFilterRule icmp { IpSourceAddr %(a)s IpDestAddr %(b)s IpService { Protocol ICMP }
  IpGenericFilterActionRef permit }
IpAddrSet peers { Prefix 198.18.0.0/24 Range 198.18.1.1-198.18.1.9 }
IpFilterRule web { IpSourceAddr %(a)s IpDestAddrSetRef peers
  IpService { Protocol TCP SourcePortRange 80 DestinationPortRange 1024 65535
              Direction Bidirectional InboundConnect }
  IpGenericFilterActionRef deny-icmp }
IpFilterRule routed-in { IpSourceAddr 2001:db8::/32
  IpService { Protocol UDP DestinationPortRange 53 Direction Inbound Routing Routed }
  IpGenericFilterActionRef deny }
IpFilterRule ospf-out { IpService { Protocol 89 Direction Outbound Routing Either }
  IpGenericFilterActionRef permit }
IpFilterRule any-outconn { IpSourceAddr %(a)s IpDestAddr 198.18.0.3
  IpService { Direction Bidirectional OutboundConnect } IpGenericFilterActionRef permit }
IpAddrGroup both { IpAddr { Addr %(a)s } IpAddr { Addr 2001:db8::1 } }
IpFilterRule mixed { IpSourceAddrGroupRef both IpGenericFilterActionRef deny }
IpGenericFilterAction deny-icmp { IpFilterAction Deny IpFilterLogging Yes DiscardAction ICMP }
""" % dict(a=A_ADDR, b=B_ADDR)


@pytest.mark.parametrize("backend", ["log", "xfrm"])
def test_every_rule_shape_loads_into_the_kernel(topo, iked, workdir, backend):
    """What the unit test pins as text, the kernel accepts, for each data path."""
    need_filter_tools()
    text = filter_policy(workdir, rules_text=SHAPES, policy_lines=[
        "IpFilterLogImplicit Yes", "IpFilterRuleRef icmp", "IpFilterRuleRef web",
        "IpFilterRuleRef routed-in", "IpFilterRuleRef ospf-out", "IpFilterRuleRef toB",
        "IpFilterRuleRef any-outconn", "IpFilterRuleRef mixed"])
    iked.start(text.replace("KernelBackend log", "KernelBackend " + backend))
    t = table(topo.a)
    assert t is not None, iked.log()[-3000:]
    for ext in ("web ext 1", "routed-in ext 1", "ospf-out ext 2", "any-outconn ext 2", "mixed ext 2"):
        assert 'comment "%s"' % ext in t, ext
    assert ("meta ipsec exists" in t) == (backend == "xfrm")
    # web's DiscardAction ICMP answers B's connection attempt to port 80 at
    # once: administratively prohibited, which the client sees as no route
    r = run(["ip", "netns", "exec", topo.b, PYTHON, "-c", CLIENT, A_ADDR, "80", "20"],
            check=False, timeout=30)
    assert r.returncode == 1 and "No route to host" in r.stdout, r.stdout
    assert iked.wait_log("filter rule= web ext= 2 ")


def test_a_filter_that_cannot_be_installed_stops_the_start(topo, workdir):
    """Without CAP_NET_ADMIN the table cannot go in: iked refuses to run
    without the filter it was given, while a policy without IpFilterRules
    still runs as an ordinary user."""
    need_filter_tools()
    d = os.path.join(workdir, "nobody")
    os.makedirs(d)
    os.chmod(workdir, 0o755)
    os.chmod(d, 0o777)
    path = os.path.join(d, "iked.conf")
    ports = "  IkePort 1500\n  NatPort 14500\n"
    text = filter_policy(workdir).replace(os.path.join(workdir, "iked", ""), d + "/")
    text = text.replace("  IkeSyslogLevel 15\n", "  IkeSyslogLevel 15\n" + ports)
    as_nobody = ["ip", "netns", "exec", topo.a, "setpriv", "--reuid=65534", "--regid=65534",
                 "--clear-groups", IKED, "-F", "-f", path]
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)
    r = run(as_nobody, check=False, timeout=30)
    assert r.returncode == 1, r.stderr
    assert re.search(r"IP filter: installing table inet attls: nft: .*Operation not permitted",
                     r.stderr), r.stderr
    assert "iked started" not in r.stderr
    assert table(topo.a) is None
    # the same daemon without IpFilterRules: up, and stopped by SIGTERM
    with open(path, "w") as f:
        f.write(filter_policy(workdir, policy_lines=[])
                .replace(os.path.join(workdir, "iked", ""), d + "/")
                .replace("  IkeSyslogLevel 15\n", "  IkeSyslogLevel 15\n" + ports))
    out = open(os.path.join(d, "log"), "w")
    proc = subprocess.Popen(as_nobody, stdout=out, stderr=subprocess.STDOUT)
    out.close()
    try:
        assert wait_until(lambda: "iked started" in open(os.path.join(d, "log")).read(),
                          timeout=15), open(os.path.join(d, "log")).read()
    finally:
        stop_pid(proc.pid)
