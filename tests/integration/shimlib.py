"""Helpers for tests that run programs under attls: paths, throwaway
certificates (certtool), policies, and processes that are always stopped."""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
ATTLS = BUILD / "bin" / "attls"
PROGS = BUILD / "tests" / "progs"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def certtool(*args, cwd):
    subprocess.run(["certtool", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_certs(d: Path):
    """A CA, a server certificate for localhost/127.0.0.1, a client
    certificate, and a second unrelated CA with its own client certificate.
    Writes PEM bundles server.pem, client.pem, wrongclient.pem (key, chain, CA)."""
    d.mkdir(parents=True, exist_ok=True)
    tmpl = {
        "ca.tmpl": 'cn = "attls test CA"\nca\ncert_signing_key\nexpiration_days = 30\n',
        "ca2.tmpl": 'cn = "unrelated CA"\nca\ncert_signing_key\nexpiration_days = 30\n',
        "srv.tmpl": 'cn = "localhost"\ndns_name = "localhost"\nip_address = "127.0.0.1"\n'
                    'tls_www_server\nexpiration_days = 30\n',
        "cli.tmpl": 'cn = "attls test client"\ntls_www_client\nexpiration_days = 30\n',
    }
    for name, text in tmpl.items():
        (d / name).write_text(text)
    for k in ("ca", "ca2", "srv", "cli", "cli2"):
        certtool("--generate-privkey", "--key-type", "ecdsa", "--outfile", f"{k}.key", cwd=d)
    certtool("--generate-self-signed", "--load-privkey", "ca.key", "--template", "ca.tmpl",
             "--outfile", "ca.pem", cwd=d)
    certtool("--generate-self-signed", "--load-privkey", "ca2.key", "--template", "ca2.tmpl",
             "--outfile", "ca2.pem", cwd=d)
    for key, tmplname, ca, out in (("srv", "srv.tmpl", "ca", "srv.pem"),
                                   ("cli", "cli.tmpl", "ca", "cli.pem"),
                                   ("cli2", "cli.tmpl", "ca2", "cli2.pem")):
        certtool("--generate-certificate", "--load-privkey", f"{key}.key",
                 "--load-ca-certificate", f"{ca}.pem", "--load-ca-privkey", f"{ca}.key",
                 "--template", tmplname, "--outfile", out, cwd=d)
    cat = lambda *names: "".join((d / n).read_text() for n in names)
    (d / "server.pem").write_text(cat("srv.key", "srv.pem", "ca.pem"))
    (d / "client.pem").write_text(cat("cli.key", "cli.pem", "ca.pem"))
    (d / "wrongclient.pem").write_text(cat("cli2.key", "cli2.pem", "ca2.pem"))
    return d


def echo_policy(certs: Path, ports: str, hs_timeout=10, extra_server="", extra_client=""):
    """Server rule for local ports PORTS, client rule for remote ports PORTS."""
    return f"""
TTLSRule srv
{{
  LocalPortRange {ports}
  Direction Inbound
  TTLSGroupActionRef g
  TTLSEnvironmentActionRef es
}}
TTLSRule cli
{{
  RemotePortRange {ports}
  Direction Outbound
  TTLSGroupActionRef g
  TTLSEnvironmentActionRef ec
}}
TTLSGroupAction g {{ TTLSEnabled On }}
TTLSEnvironmentAction es
{{
  HandshakeRole Server
  TTLSKeyringParms {{ Keyring {certs}/server.pem }}
  TTLSEnvironmentAdvancedParms {{ HandshakeTimeout {hs_timeout} {extra_server} }}
}}
TTLSEnvironmentAction ec
{{
  HandshakeRole Client
  TTLSKeyringParms {{ Keyring {certs}/client.pem }}
  {extra_client}
}}
"""


class Proc:
    """A process started under attls (or not), stopped by PID at the end."""

    def __init__(self, argv, policy=None, log=None, trace=None, stdout=subprocess.PIPE,
                 stderr=subprocess.PIPE, env=None, cwd=None):
        cmd = list(map(str, argv))
        if policy is not None:
            pre = [str(ATTLS), "run", "-p", str(policy)]
            if log:
                pre += ["--log", str(log)]
            if trace is not None:
                pre += ["--trace", str(trace)]
            cmd = pre + ["--"] + cmd
        self.p = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, env=env, cwd=cwd,
                                  text=True)

    @property
    def pid(self):
        return self.p.pid

    def readline(self, timeout=10):
        """One line of stdout, waiting at most timeout seconds."""
        import selectors
        sel = selectors.DefaultSelector()
        sel.register(self.p.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sel.select(timeout=max(0.05, deadline - time.monotonic())):
                return self.p.stdout.readline()
        raise TimeoutError("no output within %ss" % timeout)

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(timeout=10)
        out = self.p.stdout.read() if self.p.stdout else ""
        err = self.p.stderr.read() if self.p.stderr else ""
        return out, err


def wait_for(pred, timeout=10, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"{what} not reached within {timeout}s")


def run_under(policy, argv, log=None, timeout=120, env=None):
    cmd = [str(ATTLS), "run", "-p", str(policy)]
    if log:
        cmd += ["--log", str(log)]
    return subprocess.run(cmd + ["--"] + list(map(str, argv)), capture_output=True, text=True,
                          timeout=timeout, env=env)


def rss_kb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))
