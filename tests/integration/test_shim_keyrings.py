"""Key rings as users meet them: the system trust store as a client's key ring
(no count limit), `attls policy check` loading every ring the way the shim
will (empty or garbage rings are errors that say what was expected; missing
and unreadable rings are told apart; a world-readable private key is warned
about, there and in the log), a client rule whose ring cannot be used failing
before any packet leaves, and a server that drops root keeping its key ring
across policy edits, rotation of the ring included."""
import errno
import os
import socket
import ssl

import pytest

from shim_helpers import (PROGS, PY, attls_run, built, certs, free_port,  # noqa: F401
                          listening, log_text, need, preloaded, procs, rule, run, tls_connect,
                          wait_for, work, write_policy)

SYSTEM_STORE = "/etc/ssl/certs/ca-certificates.crt"
EXPECTED = "expected a PEM bundle (certificates and private keys) or a PKCS#12 file"
NOBODY = 65534


def policy_check(path, as_user=None):
    argv = [built(), "policy", "check", path]
    if as_user is not None:
        argv = [need("setpriv"), f"--reuid={as_user}", f"--regid={as_user}", "--clear-groups",
                "--"] + argv
    r = run(argv)
    return r.returncode, r.stdout.decode() + r.stderr.decode()


def start_s_server(procs, work, certs):
    """openssl s_server with the test CA's server certificate; -WWW serves work/www."""
    www = work / "www"
    www.mkdir(exist_ok=True)
    (www / "index.html").write_bytes(b"hello over TLS\n")
    port = free_port()
    p = procs.start([need("openssl"), "s_server", "-WWW", "-accept", f"127.0.0.1:{port}",
                     "-cert", certs.path("server.crt"), "-key", certs.path("server.key")],
                    name="s_server", cwd=www)
    wait_for(lambda: listening(port) or p.poll() is not None, 15, "s_server to listen")
    assert p.poll() is None, procs.err(p)
    return p, port


def curl_via_attls(policy, log, port):
    """curl speaks plain HTTP to 127.0.0.1:port; the client rule makes it TLS."""
    return run(attls_run(policy, log, need("curl"), "-sS", "--max-time", "30",
                         f"http://127.0.0.1:{port}/index.html"), timeout=60)


# ---- the system trust store --------------------------------------------------

def test_system_trust_store_is_a_client_key_ring(procs, work, certs):
    """The Debian trust store (some 140 CAs) as a client's key ring: policy
    check loads it without complaint, and the shim loads it too: a server
    whose certificate comes from the test CA is refused as untrusted, not
    because the ring could not be loaded."""
    server, port = start_s_server(procs, work, certs)
    pol = write_policy(work / "client.conf",
                       rule("to-tls", "Outbound", SYSTEM_STORE, "Client", rport=port,
                            host_ref="localhost"))
    rc, out = policy_check(pol)
    assert rc == 0 and "OK: 1 TTLSRule" in out and "error" not in out, out
    log = work / "client.log"
    r = curl_via_attls(pol, log, port)
    text = log_text(log)
    assert r.returncode != 0, r.stdout
    assert "TLS handshake failed: peer certificate rejected" in text, text
    assert "issuer is unknown" in text, text
    assert "cannot be set up" not in text, text


def test_system_trust_store_plus_own_ca_connects(procs, work, certs):
    """A ring of the system store plus the test CA (more than 140
    certificates) verifies the test server: the request goes through."""
    server, port = start_s_server(procs, work, certs)
    ring = work / "trust.pem"
    ring.write_bytes(open(SYSTEM_STORE, "rb").read() + certs.ca.read_bytes())
    assert ring.read_text().count("BEGIN CERTIFICATE") > 140
    pol = write_policy(work / "client.conf",
                       rule("to-tls", "Outbound", ring, "Client", rport=port,
                            host_ref="localhost"))
    rc, out = policy_check(pol)
    assert rc == 0, out
    log = work / "client.log"
    r = curl_via_attls(pol, log, port)
    text = log_text(log)
    assert r.returncode == 0, r.stderr.decode() + text
    assert r.stdout == b"hello over TLS\n"
    assert "secure: TLS1.3" in text and "peer CN=localhost" in text, text


# ---- what policy check says about rings --------------------------------------

@pytest.mark.parametrize("content", [b"", b"hello, I am no key ring\n", b"\x00\x01garbage" * 40],
                         ids=["empty", "text", "binary"])
def test_empty_or_garbage_ring_is_an_error(work, content):
    ring = work / "ring.pem"
    ring.write_bytes(content)
    pol = write_policy(work / "p.conf", rule("srv", "Inbound", ring, "Server", lport=free_port()))
    rc, out = policy_check(pol)
    assert rc == 1, out
    assert f"error: keyring {ring}: " in out and EXPECTED in out, out
    assert "Base64" not in out and "OK:" not in out, out


