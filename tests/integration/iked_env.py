"""Test environment for iked's integration tests: network namespaces joined
by a veth pair, strongSwan's charon (kernel-libipsec) as the peer, iked and
the ipsec command, certificates made with certtool.

Every namespace and process a test creates is removed by the fixture that
made it, also when the test fails; processes are stopped by PID. Every wait
is bounded in time and in tries. Addresses come from 198.18.0.0/15 only.
"""
import ipaddress
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IKED = os.path.join(ROOT, "build", "bin", "iked")
IPSEC = os.path.join(ROOT, "build", "bin", "ipsec")
CHARON = "/usr/lib/ipsec/charon"
TOOLS = ["ip", "swanctl", "certtool"]

# iked's side and the peer's side of the veth link, and a protected host
# address on each side (on lo).
A_ADDR, B_ADDR = "198.18.0.1", "198.18.0.2"
A_NET, B_NET = "198.19.1.1", "198.19.2.1"

_counter = itertools.count()


def need_tools():
    """A missing tool is a failure, never a skip."""
    missing = [t for t in TOOLS if not shutil.which(t)]
    for path in (CHARON, IKED, IPSEC):
        if not os.access(path, os.X_OK):
            missing.append(path)
    if missing:
        pytest.fail("missing tools: " + ", ".join(missing) + " (run scripts/deps and make)")
    if os.geteuid() != 0:
        pytest.fail("network namespace tests need root")


def run(cmd, check=True, timeout=60, **kw):
    return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=timeout, **kw)


def wait_until(pred, timeout=20.0, interval=0.1, what="condition"):
    """Poll pred() until true; bounded in time and number of tries."""
    deadline = time.monotonic() + timeout
    tries = int(timeout / interval) + 1
    for _ in range(tries):
        value = pred()
        if value:
            return value
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    return pred()


