"""`attls conns` and `attls conns --json` show live covered connections: both
ends of one connection between two programs under attls (socat as the client,
a Python echo server with client authentication), with rule, role, state,
protocol, cipher, peer subject, addresses and bytes each way."""
import subprocess

from shim_helpers import (PROGS, PY, attls_run, built, certs, conns_json, free_port,  # noqa: F401
                          listening, need, procs, rule, run, wait_for, work, write_policy)


def test_conns_shows_both_ends(procs, work, certs):
    port = free_port()
    spol = write_policy(work / "server.conf",
                        rule("srv-rule", "Inbound", certs.path("server.pem"),
                             "ServerWithClientAuth", lport=port, client_auth="Required"))
    cpol = write_policy(work / "client.conf",
                        rule("cli-rule", "Outbound", certs.path("client.pem"), "Client",
                             rport=port, host_ref="localhost"))
    server = procs.start(attls_run(spol, work / "server.log", PY, PROGS / "echo_server.py",
                                   port), name="server")
    wait_for(lambda: listening(port) or server.poll() is not None, 15, "echo server to listen")
    assert server.poll() is None, procs.err(server)
    client = procs.start(attls_run(cpol, work / "client.log", need("socat"), "-",
                                   f"TCP:127.0.0.1:{port}"),
                         name="client", stdin=subprocess.PIPE)
    msg = b"hello from a plain socat\n"
    client.stdin.write(msg)
    client.stdin.flush()
    wait_for(lambda: procs.out(client).encode() == msg or client.poll() is not None, 15,
             "the echo to come back through both shims")
    assert procs.out(client).encode() == msg, procs.err(client)

    all_conns = conns_json()["connections"]
    srv = [c for c in all_conns if c["pid"] == server.pid]
    cli = [c for c in all_conns if c["pid"] == client.pid]
    assert len(srv) == 1 and len(cli) == 1, all_conns
    s, c = srv[0], cli[0]
    assert s["program"] == "python3" and c["program"] == "socat"
    assert (s["rule"], s["direction"], s["role"]) == ("srv-rule", "inbound", "ServerWithClientAuth")
    assert (c["rule"], c["direction"], c["role"]) == ("cli-rule", "outbound", "Client")
    assert s["environment"] == "env-srv-rule" and s["group"] == "grp-srv-rule"
    for e in (s, c):
        assert e["state"] == "secure"
        assert e["protocol"] == "TLS1.3"
        assert e["cipher"].startswith("TLS_") and e["cipher"] == s["cipher"]
        assert e["bytes_in"] == len(msg) and e["bytes_out"] == len(msg), e
    assert s["local"] == f"127.0.0.1:{port}" == c["remote"]
    assert s["remote"] == c["local"]
    assert "CN=test client" in s["peer"]
    assert "CN=localhost" in c["peer"]
    assert c["host"] == "localhost"

    text = run([built(), "conns"], timeout=20)
    assert text.returncode == 0, text.stderr.decode()
    lines = text.stdout.decode().splitlines()
    assert lines[0].split()[:4] == ["PID", "PROGRAM", "ID", "STATE"]
    row = [ln for ln in lines if ln.split()[0] == str(server.pid)]
    assert len(row) == 1, lines
    f = row[0].split()
    assert f[1] == "python3" and f[3] == "secure" and f[4] == "in"
    assert f"127.0.0.1:{port}" in f and "srv-rule" in f and "TLS1.3" in f
    assert str(len(msg)) in f and row[0].rstrip().endswith("CN=test client")

    # Closing the client ends both entries.
    client.stdin.close()
    client.wait(15)
    wait_for(lambda: not [x for x in conns_json()["connections"] if x["pid"] == server.pid],
             15, "the server's entry to go away")
