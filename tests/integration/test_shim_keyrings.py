"""Key rings as users meet them: the system trust store as a client's key ring
(no count limit), and `attls policy check` loading every ring the way the
shim will."""
from shim_helpers import (attls_run, built, certs, free_port, listening,  # noqa: F401
                          log_text, need, procs, rule, run, wait_for, work, write_policy)

SYSTEM_STORE = "/etc/ssl/certs/ca-certificates.crt"


def policy_check(path):
    r = run([built(), "policy", "check", path])
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


# ---- policy check loads every ring as the shim will ------------------------------

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
