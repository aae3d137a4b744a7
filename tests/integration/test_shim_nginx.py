"""nginx (Debian nginx-light) configured for plain HTTP, run under attls with a
server rule: epoll, sendfile, keep-alive, forked workers, 50 parallel curl
clients, a 100 MiB file byte-exact.

nginx's master runs as root and its workers as nobody (nginx's default). In a
process running as root the shim reads the policy and key ring and opens its
log when it loads, so the workers inherit them: the key ring stays readable
by root only (0600) and the test proves the workers still serve TLS."""
import hashlib
import http.client
import os
import shutil
import subprocess

from shim_helpers import (attls_run, bigfile, certs, free_port, listening, log_text,  # noqa: F401
                          make_file, need, nginx_argv, nginx_conf, procs, rule, sha256_file,
                          tls_context, wait_for, work, write_policy)


def readable_by_workers(work, certs, docroot):
    """The document root for nginx's unprivileged workers; the key ring and the
    log stay root's."""
    os.chmod(work, 0o755)
    for dirpath, dirnames, filenames in os.walk(docroot):
        os.chmod(dirpath, 0o755)
    os.chmod(docroot.parent, 0o755)
    kr = work / "server.pem"
    shutil.copy(certs.path("server.pem"), kr)
    os.chmod(kr, 0o600)
    log = work / "attls.log"
    return kr, log


def start_nginx(procs, work, certs, docroot, master, workers, sendfile=True):
    kr, log = readable_by_workers(work, certs, docroot)
    port = free_port()
    d = work / "nginx"
    d.mkdir()
    nginx_conf(d, f"""
    sendfile {'on' if sendfile else 'off'};
    tcp_nopush on;
    keepalive_timeout 30;
    keepalive_requests 1000;
    server {{
        listen 127.0.0.1:{port};
        root {docroot};
    }}""", master=master, workers=workers)
    pol = write_policy(work / "server.conf",
                       rule("nginx-https", "Inbound", kr, "Server", lport=port))
    p = procs.start(attls_run(pol, log, *nginx_argv(d)), name="nginx")
    wait_for(lambda: listening(port) or p.poll() is not None, 15, "nginx to listen")
    assert p.poll() is None, procs.err(p) + log_text(d / "error.log")
    return p, port, d, log


def access_lines(d, n):
    return wait_for(lambda: (len(lines := log_text(d / "access.log").splitlines()) >= n
                             and lines), 15, f"{n} lines in nginx's access log")


