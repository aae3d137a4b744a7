"""attls policy check / show / reference, driven as a user would: on the
examples, on broken policies (exact FILE:LINE:COL lines), with --json and
--match, with bad arguments (`make install` is in test_cli.py)."""
import json
import os
import re
import shutil
import subprocess

import pytest

EXPECTED_SUMMARY = {
    "client.conf": "1 TTLSRule, 2 actions (1 group, 1 environment, 0 connection)",
    "esp-left.conf": "0 TTLSRules, 0 actions (0 group, 0 environment, 0 connection); "
                     "1 IpFilterRule, 1 IpDynVpnAction, 1 KeyExchangeRule, 1 KeyExchangeAction",
    "esp-right.conf": "0 TTLSRules, 0 actions (0 group, 0 environment, 0 connection); "
                      "1 IpFilterRule, 1 IpDynVpnAction, 1 KeyExchangeRule, 1 KeyExchangeAction",
    "ftp.conf": "1 TTLSRule, 2 actions (1 group, 1 environment, 0 connection)",
    "ike-psk.conf": "0 TTLSRules, 0 actions (0 group, 0 environment, 0 connection); "
                    "2 IpFilterRules, 1 IpDynVpnAction, 1 KeyExchangeRule, 1 KeyExchangeAction",
    "mixed-port.conf": "1 TTLSRule, 2 actions (1 group, 1 environment, 0 connection)",
    "query-client.conf": "2 TTLSRules, 3 actions (1 group, 1 environment, 1 connection)",
    "server-clientauth.conf": "1 TTLSRule, 2 actions (1 group, 1 environment, 0 connection)",
    "server.conf": "1 TTLSRule, 2 actions (1 group, 1 environment, 0 connection)",
    "starttls.conf": "1 TTLSRule, 3 actions (1 group, 1 environment, 1 connection)",
}

# ---- check: the examples ---------------------------------------------------------


def test_every_example_is_listed_here(examples):
    # a new example must get its expected summary above
    assert sorted(f.name for f in examples) == sorted(EXPECTED_SUMMARY)


@pytest.mark.parametrize("name", sorted(EXPECTED_SUMMARY))
def test_example_checks_clean(attls, examples_with_certs, name):
    """With its certificates in place an example has no error and no warning."""
    r = attls("policy", "check", name, cwd=examples_with_certs)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{name}: OK: {EXPECTED_SUMMARY[name]}\n"
    assert r.stderr == ""


def test_examples_in_the_tree_check_without_errors(attls, repo, examples):
    """As shipped (certificates may be missing): exit 0, one summary per file,
    nothing worse than the warning that a key ring cannot be read."""
    r = attls("policy", "check", *[f.relative_to(repo) for f in examples], cwd=repo)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == len(examples)
    for line, f in zip(lines, examples):
        assert line == f"policy/examples/{f.name}: OK: {EXPECTED_SUMMARY[f.name]}"
    for line in r.stderr.splitlines():
        assert re.match(r"policy/examples/[\w-]+\.conf:\d+:\d+: (warning: Keyring .* cannot be "
                        r"read here|hint: connections of rules that use it)", line), line


# ---- check: broken policies ---------------------------------------------------------

BROKEN = """\
# A policy with three mistakes.
TTLSRule web
{
  LocalPortRange      8443
  Direction           Inbnd
  TTLSGroupActionRef  grp
  TTLSEnvironmentActionRef env
}

TTLSGroupAction grp { TTLSEnabled On }

TTLSEnvironmentAction env
{
  HandshakeRole       Server
  TTLSKeyringParmsRef ring
  TLSv1.3             On
}
"""


def test_broken_policy_every_error_at_its_place(attls, policy_file):
    path = policy_file(BROKEN, "broken.conf")
    r = attls("policy", "check", path.name, cwd=path.parent)
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr.splitlines() == [
        "broken.conf:5:23: error: Direction: 'Inbnd' is not a valid value",
        "broken.conf:5:23: hint: did you mean 'Inbound'?",
        "broken.conf:15:23: error: TTLSKeyringParms 'ring' is not defined",
        "broken.conf:15:23: hint: define it: TTLSKeyringParms ring { ... }",
        "broken.conf:16:3: error: unknown parameter 'TLSv1.3' in TTLSEnvironmentAction",
        "broken.conf:16:3: hint: 'TLSv1.3' belongs in TTLSEnvironmentAdvancedParms",
        "broken.conf: 3 errors",
    ]


