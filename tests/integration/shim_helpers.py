"""Shared pieces of the shim integration tests (tests/integration/test_shim_*.py).

Everything a test starts goes through Procs, which runs each program in a new
session and, at the end of the test, stops exactly those sessions (by process
group id = the PID it started). Waits are deadline loops. Certificates are made
once per test session with certtool in a temporary directory.

The fixtures are imported by name into each test module (no conftest.py).
"""
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ATTLS = REPO / "build" / "bin" / "attls"
LIBATTLS = REPO / "build" / "lib" / "libattls.so"
PROGS = Path(__file__).resolve().parent / "shim_progs"
# The C test programs of tests/integration/progs, as `make all` builds them.
TEST_PROGS = REPO / "build" / "tests" / "progs"
# The Debian interpreter: the programs under test must be dynamically linked
# against the system libc, and the test process's own ssl module is OpenSSL.
PY = "/usr/bin/python3"


# The name the server certificate carries besides localhost, and one it does not
# carry; tests that connect by name map both to 127.0.0.1 in a private hosts file.
SERVER_NAME = "attls-srv.test"
WRONG_NAME = "attls-wrong.test"


def need(tool):
    """Absolute path of a required tool; a missing tool fails the test."""
    path = shutil.which(tool, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    assert path, f"{tool} is not installed (scripts/deps installs it)"
    return path


def built():
    assert ATTLS.is_file() and LIBATTLS.is_file(), "run `make all` first"
    return str(ATTLS)


def wait_for(cond, timeout, what, interval=0.02):
    """Poll cond() until it returns something true, at most timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    """Whether some socket listens on TCP port (seen in /proc, not by connecting,
    so a TLS server does not log a failed handshake for the probe)."""
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                        return True
        except FileNotFoundError:
            pass
    return False


def rss_kb(pid):
    """Resident set size of process pid in kB (VmRSS), -1 if it has none."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def fd_count(pid):
    """How many descriptors process pid has open."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def make_file(path, size, seed):
    """size pseudo-random bytes (never repeating, so a misplaced record changes
    the digest), different per seed."""
    rng = random.Random(seed)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 1 << 20)
            f.write(rng.randbytes(n))
            left -= n
    return path


class Procs:
    """Programs a test started; stop() ends exactly those (their sessions)."""

    def __init__(self, workdir):
        self.workdir = Path(workdir)
        self.procs = []
        self.n = 0

    def start(self, argv, name=None, stdin=subprocess.DEVNULL, env=None, cwd=None):
        self.n += 1
        name = name or f"p{self.n}"
        out = open(self.workdir / f"{name}.out", "wb")
        err = open(self.workdir / f"{name}.err", "wb")
        p = subprocess.Popen([str(a) for a in argv], stdin=stdin, stdout=out, stderr=err,
                             start_new_session=True, env=env, cwd=cwd or self.workdir)
        out.close()
        err.close()
        p.name = name
        p.out_path = self.workdir / f"{name}.out"
        p.err_path = self.workdir / f"{name}.err"
        self.procs.append(p)
        return p

    @staticmethod
    def out(p):
        return p.out_path.read_bytes().decode(errors="replace")

    @staticmethod
    def err(p):
        return p.err_path.read_bytes().decode(errors="replace")

    def stop(self, p, sig=signal.SIGTERM, timeout=10):
        if p.poll() is None:
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(5)
        # Children of the program that outlived it (same session) go too.
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if p.stdin:
            p.stdin.close()

    def stop_all(self):
        for p in reversed(self.procs):
            self.stop(p)


def attls_run(policy, log, *argv, trace=None):
    cmd = [built(), "run", "-p", str(policy), "--log", str(log)]
    if trace is not None:
        cmd += ["--trace", str(trace)]
    return cmd + ["--"] + [str(a) for a in argv]


def preloaded(policy, log):
    """The environment attls run gives a program, set by hand, for tests of
    what the library does on its own with a policy attls run would refuse."""
    return dict(os.environ, LD_PRELOAD=str(LIBATTLS), ATTLS_POLICY=str(policy),
                ATTLS_LOG_FILE=str(log))


def start_echo_server(procs, policy, log, port):
    """build/tests/progs/echo_server under attls on port, once it listens."""
    p = procs.start(attls_run(policy, log, TEST_PROGS / "echo_server", "--port", port),
                    name="server")
    wait_for(lambda: listening(port) or p.poll() is not None, 15, "the server to listen")
    assert p.poll() is None, Procs.err(p)
    return p


def run(argv, timeout=60, **kw):
    """Run a command to completion (bounded); returns CompletedProcess."""
    return subprocess.run([str(a) for a in argv], capture_output=True, timeout=timeout, **kw)


def with_hosts(hosts_file, argv):
    """argv run with hosts_file mounted over /etc/hosts in a private mount
    namespace: names for this process tree only, the machine's file untouched."""
    return [need("unshare"), "--mount", "sh", "-c",
            'mount --bind "$0" /etc/hosts && exec "$@"', str(hosts_file)] + [str(a) for a in argv]


def hosts_file(path, names):
    Path(path).write_text("127.0.0.1 localhost\n" + "".join(f"127.0.0.1 {n}\n" for n in names))
    return path


def nginx_conf(d, server_block, master=False, workers=1, extra_http="", extra_main=""):
    """An nginx.conf in d whose paths all stay in d; server_block goes in http{},
    extra_main in the main context (e.g. "user nobody nogroup;")."""
    d = Path(d)
    (d / "tmp").mkdir(exist_ok=True)
    conf = d / "nginx.conf"
    conf.write_text(f"""
{extra_main}
daemon off;
master_process {'on' if master else 'off'};
worker_processes {workers};
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 1024; use epoll; }}
http {{
    types {{ text/html html; application/octet-stream bin; }}
    default_type application/octet-stream;
    log_format t '$connection $connection_requests "$request" $status $body_bytes_sent '
                 '$ssl_protocol $ssl_server_name';
    access_log {d}/access.log t;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    {extra_http}
    {server_block}
}}
""")
    return conf


def nginx_argv(d):
    return [need("nginx"), "-p", str(d), "-e", f"{d}/error.log", "-c", f"{d}/nginx.conf"]


# ---- policies -------------------------------------------------------------------

def rule(name, direction, keyring, role, lport=None, rport=None, client_auth=None,
         host_ref=None, adv=None, trace=30, enabled=True, raddr=None, priority=None,
         ciphers4=None):
    """One TTLSRule with its own group and environment actions, as policy text.
    adv: TTLSEnvironmentAdvancedParms; ciphers4: V3CipherSuites4Char value."""
    conds = []
    if lport is not None:
        conds.append(f"  LocalPortRange {lport}")
    if rport is not None:
        conds.append(f"  RemotePortRange {rport}")
    if raddr is not None:
        conds.append(f"  RemoteAddr {raddr}")
    if priority is not None:
        conds.append(f"  Priority {priority}")
    advl = dict(adv or {})
    if client_auth:
        advl["ClientAuthType"] = client_auth
    if host_ref:
        advl["HostReferenceIdDNS"] = host_ref
    adv_text = ""
    if advl:
        adv_text = "  TTLSEnvironmentAdvancedParms\n  {\n" + "".join(
            f"    {k} {v}\n" for k, v in advl.items()) + "  }\n"
    return (f"TTLSRule {name}\n{{\n" + "\n".join(conds) + f"\n  Direction {direction}\n"
            f"  TTLSGroupActionRef grp-{name}\n  TTLSEnvironmentActionRef env-{name}\n}}\n"
            f"TTLSGroupAction grp-{name}\n{{\n  TTLSEnabled {'On' if enabled else 'Off'}\n"
            f"  Trace {trace}\n}}\n"
            f"TTLSEnvironmentAction env-{name}\n{{\n  HandshakeRole {role}\n"
            f"  TTLSKeyringParms\n  {{\n    Keyring {keyring}\n  }}\n{adv_text}"
            + (f"  TTLSCipherParms\n  {{\n    V3CipherSuites4Char {ciphers4}\n  }}\n"
               if ciphers4 else "") + "}\n")


def write_policy(path, *rules):
    text = "\n".join(rules)
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)      # a reader never sees half a file
    return path