def test_ring_that_does_not_fit_the_rule_is_an_error(work, certs):
    """A ring the shim would refuse for its role: a server ring with only a
    CA certificate, a CertificateLabel nobody carries."""
    pol = write_policy(work / "p.conf",
                       rule("srv", "Inbound", certs.path("ca.pem"), "Server", lport=free_port()),
                       rule("lbl", "Inbound", certs.path("server.pem"), "Server",
                            lport=free_port(), adv={"CertificateLabel": "nosuchlabel"}))
    rc, out = policy_check(pol)
    assert rc == 1, out
    assert "has no private key with its certificate, which a server needs" in out, out
    assert "has no key whose certificate is labelled 'nosuchlabel'" in out, out


def test_missing_and_unreadable_rings_are_told_apart(work, certs):
    """'will fail until it exists' is for a ring that does not exist; a ring
    this user may not read says so, with the user, and is not an error (the
    program may read it as another user, or as root before dropping)."""
    os.chmod(work, 0o755)
    secret = work / "secret.pem"
    secret.write_bytes(certs.path("server.pem").read_bytes())
    os.chmod(secret, 0o600)
    missing = work / "missing.pem"
    pol = write_policy(work / "p.conf",
                       rule("gone", "Inbound", missing, "Server", lport=free_port()),
                       rule("root", "Inbound", secret, "Server", lport=free_port()))
    rc, out = policy_check(pol, as_user=NOBODY)
    assert rc == 0, out
    lines = out.splitlines()
    gone = [ln for ln in lines if str(missing) in ln or "until it exists" in ln]
    assert any(f"Keyring {missing} does not exist" in ln for ln in gone), out
    assert any("will fail until it exists" in ln for ln in gone), out
    assert f"Keyring {secret} cannot be read by this user (uid {NOBODY}): Permission denied" \
        in out, out
    assert out.count("until it exists") == 1, out


def test_world_readable_private_key_is_warned(procs, work, certs):
    """As ssh warns of an unprotected private key: policy check warns (the
    check still passes), and so does the shim's log when it loads the ring,
    once; a ring readable by its owner only gets no such warning."""
    ring = work / "server.pem"
    ring.write_bytes(certs.path("server.pem").read_bytes())
    os.chmod(ring, 0o644)
    port = free_port()
    pol = write_policy(work / "p.conf", rule("srv", "Inbound", ring, "Server", lport=port))
    rc, out = policy_check(pol)
    assert rc == 0, out
    assert f"warning: Keyring {ring} holds a private key that every user on this host can read" \
        in out, out
    log = work / "attls.log"
    p = procs.start(attls_run(pol, log, PY, PROGS / "echo_server.py", port), name="echo")
    wait_for(lambda: listening(port) or p.poll() is not None, 15, "echo server to listen")
    for _ in range(3):
        with tls_connect(port, certs.ca) as s:
            s.sendall(b"x")
            assert s.recv(1) == b"x"
    text = log_text(log)
    assert text.count(f"keyring (it holds a private key) {ring} can be read by every user") == 1, \
        text

    os.chmod(ring, 0o600)
    rc, out = policy_check(pol)
    assert rc == 0 and "every user" not in out, out


# ---- a client rule whose ring cannot be used ---------------------------------

CONNECT_BOTH_WAYS = r"""
import errno, socket, sys
port = int(sys.argv[1])
for blocking in (True, False):
    s = socket.socket()
    s.setblocking(blocking)
    try:
        rc = s.connect_ex(("127.0.0.1", port))
    except OSError as e:
        rc = e.errno
    print(("blocking" if blocking else "nonblocking"), errno.errorcode.get(rc, rc), flush=True)
    s.close()
"""


def listener():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    return s


def connect_both_ways(work, lsock, ring, **conds):
    """A program under a client rule for lsock's port (ring, conditions)
    connects once blocking and once not: both must fail with EACCES. Returns
    the port and the attls log."""
    port = lsock.getsockname()[1]
    pol = write_policy(work / "client.conf",
                       rule("to-tls", "Outbound", ring, "Client", rport=port, **conds))
    log = work / "client.log"
    script = work / "connect.py"
    script.write_text(CONNECT_BOTH_WAYS)
    # attls run would refuse the ring up front: the library on its own.
    r = run([PY, script, port], env=preloaded(pol, log))
    out = r.stdout.decode()
    assert out.splitlines() == ["blocking EACCES", "nonblocking EACCES"], \
        out + r.stderr.decode() + log_text(log)
    return port, log_text(log)


@pytest.mark.parametrize("ring", ["garbage", "server-without-ca"])
def test_client_rule_with_unusable_ring_fails_before_connecting(work, certs, ring):
    """connect() fails with EACCES (as with no valid policy) before a SYN is
    sent: the listening socket never has a connection to accept, blocking or
    not. The log says which rule and why."""
    if ring == "garbage":
        path = work / "ring.pem"
        path.write_text("not a key ring\n")
    else:
        path = certs.path("server.crt")      # a certificate, no CA: nothing to verify with
    with listener() as lsock:
        port, text = connect_both_ways(work, lsock, path)
        lsock.setblocking(False)
        with pytest.raises(BlockingIOError):
            conn, _ = lsock.accept()
            conn.close()
    assert f"rule to-tls: connection to 127.0.0.1 port {port} refused before connecting " \
        "(EACCES): TLS cannot be set up: keyring" in text, text