# (policy text, the one error line, its hint line or None)
SINGLE_ERRORS = [
    ("TTLSGroupAction g {\n  TTLSEnabled On\n",
     "1:1: error: TTLSGroupAction g is not closed",
     "1:1: hint: add '}' to close the '{' at line 1"),
    ("TTLSGroupAction g { TTLSEnabled Off }\n}\n",
     "2:1: error: '}' without a matching '{'",
     "2:1: hint: remove it, or check the '{' above"),
    ("TTLSRuel r { }\n",
     "1:1: error: unknown statement 'TTLSRuel'",
     "1:1: hint: did you mean 'TTLSRule'?"),
    ("TTLSGroupAction g\n{\n  TTLSEnabled On\n  Trace 300\n}\n",
     "4:9: error: Trace: '300' is not a number from 0 to 255", None),
    ("TTLSRule r { Jobname x Direction Inbound TTLSGroupActionRef g }\n"
     "TTLSGroupAction g { TTLSEnabled On }\n",
     "1:1: error: TTLSRule r: its group g has TTLSEnabled On, so it needs an environment action",
     "1:1: hint: add: TTLSEnvironmentActionRef NAME"),
    ("IpDynVpnAction v\n{\n  InitiateWithPfs Group19\n  AcceptablePfs Group14\n"
     "  IpDataOffer { }\n}\n",
     "3:19: error: InitiateWithPfs Group19 must also be one of the AcceptablePfs values",
     "3:19: hint: add: AcceptablePfs Group19"),
    ("TTLSRule r { RemoteAddr ::ffff:10.1.2.3 Direction Both TTLSGroupActionRef g }\n"
     "TTLSGroupAction g { TTLSEnabled Off }\n",
     "1:25: error: IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) addresses "
     "are not allowed in AT-TLS rules",
     "1:25: hint: write IPv4 addresses in dotted form; attls maps ::ffff:a.b.c.d connections "
     "to IPv4 itself"),
    # a byte order mark takes no column
    ("\ufeffTTLSGroupAction g {\n  TTLSEnabled Off\n  Trace \"2\n}\n",
     "3:9: error: string is not closed",
     "3:9: hint: close it with '\"' on the same line"),
]


@pytest.mark.parametrize("text,error,hint", SINGLE_ERRORS)
def test_broken_policy_line_and_column(attls, policy_file, text, error, hint):
    path = policy_file(text, "p.conf")
    r = attls("policy", "check", path.name, cwd=path.parent)
    assert r.returncode == 1
    want = ["p.conf:" + error] + (["p.conf:" + hint] if hint else [])
    got = [line for line in r.stderr.splitlines() if ": error: " in line or ": hint: " in line]
    assert got == want, r.stderr
    assert r.stderr.splitlines()[-1] == "p.conf: 1 error"


def test_several_files_one_run(attls, policy_file, examples):
    bad = policy_file(BROKEN, "broken.conf")
    good = policy_file("TTLSRule r { Jobname x Direction Both TTLSGroupActionRef g }\n"
                       "TTLSGroupAction g { TTLSEnabled Off }\n", "good.conf")
    r = attls("policy", "check", good.name, bad.name, "missing.conf", cwd=bad.parent)
    assert r.returncode == 1
    # each file is checked on its own; the good one still gets its summary
    assert r.stdout == "good.conf: OK: 1 TTLSRule, 1 action (1 group, 0 environment, " \
                       "0 connection)\n"
    assert "broken.conf: 3 errors" in r.stderr.splitlines()
    assert "missing.conf:1:1: error: cannot open the policy: No such file or directory" \
        in r.stderr.splitlines()
    assert r.stderr.splitlines()[-1] == "missing.conf: 1 error"


def test_warnings_do_not_fail_a_check(attls, policy_file):
    path = policy_file("TTLSGroupAction g { TTLSEnabled Off CtraceClearText On }\n", "w.conf")
    r = attls("policy", "check", path.name, cwd=path.parent)
    assert r.returncode == 0
    assert r.stderr.splitlines() == [
        "w.conf:1:1: warning: TTLSGroupAction g is never used: nothing refers to it",
        "w.conf:1:37: warning: CtraceClearText is accepted but attls does not act on it yet",
    ]
    assert r.stdout.startswith("w.conf: OK: 0 TTLSRules")


