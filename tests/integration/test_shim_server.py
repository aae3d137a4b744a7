"""Server role: `python3 -m http.server` under attls serves HTTPS to curl and to
openssl s_client, small pages and a 100 MiB file byte-exact."""
import re
import subprocess

import pytest

from shim_helpers import (PY, attls_run, bigfile, certs, listening, log_text, need,  # noqa: F401
                          procs, rule, run, sha256_file, wait_for, work, write_policy,
                          free_port)


def start_http_server(procs, work, certs, docroot):
    port = free_port()
    pol = write_policy(work / "server.conf",
                       rule("web", "Inbound", certs.path("server.pem"), "Server", lport=port))
    log = work / "attls.log"
    p = procs.start(attls_run(pol, log, PY, "-m", "http.server", "-b", "127.0.0.1",
                              "-d", docroot, port), name="http")
    wait_for(lambda: listening(port) or p.poll() is not None, 15, "http.server to listen")
    assert p.poll() is None, procs.err(p)
    return p, port, log


def s_client_get(port, cafile, path, out, timeout=120):
    """GET path over openssl s_client (verifying the server as 'localhost');
    the response goes to the file out. Returns s_client's stderr."""
    openssl = need("openssl")
    req = f"GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n".encode()
    with open(out, "wb") as f:
        r = subprocess.run([openssl, "s_client", "-connect", f"127.0.0.1:{port}",
                            "-servername", "localhost", "-verify_hostname", "localhost",
                            "-CAfile", str(cafile), "-verify_return_error", "-brief",
                            "-ign_eof"], input=req, stdout=f, stderr=subprocess.PIPE,
                           timeout=timeout)
    err = r.stderr.decode(errors="replace")
    assert r.returncode == 0, err
    return err


def split_http(path, body_to=None):
    """The head of an HTTP response saved in path, and its body (or, with
    body_to, the body copied to that file and None)."""
    with open(path, "rb") as f:
        start = f.read(65536)
        head, sep, rest = start.partition(b"\r\n\r\n")
        assert sep, f"no HTTP response in {start[:200]!r}"
        if body_to is None:
            return head.decode(errors="replace"), rest + f.read()
        with open(body_to, "wb") as out:
            out.write(rest)
            for chunk in iter(lambda: f.read(1 << 20), b""):
                out.write(chunk)
        return head.decode(errors="replace"), None


def test_http_server_to_curl_and_s_client(procs, work, certs):
    """A plain HTTP server gets HTTPS from attls: curl (OpenSSL, verifying the
    chain and the name) and openssl s_client both fetch the page over TLS 1.3,
    and the server program itself saw ordinary HTTP requests."""
    curl = need("curl")
    docroot = work / "www"
    docroot.mkdir()
    page = b"<html>served through attls</html>\n"
    (docroot / "index.html").write_bytes(page)
    p, port, log = start_http_server(procs, work, certs, docroot)

    r = run([curl, "-sS", "--fail", "--cacert", certs.ca, "-w", "\n%{http_version} %{scheme}",
             f"https://localhost:{port}/index.html"])
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == page + b"\n1 HTTPS"     # HTTP/1.0 (http.server), over TLS

    # Plain HTTP to the covered port does not get through: the shim expects TLS.
    r = run([curl, "-sS", f"http://127.0.0.1:{port}/index.html"])
    assert r.returncode != 0 and page not in r.stdout

    err = s_client_get(port, certs.ca, "/index.html", work / "s_client.out")
    assert "Protocol version: TLSv1.3" in err
    assert re.search(r"Verification: OK", err), err
    head, body = split_http(work / "s_client.out")
    assert head.startswith("HTTP/1.0 200")
    assert body == page

    # The program logged the two successful requests in clear text (it never saw TLS).
    wait_for(lambda: procs.err(p).count('"GET /index.html HTTP/1.') >= 2, 10,
             "http.server to log both requests")
    text = log_text(log)
    assert text.count("secure: TLS1.3") >= 2, text
    assert "TLS handshake failed" in text        # the plain-HTTP attempt


@pytest.mark.parametrize("client", ["curl", "s_client"])
def test_http_server_100mb_byte_exact(procs, work, certs, bigfile, client):
    """100 MiB from http.server under attls arrive byte-exact (same SHA-256)."""
    big, digest = bigfile
    docroot = big.parent
    p, port, log = start_http_server(procs, work, certs, docroot)
    out = work / "download.bin"
    if client == "curl":
        r = run([need("curl"), "-sS", "--fail", "--cacert", certs.ca, "-o", out,
                 f"https://localhost:{port}/{big.name}"], timeout=120)
        assert r.returncode == 0, r.stderr.decode()
    else:
        raw = work / "raw.out"
        s_client_get(port, certs.ca, f"/{big.name}", raw)
        head, _ = split_http(raw, body_to=out)
        assert head.startswith("HTTP/1.0 200")
        assert f"Content-Length: {big.stat().st_size}" in head
    assert out.stat().st_size == big.stat().st_size
    assert sha256_file(out) == digest