def stop_pid(pid, sig=signal.SIGTERM, timeout=5.0):
    """Stop one process we started; escalate to SIGKILL if it lingers."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / 0.05) + 1):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done == pid:
            return
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


class Topology:
    """Two namespaces A (iked) and B (peer), veth between them."""

    def __init__(self, workdir):
        n = next(_counter)
        tag = "ik%d%d" % (os.getpid() % 100000, n)
        self.a, self.b = tag + "a", tag + "b"
        self.va, self.vb = "va" + tag[2:], "vb" + tag[2:]
        self.workdir = workdir
        self.made = []
        try:
            for ns in (self.a, self.b):
                run(["ip", "netns", "add", ns])
                self.made.append(ns)
            run(["ip", "link", "add", self.va, "netns", self.a, "type", "veth", "peer", "name",
                 self.vb, "netns", self.b])
            for ns, dev, addr, net in ((self.a, self.va, A_ADDR, A_NET),
                                       (self.b, self.vb, B_ADDR, B_NET)):
                run(["ip", "-n", ns, "addr", "add", addr + "/24", "dev", dev])
                run(["ip", "-n", ns, "link", "set", dev, "up"])
                run(["ip", "-n", ns, "link", "set", "lo", "up"])
                run(["ip", "-n", ns, "addr", "add", net + "/32", "dev", "lo"])
        except Exception:
            self.close()
            raise

    def close(self):
        for ns in reversed(self.made):
            run(["ip", "netns", "del", ns], check=False)
        self.made = []


class Charon:
    """One charon in a namespace, with its own /run (bind mount), VICI socket
    and log at level 4 for IKE and CHILD_SA (the key dumps)."""

    PLUGINS = ("random nonce openssl aes sha1 sha2 hmac gmp pem pkcs1 x509 pubkey kdf "
               "kernel-libipsec kernel-netlink socket-default vici updown")

    def __init__(self, ns, workdir, name="charon"):
        self.ns = ns
        self.dir = os.path.join(workdir, name)
        self.proc = None
        os.makedirs(os.path.join(self.dir, "run"), exist_ok=True)
        for sub in ("x509", "x509ca", "x509ocsp", "x509aa", "x509ac", "x509crl", "pubkey",
                    "private", "rsa", "ecdsa", "bliss", "pkcs8", "pkcs12", "conf.d"):
            os.makedirs(os.path.join(self.dir, "swanctl", sub), exist_ok=True)
        self.vici = "unix://" + os.path.join(self.dir, "charon.vici")
        self.logfile = os.path.join(self.dir, "charon.log")

    def start(self, extra="", quiet=False, levels=None):
        """quiet: no level-4 dumps (benchmarks), only a summary log; levels:
        the log level of each subsystem instead ({"default": 0, "ike": 1})."""
        if levels is None:
            dumps = 1 if quiet else 4
            levels = {"default": 1, "ike": dumps, "chd": dumps, "cfg": 1 if quiet else 2,
                      "knl": 1}
        loglevels = "\n".join("      %s = %s" % kv for kv in levels.items())
        conf = os.path.join(self.dir, "strongswan.conf")
        with open(conf, "w") as f:
            f.write("""charon {
  load = %s
  i_dont_care_about_security_and_use_aggressive_mode_psk = yes
  retransmit_tries = 3
  retransmit_timeout = 1.0
  retransmit_base = 1.4
  %s
  filelog {
    main {
      path = %s
%s
      flush_line = yes
    }
  }
  syslog {
    daemon {
      default = -1
    }
    auth {
      default = -1
    }
  }
  plugins {
    vici {
      socket = %s
    }
  }
}
""" % (self.PLUGINS, extra, self.logfile, loglevels, self.vici))
        cmd = ["ip", "netns", "exec", self.ns, "sh", "-c",
               "mount --bind %s /run && exec env STRONGSWAN_CONF=%s %s"
               % (os.path.join(self.dir, "run"), conf, CHARON)]
        out = open(os.path.join(self.dir, "stdout"), "w")
        self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        out.close()
        sock = os.path.join(self.dir, "charon.vici")
        if not wait_until(lambda: os.path.exists(sock) and self.swanctl("--stats", check=False)
                          .returncode == 0, timeout=15):
            pytest.fail("charon did not start; log:\n" + self.log()[-3000:])

    def stop(self):
        if self.proc:
            stop_pid(self.proc.pid, timeout=5)
            self.proc = None

    def kill(self):
        """As if the host died: no Delete messages."""
        if self.proc:
            stop_pid(self.proc.pid, sig=signal.SIGKILL)
            self.proc = None

    def swanctl(self, *args, check=True, timeout=60):
        return run(["swanctl"] + list(args) + ["--uri", self.vici], check=check, timeout=timeout)

    def load(self, text):
        path = os.path.join(self.dir, "swanctl", "swanctl.conf")
        with open(path, "w") as f:
            f.write(text)
        r = self.swanctl("--load-all", "--noprompt", "--file", path, check=False)
        if r.returncode != 0 or "failed" in r.stdout:
            pytest.fail("swanctl --load-all failed:\n" + r.stdout + r.stderr)

    def initiate(self, ike="t", child="c", timeout=60):
        return self.swanctl("--initiate", "--ike", ike, "--child", child, "--timeout", "30",
                            check=False, timeout=timeout)

    def install_pki(self, cert, key, ca):
        """Put a certificate, its key and a CA where swanctl looks for them
        (beside the swanctl.conf it loads); returns the names to configure."""
        for src, sub in ((cert, "x509"), (key, "private"), (ca, "x509ca")):
            shutil.copy(src, os.path.join(self.dir, "swanctl", sub, os.path.basename(src)))
        return os.path.basename(cert), os.path.basename(ca)

    def list_sas(self):
        """Parsed `swanctl --list-sas --raw`: [ {ike fields..., children: [..]} ]."""
        r = self.swanctl("--list-sas", "--raw", check=False)
        sas = []
        for line in r.stdout.splitlines():
            if not line.startswith("list-sa event"):
                continue
            sas.extend(_parse_raw_sa(line[len("list-sa event "):]))
        return sas

    def log(self):
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def dumps(self):
        return parse_dumps(self.log())


def _parse_raw_sa(text):
    """Parse one vici raw record: 'name {k=v k=v sub {..} list=[a b]}'."""
    tokens = re.findall(r"\{|\}|\[[^\]]*\]|[^\s{}=]+=[^\s{}\[]*|[^\s{}=]+", text)
    pos = 0

    def section():
        nonlocal pos
        d = {}
        while pos < len(tokens):
            t = tokens[pos]
            pos += 1
            if t == "}":
                return d
            if "=" in t:
                k, v = t.split("=", 1)
                if v == "" and pos < len(tokens) and tokens[pos].startswith("["):
                    v = tokens[pos][1:-1].split()
                    pos += 1
                d[k] = v
            elif pos < len(tokens) and tokens[pos] == "{":
                pos += 1
                d[t] = section()
        return d

    top = section()
    out = []
    for name, ike in top.items():
        if isinstance(ike, dict):
            ike["name"] = name
            ike["children"] = list(ike.get("child-sas", {}).values())
            out.append(ike)
    return out


def parse_dumps(text):
    """charon's hex dumps: 'NAME => N bytes @ 0x..' then rows of 16 bytes."""
    out = []
    cur = None
    for line in text.splitlines():
        m = re.match(r"^\d+\[\w+\] (.+?) => (\d+) bytes @ 0x[0-9a-f]+", line)
        if m:
            cur = [m.group(1), int(m.group(2)), bytearray()]
            out.append(cur)
            continue
        m = re.match(r"^\d+\[\w+\]\s+(\d+): ((?:[0-9A-F]{2} ?)+)", line)
        if m and cur is not None:
            cur[2] += bytes.fromhex(m.group(2)[:48].replace(" ", ""))
            continue
        cur = None
    return [(n, bytes(b)) for n, l, b in out if len(b) == l]