# ---- check --json -----------------------------------------------------------------


def test_check_json(attls, policy_file, examples_with_certs):
    bad = policy_file(BROKEN, "broken.conf")
    r = attls("policy", "check", "--json", str(bad), str(examples_with_certs / "starttls.conf"))
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    assert doc["valid"] is False
    broken, good = doc["files"]
    assert broken["file"] == str(bad)
    assert broken["valid"] is False
    assert broken["errors"] == 3
    assert "counts" not in broken
    first = broken["diagnostics"][0]
    assert first == {"file": str(bad), "line": 5, "column": 23, "severity": "error",
                     "message": "Direction: 'Inbnd' is not a valid value",
                     "hint": "did you mean 'Inbound'?"}
    assert [(d["line"], d["column"]) for d in broken["diagnostics"]] == [(5, 23), (15, 23), (16, 3)]
    assert good["valid"] is True
    assert good["errors"] == 0 and good["warnings"] == 0 and good["diagnostics"] == []
    assert good["counts"] == {"TTLSRule": 1, "TTLSGroupAction": 1, "TTLSEnvironmentAction": 1,
                              "TTLSConnectionAction": 1, "IpFilterRule": 0, "IpDynVpnAction": 0,
                              "KeyExchangeRule": 0, "KeyExchangeAction": 0}
    # stderr stays quiet with --json
    assert r.stderr == ""


def test_check_json_valid(attls, examples_with_certs):
    r = attls("policy", "check", "--json", "ike-psk.conf", cwd=examples_with_certs)
    assert r.returncode == 0
    doc = json.loads(r.stdout)
    assert doc["valid"] is True
    assert doc["files"][0]["counts"]["IpFilterRule"] == 2


def test_json_is_utf8_whatever_the_policy_bytes(attls_bin, tmp_path):
    """A Latin-1 byte or a broken sequence in a policy must not make the JSON
    output invalid: bytes that start no UTF-8 sequence become U+FFFD."""
    path = tmp_path / "bytes.conf"
    path.write_bytes(b'TTLSRule "a\xf0\x9f\x98\x80b\xc0\xafc\xe9" { Jobname x Direction Both '
                     b'TTLSGroupActionRef g }\nTTLSGroupAction g { TTLSEnabled Off Caf\xe9 1 }\n')
    for args in (["check", "--json"], ["show", "--json"]):
        r = subprocess.run([str(attls_bin), "policy", *args, str(path)], capture_output=True,
                           timeout=60)
        assert r.returncode == 0
        doc = json.loads(r.stdout.decode("utf-8"))      # strict: raises on bad bytes
        if args[0] == "show":
            assert doc["rules"][0]["name"] == "a\U0001f600b\ufffd\ufffdc\ufffd"
        else:
            msgs = [d["message"] for d in doc["files"][0]["diagnostics"]]
            assert "TTLSEnabled: ignoring 'Caf\ufffd' after the value (z/OS ignores it too)" in msgs


# ---- show ---------------------------------------------------------------------------

ORDERED = """\
TTLSRule zeta-none { LocalPortRange 1 Direction Both TTLSGroupActionRef off }
TTLSRule alpha-none { LocalPortRange 1 Direction Both TTLSGroupActionRef off }
TTLSRule low { LocalPortRange 1 Direction Both Priority 5 TTLSGroupActionRef off }
TTLSRule high { LocalPortRange 1 Direction Both Priority 500 TTLSGroupActionRef off }
TTLSRule Tie { LocalPortRange 1 Direction Both Priority 5 TTLSGroupActionRef off }
TTLSGroupAction off { TTLSEnabled Off }
"""
ORDER = ["high", "Tie", "low", "alpha-none", "zeta-none"]


def test_show_lists_rules_in_evaluation_order(attls, policy_file):
    path = policy_file(ORDERED)
    r = attls("policy", "show", path)
    assert r.returncode == 0, r.stderr
    headers = re.findall(r"^(\d+)\. TTLSRule (\S+) \((.*)\)$", r.stdout, re.M)
    assert headers == [("1", "high", "priority 500"), ("2", "Tie", "priority 5"),
                       ("3", "low", "priority 5"), ("4", "alpha-none", "no priority"),
                       ("5", "zeta-none", "no priority")]
    assert r.stdout.splitlines()[0] == f"# {path}: 5 TTLSRules in evaluation order"