def test_nginx_keepalive_sendfile_big_file(procs, work, certs, bigfile):
    """One curl, three URLs, one TLS connection: nginx (master + 2 workers,
    epoll, sendfile) answers all three requests on the same connection, and
    the 100 MiB file sent with sendfile() arrives byte-exact."""
    big, digest = bigfile
    docroot = work / "www"
    docroot.mkdir()
    (docroot / "a.html").write_bytes(b"first page\n")
    (docroot / "b.html").write_bytes(b"second page\n")
    os.symlink(big, docroot / "big.bin")
    p, port, d, log = start_nginx(procs, work, certs, docroot, master=True, workers=2)
    base = f"https://localhost:{port}"
    r = subprocess.run([need("curl"), "-sS", "--fail", "--cacert", str(certs.ca),
                        f"{base}/a.html", "-o", str(work / "a"),
                        f"{base}/b.html", "-o", str(work / "b"),
                        f"{base}/big.bin", "-o", str(work / "big")],
                       capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode()
    assert (work / "a").read_bytes() == b"first page\n"
    assert (work / "b").read_bytes() == b"second page\n"
    assert (work / "big").stat().st_size == big.stat().st_size
    assert sha256_file(work / "big") == digest

    lines = access_lines(d, 3)
    conns = {ln.split()[0] for ln in lines}
    assert len(conns) == 1, lines                        # one connection...
    assert [ln.split()[1] for ln in lines] == ["1", "2", "3"], lines   # ...three requests
    assert f'"GET /big.bin HTTP/1.1" 200 {big.stat().st_size}' in lines[2]
    text = log_text(log)
    assert text.count("secure: TLS1.3") == 1, text      # one TLS handshake for all three


def test_nginx_50_parallel_curl(procs, work, certs):
    """50 curl processes at once, each fetching its own 1 MiB file from nginx
    (2 workers, epoll, sendfile) through attls: every one gets its own file."""
    docroot = work / "www"
    docroot.mkdir()
    digests = {}
    for i in range(50):
        f = make_file(docroot / f"f{i:02}.bin", (1 << 20) + i, f"par{i}")
        digests[i] = sha256_file(f)
    p, port, d, log = start_nginx(procs, work, certs, docroot, master=True, workers=2)
    curl = need("curl")
    clients = []
    for i in range(50):
        clients.append(subprocess.Popen(
            [curl, "-sS", "--fail", "--cacert", str(certs.ca), "--max-time", "60",
             f"https://localhost:{port}/f{i:02}.bin"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    try:
        results = [c.communicate(timeout=90) for c in clients]
    finally:
        for c in clients:
            if c.poll() is None:
                c.kill()
                c.wait()
    for i, (c, (out, err)) in enumerate(zip(clients, results)):
        assert c.returncode == 0, f"client {i}: {err.decode()}"
        assert hashlib.sha256(out).hexdigest() == digests[i], f"client {i} got other bytes"
    lines = access_lines(d, 50)
    assert sum(" 200 " in ln for ln in lines) == 50, lines
    text = log_text(log)
    assert text.count("secure: TLS1.3") == 50, text
    assert "error" not in text, text


def test_nginx_single_process_sendfile_off(procs, work, certs, bigfile):
    """nginx without a master process and with sendfile off (its read/write
    path over the same socketpair): the 100 MiB file arrives byte-exact."""
    big, digest = bigfile
    p, port, d, log = start_nginx(procs, work, certs, big.parent, master=False, workers=1,
                                  sendfile=False)
    out = work / "big"
    r = subprocess.run([need("curl"), "-sS", "--fail", "--cacert", str(certs.ca), "-o", str(out),
                        f"https://localhost:{port}/{big.name}"], capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode()
    assert sha256_file(out) == digest


def children(pid):
    """PIDs whose parent is pid (nginx's workers)."""
    kids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = open(f"/proc/{d}/stat").read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(d))
    return kids


def uid_of(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("Uid:"):
            return int(line.split()[1])
    return -1


def https_get(port, want_cipher=None):
    """GET /index.html over TLS (verified against the test CA); the body."""
    c = http.client.HTTPSConnection("localhost", port, timeout=10,
                                    context=tls_context(https_get.ca))
    try:
        c.request("GET", "/index.html")
        r = c.getresponse()
        body = r.read()
        assert r.status == 200, (r.status, body)
        if want_cipher:
            assert c.sock.cipher()[0] == want_cipher, c.sock.cipher()
        return body
    finally:
        c.close()


def test_nginx_workers_as_nobody_survive_policy_edits(procs, work, certs):
    """README promises both: root processes read the key rings at start so
    workers that drop privileges keep them, and an edited policy applies to
    new connections. nginx (master as root, two workers as nobody, a key ring
    only root may read): after an edit that changes nothing but a comment,
    and after a real change (another cipher, a new rule on a second port with
    the same ring), every new TLS connection works and follows the policy."""
    https_get.ca = certs.ca
    docroot = work / "www"
    docroot.mkdir()
    (docroot / "index.html").write_bytes(b"still here\n")
    kr, log = readable_by_workers(work, certs, docroot)
    port, port2 = free_port(), free_port()
    d = work / "nginx"
    d.mkdir()
    # reuseport: each worker has its own listening socket, so both get connections.
    nginx_conf(d, f"""
    server {{
        listen 127.0.0.1:{port} reuseport;
        listen 127.0.0.1:{port2} reuseport;
        root {docroot};
    }}""", master=True, workers=2, extra_main="user nobody nogroup;")
    web = rule("web", "Inbound", kr, "Server", lport=port)
    pol = write_policy(work / "server.conf", web)
    p = procs.start(attls_run(pol, log, *nginx_argv(d)), name="nginx")
    wait_for(lambda: listening(port) or p.poll() is not None, 15, "nginx to listen")
    assert p.poll() is None, procs.err(p) + log_text(d / "error.log")
    workers = wait_for(lambda: len(w := children(p.pid)) == 2 and w, 15, "two nginx workers")
    assert [uid_of(w) for w in workers] == [65534, 65534]
    assert https_get(port) == b"still here\n"

    def every_worker_reloaded(n):
        """Requests (each must succeed) until both workers logged n reloads."""
        def done():
            assert https_get(port) == b"still here\n"
            lines = log_text(log).splitlines()
            return all(sum(f"attls[{w}]" in ln and "reloaded; new connections follow it" in ln
                           for ln in lines) >= n for w in workers)
        wait_for(done, 60, f"both workers to reload the policy ({n})", interval=0.05)

    write_policy(pol, "# only a comment changed\n" + web)
    every_worker_reloaded(1)
    for _ in range(10):
        assert https_get(port) == b"still here\n"

    write_policy(pol, rule("web", "Inbound", kr, "Server", lport=port, ciphers4="1302"),
                 rule("web2", "Inbound", kr, "Server", lport=port2))
    every_worker_reloaded(2)
    for _ in range(10):
        assert https_get(port, want_cipher="TLS_AES_256_GCM_SHA384") == b"still here\n"
        assert https_get(port2) == b"still here\n"
    text = log_text(log)
    assert "cannot be set up" not in text, text
    for w in workers:
        # One line per worker: its copy of the ring stands in, unchanged.
        mine = [ln for ln in text.splitlines()
                if f"attls[{w}]" in ln and "new connections use the copy" in ln]
        assert len(mine) == 1 and "the file has not changed since" in mine[0], text