def check_policy(path):
    r = run([built(), "policy", "check", path])
    assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()


# ---- certificates -----------------------------------------------------------------

class Certs:
    """A CA, server and client certificates from it, and a second CA nobody
    trusts with a client certificate of its own. PEM keyrings for attls:
    server.pem (key, chain, CA), client.pem (key, chain, CA), ca.pem (CA only),
    wrongca.pem (the untrusted CA only)."""

    def __init__(self, d):
        self.d = Path(d)
        self.certtool = need("certtool")
        self._ca("ca", "attls test CA")
        self._ca("wrongca", "untrusted CA")
        self._leaf("server", "ca", "localhost", ["localhost", SERVER_NAME], ["127.0.0.1"],
                   server=True)
        self._leaf("other", "ca", "other.example", ["other.example"], [], server=True)
        self._leaf("client", "ca", "test client", [], [], server=False)
        self._leaf("wrongclient", "wrongca", "impostor", [], [], server=False)
        self.ca = self.d / "ca.crt"
        self.wrongca = self.d / "wrongca.crt"
        self.bundle("server.pem", "server.key", "server.crt", "ca.crt")
        self.bundle("client.pem", "client.key", "client.crt", "ca.crt")
        self.bundle("ca.pem", "ca.crt")
        self.bundle("wrongca.pem", "wrongca.crt")

    def path(self, name):
        return self.d / name

    def bundle(self, out, *parts):
        with open(self.d / out, "wb") as f:
            for p in parts:
                f.write((self.d / p).read_bytes())
        return self.d / out

    def _tool(self, *args):
        r = run([self.certtool, *args], timeout=30)
        assert r.returncode == 0, r.stderr.decode()

    def _key(self, name):
        self._tool("--generate-privkey", "--key-type", "ecdsa", "--curve", "secp256r1",
                   "--outfile", self.d / f"{name}.key")

    def _ca(self, name, cn):
        self._key(name)
        t = self.d / f"{name}.tmpl"
        t.write_text(f'cn = "{cn}"\nca\ncert_signing_key\ncrl_signing_key\n'
                     'expiration_days = 30\n')
        self._tool("--generate-self-signed", "--load-privkey", self.d / f"{name}.key",
                   "--template", t, "--outfile", self.d / f"{name}.crt")

    def _leaf(self, name, ca, cn, dns, ips, server):
        self._key(name)
        t = self.d / f"{name}.tmpl"
        lines = [f'cn = "{cn}"', "signing_key", "encryption_key", "expiration_days = 30",
                 "tls_www_server" if server else "tls_www_client"]
        lines += [f'dns_name = "{n}"' for n in dns] + [f'ip_address = "{a}"' for a in ips]
        t.write_text("\n".join(lines) + "\n")
        self._tool("--generate-certificate", "--load-privkey", self.d / f"{name}.key",
                   "--load-ca-certificate", self.d / f"{ca}.crt",
                   "--load-ca-privkey", self.d / f"{ca}.key",
                   "--template", t, "--outfile", self.d / f"{name}.crt")