def test_show_json(attls, policy_file):
    path = policy_file(ORDERED)
    r = attls("policy", "show", "--json", path)
    assert r.returncode == 0
    doc = json.loads(r.stdout)
    assert [x["name"] for x in doc["rules"]] == ORDER
    assert [x["rank"] for x in doc["rules"]] == [1, 2, 3, 4, 5]
    assert [x["priority"] for x in doc["rules"]] == [500, 5, 5, None, None]
    assert doc["rules"][0]["conditions"]["local_port"] == "LocalPortRange 1"
    assert doc["rules"][0]["group_action"] == "off"
    assert doc["rules"][0]["environment_action"] is None


def test_show_effective_parameters_and_their_sources(attls, examples_with_certs):
    r = attls("policy", "show", "--json", "starttls.conf", cwd=examples_with_certs)
    assert r.returncode == 0
    rule = json.loads(r.stdout)["rules"][0]
    eff = {e["parameter"]: (e["value"], e["source"]) for e in rule["effective"]}
    assert eff["ApplicationControlled"] == (
        "On", "TTLSConnectionAdvancedParms conn-app-controlled.TTLSConnectionAdvancedParms#1")
    assert eff["HandshakeRole"] == ("Server", "TTLSEnvironmentAction env-server")
    assert eff["TLSv1.3"] == ("On", "default")
    assert eff["TLSv1.1"] == ("Off", "default")
    assert eff["TTLSEnabled"] == ("On", "TTLSGroupAction grp-on")
    text = attls("policy", "show", "starttls.conf", cwd=examples_with_certs).stdout
    assert re.search(r"^    ApplicationControlled +On +\(TTLSConnectionAdvancedParms "
                     r"conn-app-controlled\.TTLSConnectionAdvancedParms#1\)$", text, re.M)


def test_show_ipsec_policy(attls, examples_with_certs):
    r = attls("policy", "show", "ike-psk.conf", cwd=examples_with_certs)
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert "IpFilterPolicy: 2 rules in order" in lines
    assert "  1 IpFilterRule permit-ike: 198.18.0.1 -> 198.18.0.2, Permit" in lines
    assert ("  2 IpFilterRule protect-peer: 198.18.0.1 -> 198.18.0.2, IpSec, IpDynVpnAction "
            "vpn-pfs (InitiateWithPfs Group14, AcceptablePfs Group14 Group19 Group20, offers "
            "aes-gcm aes-cbc)") in lines
    assert ("  1 KeyExchangeRule peer-psk: local 198.18.0.1, remote 198.18.0.2, "
            "KeyExchangeAction main-psk (Main; offers psk-aes256)") in lines


def test_show_broken_policy(attls, policy_file):
    path = policy_file(BROKEN, "broken.conf")
    r = attls("policy", "show", path.name, cwd=path.parent)
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr.splitlines()[0] == "broken.conf:5:23: error: Direction: 'Inbnd' is not a valid value"
    assert r.stderr.splitlines()[-1] == "broken.conf: 3 errors"


# ---- show --match -------------------------------------------------------------------

MATCHING = """\
TTLSRule loopback { LocalAddr 127.0.0.0/8 RemoteAddr 127.0.0.0/8 Direction Both Priority 300
  TTLSGroupActionRef off }
TTLSRule admin { LocalPortRange 443 Userid root Direction Inbound Priority 200
  TTLSGroupActionRef on TTLSEnvironmentActionRef env }
TTLSRule web { LocalPortRange 443 Jobname ngin? Direction Inbound Priority 100
  TTLSGroupActionRef on TTLSEnvironmentActionRef env }
TTLSRule v6 { RemoteAddr 2001:db8::/32 Direction Outbound Priority 50
  TTLSGroupActionRef on TTLSEnvironmentActionRef env }
TTLSRule tenten { RemoteAddr 10.10.0.0/16 Direction Both TTLSGroupActionRef off }
TTLSGroupAction off { TTLSEnabled Off }
TTLSGroupAction on { TTLSEnabled On }
TTLSEnvironmentAction env { HandshakeRole Server TTLSKeyringParms { Keyring /dev/null } }
"""


