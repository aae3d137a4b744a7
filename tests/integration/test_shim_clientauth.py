"""Client authentication: HandshakeRole ServerWithClientAuth in front of a plain
echo server, for each ClientAuthType, against a client without a certificate,
one with a certificate from a CA the keyring does not hold, and one with the
right certificate. Who gets in:

    PassThru  all three (certificates are requested, not checked)
    Full      none and right; the wrong certificate is refused
    Required  only right
"""
import ssl

import pytest

from shim_helpers import (PROGS, PY, attls_run, certs, free_port, listening, log_text,  # noqa: F401
                          procs, recv_until, rule, tls_connect, wait_for, work, write_policy)

EXPECT = {
    "PassThru": {"none": True, "wrong": True, "right": True},
    "Full": {"none": True, "wrong": False, "right": True},
    "Required": {"none": False, "wrong": False, "right": True},
}


def client_cert(certs, which):
    if which == "none":
        return None, None
    name = "client" if which == "right" else "wrongclient"
    return certs.path(f"{name}.crt"), certs.path(f"{name}.key")


def try_echo(port, certs, which, payload):
    """(got in, what happened): the echo of payload came back or not."""
    cert, key = client_cert(certs, which)
    try:
        with tls_connect(port, certs.ca, cert, key) as s:
            # TLS 1.3: the client's handshake ends before the server has
            # judged its certificate; a refusal shows as the next read.
            s.sendall(payload)
            got = recv_until(s, len(payload))
            return got == payload, f"read {got[:40]!r}"
    except (ssl.SSLError, OSError) as e:
        return False, repr(e)


@pytest.mark.parametrize("auth", ["PassThru", "Full", "Required"])
def test_client_auth_types(procs, work, certs, auth):
    port = free_port()
    pol = write_policy(work / "server.conf",
                       rule("mutual", "Inbound", certs.path("server.pem"), "ServerWithClientAuth",
                            lport=port, client_auth=auth))
    log = work / "attls.log"
    p = procs.start(attls_run(pol, log, PY, PROGS / "echo_server.py", port), name="echo")
    wait_for(lambda: listening(port) or p.poll() is not None, 15, "echo server to listen")
    assert p.poll() is None, procs.err(p)

    outcome = {}
    # Payload sizes tell the server's per-connection lines apart.
    sizes = {"none": 11, "wrong": 22, "right": 33}
    for which in ("none", "wrong", "right"):
        outcome[which] = try_echo(port, certs, which, which.encode().ljust(sizes[which], b"."))
    got_in = {w: o[0] for w, o in outcome.items()}
    assert got_in == EXPECT[auth], outcome

    # What the program behind attls received: exactly the admitted clients'
    # bytes; a refused client's connection ended without data reaching it.
    lines = wait_for(lambda: (len(ls := procs.out(p).split("\n")[:-1]) == 3 and ls), 15,
                     "the echo server to finish three connections")
    received = sorted(int(ln.split()[1]) for ln in lines)
    assert received == sorted(sizes[w] if ok else 0 for w, ok in EXPECT[auth].items()), lines

    text = log_text(log)
    refused = [w for w, ok in EXPECT[auth].items() if not ok]
    assert text.count("TLS handshake failed") == len(refused), text
    assert text.count("secure: TLS1.3") == 3 - len(refused), text
    if "wrong" in refused:
        assert "peer certificate rejected" in text and "issuer is unknown" in text, text
    if "none" in refused:
        assert "certificate" in text.split("TLS handshake failed")[1].lower(), text
    if EXPECT[auth]["right"]:
        assert "peer CN=test client" in text, text
