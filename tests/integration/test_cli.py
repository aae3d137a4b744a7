"""Command-line habits of attls, ipsec, iked and attls-mkcerts: --help on every
command and subcommand (usage on stdout, status 0), --version from the one
VERSION file, `attls conns --pid`, a table whose columns fit what they hold,
and `make install` (DESTDIR) with the header, attls-mkcerts and example
policies that work where they are installed."""
import json
import os
import shutil
import subprocess
import textwrap

import pytest

from shim_helpers import (PROGS, PY, REPO, attls_run, certs, free_port, listening,  # noqa: F401
                          need, procs, rule, run, wait_for, work, write_policy)

ATTLS = REPO / "build" / "bin" / "attls"
IPSEC = REPO / "build" / "bin" / "ipsec"
IKED = REPO / "build" / "bin" / "iked"
MKCERTS = REPO / "scripts" / "mkcerts"
VERSION = (REPO / "VERSION").read_text().strip()

HELP = [
    ([ATTLS, "--help"], "usage: attls run"),
    ([ATTLS, "-h"], "usage: attls run"),
    ([ATTLS, "run", "--help"], "usage: attls run"),
    ([ATTLS, "conns", "--help"], "usage: attls conns"),
    ([ATTLS, "conns", "--json", "-h"], "usage: attls conns"),
    ([ATTLS, "policy", "--help"], "usage: attls policy check|show|reference"),
    ([ATTLS, "policy", "check", "--help"], "usage: attls policy check"),
    ([ATTLS, "policy", "show", "--help"], "usage: attls policy show"),
    ([ATTLS, "policy", "show", "--json", "x.conf", "-h"], "usage: attls policy show"),
    ([ATTLS, "policy", "reference", "--help"], "usage: attls policy reference"),
    ([IPSEC, "--help"], "usage: ipsec"),
    ([IPSEC, "-k", "--help"], "usage: ipsec"),
    ([IPSEC, "-y", "display", "--help"], "usage: ipsec"),
    ([IPSEC, "-y", "activate", "-h"], "usage: ipsec"),
    ([IPSEC, "-f", "display", "--help"], "usage: ipsec"),
    ([IPSEC, "--cache", "--help"], "usage: ipsec"),
    ([IKED, "--help"], "usage: iked"),
    ([IKED, "-h"], "usage: iked"),
    ([MKCERTS, "--help"], "mkcerts DIR"),
]


@pytest.mark.parametrize("argv,start", HELP,
                         ids=[" ".join([a[0].name] + a[1:]) for a, _ in HELP])
def test_help_everywhere(argv, start):
    r = run(argv, timeout=30)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout.decode().startswith(start), r.stdout.decode()
    assert r.stderr == b""


def test_an_unknown_subcommand_with_help_is_still_unknown():
    r = run([ATTLS, "policy", "frob", "--help"])
    assert r.returncode == 2
    assert r.stderr.decode().startswith("attls: unknown policy command 'frob'")


@pytest.mark.parametrize("argv,name", [([ATTLS, "--version"], "attls"),
                                       ([ATTLS, "version"], "attls"),
                                       ([IPSEC, "--version"], "ipsec (attls)"),
                                       ([IPSEC, "-k", "display", "--version"], "ipsec (attls)"),
                                       ([IKED, "--version"], "iked (attls)")])
def test_version_comes_from_the_version_file(argv, name):
    r = run(argv)
    assert r.returncode == 0 and r.stderr == b""
    assert r.stdout.decode() == f"{name} {VERSION}\n"


# ---- attls conns --pid and its columns ----------------------------------------------

# Names are at most 32 characters; rule() names the actions grp-NAME, env-NAME.
LONG_RULE = "a-rule-name-of-28-characters"


def two_covered_processes(procs, work, certs):
    """A server whose program name is 15 characters (the most the kernel keeps)
    and a client, both under attls, one connection between them."""
    port = free_port()
    spol = write_policy(work / "server.conf",
                        rule(LONG_RULE, "Inbound", certs.path("server.pem"), "Server",
                             lport=port))
    cpol = write_policy(work / "client.conf",
                        rule("cli", "Outbound", certs.path("ca.pem"), "Client", rport=port,
                             host_ref="localhost"))
    longname = work / "echo-server-15c"                      # comm: 15 characters
    os.symlink(PY, longname)
    server = procs.start(attls_run(spol, work / "s.log", longname, PROGS / "echo_server.py",
                                   port), name="server")
    wait_for(lambda: listening(port) or server.poll() is not None, 15, "server to listen")
    assert server.poll() is None, procs.err(server)
    client = procs.start(attls_run(cpol, work / "c.log", need("socat"), "-",
                                   f"TCP:127.0.0.1:{port}"), name="client",
                         stdin=subprocess.PIPE)
    client.stdin.write(b"ping\n")
    client.stdin.flush()
    wait_for(lambda: procs.out(client) == "ping\n" or client.poll() is not None, 15, "the echo")
    assert procs.out(client) == "ping\n", \
        procs.err(client) + (work / "s.log").read_text() + (work / "c.log").read_text()
    return server, client


