"""iked as a program and the ipsec command: daemonizing with a pid file,
-n, SIGHUP reload, the control socket's permissions, the reports, the xfrm
backend on a kernel without ESP, and two ikeds on other ports."""
import json
import os
import re
import signal
import stat
import subprocess

import pytest

from iked_env import (A_ADDR, B_ADDR, IKED, IPSEC, Iked, charon_child, charon_conf, iked_policy,
                      run, stop_pid, wait_until)
from iked_env import charon, iked, topo, workdir  # noqa: F401  (fixtures)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie of ours counts as gone
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_daemon_pid_file_socket_and_clean_stop(topo, workdir):
    os.makedirs(os.path.join(workdir, "iked"), exist_ok=True)
    policy = os.path.join(workdir, "iked", "iked.conf")
    with open(policy, "w") as f:
        f.write(iked_policy(workdir))
    pidfile = os.path.join(workdir, "iked", "iked.pid")
    sock = os.path.join(workdir, "iked", "iked.sock")
    # the starting command returns once the daemon is ready
    r = run(["ip", "netns", "exec", topo.a, IKED, "-f", policy], check=False)
    assert r.returncode == 0, r.stderr
    pid = int(open(pidfile).read())
    try:
        assert pid_alive(pid)
        mode = os.stat(sock).st_mode
        assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
        out = run([IPSEC, "-S", sock, "-k", "display"]).stdout
        assert "0 entries selected" in out
    finally:
        os.kill(pid, signal.SIGTERM)
        assert wait_until(lambda: not pid_alive(pid), timeout=10)
    assert not os.path.exists(pidfile) and not os.path.exists(sock)


def test_foreground_says_it_started_and_where_it_listens(topo, iked, workdir):
    """At the default IkeSyslogLevel (errors only) iked -F still says that it
    runs, where it listens and which control socket ipsec uses, and that it
    stopped."""
    text = iked_policy(workdir).replace("  IkeSyslogLevel 15\n", "")
    assert "IkeSyslogLevel" not in text
    iked.start(text, log_keys=False)
    version = open(os.path.join(os.path.dirname(IKED), "..", "..", "VERSION")).read().strip()
    assert iked.wait_log("iked started: version %s, listening on %s:500, %s:4500 (NAT "
                         "traversal), control socket %s" % (version, A_ADDR, A_ADDR, iked.sock))
    assert "kernel backend log" in iked.log()
    assert "KeyExchangeRule kr" not in iked.log()        # still errors only otherwise
    iked.stop()
    assert "iked stopped" in iked.log()


def test_check_mode(workdir):
    path = os.path.join(workdir, "c.conf")
    with open(path, "w") as f:
        f.write(iked_policy(workdir))
    r = run([IKED, "-n", "-f", path])
    assert "configuration OK" in r.stdout
    with open(path, "w") as f:
        f.write(iked_policy(workdir).replace("DHGroup Group14", "DHGroup Group99"))
    r = run([IKED, "-n", "-f", path], check=False)
    assert r.returncode == 1 and re.search(r"c\.conf:\d+:\d+: error:", r.stderr)
    with open(path, "w") as f:
        f.write(iked_policy(workdir, keyring="/nonexistent/keyring.pem"))
    r = run([IKED, "-n", "-f", path], check=False)
    assert r.returncode == 1 and "Keyring" in r.stderr


def test_ipsec_reports(topo, charon, iked, workdir):
    charon.start()
    charon.load(charon_conf())
    iked.start(iked_policy(workdir))
    iked.ipsec("-y", "activate", "toB")
    assert wait_until(lambda: iked.active_dyn(), timeout=20)
    out = iked.ipsec("-k", "display").stdout
    assert "Primary: IKE tunnel Function: Display Format: Detail" in out
    for field in ("TunnelID:                    K1", "IKEVersion:                  1.0",
                  "KeyExchangeRuleName:         kr", "ExchangeMode:                Main",
                  "State:                       DONE", "Role:                        Initiator",
                  "AssociatedDynamicTunnels:    Y1", "1 entries selected"):
        assert field in out, field
    short = iked.ipsec("-k", "display", "-r", "short").stdout
    assert re.search(r"^K1\s+1\s+DONE\s+198\.18\.0\.1\s+198\.18\.0\.2\s+kr$", short, re.M)
    out = iked.ipsec("-y", "display", "-a", "Y1", "-r", "wide").stdout
    assert "Format: Wide" in out and "VpnActionName:               vpn" in out
    assert "State:                       Active" in out
    assert "0 entries selected" in iked.ipsec("-k", "display", "-a", "K9").stdout
    # by IpFilterRule name too
    assert "Y1" in iked.ipsec("-y", "display", "-a", "toB", "-r", "short").stdout
    f = iked.ipsec("-f", "display").stdout
    assert "FilterName:                  toB" in f and "AcceptablePfs:               Group14" in f
    assert "TunnelID:                    Y1" in f
    entries = json.loads(iked.ipsec("--json", "-f", "display").stdout)["entries"]
    assert entries[0]["Action"] == "IpSec" and entries[0]["VpnActionName"] == "vpn"
    cache = json.loads(iked.ipsec("--json", "--cache", "display").stdout)["entries"]
    assert {e["TunnelID"] for e in cache} == {"K1", "Y1"}
    # JSON keys are the field names; the colon belongs to the text form
    for primary in ("-k", "-y", "-f", "--cache"):
        for e in json.loads(iked.ipsec("--json", primary, "display").stdout)["entries"]:
            assert e and not [k for k in e if k.endswith(":")], (primary, e)
    # usage errors and unknown tunnels
    assert iked.ipsec("-k", "refresh", "-a", "K7", check=False).returncode == 1
    assert iked.ipsec("-y", "activate", "nosuchrule", check=False).returncode == 1
    assert iked.ipsec("-f", "refresh", check=False).returncode == 2
    assert run([IPSEC, "-k"], check=False).returncode == 2
    # deactivate everything
    out = iked.ipsec("-y", "deactivate").stdout
    assert "Y1  Deactivated" in out
    out = iked.ipsec("-k", "deactivate").stdout
    assert "K1  Deactivated" in out
    assert wait_until(lambda: charon.list_sas() == [], timeout=10)