def test_rule_on_local_ports_fails_right_after_connecting(work):
    """A rule with LocalPortRange depends on the port the kernel picks during
    connect(), so the check comes right after it: the same EACCES, and the
    peer gets a connection that closes without a byte."""
    path = work / "ring.pem"
    path.write_text("not a key ring\n")
    with listener() as lsock:
        port, text = connect_both_ways(work, lsock, path, lport="1024-65535")
        lsock.settimeout(10)
        conn, _ = lsock.accept()
        with conn:
            conn.settimeout(10)
            try:
                first = conn.recv(100)
            except ConnectionResetError:
                first = b""
            assert first == b""
    assert f"rule to-tls: connection to 127.0.0.1 port {port} closed before any byte was sent " \
        "(EACCES): TLS cannot be set up: keyring" in text, text


# ---- a server that drops root keeps its key ring -----------------------------

def wait_reloaded(log, pid, n, port, certs):
    """Connections (every one must work) until pid logged its n-th reload."""
    def reloaded():
        assert tls_echo(port, certs) == b"ping\n"
        return sum(f"attls[{pid}]" in ln and "reloaded; new connections follow it" in ln
                   for ln in log_text(log).splitlines()) >= n
    wait_for(reloaded, 20, f"process {pid} to reload the policy ({n})", interval=0.1)


def tls_echo(port, certs, want_cipher=None):
    with tls_connect(port, certs.ca) as s:
        if want_cipher:
            assert s.cipher()[0] == want_cipher, s.cipher()
        s.sendall(b"ping\n")
        return s.recv(5)


def peer_cert(port):
    """The server's certificate (DER), whoever issued it."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw) as s:
            der = s.getpeercert(binary_form=True)
    return der


def test_server_that_drops_root_keeps_its_key_ring(procs, work, certs):
    """A server that listens as root, then setgroups/setgid/setuid to nobody,
    with a key ring only root may read: it keeps serving TLS after policy
    edits (a comment, a cipher change, a new rule naming the same ring), the
    log says once that the ring read at start stands in. When root then
    replaces the ring file (rotation), the server keeps the key material it
    has and the log says, once, that the file changed and a restart is needed."""
    os.chmod(work, 0o755)
    ring = work / "server.pem"
    ring.write_bytes(certs.path("server.pem").read_bytes())
    os.chmod(ring, 0o600)
    port, port2 = free_port(), free_port()
    web = rule("web", "Inbound", ring, "Server", lport=port)
    pol = write_policy(work / "p.conf", web)
    log = work / "attls.log"
    p = procs.start(attls_run(pol, log, PY, PROGS / "echo_server.py", port, "nobody"),
                    name="server")
    wait_for(lambda: "dropped uid=65534" in procs.out(p) or p.poll() is not None, 15,
             "the server to drop privileges")
    assert p.poll() is None, procs.err(p)
    assert tls_echo(port, certs) == b"ping\n"

    write_policy(pol, "# an edit that changes nothing\n" + web)
    wait_reloaded(log, p.pid, 1, port, certs)
    text = log_text(log)
    assert f"cannot open keyring {ring}: Permission denied (uid {NOBODY}); new connections " \
        "use the copy this process read at" in text, text
    assert "the file has not changed since" in text, text

    # A real change: another cipher, and a second rule with the same ring.
    write_policy(pol, rule("web", "Inbound", ring, "Server", lport=port, ciphers4="1302"),
                 rule("web2", "Inbound", ring, "Server", lport=port2))
    wait_reloaded(log, p.pid, 2, port, certs)
    assert tls_echo(port, certs, want_cipher="TLS_AES_256_GCM_SHA384") == b"ping\n"
    # One line for the copy, however many reloads and rules use it.
    assert log_text(log).count("new connections use the copy") == 1, log_text(log)

    # Rotation: root replaces the ring (new file, another certificate).
    old_cert = peer_cert(port)
    rotated = work / "rotated.pem"
    rotated.write_bytes(certs.path("other.key").read_bytes() + certs.path("other.crt").read_bytes()
                        + certs.ca.read_bytes())
    os.chmod(rotated, 0o600)
    os.replace(rotated, ring)
    write_policy(pol, "# after rotation\n" + web)
    wait_reloaded(log, p.pid, 3, port, certs)
    assert peer_cert(port) == old_cert        # the key material it had
    text = log_text(log)
    assert text.count("the file CHANGED since and this process cannot read the new one: "
                      "restart the program to use it") == 1, text
    assert "cannot be set up" not in text, text