class Iked:
    """iked in a namespace, in the foreground, logging to a file."""

    def __init__(self, ns, workdir, name="iked"):
        self.ns = ns
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.sock = os.path.join(self.dir, "iked.sock")
        self.policy = os.path.join(self.dir, "iked.conf")
        self.logfile = os.path.join(self.dir, "iked.log")
        self.proc = None

    def write_policy(self, text):
        with open(self.policy, "w") as f:
            f.write(text)

    def start(self, text=None, log_keys=True, args=()):
        if text is not None:
            self.write_policy(text)
        cmd = ["ip", "netns", "exec", self.ns, IKED, "-F", "-f", self.policy] + list(args)
        if log_keys:
            cmd.append("--log-keys")
        out = open(self.logfile, "a")
        self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        out.close()
        if not wait_until(lambda: self.alive() and os.path.exists(self.sock)
                          and self.ipsec("-k", "display", check=False).returncode == 0,
                          timeout=15):
            pytest.fail("iked did not start; log:\n" + self.log()[-3000:])

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc:
            stop_pid(self.proc.pid, timeout=10)
            self.proc = None

    def ipsec(self, *args, check=True):
        r = run([IPSEC, "-S", self.sock] + list(args), check=False, timeout=30)
        if check and r.returncode != 0:
            pytest.fail("ipsec %s failed (%d):\n%s%s" % (" ".join(args), r.returncode, r.stdout,
                                                          r.stderr))
        return r

    def json(self, *args):
        return json.loads(self.ipsec("--json", *args).stdout)["entries"]

    def log(self):
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def keys(self):
        """--log-keys lines: {(tunnel, NAME): hex}."""
        out = {}
        for m in re.finditer(r"keys (\S+) (\w+)=([0-9a-f]+)", self.log()):
            out[(m.group(1), m.group(2))] = m.group(3)
        return out

    def wait_log(self, needle, timeout=20, count=1):
        return wait_until(lambda: self.log().count(needle) >= count, timeout=timeout)

    def tunnels(self, primary="-y"):
        return self.json(primary, "display")

    def active_dyn(self):
        return [t for t in self.tunnels("-y") if t["State"] == "Active"]

    def done_ike(self):
        return [t for t in self.tunnels("-k") if t["State"] == "DONE"]


# ---- policy texts ---------------------------------------------------------------

def ke_offer(name, enc=128, hash_="SHA2_256", group=14, auth="PresharedKey", life=None,
             acc_min=2):
    lines = ["KeyExchangeOffer %s" % name, "{",
             "  HowToEncrypt AES_CBC KeyLength %d" % enc,
             "  HowToAuthMsgs %s" % hash_,
             "  HowToAuthPeers %s" % auth,
             "  DHGroup Group%d" % group]
    if life:
        lines.append("  RefreshLifetimeProposed %d" % life)
    lines += ["  RefreshLifetimeAccepted %d 1440" % acc_min, "}"]
    return "\n".join(lines) + "\n"