def match(attls, path, spec, *extra):
    return attls("policy", "show", *extra, "--match", spec, path)


def test_match_text(attls, policy_file):
    path = policy_file(MATCHING)
    r = match(attls, path, "inbound 10.0.0.1:443 from 10.1.2.3:5555 job nginx user www")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:5] == [
        "inbound 10.0.0.1:443 from 10.1.2.3:5555 job nginx user www",
        "  loopback                 no: LocalAddr 127.0.0.0/8 does not contain local address 10.0.0.1",
        "  admin                    no: Userid root does not match 'www'",
        "  web                      MATCH",
        "=> TTLSRule web (priority 100)",
    ]


def test_match_json(attls, policy_file):
    path = policy_file(MATCHING)
    r = match(attls, path, "inbound 10.0.0.1:443 from 10.1.2.3:5555 job nginx user www", "--json")
    assert r.returncode == 0
    doc = json.loads(r.stdout)
    assert doc["rule"] == "web"
    assert doc["match"] == "inbound 10.0.0.1:443 from 10.1.2.3:5555 job nginx user www"
    assert doc["tried"] == [
        {"rule": "loopback", "matched": False,
         "reason": "LocalAddr 127.0.0.0/8 does not contain local address 10.0.0.1"},
        {"rule": "admin", "matched": False, "reason": "Userid root does not match 'www'"},
        {"rule": "web", "matched": True, "reason": None},
    ]
    assert doc["matched_rule"]["name"] == "web"
    assert doc["matched_rule"]["environment_action"] == "env"


def test_match_none(attls, policy_file):
    path = policy_file(MATCHING)
    r = match(attls, path, "outbound 10.0.0.1:40000 to 192.0.2.1:443", "--json")
    assert r.returncode == 0
    doc = json.loads(r.stdout)
    assert doc["rule"] is None
    assert "matched_rule" not in doc
    assert [t["rule"] for t in doc["tried"]] == ["loopback", "admin", "web", "v6", "tenten"]
    assert all(t["matched"] is False and t["reason"] for t in doc["tried"])
    assert doc["tried"][1]["reason"] == "Direction Inbound does not cover outbound connections"
    text = match(attls, path, "outbound 10.0.0.1:40000 to 192.0.2.1:443")
    assert text.stdout.splitlines()[-1] == \
        "=> no rule matches: attls leaves this connection alone (clear text)"