def test_control_socket_refuses_other_users(topo, iked, workdir):
    iked.start(iked_policy(workdir))
    r = run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", IPSEC, "-S",
             iked.sock, "-k", "display"], check=False)
    assert r.returncode == 1
    assert "Permission denied" in r.stderr
    r = run([IPSEC, "-S", os.path.join(workdir, "nothing.sock"), "-k", "display"], check=False)
    assert r.returncode == 1 and "cannot reach iked" in r.stderr


def test_sighup_reloads_the_policy(topo, iked, workdir):
    iked.start(iked_policy(workdir))
    assert "AcceptablePfs:               Group14" in iked.ipsec("-f", "display").stdout
    iked.write_policy(iked_policy(workdir, pfs=("InitiateWithPfs Group14", "AcceptablePfs Group14",
                                                "AcceptablePfs Group19")))
    os.kill(iked.proc.pid, signal.SIGHUP)
    assert iked.wait_log("reloaded")
    assert "AcceptablePfs:               Group14 Group19" in iked.ipsec("-f", "display").stdout
    # a broken file is refused and the running policy stays
    iked.write_policy("IkeConfig { Nonsense 1 }\n")
    os.kill(iked.proc.pid, signal.SIGHUP)
    assert iked.wait_log("policy reload failed; the previous policy stays in effect")
    assert "Group14 Group19" in iked.ipsec("-f", "display").stdout
    assert iked.alive()


def test_xfrm_backend_on_a_kernel_without_esp(topo, charon, iked, workdir):
    """This kernel has XFRM but no ESP: iked hands the SA to the kernel, the
    kernel refuses it, iked deletes the tunnel and tells charon."""
    charon.start()
    charon.load(charon_conf())
    text = iked_policy(workdir).replace("KernelBackend log", "KernelBackend xfrm")
    iked.start(text)
    assert "kernel backend xfrm" in iked.log()
    iked.ipsec("-y", "activate", "toB")
    assert iked.wait_log("kernel xfrm: installing SA Y1.1 in")
    assert "Protocol not supported" in iked.log()
    assert iked.wait_log("dynamic tunnel Y1 generation 1 deleted: the kernel refused the SA")
    assert wait_until(lambda: "received DELETE for ESP CHILD_SA" in charon.log(), timeout=10)
    assert iked.active_dyn() == []


def test_two_ikeds_on_other_ports(topo, workdir):
    """iked with iked over real sockets, IkePort 1500 and NatPort 14500."""
    from iked_env import A_NET, B_NET, iked_policy as pol
    ports = "  IkePort 1500\n  NatPort 14500\n"
    a = Iked(topo.a, workdir, "iked")
    b = Iked(topo.b, workdir, "ikedb")
    try:
        a.start(pol(workdir, extra_ike=ports))
        tb = pol(workdir, extra_ike=ports, local_id="IpAddr " + B_ADDR,
                 remote_id="IpAddr " + A_ADDR, lnet=B_NET, rnet=A_NET)
        # mirror the addresses: B's view
        tb = (tb.replace("ListenAddr " + A_ADDR, "ListenAddr " + B_ADDR)
                .replace("Location " + A_ADDR, "Location @@A@@")
                .replace("Location " + B_ADDR, "Location " + A_ADDR)
                .replace("Location @@A@@", "Location " + B_ADDR)
                .replace("RemoteSecurityEndpointAddr " + B_ADDR, "RemoteSecurityEndpointAddr " + A_ADDR)
                .replace(os.path.join(workdir, "iked", ""), os.path.join(workdir, "ikedb", "")))
        b.start(tb)
        a.ipsec("-y", "activate", "toB")
        assert wait_until(lambda: a.active_dyn() and b.active_dyn(), timeout=20), a.log()[-3000:]
        ka, kb = a.keys(), b.keys()
        assert ka[("Y1.1", "ESP_OUT_ENC")] == kb[("Y1.1", "ESP_IN_ENC")]
        assert ka[("Y1.1", "ESP_IN_INTEG")] == kb[("Y1.1", "ESP_OUT_INTEG")]
        assert ka[("K1.1", "SKEYID")] == kb[("K1.1", "SKEYID")]
        k = a.done_ike()[0]
        assert k["NATTSupportLevel"] == "RFC" and k["RmtUdpEncapPort"] == "n/a"
    finally:
        a.stop()
        b.stop()