def data_offer(name, enc="AES_CBC KeyLength 128", auth="ESP HMAC_SHA2_256_128", encap="Tunnel",
               life=None, acc_min=2, lifesize_kb=None):
    lines = ["IpDataOffer %s" % name, "{", "  HowToEncap %s" % encap,
             "  HowToEncrypt %s" % enc]
    if auth:
        lines.append("  HowToAuth %s" % auth)
    if life:
        lines.append("  RefreshLifetimeProposed %d" % life)
    if lifesize_kb:
        lines += ["  RefreshLifesizeProposed %d" % lifesize_kb,
                  "  RefreshLifesizeAccepted %d %d" % (lifesize_kb // 2, lifesize_kb * 2)]
    lines += ["  RefreshLifetimeAccepted %d 480" % acc_min, "}"]
    return "\n".join(lines) + "\n"


def iked_policy(workdir, ke_offers=None, data_offers=None, pfs=("InitiateWithPfs Group14",
                "AcceptablePfs Group14"), mode="Main", local_id="IpAddr " + A_ADDR,
                remote_id="IpAddr " + B_ADDR, psk="sharedsecret123", allow_nat="Yes",
                liveness=0, keyring=None, ca_label=None, extra_ike="", respond="Either",
                retries=3, init_wait=1, max_wait=2, lnet=A_NET, rnet=B_NET, backend="log",
                local_addr=A_ADDR, remote_addr=B_ADDR, name="iked", routing=None):
    """iked's policy in A (by default): one IpFilterRule toB from lnet to rnet
    with B as IKE peer. local_addr, remote_addr and name give another side's
    view (its addresses, and the directory of its Iked object); routing
    (Local, Routed, Either) its IpService Routing, when given."""
    ke_offers = ke_offers or [ke_offer("o1")]
    data_offers = data_offers or [data_offer("d1")]
    ke_names = [re.match(r"KeyExchangeOffer (\S+)", o).group(1) for o in ke_offers]
    d_names = [re.match(r"IpDataOffer (\S+)", o).group(1) for o in data_offers]
    rse = ["  RemoteSecurityEndpoint", "  {", "    Identity %s" % remote_id,
           "    Location %s" % remote_addr]
    if ca_label:
        rse.append("    CaLabel \"%s\"" % ca_label)
    rse.append("  }")
    text = """IkeConfig
{
  ListenAddr %(a)s
  KernelBackend %(backend)s
  ControlSocket %(sock)s
  PidFile %(pid)s
  IkeSyslogLevel 15
  IkeRetries %(retries)d
  IkeInitWait %(iw)d
  IkeMaxWait %(mw)d
%(keyring)s%(extra)s}
IpFilterPolicy
{
  IpFilterRuleRef toB
}
IpFilterRule toB
{
  IpSourceAddr %(lnet)s
  IpDestAddr %(rnet)s
%(routing)s  IpGenericFilterActionRef protect
  IpDynVpnActionRef vpn
  RemoteSecurityEndpointAddr %(b)s
}
IpGenericFilterAction protect
{
  IpFilterAction IpSec
}
IpDynVpnAction vpn
{
%(pfs)s
%(drefs)s
}
%(doffers)s
KeyExchangePolicy
{
  KeyExchangeRuleRef kr
  AllowNat %(nat)s
  LivenessInterval %(live)d
}
KeyExchangeRule kr
{
  LocalSecurityEndpoint
  {
    Identity %(lid)s
    Location %(a)s
  }
%(rse)s
  KeyExchangeActionRef ka
%(psk)s
}
KeyExchangeAction ka
{
  HowToInitiate %(mode)s
  HowToRespondIKEv1 %(respond)s
%(krefs)s
}
%(koffers)s""" % dict(
        a=local_addr, b=remote_addr, sock=os.path.join(workdir, name, "iked.sock"),
        pid=os.path.join(workdir, name, "iked.pid"), backend=backend, retries=retries, iw=init_wait,
        mw=max_wait, keyring="  Keyring %s\n" % keyring if keyring else "", extra=extra_ike,
        lnet=lnet, rnet=rnet, pfs="\n".join("  " + p for p in pfs),
        routing="  IpService { Routing %s }\n" % routing if routing else "",
        drefs="\n".join("  IpDataOfferRef " + n for n in d_names), doffers="".join(data_offers),
        nat=allow_nat, live=liveness, lid=local_id, rse="\n".join(rse),
        psk="  SharedKey Ascii %s" % psk if psk else "", mode=mode, respond=respond,
        krefs="\n".join("  KeyExchangeOfferRef " + n for n in ke_names),
        koffers="".join(ke_offers))
    return text


def charon_conf(proposals="aes128-sha256-modp2048", esp="aes128-sha256-modp2048",
                aggressive="no", local_id=B_ADDR, remote_id=A_ADDR, auth="psk",
                psk="sharedsecret123", certs=None, cacert=None, privkey=None, mode="tunnel",
                dpd_delay=0, rekey_time=None, lnet=B_NET, rnet=A_NET, child_extra="",
                ike_extra=""):
    """swanctl.conf for charon in B: connection t, child c."""
    local = ["      auth = %s" % ("pubkey" if auth == "pubkey" else "psk"),
             "      id = \"%s\"" % local_id]
    remote = ["      auth = %s" % ("pubkey" if auth == "pubkey" else "psk"),
              "      id = \"%s\"" % remote_id]
    if certs:
        local.append("      certs = %s" % certs)
    if cacert:
        remote.append("      cacerts = %s" % cacert)
    secrets = ""
    if auth == "psk":
        secrets = """secrets {
  ike-x {
    id-a = "%s"
    id-b = "%s"
    secret = "%s"
  }
}
""" % (local_id, remote_id, psk)
    elif privkey:
        secrets = """secrets {
  private-b {
    file = %s
  }
}
""" % os.path.basename(privkey)
    return """connections {
  t {
    version = 1
    aggressive = %(aggr)s
    local_addrs = %(b)s
    remote_addrs = %(a)s
    proposals = %(prop)s
    dpd_delay = %(dpd)ds
%(ike_extra)s
    local {
%(local)s
    }
    remote {
%(remote)s
    }
    children {
      c {
        local_ts = %(lnet)s
        remote_ts = %(rnet)s
        esp_proposals = %(esp)s
        mode = %(mode)s
        start_action = none
%(rekey)s%(child_extra)s
      }
    }
  }
}
%(secrets)s""" % dict(aggr=aggressive, b=B_ADDR, a=A_ADDR, prop=proposals, dpd=dpd_delay,
                      local="\n".join(local), remote="\n".join(remote),
                      lnet=lnet if "/" in lnet else lnet + "/32",
                      rnet=rnet if "/" in rnet else rnet + "/32",
                      esp=esp, mode=mode, secrets=secrets, ike_extra=ike_extra,
                      rekey="        rekey_time = %s\n" % rekey_time if rekey_time else "",
                      child_extra=child_extra)


def make_certs(workdir):
    """A CA and two end entities (iked in A, charon in B), made with certtool.
    Returns paths: ca, a_key, a_cert, a_bundle (iked's keyring), b_key, b_cert."""
    d = os.path.join(workdir, "pki")
    os.makedirs(d, exist_ok=True)
    p = lambda n: os.path.join(d, n)

    def tmpl(name, text):
        with open(p(name), "w") as f:
            f.write(text)
        return p(name)

    run(["certtool", "--no-text", "--generate-privkey", "--key-type", "rsa", "--bits", "2048",
         "--outfile", p("ca.key")])
    tmpl("ca.tmpl", 'cn = "attls test CA"\norganization = "attls"\ncountry = US\nca\n'
         'cert_signing_key\nexpiration_days = 30\n')
    run(["certtool", "--no-text", "--generate-self-signed", "--load-privkey", p("ca.key"), "--template",
         p("ca.tmpl"), "--outfile", p("ca.pem")])
    for who, addr, cn in (("a", A_ADDR, "iked.example"), ("b", B_ADDR, "charon.example")):
        run(["certtool", "--no-text", "--generate-privkey", "--key-type", "rsa", "--bits", "2048",
             "--outfile", p(who + ".key")])
        tmpl(who + ".tmpl", 'cn = "%s"\norganization = "attls"\ncountry = US\n'
             'dns_name = "%s"\nip_address = "%s"\nsigning_key\nencryption_key\n'
             'expiration_days = 30\n' % (cn, cn, addr))
        run(["certtool", "--no-text", "--generate-certificate", "--load-privkey", p(who + ".key"),
             "--load-ca-certificate", p("ca.pem"), "--load-ca-privkey", p("ca.key"),
             "--template", p(who + ".tmpl"), "--outfile", p(who + ".pem")])
    with open(p("a-bundle.pem"), "w") as out:
        for part in ("a.key", "a.pem", "ca.pem"):
            with open(p(part)) as f:
                out.write(f.read())
    return dict(ca=p("ca.pem"), a_key=p("a.key"), a_cert=p("a.pem"), a_bundle=p("a-bundle.pem"),
                b_key=p("b.key"), b_cert=p("b.pem"))


# ---- fixtures ----------------------------------------------------------------------

@pytest.fixture
def workdir(request):
    d = tempfile.mkdtemp(prefix="iked-test-")
    yield d
    if os.environ.get("IKED_TEST_KEEP"):
        print("kept", d)
    else:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def topo(workdir):
    need_tools()
    t = Topology(workdir)
    yield t
    t.close()


@pytest.fixture
def charon(topo, workdir):
    c = Charon(topo.b, workdir)
    yield c
    c.stop()
    print("---- charon log (tail, without dumps) ----\n" +
          "\n".join(l for l in c.log().splitlines()[-400:] if not re.match(r"^\d+\[\w+\]\s+\d+:", l)))


@pytest.fixture
def iked(topo, workdir):
    i = Iked(topo.a, workdir)
    yield i
    i.stop()
    # pytest shows captured output only for failing tests
    print("---- iked log (tail) ----\n" + i.log()[-8000:])


def charon_child(charon):
    """The one CHILD_SA charon has installed, or None."""
    for ike in charon.list_sas():
        for child in ike["children"]:
            if child.get("state") == "INSTALLED":
                return ike, child
    return None