@pytest.mark.parametrize("spec,rule", [
    ("outbound [2001:db8::5]:40000 to [2001:db8:1::1]:443 job curl", "v6"),
    # a dual-stack socket's view of an IPv4 peer maps to the IPv4 rule
    ("inbound [::ffff:10.0.0.1]:22 from [::ffff:10.10.3.4]:5555", "tenten"),
    ("inbound 127.0.0.1:443 from 127.0.0.1:5555 job nginx", "loopback"),
    ("INBOUND local 10.0.0.1:443 remote 10.9.9.9:1 jobname nginx userid root", "admin"),
    ("inbound 10.0.0.1:443 from 10.9.9.9:1 job nginxx", None),
])
def test_match_forms(attls, policy_file, spec, rule):
    path = policy_file(MATCHING)
    r = match(attls, path, spec, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["rule"] == rule


def test_match_disabled_rule_says_clear_text(attls, policy_file):
    path = policy_file(MATCHING)
    r = match(attls, path, "inbound 127.0.0.1:8080 from 127.0.0.1:5555")
    assert r.stdout.splitlines()[1] == "  loopback                 MATCH"
    assert r.stdout.splitlines()[-1] == "  TTLSEnabled Off: the connection stays in clear text."


@pytest.mark.parametrize("spec,message", [
    ("10.0.0.1:443 from 10.1.2.3:5555", "say inbound or outbound"),
    ("inbound 10.0.0.1:443", "give both ends: LOCAL:PORT and from|to REMOTE:PORT"),
    ("inbound 10.0.0.1 from 10.1.2.3:5555", "'10.0.0.1' is not ADDRESS:PORT (IPv6 as [ADDRESS]:PORT)"),
    ("inbound 10.0.0.1:70000 from 10.1.2.3:5555", "'10.0.0.1:70000' is not ADDRESS:PORT"),
    ("inbound 2001:db8::1:443 from 10.1.2.3:5555", "'2001:db8::1:443' is not ADDRESS:PORT"),
    ("inbound 10.0.0.1:443 from 10.1.2.3:5555 extra", "unexpected 'extra'"),
    ("inbound 10.0.0.1:443 from 10.1.2.3:5555 job", "'job' needs a value"),
    ("inbound host.example:443 from 10.1.2.3:5555", "'host.example:443' is not ADDRESS:PORT"),
])
def test_bad_match_specs(attls, policy_file, spec, message):
    path = policy_file(MATCHING)
    r = match(attls, path, spec)
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr == f"attls: --match: {message}\n" or \
        r.stderr.startswith(f"attls: --match: {message}")


# ---- usage ----------------------------------------------------------------------------


@pytest.mark.parametrize("args,message", [
    (["policy", "check"], "usage: attls policy check [--json] FILE..."),
    (["policy", "show"], "usage: attls policy show [--json] [--match SPEC] FILE"),
    (["policy", "show", "a.conf", "b.conf"], "usage: attls policy show"),
    (["policy", "check", "--frob", "x.conf"], "attls: unknown option '--frob'"),
    (["policy", "check", "--match", "inbound 1.1.1.1:1 from 2.2.2.2:2", "x.conf"],
     "attls: --match goes with 'policy show'"),
    (["policy", "show", "x.conf", "--match"], "attls: --match needs a connection spec"),
    (["policy", "frob"], "attls: unknown policy command 'frob' (check, show, reference)"),
    (["policy"], "usage: attls policy check|show|reference ..."),
    (["frob"], "attls: unknown command 'frob'"),
    ([], "usage: attls run [-p POLICY]"),
])
def test_usage_errors(attls, args, message):
    r = attls(*args)
    assert r.returncode == 2
    assert r.stderr.startswith(message), r.stderr


def test_help(attls):
    r = attls("--help")
    assert r.returncode == 0
    assert r.stdout.startswith("usage: attls run [-p POLICY]")
    for command in ("attls conns", "attls policy check", "attls policy show", "attls policy reference"):
        assert command in r.stdout


# ---- reference and its document ----------------------------------------------------------

BEGIN = "<!-- BEGIN GENERATED: attls policy reference -->"
END = "<!-- END GENERATED -->"


def test_reference_covers_every_statement(attls):
    r = attls("policy", "reference")
    assert r.returncode == 0
    for stmt in ["TTLSRule", "TTLSGroupAction", "TTLSEnvironmentAction", "TTLSConnectionAction",
                 "TTLSKeyringParms", "TTLSCipherParms", "TTLSEnvironmentAdvancedParms",
                 "TTLSConnectionAdvancedParms", "TTLSGskAdvancedParms", "IpAddr", "IpAddrSet",
                 "IpAddrGroup", "PortRange", "PortGroup", "IpFilterPolicy", "IpFilterRule",
                 "IpService", "IpGenericFilterAction", "IpDynVpnAction", "IpDataOffer",
                 "KeyExchangePolicy", "KeyExchangeRule", "KeyExchangeAction", "KeyExchangeOffer",
                 "LocalSecurityEndpoint", "RemoteSecurityEndpoint", "IpLocalStartAction",
                 "IkeConfig"]:
        assert f"\n### {stmt}\n" in r.stdout, stmt
    # every table row has the four cells: a '|' in a value would add one
    for line in r.stdout.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            assert len(re.findall(r"(?<!\\)\|", line)) == 5, line


def test_reference_document_is_current(attls, repo):
    """docs/policy-reference.md carries the command's output between markers;
    `make docs` (scripts/gen-policy-reference) rewrites it."""
    doc = (repo / "docs" / "policy-reference.md").read_text()
    assert doc.count(BEGIN) == 1 and doc.count(END) == 1
    generated = doc.split(BEGIN, 1)[1].split(END, 1)[0]
    r = attls("policy", "reference")
    assert generated.strip("\n") == r.stdout.strip("\n"), \
        "docs/policy-reference.md is stale: run `make docs`"


# ---- the demo (the README's examples: test_readme.py) ----------------------------------


def test_demo_script(repo, attls_bin):
    r = subprocess.run([str(repo / "scripts" / "demo")], cwd=repo, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    for name in EXPECTED_SUMMARY:
        assert f"{name}: OK" in r.stdout