def test_conns_pid_shows_that_process_alone(procs, work, certs):
    server, client = two_covered_processes(procs, work, certs)
    r = run([ATTLS, "conns", "--json", "--pid", server.pid])
    assert r.returncode == 0, r.stderr.decode()
    rows = json.loads(r.stdout)["connections"]
    assert [(x["pid"], x["rule"]) for x in rows] == [(server.pid, LONG_RULE)]
    r = run([ATTLS, "conns", f"--pid={client.pid}", "--pid", client.pid])
    lines = r.stdout.decode().splitlines()
    assert r.returncode == 0 and len(lines) == 2, lines
    assert lines[1].split()[:2] == [str(client.pid), "socat"]
    # a process that publishes nothing: said on stderr, status 1
    sleeper = procs.start(["sleep", "60"], name="sleeper")
    r = run([ATTLS, "conns", "--pid", sleeper.pid])
    assert r.returncode == 1
    assert f"process {sleeper.pid} publishes no connections" in r.stderr.decode()
    assert r.stdout.decode().split() == ["PID", "PROGRAM", "ID", "STATE", "DIR", "LOCAL",
                                         "REMOTE", "RULE", "PROTOCOL", "CIPHER", "BYTES_IN",
                                         "BYTES_OUT", "PEER"]
    for bad in ("0", "x", "-3", ""):
        r = run([ATTLS, "conns", "--pid", bad])
        assert r.returncode == 2 and b"--pid takes a process ID" in r.stderr


def test_conns_columns_fit_what_they_hold(procs, work, certs):
    server, client = two_covered_processes(procs, work, certs)
    r = run([ATTLS, "conns"])
    assert r.returncode == 0, r.stderr.decode()
    header, *rows = r.stdout.decode().splitlines()
    rows = [x for x in rows if x.split()[0] in (str(server.pid), str(client.pid))]
    assert len(rows) == 2, rows
    expect = {str(server.pid): ("echo-server-15c", LONG_RULE, "in"),
              str(client.pid): ("socat", "cli", "out")}
    for row in rows:
        pid = row.split()[0]
        prog, rule_name, direction = expect[pid]
        # every left-aligned cell starts where its heading starts
        for head, value in (("PROGRAM", prog), ("RULE", rule_name), ("DIR", direction),
                            ("STATE", "secure"), ("PROTOCOL", "TLS1.3")):
            at = header.index(head)
            assert row[at:].startswith(value + " "), (head, header, row)
            assert row[at - 1] == " "
        # numbers end where their heading ends
        for head in ("PID", "BYTES_IN", "BYTES_OUT"):
            end = header.index(head) + len(head)
            assert row[end - 1] != " " and row[end] == " ", (head, header, row)
        assert row[header.index("PEER"):] == ("-" if pid == str(server.pid) else "CN=localhost")


# ---- make install --------------------------------------------------------------------

def test_make_install_puts_everything_in_place(tmp_path):
    dest = tmp_path / "dest"
    r = subprocess.run(["make", "-s", "install", f"DESTDIR={dest}", "PREFIX=/usr/local"],
                       cwd=REPO, capture_output=True, timeout=900)
    assert r.returncode == 0, (r.stdout + r.stderr).decode()
    root = dest / "usr" / "local"
    for prog in ("attls", "ipsec", "iked", "attls-mkcerts"):
        assert os.access(root / "bin" / prog, os.X_OK), prog
    assert (root / "lib" / "attls" / "libattls.so").is_file()
    header = root / "include" / "ezbztlsc.h"
    assert header.read_bytes() == (REPO / "include" / "ezbztlsc.h").read_bytes()
    examples = root / "share" / "attls" / "examples"
    assert sorted(p.name for p in examples.glob("*.conf")) == \
        sorted(p.name for p in (REPO / "policy" / "examples").glob("*.conf"))
    for doc in ("README.md", "policy-reference.md", "architecture.md", "iked.md"):
        assert (root / "share" / "doc" / "attls" / doc).is_file(), doc
    assert not (examples / "certs").exists(), "the throwaway keys are not installed"

    # A z/OS program's include works from the installed header alone.
    src = tmp_path / "uses_header.c"
    src.write_text(textwrap.dedent("""\
        #include <ezbztlsc.h>
        _Static_assert(sizeof(struct TTLS_IOCTL) == 56, "z/OS layout");
        int main(void) { struct TTLS_IOCTL ioc = { .TTLSi_Ver = TTLS_VERSION1 };
                         return ioc.TTLSi_Ver == 1 ? 0 : 1; }
        """))
    r = subprocess.run([need("cc"), "-std=c11", "-Wall", "-Werror", "-I", root / "include",
                        "-o", tmp_path / "uses_header", src], capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode()

    # attls-mkcerts where the installed policies look for their key rings:
    # then every installed example checks clean, with no warning.
    r = run([root / "bin" / "attls-mkcerts", examples / "certs"], timeout=120)
    assert r.returncode == 0, r.stderr.decode()
    for conf in sorted(examples.glob("*.conf")):
        r = run([root / "bin" / "attls", "policy", "check", conf])
        assert r.returncode == 0 and r.stderr == b"", (conf.name, r.stderr.decode())

    # And the installed attls serves TLS with the installed server.conf (its
    # fixed port 8443 in a network namespace of its own).
    script = textwrap.dedent("""\
        ip link set lo up
        "$1/bin/attls" run -p "$1/share/attls/examples/server.conf" -- \\
            python3 -m http.server 8443 --bind 127.0.0.1 --directory "$1/share/doc/attls" \\
            >/dev/null 2>&1 &
        pid=$!
        i=0
        until curl -sS -o "$2" --cacert "$1/share/attls/examples/certs/ca.pem" \\
                https://localhost:8443/README.md 2>/dev/null; do
            i=$((i + 1)); [ $i -lt 100 ] || { kill $pid; exit 1; }; sleep 0.1
        done
        kill $pid; wait $pid
        exit 0
        """)
    r = subprocess.run([need("unshare"), "--net", "sh", "-c", script, "sh", root,
                        tmp_path / "got.md"], capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode()
    assert (tmp_path / "got.md").read_bytes() == (REPO / "README.md").read_bytes()
    shutil.rmtree(dest)
