"""README.md's examples work as written, done the way a user does them: a fresh
`git clone` of this tree, `make` alone, then every command of every shell
block of the README in order (`make demo` on its own), with the real curl, openssl and servers. Servers (the
commands that do not end by themselves) run in the background until the end
and are stopped by PID; every other command must exit 0, and some must say
what the README says they show. The tour's `$ command` blocks must print
what the README prints ("..." stands for lines left out).

The commands are read from README.md, so the test follows the README. They
run in a network namespace and a mount namespace of their own: the README's
fixed ports (8443, 2525, 2121, 8025, UDP 500) and paths (/tmp/ftp,
/run/attls/iked.sock) then touch nothing else on this machine."""
import os
import re
import shutil
import signal
import subprocess
import tempfile

import pytest

from shim_helpers import REPO, need, wait_for

# What some commands must print, besides exiting 0 (command substring -> regex).
EXPECT = {
    "https://localhost:8443/": r"Directory listing",
    "-- curl http://127.0.0.1:8443/": r"Directory listing",
    "attls conns": r"^PID +PROGRAM",
    "openssl s_client -starttls smtp": r"Verify return code: 0 \(ok\)",
    "ftp://127.0.0.1:2121/hello.txt": r"^hello over FTPS$",
    "ftp://127.0.0.1:2121/\n": r"hello\.txt",
    "curl http://127.0.0.1:8025/": r"^secure: no$",
    "curl --cacert policy/examples/certs/ca.pem https://127.0.0.1:8025/": r"^secure: yes$",
    "query_client": r"^host localhost: ",
    "ipsec -f display": r"permit-ike",
    "ipsec -k display": r"entries selected",
}
# Not run with the others: `make check` is the whole suite this test belongs
# to; `make demo` gets a namespace of its own (it wants port 8443 free), after
# the others have shown that `make` alone is enough.
NOT_RUN = ("make check", "make demo")
SERVER = re.compile(r"_server\b|http\.server|iked -F")


def fenced_blocks(text):
    """(language, body) of every fenced block, in order."""
    blocks, lang, body = [], None, []
    for line in text.splitlines():
        if lang is None and line.startswith("```"):
            lang, body = line[3:].strip(), []
        elif lang is not None and line == "```":
            blocks.append((lang, "\n".join(body) + "\n"))
            lang = None
        elif lang is not None:
            body.append(line)
    return blocks


def shell_blocks(text):
    """The bodies of the ```sh blocks, in order."""
    return [b for lang, b in fenced_blocks(text) if lang == "sh"]


def tour_blocks(text):
    """The bodies of the plain ``` blocks that start with a `$ ` command."""
    return [b for lang, b in fenced_blocks(text) if not lang and b.startswith("$ ")]


def commands(block):
    """Shell commands of a block: continuation lines joined, comment lines out."""
    cmds, cur = [], ""
    for line in block.splitlines():
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        cur += line[:-1] + " " if line.endswith("\\") else line
        if not line.endswith("\\"):
            cmds.append(cur)
            cur = ""
    return cmds


def tour_commands(block):
    """(command, expected output lines) of a tour block."""
    out = []
    for line in block.splitlines():
        if line.startswith("$ "):
            out.append((line[2:], []))
        elif out:
            out[-1][1].append(line)
    return out


def matches(expected, actual):
    """expected lines, where a line "..." stands for any lines, against actual."""
    segs, cur = [], []
    for line in expected:
        if line.strip() == "...":
            segs.append(cur)
            cur = []
        else:
            cur.append(line)
    segs.append(cur)
    pos = 0
    for i, seg in enumerate(segs):
        if not seg:
            continue
        last = i == len(segs) - 1
        starts = [pos] if i == 0 else range(pos, len(actual) - len(seg) + 1)
        for at in starts:
            if actual[at:at + len(seg)] == seg and (not last or at + len(seg) == len(actual)):
                pos = at + len(seg)
                break
        else:
            return False
    return True


class Namespace:
    """A holder process in new network and mount namespaces (loopback up,
    private /tmp, /run/attls and /run/netns); commands enter both with
    nsenter. /run/netns too: `ip netns add` makes its file on the tmpfs
    under /run, which a private mount namespace shares with the host."""

    def __init__(self, base):
        self.tmp = base / "tmp"
        self.run_attls = base / "run-attls"
        self.tmp.mkdir()
        self.run_attls.mkdir()
        os.makedirs("/run/attls", exist_ok=True)     # the mount point (iked makes it too)
        os.makedirs("/run/netns", exist_ok=True)
        script = ('ip link set lo up && mount --bind "$1" /tmp && '
                  'mount --bind "$2" /run/attls && mount -t tmpfs tmpfs /run/netns && '
                  'echo ready && exec sleep 3600')
        self.holder = subprocess.Popen(
            [need("unshare"), "--net", "--mount", "--propagation", "private", "sh", "-c",
             script, "sh", self.tmp, self.run_attls], stdout=subprocess.PIPE,
            start_new_session=True)
        assert self.holder.stdout.readline() == b"ready\n"

    def argv(self, cmd, cwd):
        return [need("nsenter"), "-t", str(self.holder.pid), "-n", "-m", f"--wd={cwd}",
                "sh", "-c", cmd]

    def listening(self, spec):
        """Whether a TCP port ("tcp:N") listens, or a unix socket file exists."""
        kind, what = spec.split(":", 1)
        if kind == "unix":
            return (self.run_attls / os.path.basename(what)).exists()
        r = subprocess.run(self.argv(f"ss -Hltn 'sport = :{what}'", "/"),
                           capture_output=True, timeout=30)
        return bool(r.stdout.strip())

    def close(self):
        os.killpg(self.holder.pid, signal.SIGKILL)
        self.holder.wait(10)


