"""The IKE load generator's surroundings, shared by scripts/bench-ike and
test_ike_load.py: the initiator's many addresses, responder configurations
(iked and charon) that accept any of them, running build/bench/ike_load and
reading its one result line, and a responder's CPU time.

The load: IKEv1 Main Mode with a pre-shared key and one Quick Mode with PFS
(AES-128-CBC, SHA2-256/HMAC-SHA2-256-128, the run's DH group for both), then
Deletes for both SAs, from LOAD_SOURCES distinct initiator addresses (one
identity each) in 198.18.64.0/22, always behind an apparent NAT (see
tests/bench/ike_load.c), each protecting its own address in 198.19.64.0/22
and the responder's PROTECTED address.
"""
import ipaddress
import os

from iked_env import ROOT, run

IKE_LOAD = os.path.join(ROOT, "build", "bench", "ike_load")
LOAD_PSK = "loadtest-secret"
LOAD_NET = "198.18.64.0/22"
LOAD_FIRST = "198.18.64.1"
LOAD_SOURCES = 1000
PROTECTED = "198.19.2.1"
# each initiator's own protected address (never its IKE address: charon's
# kernel-libipsec refuses a tunnel whose selector is the IKE peer)
LOAD_TS_NET = "198.19.64.0/22"
LOAD_TS_FIRST = "198.19.64.1"
GROUP_NAMES = {14: "MODP-2048", 19: "ECP-256"}
CHARON_GROUPS = {14: "modp2048", 19: "ecp256"}


def add_initiator_addresses(ns, count=LOAD_SOURCES):
    """count /32s on the initiator namespace's lo, LOAD_FIRST upwards."""
    first = ipaddress.ip_address(LOAD_FIRST)
    if first + count - 1 not in ipaddress.ip_network(LOAD_NET):
        raise ValueError("more initiator addresses than %s holds" % LOAD_NET)
    lines = "".join("address add %s/32 dev lo\n" % (first + i) for i in range(count))
    run(["ip", "-n", ns, "-batch", "-"], input=lines)


def route_initiators(ns, via):
    """The responder reaches the initiator addresses through its veth peer."""
    run(["ip", "-n", ns, "route", "add", LOAD_NET, "via", via])


def iked_responder_policy(iked_dir, addr, level=7):
    """iked at addr answering any initiator in LOAD_NET with the PSK, either
    group, PFS with either group; its SA events logged (IkeSyslogLevel 7)."""
    offers = "".join("""KeyExchangeOffer o%(g)d
{
  HowToEncrypt AES_CBC KeyLength 128
  HowToAuthMsgs SHA2_256
  HowToAuthPeers PresharedKey
  DHGroup Group%(g)d
  RefreshLifetimeAccepted 1 1440
}
""" % dict(g=g) for g in sorted(GROUP_NAMES))
    return """IkeConfig
{
  ListenAddr %(addr)s
  KernelBackend log
  ControlSocket %(dir)s/iked.sock
  PidFile %(dir)s/iked.pid
  IkeSyslogLevel %(level)d
}
IpFilterPolicy
{
  IpFilterRuleRef clients
}
IpFilterRule clients
{
  IpSourceAddr %(prot)s
  IpDestAddr %(tsnet)s
  IpGenericFilterActionRef protect
  IpDynVpnActionRef vpn
}
IpGenericFilterAction protect
{
  IpFilterAction IpSec
}
IpDynVpnAction vpn
{
%(pfs)s
  IpDataOfferRef d1
}
IpDataOffer d1
{
  HowToEncap Tunnel
  HowToEncrypt AES_CBC KeyLength 128
  HowToAuth ESP HMAC_SHA2_256_128
  RefreshLifetimeAccepted 1 1440
}
KeyExchangePolicy
{
  KeyExchangeRuleRef clients
  AllowNat Yes
}
KeyExchangeRule clients
{
  LocalSecurityEndpoint
  {
    Identity IpAddr %(addr)s
    Location %(addr)s
  }
  RemoteSecurityEndpoint
  {
    Identity IpAddr %(net)s
    Location %(net)s
  }
  KeyExchangeActionRef ka
  SharedKey Ascii %(psk)s
}
KeyExchangeAction ka
{
  HowToInitiate Main
  HowToRespondIKEv1 Main
%(refs)s
}
%(offers)s""" % dict(addr=addr, dir=iked_dir, level=level, prot=PROTECTED, net=LOAD_NET, tsnet=LOAD_TS_NET,
                     psk=LOAD_PSK, offers=offers,
                     pfs="\n".join("  AcceptablePfs Group%d" % g for g in sorted(GROUP_NAMES)),
                     refs="\n".join("  KeyExchangeOfferRef o%d" % g for g in sorted(GROUP_NAMES)))


def charon_responder_conf(addr):
    """swanctl.conf for charon at addr: the same offers and selectors."""
    props = ",".join("aes128-sha256-" + CHARON_GROUPS[g] for g in sorted(GROUP_NAMES))
    return """connections {
  load {
    version = 1
    local_addrs = %(addr)s
    remote_addrs = %(net)s
    proposals = %(props)s
    local {
      auth = psk
      id = %(addr)s
    }
    remote {
      auth = psk
    }
    children {
      c {
        local_ts = %(prot)s/32
        remote_ts = %(tsnet)s
        esp_proposals = %(props)s
        mode = tunnel
        start_action = none
        rekey_time = 3h
        life_time = 4h
      }
    }
  }
}
secrets {
  ike-load {
    secret = "%(psk)s"
  }
}
""" % dict(addr=addr, net=LOAD_NET, tsnet=LOAD_TS_NET, props=props, prot=PROTECTED,
                     psk=LOAD_PSK)


# charon as a responder under load: no routes per CHILD_SA (iked's log
# backend installs nothing either), the SA events in its log.
CHARON_LOAD_SETTINGS = "install_routes = no\n  install_virtual_ip = no"
# and its SA events alone in the log (IKE and CHILD_SA up and down), as
# iked's IkeSyslogLevel 7 logs them: no packet or encoding lines
CHARON_LOG_LEVELS = {"default": 0, "ike": 1, "chd": 1}


def run_load(ns, peer, group, concurrency, count=None, seconds=None, sources=LOAD_SOURCES,
             timeout=120):
    """Run ike_load in ns against peer; its result line as a dict (numbers
    as floats) plus 'rc' and 'stderr'."""
    cmd = ["ip", "netns", "exec", ns, IKE_LOAD, "--peer", peer, "--src", LOAD_FIRST,
           "--nsrc", str(sources), "--psk", LOAD_PSK, "--local-ts", LOAD_TS_FIRST,
           "--remote-ts", PROTECTED,
           "--group", str(group), "--concurrency", str(concurrency)]
    if count:
        cmd += ["--count", str(count)]
    if seconds:
        cmd += ["--seconds", str(seconds)]
    r = run(cmd, check=False, timeout=timeout)
    out = {"rc": r.returncode, "stderr": r.stderr}
    for field in r.stdout.split():
        k, _, v = field.partition("=")
        try:
            out[k] = float(v)
        except ValueError:
            pass
    return out


def cpu_seconds(pid):
    """User + system CPU of a process, all its threads, dead ones included."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is the state (field 3): utime and stime are fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