# ---- TLS and plain clients in the test process ----------------------------------

def tls_context(cafile, cert=None, key=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(cafile))
    if cert:
        ctx.load_cert_chain(str(cert), str(key))
    return ctx


def tls_connect(port, cafile, cert=None, key=None, host="localhost", timeout=10):
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        return tls_context(cafile, cert, key).wrap_socket(raw, server_hostname=host)
    except BaseException:
        raw.close()
        raise


def recv_until(sock, n, timeout=10):
    """Read until n bytes arrived or the peer finished; bounded by timeout."""
    sock.settimeout(timeout)
    buf = b""
    while len(buf) < n:
        b = sock.recv(n - len(buf))
        if not b:
            break
        buf += b
    return buf


def echo_roundtrip(sock, payload):
    sock.sendall(payload)
    return recv_until(sock, len(payload))


class RecordingPeer:
    """A plain TCP server in the test process that records what every
    connection brought. A TLS ClientHello is recorded and answered by closing
    the connection (the handshake fails); anything else is read to the end."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.seen = []
        self.stop = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            with c:
                c.settimeout(2)
                got = b""
                try:
                    while len(got) < 1 << 16:
                        b = c.recv(65536)
                        if not b:
                            break
                        got += b
                        if got[:1] == b"\x16":          # a TLS handshake record
                            break
                except OSError:
                    pass
                self.seen.append(got)

    def close(self):
        self.stop = True
        self.thread.join(10)
        self.sock.close()


# ---- attls conns ------------------------------------------------------------------

def conns_json():
    r = run([built(), "conns", "--json"], timeout=20)
    assert r.returncode == 0, r.stderr.decode()
    return json.loads(r.stdout)


def log_text(path):
    try:
        return Path(path).read_text(errors="replace")
    except FileNotFoundError:
        return ""


# ---- fixtures --------------------------------------------------------------------

@pytest.fixture(scope="session")
def certs():
    d = tempfile.mkdtemp(prefix="attls-shim-certs-")
    try:
        yield Certs(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def work():
    """A temporary directory for one test, removed afterwards."""
    d = tempfile.mkdtemp(prefix="attls-shim-")
    try:
        yield Path(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def procs(work):
    p = Procs(work)
    try:
        yield p
    finally:
        p.stop_all()


@pytest.fixture(scope="session")
def bigfile():
    """A 100 MiB file (plus its digest) shared by the byte-exact transfer tests."""
    d = tempfile.mkdtemp(prefix="attls-shim-big-")
    os.chmod(d, 0o755)          # nginx workers (nobody) serve it too
    try:
        path = make_file(Path(d) / "big.bin", 100 * 1024 * 1024 + 12345, "big")
        yield path, sha256_file(path)
    finally:
        shutil.rmtree(d, ignore_errors=True)


__all__ = [n for n in dir() if not n.startswith("_")] + ["sys"]


# ---- syslog and /dev of a test's own ------------------------------------------

PRIVATE_DEV = r'''
set -e
d="$0"
mount -t tmpfs -o mode=755 attls-test-dev "$d"
for n in null zero full random urandom tty; do
    if [ -e "/dev/$n" ]; then : > "$d/$n"; mount --bind "/dev/$n" "$d/$n"; fi
done
if [ -n "$ATTLS_TEST_SYSLOG" ]; then ln -s "$ATTLS_TEST_SYSLOG" "$d/log"; fi
mount --move "$d" /dev
if [ -e /run/systemd/journal ]; then mount -t tmpfs attls-test-journal /run/systemd/journal; fi
exec "$@"
'''


def private_dev(work, argv):
    """argv run in a mount namespace whose /dev is a tmpfs with only the
    usual character devices and, when ATTLS_TEST_SYSLOG names a socket, a
    /dev/log that is that socket; journald's socket directory is hidden too."""
    d = work / "dev"
    d.mkdir()
    return [need("unshare"), "--mount", "sh", "-c", PRIVATE_DEV, str(d)] + [str(a) for a in argv]


class FakeSyslog:
    """A datagram socket where /dev/log would be; records what arrives."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.lines = []
        self.stop = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stop:
            try:
                self.lines.append(self.sock.recv(4096).decode(errors="replace"))
            except OSError:
                pass

    def close(self):
        self.stop = True
        self.thread.join(10)
        self.sock.close()