def ready_spec(cmd, clone):
    """What shows that the server cmd is ready: its policy's LocalPortRange,
    the port on its command line, or iked's control socket."""
    if "iked -F" in cmd:
        return "unix:/run/attls/iked.sock"
    m = re.search(r"-p (\S+\.conf)", cmd)
    if m:
        text = (clone / m.group(1)).read_text()
        port = re.search(r"^\s*LocalPortRange\s+(\d+)", text, re.M)
        if port:
            return f"tcp:{port.group(1)}"
    port = re.findall(r" (\d{2,5})\b", cmd)[-1]
    return f"tcp:{port}"


@pytest.fixture(scope="module")
def clone():
    base = tempfile.mkdtemp(prefix="readme-", dir=REPO / "build")
    d = os.path.join(base, "attls")
    try:
        r = subprocess.run(["git", "clone", "-q", str(REPO), d], capture_output=True,
                           timeout=300)
        assert r.returncode == 0, r.stderr.decode()
        r = subprocess.run(["make", "-j2"], cwd=d, capture_output=True, timeout=1800)
        assert r.returncode == 0, r.stdout.decode()[-3000:] + r.stderr.decode()[-3000:]
        yield type(REPO)(d)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_make_alone_makes_the_example_certificates(clone):
    for name in ("ca.pem", "server.pem", "client.pem"):
        assert (clone / "policy" / "examples" / "certs" / name).is_file(), name
    r = subprocess.run(["git", "status", "--porcelain", "--ignored=no"], cwd=clone,
                       capture_output=True, text=True, timeout=60)
    assert r.stdout == "", "make leaves nothing git would add:\n" + r.stdout


def test_every_readme_shell_block_works_as_written(clone):
    text = (clone / "README.md").read_text()
    blocks = shell_blocks(text)
    assert len(blocks) >= 7, "the README's shell blocks were not found"
    work = type(REPO)(tempfile.mkdtemp(prefix="ns-", dir=REPO / "build"))
    ns = Namespace(work)
    servers, ran = [], []
    try:
        for block in blocks:
            for cmd in commands(block):
                if cmd.startswith(NOT_RUN):
                    continue
                if SERVER.search(cmd):
                    out = open(work / f"server{len(servers)}.out", "wb")
                    p = subprocess.Popen(ns.argv(cmd, clone), stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
                    p.cmd, p.log = cmd, work / f"server{len(servers)}.out"
                    servers.append(p)
                    spec = ready_spec(cmd, clone)
                    wait_for(lambda: ns.listening(spec) or p.poll() is not None, 30,
                             f"{cmd} to listen ({spec})", interval=0.1)
                    assert p.poll() is None, f"{cmd}\n{p.log.read_text(errors='replace')}"
                    continue
                r = subprocess.run(ns.argv(cmd, clone), stdin=subprocess.DEVNULL,
                                   capture_output=True, timeout=300)
                out = r.stdout.decode(errors="replace")
                assert r.returncode == 0, f"{cmd}\n{out}{r.stderr.decode(errors='replace')}"
                for key, rx in EXPECT.items():
                    if key in cmd + "\n":
                        assert re.search(rx, out, re.M), f"{cmd}: no /{rx}/ in\n{out}"
                ran.append(cmd)
        for p in servers:
            assert p.poll() is None, f"{p.cmd} ended\n{p.log.read_text(errors='replace')}"
    finally:
        for p in servers:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(5)
        ns.close()
        shutil.rmtree(work, ignore_errors=True)
    # Every expectation met a command: the README still shows each of them.
    for key in EXPECT:
        assert any(key in c + "\n" for c in ran), f"no README command contains {key!r}"


def test_make_demo_as_written(clone):
    cmds = [c for b in shell_blocks((clone / "README.md").read_text()) for c in commands(b)
            if c.startswith("make demo")]
    assert len(cmds) == 1
    work = type(REPO)(tempfile.mkdtemp(prefix="ns-", dir=REPO / "build"))
    ns = Namespace(work)
    try:
        r = subprocess.run(ns.argv(cmds[0], clone), stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=600)
    finally:
        ns.close()
        shutil.rmtree(work, ignore_errors=True)
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0, out + r.stderr.decode(errors="replace")
    assert "Hello from a plain HTTP server that never heard of TLS." in out


def test_the_tour_prints_what_the_readme_shows(clone):
    text = (clone / "README.md").read_text()
    tours = [c for b in tour_blocks(text) for c in tour_commands(b)]
    assert len(tours) >= 4
    for cmd, expected in tours:
        r = subprocess.run(cmd, shell=True, cwd=clone, capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, f"{cmd}\n{r.stdout}{r.stderr}"
        assert matches(expected, r.stdout.splitlines()), \
            f"{cmd}\nREADME shows:\n" + "\n".join(expected) + "\nit prints:\n" + r.stdout
